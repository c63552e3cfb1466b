"""Jinja2 rendering: whole pages for normal requests, one named block of the page for HTMX requests.

jinja2-fragments is not installed; rendering a block alone needs only ``template.blocks`` and a context
built from the same variables, so that is done here in a few lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

TEMPLATES = Path(__file__).resolve().parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    # Autoescape everything: flow text, labels and order data are all user supplied.
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def trusted_svg(svg: str) -> Markup:
    """Marks SVG drawn by ``dsl.svg`` as safe. That code escapes every user-supplied string it writes,
    so this is the one place where HTML built outside a template enters a page unescaped."""
    return Markup(svg)


def is_htmx(request: Request) -> bool:
    # A boosted request wants the whole page, like a normal navigation.
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def render_block(name: str, block: str, context: Mapping[str, Any]) -> str:
    template = env.get_template(name)
    render = template.blocks.get(block)
    if render is None:
        raise KeyError(f"{name} has no block {block!r}")
    return "".join(render(template.new_context(dict(context))))


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    block: str | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """``name`` as a whole page, or only ``block`` of it when the request came from HTMX.

    Pass ``block`` for fragments an HTMX request asks for; a normal request always gets the whole page,
    so every URL still works with JavaScript off or in a new tab.
    """
    values: dict[str, Any] = {"request": request, "viewer": getattr(request.state, "viewer", None)}
    values.update(context or {})
    if block is not None and is_htmx(request):
        body = render_block(name, block, values)
    else:
        body = env.get_template(name).render(values)
    return HTMLResponse(body, status_code=status, headers=dict(headers or {}))
