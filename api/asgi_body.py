"""Reading a request's body ahead of the app, and handing it over again as if it had not been read."""

from __future__ import annotations

from starlette.types import Message, Receive


async def read_messages(receive: Receive, limit: int | None = None) -> tuple[bytes, list[Message], bool]:
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
        if limit is not None and size > limit:
            return b"", messages, True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), messages, False


def replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands the already read messages out again, then defers to the real one."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
