"""Requests refused at the door, before any route runs (so nothing is read or written for them): a body
over the size limit (413) and text holding the NUL character (422, see ``api.nul_guard``).

The body is read here once, whatever its content type, and handed to the app as it came. A declared
``Content-Length`` over the limit is refused without reading; a body sent in chunks without one is
counted as it arrives and reading stops at the limit. The largest bodies Ordo takes are flow sources
and orders with many lines, far below the default of 1 MiB (``ORDO_MAX_BODY_BYTES``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.nul_guard import MESSAGE, nul_in_body, nul_in_url
from api.problems import problem_response

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# Requests that carry no body: nothing to read.
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestGuard:
    """ASGI middleware: a 413 problem for a body over ``max_bytes``, a 422 for NUL in the request."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        field = nul_in_url(scope)
        if scope.get("method") not in _BODILESS:
            body, messages, too_large = await _read_body(receive, self.max_bytes)
            if too_large:
                await self._too_large(scope, receive, send)
                return
            if field is None:
                field = nul_in_body((_header(scope, b"content-type") or "").lower(), body)
            receive = _replay(messages, receive)
        if field is None:
            await self.app(scope, receive, send)
            return
        response = problem_response(
            422, "Invalid request", "The request has invalid fields.", [{"field": field, "message": MESSAGE}]
        )
        await response(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            "Request body too large",
            f"The request body is over the limit of {self.max_bytes:,} bytes.",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, list[Message], bool]:
    """The body, the messages it came in, and whether it ran past ``limit`` bytes (reading stops there)."""
    chunks: list[bytes] = []
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", messages, True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), messages, False


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands the already read messages out again, then defers to the real one."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
