"""Flow definitions and versions: starter flows, clones, drafts, activation, structural diff.

Starter flows are loaded read-only; admins clone them, edit drafts of the clone and activate it,
which deactivates the flow it was cloned from. One version per flow is active at a time; runs stay
pinned to the version they started on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import dsl
from dsl import CheckResult, Diagnostic
from dsl.flowgraph import FlowGraph
from engine.models import FlowDefinition, FlowVersion
from engine.models.flow import ACTIVE, DRAFT, INACTIVE
from engine.runtime import Runtime, default_runtime


class FlowError(Exception):
    """Refused (the API answers 409 unless a subclass says otherwise)."""


class NotFound(FlowError, LookupError):
    pass


class StaleVersion(FlowError):
    """The draft changed since the caller read it (412)."""


class ActivationRefused(FlowError):
    """The version has errors (422); ``diagnostics`` says which."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("the version has errors")
        self.diagnostics = diagnostics


def check(source: str, runtime: Runtime | None = None) -> CheckResult:
    return dsl.check(source, (runtime or default_runtime()).catalog())


def get_flow(session: Session, flow_id: str) -> FlowDefinition:
    flow = session.get(FlowDefinition, flow_id)
    if flow is None:
        raise NotFound(f"no flow {flow_id}")
    return flow


def get_version(session: Session, flow_id: str, number: int) -> FlowVersion:
    version = session.scalars(
        select(FlowVersion).where(FlowVersion.flow_id == flow_id, FlowVersion.number == number)
    ).first()
    if version is None:
        raise NotFound(f"no version {number} of flow {flow_id}")
    return version


def versions(session: Session, flow_id: str) -> list[FlowVersion]:
    return list(
        session.scalars(
            select(FlowVersion).where(FlowVersion.flow_id == flow_id).order_by(FlowVersion.number)
        )
    )


def list_flows(session: Session) -> list[FlowDefinition]:
    return list(session.scalars(select(FlowDefinition).order_by(FlowDefinition.id)))


def _apply_header(flow: FlowDefinition, graph: FlowGraph) -> None:
    flow.title, flow.kind = graph.title, graph.kind
    flow.trigger_event = graph.trigger.event if graph.trigger else None
    flow.action_name = graph.action.name if graph.action else None


def load_starter_flows(
    session: Session, directory: Path | str, *, runtime: Runtime | None = None
) -> list[str]:
    """Load every ``*.flow`` of ``directory`` as read-only starter flows; new text becomes a new active
    version. Returns the ids of flows created or updated. Files with errors are skipped."""
    runtime = runtime or default_runtime()
    changed: list[str] = []
    for path in sorted(Path(directory).glob("*.flow")):
        source = path.read_text(encoding="utf-8")
        result = check(source, runtime)
        if not result.ok:
            continue
        for graph in result.flows:
            flow = session.get(FlowDefinition, graph.id)
            if flow is None:
                flow = FlowDefinition(id=graph.id, starter=True)
                _apply_header(flow, graph)
                session.add(flow)
                session.flush()
            elif not flow.starter:
                continue  # an admin's own flow took the id; never overwrite it
            newest = _newest(session, graph.id)
            if newest is not None and newest.source == source:
                continue
            version = FlowVersion(
                flow_id=graph.id, number=(newest.number + 1) if newest else 1, source=source, status=DRAFT
            )
            session.add(version)
            session.flush()
            # A starter flow that an active clone replaced stays inactive on upgrade.
            if newest is None or flow.active_version is not None:
                _activate(session, flow, version, graph)
            changed.append(graph.id)
    return changed


def _newest(session: Session, flow_id: str) -> FlowVersion | None:
    return session.scalars(
        select(FlowVersion).where(FlowVersion.flow_id == flow_id).order_by(FlowVersion.number.desc())
    ).first()


def rename_header(source: str, old_id: str, new_id: str, title: str) -> str:
    pattern = re.compile(rf'^(\s*)flow\s+{re.escape(old_id)}\s+"(?:[^"\\]|\\.)*"', re.MULTILINE)
    escaped = title.replace("\\", "\\\\").replace('"', '\\"')
    renamed, count = pattern.subn(lambda m: f'{m.group(1)}flow {new_id} "{escaped}"', source, count=1)
    if count != 1:
        raise FlowError(f"cannot find the header of flow {old_id}")
    return renamed


def clone(session: Session, flow_id: str, new_id: str, title: str) -> FlowDefinition:
    """A new flow with a draft version 1: the newest text of ``flow_id`` with its header renamed."""
    origin = get_flow(session, flow_id)
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", new_id):
        raise FlowError("a flow id is lower case letters, digits and underscores")
    if session.get(FlowDefinition, new_id) is not None:
        raise FlowError(f"flow {new_id} already exists")
    newest = _newest(session, flow_id)
    assert newest is not None
    flow = FlowDefinition(
        id=new_id,
        title=title,
        kind=origin.kind,
        starter=False,
        trigger_event=origin.trigger_event,
        action_name=origin.action_name,
        cloned_from=flow_id,
    )
    session.add(flow)
    session.flush()
    session.add(
        FlowVersion(
            flow_id=new_id,
            number=1,
            status=DRAFT,
            source=rename_header(newest.source, flow_id, new_id, title),
        )
    )
    session.flush()
    return flow


def new_draft(session: Session, flow_id: str) -> FlowVersion:
    flow = get_flow(session, flow_id)
    if flow.starter:
        raise FlowError("starter flows are read-only: clone it")
    newest = _newest(session, flow_id)
    assert newest is not None
    number = (
        session.scalar(select(func.max(FlowVersion.number)).where(FlowVersion.flow_id == flow_id)) or 0
    ) + 1
    version = FlowVersion(flow_id=flow_id, number=number, status=DRAFT, source=newest.source)
    session.add(version)
    session.flush()
    return version


def edit_draft(
    session: Session,
    flow_id: str,
    number: int,
    source: str,
    *,
    expected_revision: int | None = None,
    if_match: str | None = None,
) -> FlowVersion:
    """Replace a draft's text; ``expected_revision`` (or an ``If-Match`` ETag) guards lost updates."""
    flow = get_flow(session, flow_id)
    version = get_version(session, flow_id, number)
    if flow.starter:
        raise FlowError("starter flows are read-only: clone it")
    if version.status != DRAFT:
        raise FlowError("only a draft can be edited")
    if if_match is not None and if_match.strip() != version.etag:
        raise StaleVersion("the version changed since it was read")
    if expected_revision is not None and expected_revision != version.revision:
        raise StaleVersion("the version changed since it was read")
    version.source = source
    session.flush()
    return version


def activate(session: Session, flow_id: str, number: int, *, runtime: Runtime | None = None) -> FlowVersion:
    runtime = runtime or default_runtime()
    flow = get_flow(session, flow_id)
    version = get_version(session, flow_id, number)
    result = check(version.source, runtime)
    graph = next((g for g in result.flows if g.id == flow_id), None)
    if not result.ok or graph is None:
        errors = result.errors or [
            Diagnostic(
                "missing-flow",
                dsl.Severity.ERROR,
                f"the text does not define flow {flow_id}",
                dsl.Span(1, 1, 1, 2),
            )
        ]
        raise ActivationRefused(errors)
    _activate(session, flow, version, graph)
    if flow.cloned_from:
        origin = session.get(FlowDefinition, flow.cloned_from)
        if origin is not None:
            _deactivate(session, origin)
    return version


def _activate(session: Session, flow: FlowDefinition, version: FlowVersion, graph: FlowGraph) -> None:
    for other in versions(session, flow.id):
        if other.status == ACTIVE and other.id != version.id:
            other.status = INACTIVE
    version.status = ACTIVE
    flow.active_version = version.number
    _apply_header(flow, graph)
    session.flush()


def _deactivate(session: Session, flow: FlowDefinition) -> None:
    for other in versions(session, flow.id):
        if other.status == ACTIVE:
            other.status = INACTIVE
    flow.active_version = None
    session.flush()


def deactivate(session: Session, flow_id: str) -> None:
    _deactivate(session, get_flow(session, flow_id))


@dataclass
class GraphDiff:
    nodes_added: list[str]
    nodes_removed: list[str]
    nodes_changed: list[str]
    edges_added: list[tuple[str, str, str, str]]
    edges_removed: list[tuple[str, str, str, str]]

    def as_dict(self) -> dict[str, list[object]]:
        return {
            "nodes": {
                "added": self.nodes_added,
                "removed": self.nodes_removed,  # type: ignore[dict-item]
                "changed": self.nodes_changed,
            },
            "edges": {
                "added": [list(e) for e in self.edges_added],  # type: ignore[dict-item]
                "removed": [list(e) for e in self.edges_removed],
            },
        }


def _node_signature(graph: FlowGraph, node_id: str) -> str:
    node = graph.node(node_id)
    # Spans move when lines are added above a node; that is not a change of meaning.
    fields = {k: v for k, v in vars(node).items() if k not in ("span",)}
    return repr(sorted(fields.items(), key=lambda kv: kv[0]))


def _edges(graph: FlowGraph) -> set[tuple[str, str, str, str]]:
    return {
        (source, str(kind), label or "", target)
        for source in graph.graph.nodes
        for kind, label, target in graph.out_edges(source)
    }


def diff(old: FlowGraph, new: FlowGraph) -> GraphDiff:
    """Nodes and edges added, removed and changed between two compiled versions of a flow."""
    old_nodes, new_nodes = set(old.graph.nodes), set(new.graph.nodes)
    changed = sorted(n for n in old_nodes & new_nodes if _node_signature(old, n) != _node_signature(new, n))
    old_edges, new_edges = _edges(old), _edges(new)
    return GraphDiff(
        sorted(new_nodes - old_nodes),
        sorted(old_nodes - new_nodes),
        changed,
        sorted(new_edges - old_edges),
        sorted(old_edges - new_edges),
    )


def diff_versions(
    session: Session, flow_id: str, a: int, b: int, *, runtime: Runtime | None = None
) -> GraphDiff:
    runtime = runtime or default_runtime()
    graphs = []
    for number in (a, b):
        result = check(get_version(session, flow_id, number).source, runtime)
        graph = next((g for g in result.flows if g.id == flow_id), None)
        if graph is None:
            raise ActivationRefused(result.errors)
        graphs.append(graph)
    return diff(graphs[0], graphs[1])


def create_flow(
    session: Session,
    source: str,
    *,
    activate_now: bool = False,
    starter: bool = False,
    runtime: Runtime | None = None,
) -> list[FlowDefinition]:
    """New flows from ``source`` (every flow it defines), each with a draft version 1 (activated if asked)."""
    runtime = runtime or default_runtime()
    result = check(source, runtime)
    if not result.ok:
        raise ActivationRefused(result.errors)
    created = []
    for graph in result.flows:
        if session.get(FlowDefinition, graph.id) is not None:
            raise FlowError(f"flow {graph.id} already exists")
        flow = FlowDefinition(id=graph.id, starter=starter)
        _apply_header(flow, graph)
        session.add(flow)
        session.flush()
        version = FlowVersion(flow_id=graph.id, number=1, status=DRAFT, source=source)
        session.add(version)
        session.flush()
        if activate_now:
            _activate(session, flow, version, graph)
        created.append(flow)
    return created
