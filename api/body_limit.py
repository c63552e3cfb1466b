"""Request bodies over a size limit are refused with a 413 problem, before any route sees them.

A declared ``Content-Length`` over the limit is refused at once. Otherwise the body is read here, up to
the limit, whatever its content type (a body sent without a length, in chunks, is counted as it
arrives) and handed to the app as it came; past the limit reading stops and the request is refused. No
route runs either way, so nothing is written. The largest bodies Ordo takes are flow sources and orders
with many lines, far below the default of 1 MiB (``ORDO_MAX_BODY_BYTES``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from api.asgi_body import read_messages, replay
from api.problems import problem_response

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# Requests that carry no body: nothing to count.
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})


class LimitBody:
    """ASGI middleware: a 413 problem for a request body over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        if scope.get("method") not in _BODILESS:
            _, messages, too_large = await read_messages(receive, self.max_bytes)
            if too_large:
                await self._refuse(scope, receive, send)
                return
            receive = replay(messages, receive)
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            "Request body too large",
            f"The request body is over the limit of {self.max_bytes:,} bytes.",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
