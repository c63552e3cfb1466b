"""Everything the single order view shows, built from the API's own views of the order.

The summary, history and actions are the JSON API's (``summary_json``, ``history_events``,
``available_actions``), so the console and the API never disagree about an order; only the payments
and the orchestration view (runs, their steps and what they made) are assembled here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.routes.summaries import available_actions, history_events
from api.routes.work import task_view
from api.summaries import summary_json
from designer.errors import PageNotFound
from engine.models import FlowRun, FlowStep, FlowVersion, Task
from engine.runtime import Runtime
from orders import money
from orders.models import OrderSummary


@dataclass
class RunView:
    run: FlowRun
    steps: list[FlowStep]
    tasks: list[dict[str, Any]]
    fulfillment_orders: list[str]
    nodes: int
    children: list[RunView] = field(default_factory=list)

    @property
    def progress(self) -> int:
        """Percent of the graph's nodes the run has visited; a finished run is complete."""
        if self.run.status in ("completed", "canceled"):
            return 100
        visited = len({s.node_id for s in self.steps})
        return min(99, round(100 * visited / self.nodes)) if self.nodes else 0


def _fulfillment_ids(value: Any) -> Iterator[str]:
    """Ids of fulfillment orders in a step's outputs, wherever the action put them."""
    if isinstance(value, dict):
        ident = value.get("id")
        if isinstance(ident, str) and ident.startswith("fo_"):
            yield ident
        for inner in value.values():
            yield from _fulfillment_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _fulfillment_ids(inner)


def orchestration(session: Session, runtime: Runtime, summary_id: str) -> list[RunView]:
    """The summary's flow runs (children under their parent) with steps, tasks and fulfillment orders."""
    runs = list(
        session.scalars(select(FlowRun).where(FlowRun.subject_id == summary_id).order_by(FlowRun.created_at))
    )
    if not runs:
        return []
    ids = [r.id for r in runs]
    steps: dict[str, list[FlowStep]] = {i: [] for i in ids}
    for step in session.scalars(select(FlowStep).where(FlowStep.run_id.in_(ids)).order_by(FlowStep.seq)):
        steps[step.run_id].append(step)
    tasks: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for task in session.scalars(select(Task).where(Task.run_id.in_(ids)).order_by(Task.created_at)):
        tasks[task.run_id or ""].append(task_view(task) | {"comment": (task.details or {}).get("comment")})
    versions = {
        v.id: v
        for v in session.scalars(select(FlowVersion).where(FlowVersion.id.in_({r.version_id for r in runs})))
    }
    views: dict[str, RunView] = {}
    for run in runs:
        version = versions[run.version_id]
        graph = runtime.graphs(version.id, version.source).get(run.flow_id)
        made = [fo for s in steps[run.id] for fo in _fulfillment_ids(s.outputs)]
        views[run.id] = RunView(
            run,
            steps[run.id],
            tasks[run.id],
            list(dict.fromkeys(made)),
            graph.graph.number_of_nodes() if graph else 0,
        )
    top: list[RunView] = []
    for run in runs:
        parent = views.get(run.parent_run_id or "")
        (parent.children if parent else top).append(views[run.id])
    return top


def payments(summary: OrderSummary) -> dict[str, list[dict[str, Any]]]:
    def amount(value: Any) -> str:
        return f"{money.quantize(value, summary.currency):f}"

    return {
        "authorizations": [
            {"id": a.id, "gateway": a.gateway, "status": a.status.value, "amount": amount(a.amount),
             "remaining": amount(a.remaining), "at": a.created_at, "expires_at": a.expires_at}
            for a in summary.authorizations
        ],
        "captures": [
            {"id": p.id, "gateway": p.gateway, "status": p.status.value, "amount": amount(p.amount),
             "refunded": amount(p.refunded_amount), "invoice_id": p.invoice_id, "at": p.created_at}
            for p in summary.payments
        ],
        "refunds": [
            {"id": r.id, "gateway": r.gateway, "status": r.status.value, "amount": amount(r.amount),
             "payment_id": r.payment_id, "credit_memo_id": r.credit_memo_id, "at": r.created_at}
            for r in summary.refunds
        ],
    }  # fmt: skip


def load(session: Session, summary_id: str) -> OrderSummary:
    summary = session.get(OrderSummary, summary_id)
    if summary is None:
        raise PageNotFound(f"There is no order {summary_id}.")
    return summary


def order_context(session: Session, runtime: Runtime, summary_id: str) -> dict[str, Any]:
    summary = load(session, summary_id)
    order = summary_json(session, summary)
    history = history_events(session, summary)
    return {
        "summary": summary,
        "order": order,
        "items_by_id": {item["id"]: item for item in order["items"]},
        "payments": payments(summary),
        "history": list(reversed(history)),  # newest first: what just happened is what people look for
        "actions": available_actions(session, runtime, summary),
        "runs": orchestration(session, runtime, summary.id),
    }
