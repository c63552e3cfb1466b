"""HTML answers for the UI's refusals: log-in redirects, 403 and 404 pages (the API keeps problem+json)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from designer.auth import Forbidden, LoginRequired
from designer.render import is_htmx, render


class PageNotFound(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def login_url(request: Request) -> str:
    target = request.url.path
    if request.method != "GET" or is_htmx(request):
        # After logging in again, go back to the page the fragment belonged to, not to the fragment.
        current = request.headers.get("hx-current-url", "")
        target = current.split("://", 1)[-1].partition("/")[2] if current else "ui/flows"
        target = "/" + target
    return f"/ui/login?next={quote(target, safe='/')}"


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": login_url(request)})
        return RedirectResponse(login_url(request), status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        context = {"title": "Not allowed", "message": exc.message}
        return render(request, "error.html", context, block="content", status=403)

    @app.exception_handler(PageNotFound)
    async def _not_found(request: Request, exc: PageNotFound) -> Response:
        context = {"title": "Not found", "message": exc.message}
        return render(request, "error.html", context, block="content", status=404)
