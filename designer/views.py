"""What the designer's pages show, computed from the engine: checked text, drawn graphs, run statistics."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.routes.flows import diagnostic_json
from designer.errors import PageNotFound
from designer.render import trusted_svg
from dsl.flowgraph import FlowGraph
from dsl.svg import to_svg
from engine import flows as flow_service
from engine.models import FlowDefinition, FlowRun, FlowVersion
from engine.models._types import utcnow
from engine.runtime import Runtime

RECENT = timedelta(days=7)


@dataclass
class Checked:
    """A text as the checker sees it: diagnostics (JSON shape of the API) and the flow's graph."""

    source: str
    diagnostics: list[dict[str, Any]]
    graph: FlowGraph | None
    svg: Markup | None

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d["severity"] == "error")

    @property
    def warnings(self) -> int:
        return len(self.diagnostics) - self.errors


def check_text(
    runtime: Runtime,
    source: str,
    flow_id: str,
    *,
    marks: Mapping[str, str] | None = None,
    path_edges: Collection[tuple[str, str]] = (),
) -> Checked:
    result = flow_service.check(source, runtime)
    # A text may define several flows; the page is about one, else the first that compiled.
    graph = next((g for g in result.flows if g.id == flow_id), result.flows[0] if result.flows else None)
    svg = trusted_svg(to_svg(graph, marks=marks, path_edges=path_edges)) if graph else None
    return Checked(source, [diagnostic_json(d) for d in result.diagnostics], graph, svg)


def path_marks(
    path: Sequence[str], failed: Collection[str] = ()
) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """Classes for the nodes a run went through (the last one marked as where it stands) and the edges
    between consecutive steps."""
    marks = {node: "on-path" for node in path}
    if path:
        marks[path[-1]] = "on-path path-end"
    for node in failed:
        marks[node] = "on-path step-failed"
    return marks, {(a, b) for a, b in itertools.pairwise(path) if a != b}


def get_flow(session: Session, flow_id: str) -> FlowDefinition:
    try:
        return flow_service.get_flow(session, flow_id)
    except flow_service.NotFound as exc:
        raise PageNotFound(f"There is no flow {flow_id}.") from exc


def get_version(session: Session, flow_id: str, number: int) -> FlowVersion:
    try:
        return flow_service.get_version(session, flow_id, number)
    except flow_service.NotFound as exc:
        raise PageNotFound(f"Flow {flow_id} has no version {number}.") from exc


@dataclass
class FlowRow:
    flow: FlowDefinition
    last_change: datetime | None
    runs: int = 0
    failures: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def flow_rows(session: Session) -> list[FlowRow]:
    """Every flow with its last change and its runs of the last seven days (two grouped queries)."""
    flows = flow_service.list_flows(session)
    changed = dict(
        session.execute(
            select(FlowVersion.flow_id, func.max(FlowVersion.updated_at)).group_by(FlowVersion.flow_id)
        ).all()
    )
    rows = {f.id: FlowRow(f, changed.get(f.id)) for f in flows}
    counts = session.execute(
        select(FlowRun.flow_id, FlowRun.status, func.count())
        .where(FlowRun.created_at >= utcnow() - RECENT, FlowRun.parent_run_id.is_(None))
        .group_by(FlowRun.flow_id, FlowRun.status)
    ).all()
    for flow_id, status, count in counts:
        row = rows.get(flow_id)
        if row is not None:
            row.by_status[status] = count
            row.runs += count
            if status == "failed":
                row.failures += count
    # Starter flows first (what a new admin clones), then the admins' own, each by id.
    return sorted(rows.values(), key=lambda r: (not r.flow.starter, r.flow.id))


def recent_runs(session: Session, flow_id: str, limit: int = 50) -> list[FlowRun]:
    return list(
        session.scalars(
            select(FlowRun).where(FlowRun.flow_id == flow_id).order_by(FlowRun.created_at.desc()).limit(limit)
        )
    )


def order_numbers(session: Session, subject_ids: Collection[str | None]) -> dict[str, str]:
    from orders.models import OrderSummary

    ids = {s for s in subject_ids if s}
    if not ids:
        return {}
    rows = session.execute(select(OrderSummary.id, OrderSummary.order_number).where(OrderSummary.id.in_(ids)))
    return {row[0]: row[1] for row in rows}
