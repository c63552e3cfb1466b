"""The designer's pages and fragments through FastAPI's TestClient: auth, roles, CSRF, editing, runs."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.integration.api.conftest import Api
from tests.integration.api.test_worked_example import example_order, place, setup_stock
from tests.integration.designer.conftest import Ui, log_in

STARTER = "create_fulfillment_orders"
UiFactory = Callable[[str], Ui]


def clone(admin: Ui, new_id: str = "mine", title: str = "Mine") -> str:
    response = admin.post(f"/ui/flows/{STARTER}/clone", {"new_id": new_id, "title": title}, htmx=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/ui/flows/{new_id}/versions/1/edit"
    return new_id


def etag(page: str) -> str:
    match = re.search(r'id="etag" value="([^"]+)"', page)
    assert match, page
    return match.group(1).replace("&#34;", '"')


def source_of(api: Api, flow: str, number: int = 1) -> str:
    text: str = api.get(f"/api/v1/flows/{flow}/versions/{number}").json()["source"]
    return text


def test_pages_need_a_session_and_redirect_to_log_in(api: Api) -> None:
    client = TestClient(api.client.app)
    page = client.get("/ui/flows", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/ui/login?next=/ui/flows"
    fragment = client.post(
        "/ui/flows/x/versions/1/check", data={"source": ""}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 401
    assert fragment.headers["HX-Redirect"].startswith("/ui/login")


def test_log_in_sets_a_safe_cookie_and_log_out_ends_the_session(api: Api) -> None:
    client = TestClient(api.client.app)
    response = log_in(client, api.keys["admin"])
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "ordo_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/ui/flows").text)
    assert csrf
    out = client.post("/ui/logout", data={"csrf_token": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.clear()
    client.cookies.set("ordo_session", cookie.split("ordo_session=")[1].split(";")[0])
    assert client.get("/ui/flows", follow_redirects=False).status_code == 303


def test_bad_key_and_integrator_cannot_log_in(api: Api) -> None:
    client = TestClient(api.client.app)
    assert log_in(client, "not-a-key").status_code == 401
    refused = log_in(client, api.keys["integrator"])
    assert refused.status_code == 403
    assert "HTTP API" in refused.text


def test_log_in_form_needs_its_csrf_cookie(api: Api) -> None:
    client = TestClient(api.client.app)
    response = client.post("/ui/login", data={"key": api.keys["admin"], "csrf_token": "forged"})
    assert response.status_code == 403


def test_writes_without_the_csrf_token_are_refused(ui: UiFactory) -> None:
    admin = ui("admin")
    response = admin.client.post(
        f"/ui/flows/{STARTER}/clone", data={"new_id": "x", "title": "X"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "CSRF" in response.text
    forged = admin.post(f"/ui/flows/{STARTER}/clone", {"new_id": "x"}, headers={"X-CSRF-Token": "nope"})
    assert forged.status_code == 403


def test_flows_list_shows_starters_runs_and_clone_only_to_admins(api: Api, ui: UiFactory) -> None:
    setup_stock(api)
    place(api, example_order())
    admin, agent = ui("admin"), ui("agent")
    page = admin.get("/ui/flows").text
    assert "Create Fulfillment Orders" in page and "order_summary.created" in page
    row = page[page.index(f'data-flow-id="{STARTER}"') :]
    assert re.search(r'<td class="num">1</td>', row[:3000])
    assert "Clone and edit" in page
    agent_page = agent.get("/ui/flows")
    assert agent_page.status_code == 200
    assert "Clone and edit" not in agent_page.text


def test_agent_reads_but_cannot_edit(ui: UiFactory) -> None:
    admin, agent = ui("admin"), ui("agent")
    flow = clone(admin)
    assert agent.get(f"/ui/flows/{flow}/versions/1").status_code == 200
    assert "readonly" in agent.get(f"/ui/flows/{flow}/versions/1").text
    editor = agent.get(f"/ui/flows/{flow}/versions/1/edit")
    assert editor.status_code == 403
    assert "Not allowed" in editor.text
    assert agent.post(f"/ui/flows/{flow}/versions/1/save", {"source": "", "etag": ""}).status_code == 403
    assert agent.post(f"/ui/flows/{STARTER}/clone", {"new_id": "a", "title": "A"}).status_code == 403
    manager = ui("manager")
    assert manager.get(f"/ui/flows/{flow}/versions/1/edit").status_code == 403


def test_live_check_swaps_diagnostics_and_graph(api: Api, ui: UiFactory) -> None:
    admin = ui("admin")
    flow = clone(admin)
    text = source_of(api, flow)
    bad = text.replace(
        'do set_status(status: "Pending Approval")', 'do set_statuz(status: "Pending Approval")'
    )
    line = text.split("\n").index('  do set_status(status: "Pending Approval")') + 1
    fragment = admin.post(f"/ui/flows/{flow}/versions/1/check", {"source": bad})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert f'data-line="{line}"' in fragment.text and "unknown-action" in fragment.text
    assert 'id="graph-status"' in fragment.text
    good = admin.post(f"/ui/flows/{flow}/versions/1/check", {"source": text.replace("> 5000", "> 2500")})
    assert "No problems found" in good.text
    assert 'hx-swap-oob="true"' in good.text and "summary.grand_total &gt; 2500" in good.text


def test_save_with_etag_and_a_stale_save_keeps_both_texts(api: Api, ui: UiFactory) -> None:
    admin = ui("admin")
    flow = clone(admin)
    page = admin.get(f"/ui/flows/{flow}/versions/1/edit").text
    first_etag = etag(page)
    text = source_of(api, flow)
    saved = admin.post(
        f"/ui/flows/{flow}/versions/1/save", {"source": text + "# tab A\n", "etag": first_etag}
    )
    assert saved.status_code == 200 and "Saved" in saved.text
    assert etag(saved.text) != first_etag
    stale = admin.post(
        f"/ui/flows/{flow}/versions/1/save", {"source": text + "# tab B\n", "etag": first_etag}
    )
    assert stale.status_code == 409
    assert "someone else saved this draft" in stale.text
    assert "# tab A" in stale.text  # the newer text, shown beside the editor
    assert source_of(api, flow).endswith("# tab A\n")


def test_activate_is_refused_with_diagnostics_then_succeeds(api: Api, ui: UiFactory) -> None:
    admin = ui("admin")
    flow = clone(admin)
    text = source_of(api, flow)
    tag = etag(admin.get(f"/ui/flows/{flow}/versions/1/edit").text)
    refused = admin.post(
        f"/ui/flows/{flow}/versions/1/activate",
        {"source": text.replace("-> route\n", "-> nowhere\n"), "etag": tag},
    )
    assert refused.status_code == 422
    assert "Not activated" in refused.text and "unknown-label" in refused.text
    tag = etag(refused.text)  # the text was saved; only the activation was refused
    done = admin.post(f"/ui/flows/{flow}/versions/1/activate", {"source": text, "etag": tag})
    assert done.status_code == 204
    assert done.headers["HX-Redirect"].startswith(f"/ui/flows/{flow}?notice=")
    flows = {f["id"]: f for f in api.get("/api/v1/flows").json()["items"]}
    assert flows[flow]["active_version"] == 1 and flows[STARTER]["active_version"] is None
    assert admin.get(f"/ui/flows/{flow}/versions/1/edit").text.count("cannot be edited") == 1
    draft = admin.post(f"/ui/flows/{flow}/versions", htmx=False)
    assert draft.headers["location"] == f"/ui/flows/{flow}/versions/2/edit"


def test_inspector_and_rewrite_edit_the_node_line(api: Api, ui: UiFactory) -> None:
    admin = ui("admin")
    flow = clone(admin)
    text = source_of(api, flow)
    shown = admin.post(
        f"/ui/flows/{flow}/versions/1/inspect", {"node": "route.3", "source": text, "editable": "1"}
    )
    assert (
        "ensure_funds" in shown.text
        and 'name="retry" value="3"' in shown.text
        and 'value="30s"' in shown.text
    )
    assert "payment_problem" in shown.text
    changed = admin.post(
        f"/ui/flows/{flow}/versions/1/rewrite",
        {
            "node": "route.3",
            "source": text,
            "arg_amount": "summary.balance_due",
            "retry": "5",
            "every": "1m",
            "timeout": "20s",
            "target_0": "fallout",
        },
    )
    assert changed.status_code == 200, changed.text
    assert "do ensure_funds(amount: summary.balance_due) retry 5 every 1m timeout 20s" in changed.text
    assert "on error -&gt; fallout" in changed.text
    # payment_problem is now unreachable: a warning, no error.
    assert "0 errors, 1 warning" in changed.text and "unreachable" in changed.text
    bad = admin.post(
        f"/ui/flows/{flow}/versions/1/rewrite", {"node": "route.3", "source": text, "retry": "lots"}
    )
    assert "Not changed" in bad.text
    decision = admin.post(
        f"/ui/flows/{flow}/versions/1/rewrite", {"node": f"{flow}.1", "source": text, "target_0": "reject"}
    )
    assert "if summary.grand_total &gt; 5000 -&gt; reject" in decision.text
    reader = ui("agent").post(
        f"/ui/flows/{flow}/versions/1/inspect", {"node": "route", "source": text, "editable": "1"}
    )
    assert reader.status_code == 200 and "Apply to the text" not in reader.text


def test_diff_page_shows_text_and_structure(api: Api, ui: UiFactory) -> None:
    admin = ui("admin")
    flow = clone(admin)
    text = source_of(api, flow)
    tag = etag(admin.get(f"/ui/flows/{flow}/versions/1/edit").text)
    admin.post(f"/ui/flows/{flow}/versions/1/activate", {"source": text, "etag": tag})
    admin.post(f"/ui/flows/{flow}/versions", htmx=False)
    tag = etag(admin.get(f"/ui/flows/{flow}/versions/2/edit").text)
    admin.post(f"/ui/flows/{flow}/versions/2/save", {"source": text.replace("> 5000", "> 10"), "etag": tag})
    page = ui("agent").get(f"/ui/flows/{flow}/diff?a=1&b=2")
    assert page.status_code == 200
    assert "element changed <code>" in page.text and f"{flow}.1" in page.text
    assert 'class="del">  if summary.grand_total &gt; 5000' in page.text
    assert 'class="add">  if summary.grand_total &gt; 10' in page.text


def test_simulate_and_run_pages(api: Api, ui: UiFactory) -> None:
    setup_stock(api)
    summary = place(api, example_order("SIM-1"))
    admin = ui("admin")
    search = admin.get(
        f"/ui/flows/{STARTER}/versions/1/simulate/orders?q=SIM", headers={"HX-Request": "true"}
    )
    assert "SIM-1" in search.text and "<html" not in search.text
    result = admin.post(f"/ui/flows/{STARTER}/versions/1/simulate", {"order_summary_id": summary["id"]})
    assert result.status_code == 200, result.text
    assert "Record changes it would make" in result.text and "on-path" in result.text
    runs = api.get(f"/api/v1/flow-runs?order_summary_id={summary['id']}").json()["items"]
    run = next(r for r in runs if r["flow"] == STARTER)
    page = ui("agent").get(f"/ui/runs/{run['id']}")
    assert page.status_code == 200
    assert re.search(r'class="node node-action on-path[^"]*" data-node-id="route"', page.text)
    assert "route_order" not in page.text or "allocations" in page.text
    assert "SIM-1" in page.text
    assert ui("agent").get("/ui/runs/nope").status_code == 404


def test_user_text_is_escaped_everywhere(api: Api, ui: UiFactory) -> None:
    admin = ui("admin")
    evil = '<script>alert("x")</script>'
    flow = clone(admin, "evil", evil)
    for path in (
        "/ui/flows",
        f"/ui/flows/{flow}",
        f"/ui/flows/{flow}/versions/1",
        f"/ui/flows/{flow}/versions/1/edit",
    ):
        page = admin.get(path).text
        assert "<script>alert" not in page, path
        assert "&lt;script&gt;alert" in page, path
