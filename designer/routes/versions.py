"""Two versions side by side: the text diff (difflib) and the structural diff of their graphs."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import SessionDep
from designer.auth import ReaderDep
from designer.render import render
from designer.views import get_flow, get_version
from engine import flows as flow_service
from engine.runtime import Runtime

router = APIRouter(prefix="/ui/flows/{flow_id}", tags=["ui"], include_in_schema=False)


@dataclass
class DiffRow:
    kind: str  # equal, replace, delete, insert: difflib's opcodes, one row per line pair
    left_number: int | None
    left: str
    right_number: int | None
    right: str


def side_by_side(old: str, new: str) -> list[DiffRow]:
    a, b = old.split("\n"), new.split("\n")
    rows: list[DiffRow] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        for k in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + k, j1 + k
            rows.append(
                DiffRow(
                    tag,
                    i + 1 if i < i2 else None,
                    a[i] if i < i2 else "",
                    j + 1 if j < j2 else None,
                    b[j] if j < j2 else "",
                )
            )
    return rows


@router.get("/diff")
def diff(request: Request, flow_id: str, a: int, b: int, session: SessionDep, viewer: ReaderDep) -> Response:
    flow = get_flow(session, flow_id)
    old, new = get_version(session, flow_id, a), get_version(session, flow_id, b)
    runtime: Runtime = request.app.state.runtime
    structural: dict[str, Any] | None = None
    structural_error = None
    try:
        structural = flow_service.diff_versions(session, flow_id, a, b, runtime=runtime).as_dict()
    except flow_service.ActivationRefused:
        structural_error = "One of the versions has errors, so their graphs cannot be compared."
    context = {
        "flow": flow,
        "old": old,
        "new": new,
        "rows": side_by_side(old.source, new.source),
        "structural": structural,
        "structural_error": structural_error,
    }
    return render(request, "diff.html", context)
