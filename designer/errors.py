"""HTML answers for the UI's refusals and failures: log-in redirects, 403, 404 and 500 pages (the API
keeps problem+json)."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from api.problems import internal_error
from designer.auth import Forbidden, LoginRequired
from designer.render import is_htmx, render

log = logging.getLogger(__name__)


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

    @app.exception_handler(Exception)
    async def _failed(request: Request, _exc: Exception) -> Response:
        # A person in the browser gets a page (with the way back), not the API's JSON; a program
        # calling the API keeps problem+json.
        if not request.url.path.startswith("/ui"):
            return internal_error()
        context = {
            "title": "Something went wrong",
            "message": "The server failed to handle this request. The error is logged; try again, "
            "or tell an administrator if it happens again.",
        }
        try:
            return render(request, "error.html", context, block="content", status=500)
        except Exception:  # the page itself failed (the database is down, say): plain text then
            log.exception("the error page could not be rendered")
            return Response("Internal error", status_code=500, media_type="text/plain")
