"""Log in with an API key, log out; the UI's front door."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import SessionDep
from api.keys import find_key
from designer import auth
from designer.render import render

router = APIRouter(tags=["ui"], include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only our own pages: an open redirect after log-in would make a fine phishing link.
    if target and target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/ui/flows"


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def _login_page(request: Request, next_page: str, error: str | None = None, status: int = 200) -> Response:
    token = auth.new_login_csrf()
    context = {"login_csrf": token, "next": next_page, "error": error}
    response = render(request, "login.html", context, status=status)
    # Double-submit cookie: the log-in form has no session yet to hang a CSRF token on.
    _set_cookie(response, request, auth.LOGIN_CSRF_COOKIE, token, 3600)
    return response


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui/")
def home() -> RedirectResponse:
    return RedirectResponse("/ui/flows", status_code=307)


@router.get("/ui/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, _safe_next(next))


@router.post("/ui/login")
def login(
    request: Request,
    session: SessionDep,
    key: Annotated[str, Form(max_length=500)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/ui/flows",
) -> Response:
    target = _safe_next(next)
    if not auth.tokens_match(request.cookies.get(auth.LOGIN_CSRF_COOKIE), csrf_token):
        return _login_page(request, target, "The log-in form expired; please try again.", status=403)
    found = find_key(session, key.strip())
    if found is None:
        return _login_page(request, target, "That key is not valid (or was revoked).", status=401)
    if found.role not in {r.value for r in auth.READERS}:
        return _login_page(
            request, target, f"The {found.role} role uses the HTTP API; the browser UI is not for it.", 403
        )
    token = auth.start_session(session, found)
    session.commit()
    response = RedirectResponse(target, status_code=303)
    _set_cookie(response, request, auth.SESSION_COOKIE, token, int(auth.SESSION_TTL.total_seconds()))
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/ui/logout")
def logout(request: Request, session: SessionDep, _viewer: auth.ReaderDep) -> Response:
    auth.end_session(session, request.cookies.get(auth.SESSION_COOKIE))
    session.commit()
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response
