"""Errors as RFC 9457 ``application/problem+json``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """Raised anywhere in a request to answer with a problem document."""

    def __init__(
        self, status: int, title: str, detail: str = "", *, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors


def problem_response(
    status: int,
    title: str,
    detail: str = "",
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def internal_error() -> JSONResponse:
    """The answer to an unexpected error: Starlette logs the exception itself; the caller gets the
    contract's format, and no internals."""
    return problem_response(500, "Internal error", "The server failed to handle this request.")


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        # Drop the "body" prefix: callers think in their own field names.
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        errors.append({"field": ".".join(location), "message": error.get("msg", "invalid")})
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, exc.errors)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(422, "Invalid request", "The request has invalid fields.", _field_errors(exc))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, _exc: Exception) -> JSONResponse:
        return internal_error()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # The exception's headers are part of the answer (a 405 names the allowed methods in Allow).
        return problem_response(exc.status_code, str(exc.detail), str(exc.detail), headers=exc.headers)
