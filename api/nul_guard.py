"""Where a request carries the NUL character, so that ``api.request_guard`` refuses it at the door.

PostgreSQL's text cannot hold NUL (SQLite's can), so a NUL that reached a query or a row would be a 500
on one database and stored data on the other. Refused before any route runs, every endpoint answers
the same on both: a 422 problem naming where the NUL was (``path``, ``query.<name>``, a body field such
as ``lines.0.sku``). JSON bodies (also those sent without a content type, which FastAPI reads as JSON)
and form bodies are looked at: URL-encoded fields by name; a multipart body (no endpoint takes files)
is refused whole when it holds a NUL byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Scope

NUL = "\x00"
MESSAGE = "text must not contain the NUL character"


def nul_in_json(value: Any, path: tuple[str, ...] = ()) -> str | None:
    """The dotted path of the first key or string in ``value`` holding NUL ("" for the top level)."""
    for where, text in _strings(value, path):
        if NUL in text:
            return ".".join(where)
    return None


def _strings(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), key
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, str(index)))


def nul_in_pairs(pairs: list[tuple[str, str]], prefix: str) -> str | None:
    """The name of the first pair whose name or value holds NUL, after ``prefix``."""
    for name, value in pairs:
        if NUL in name or NUL in value:
            return f"{prefix}{name}"
    return None


def nul_in_body(content_type: str, body: bytes) -> str | None:
    """Where a JSON or URL-encoded form body holds NUL; None when it holds none (or is neither)."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        if b"%00" not in body and b"\x00" not in body:
            return None
        return nul_in_pairs(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True), "")
    if content_type.startswith("multipart/form-data"):
        return "body" if b"\x00" in body else None
    if not content_type or "json" in content_type:
        # Inside a UTF-8 JSON string NUL can only be written escaped; a body in UTF-16 or UTF-32 (which
        # json.loads reads too) is full of zero bytes, so it is parsed whenever it holds one.
        if b"\\u0000" not in body and b"\x00" not in body:
            return None
        try:
            parsed = json.loads(body)
        except ValueError:
            return None  # not JSON: the route's own parsing answers that
        found = nul_in_json(parsed)
        if found is None:
            return None
        return found or "body"
    return None


def nul_in_url(scope: Scope) -> str | None:
    if NUL in scope.get("path", ""):
        return "path"
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        return nul_in_pairs(parse_qsl(query.decode("latin-1"), keep_blank_values=True), "query.")
    return None
