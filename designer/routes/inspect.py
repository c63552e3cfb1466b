"""The graph's node inspector, and the small form that rewrites a node's line in the text."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from designer.auth import AdminDep, ReaderDep
from designer.render import render_block
from designer.rewrite import RewriteError, editable, rewrite
from designer.routes.editor import SourceField, base_url, normalise, runtime_of
from designer.views import check_text
from dsl.expression import Expression
from dsl.flowgraph import FlowGraph, Node

router = APIRouter(prefix="/ui/flows/{flow_id}/versions/{number}", tags=["ui"], include_in_schema=False)

NodeField = Annotated[str, Form(max_length=200)]
HIDDEN = {"id", "span", "label", "kind"}


def _show(value: Any) -> str:
    if isinstance(value, Expression):
        return value.canonical
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items())
    if isinstance(value, tuple | list):
        return ", ".join(_show(v) for v in value)
    return "" if value is None else str(value)


def details(node: Node) -> list[tuple[str, str]]:
    """Every field the compiled node has, as (name, text), for the inspector's table."""
    return [
        (f.name.replace("_", " "), _show(getattr(node, f.name)))
        for f in dataclasses.fields(node)
        if f.name not in HIDDEN and getattr(node, f.name) not in (None, {}, (), "")
    ]


def _inspector_context(
    request: Request, graph: FlowGraph | None, source: str, node_id: str, can_edit: bool, **extra: Any
) -> dict[str, Any]:
    flow_id, number = request.path_params["flow_id"], int(request.path_params["number"])
    context: dict[str, Any] = {
        "request": request,
        "viewer": request.state.viewer,
        "node": None,
        "node_id": node_id,
        "error": None,
        "base": base_url(flow_id, number),
    }
    if graph is not None and node_id in graph.graph:
        node = graph.node(node_id)
        lines = source.split("\n")
        span = node.span
        context.update(
            node=node,
            fields=details(node),
            edges=graph.out_edges(node_id),
            source_lines=lines[span.line - 1 : span.end_line],
            form=editable(lines, span.line, span.end_line) if can_edit else None,
        )
    context.update(extra)
    return context


def _inspector(request: Request, *args: Any, **extra: Any) -> Response:
    return HTMLResponse(
        render_block("inspector.html", "inspector", _inspector_context(request, *args, **extra))
    )


@router.post("/inspect")
def inspect(
    request: Request,
    flow_id: str,
    viewer: ReaderDep,
    node: NodeField,
    source: SourceField,
    editable: Annotated[str, Form(max_length=1)] = "0",
) -> Response:
    text = normalise(source)
    checked = check_text(runtime_of(request), text, flow_id)
    return _inspector(request, checked.graph, text, node, viewer.is_admin and editable == "1")


@router.post("/rewrite")
async def rewrite_node(request: Request, flow_id: str, number: int, viewer: AdminDep) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    text, node_id = normalise(values.get("source", "")), values.get("node", "")
    runtime = runtime_of(request)
    before = check_text(runtime, text, flow_id)
    if before.graph is None or node_id not in before.graph.graph:
        return _inspector(request, before.graph, text, node_id, True, error="The node is gone from the text.")
    span = before.graph.node(node_id).span
    try:
        new_text = rewrite(text, span.line, span.end_line, values)
    except RewriteError as exc:
        return _inspector(request, before.graph, text, node_id, True, error=f"Not changed: {exc}.")
    after = check_text(runtime, new_text, flow_id)
    inspector = _inspector_context(request, after.graph, new_text, node_id, True, rewritten=True)
    # The inspector is the main swap; the new text, its diagnostics and its graph go out of band.
    page = {"checked": after, "editable": True, "oob": True, "base": base_url(flow_id, number)}
    body = render_block("inspector.html", "inspector", inspector) + render_block(
        "version.html", "rewrite_response", page
    )
    return HTMLResponse(body)
