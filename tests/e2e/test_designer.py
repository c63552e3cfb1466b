"""Issue 7's acceptance 1-3 in Chromium: edit, check, activate and watch a run; stale saves and roles;
user text rendered as text."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.designer_server import OUTPUT, Server, browser, log_in, server  # noqa: F401
from tests.integration.api.test_worked_example import example_order

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FLOW = "e2e_fulfillment"


def expect(locator: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator, **kwargs)


def cursor_line(page: Any) -> int:
    line: int = page.eval_on_selector(
        "#source", "el => el.value.slice(0, el.selectionStart).split('\\n').length"
    )
    return line


def set_up_stock(server: Server) -> None:  # noqa: F811
    assert (
        server.api(
            "PUT",
            "/api/v1/locations/WH1",
            json={"name": "WH1", "kind": "warehouse", "ships": True, "pickup": False, "priority": 1},
        ).status_code
        == 200
    )
    assert (
        server.api(
            "PUT", "/api/v1/delivery-methods/STANDARD", json={"name": "Standard", "kind": "ship"}
        ).status_code
        == 200
    )
    for sku in ("SKU-A", "SKU-B"):
        assert server.api("PUT", f"/api/v1/inventory/WH1/{sku}", json={"on_hand": 50}).status_code == 200


def test_admin_clones_edits_activates_and_follows_a_run(server: Server, browser: Any) -> None:  # noqa: F811
    OUTPUT.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    log_in(page, server, "admin")

    # Clone the starter fulfillment flow from the list.
    row = page.locator('tr[data-flow-id="create_fulfillment_orders"]')
    row.locator("summary", has_text="Clone").click()
    row.locator('input[name="new_id"]').fill(FLOW)
    row.locator('input[name="title"]').fill("E2E fulfillment")
    row.get_by_role("button", name="Clone and edit").click()
    expect(page).to_have_url(f"{server.url}/ui/flows/{FLOW}/versions/1/edit")
    expect(page.locator("#diagnostics")).to_contain_text("No problems found")
    source = page.locator("#source")
    original = source.input_value()
    lines = original.split("\n")
    bad_line = next(i for i, text in enumerate(lines, 1) if "do set_status(" in text)

    # Type an error: the diagnostic shows at its line within a second of typing.
    source.click()
    page.evaluate(
        """line => { const el = document.getElementById('source');
                     const before = el.value.split('\\n').slice(0, line - 1).join('\\n').length + 1;
                     const at = before + el.value.split('\\n')[line - 1].indexOf('set_status') + 'set_statu'.length;
                     el.focus(); el.setSelectionRange(at, at + 1); }""",
        bad_line,
    )
    page.keyboard.type("z")
    error = page.locator(".diag-error").first
    expect(error).to_contain_text(f"line {bad_line}:", timeout=1000)
    expect(error).to_contain_text("unknown-action")
    # The diagnostic links to its line: clicking it puts the cursor there.
    page.locator("#source").evaluate("el => el.setSelectionRange(0, 0)")
    error.locator("a.goto-line").click()
    assert cursor_line(page) == bad_line

    # Fix it, then change the approval threshold and watch the graph follow.
    source.fill(original)
    expect(page.locator("#diagnostics")).to_contain_text("No problems found")
    assert "> 5000" in original
    source.fill(original.replace("> 5000", "> 2500"))
    decision = page.locator(f'#graph [data-node-id="{FLOW}.1"]')
    expect(decision).to_contain_text("summary.grand_total > 2500")
    expect(page.locator("#diagnostics")).to_contain_text("No problems found")
    page.screenshot(path=str(OUTPUT / "designer-editor.png"), full_page=True)

    page.click("#activate-button")
    expect(page).to_have_url(re.compile(rf"/ui/flows/{FLOW}\?notice="))
    expect(page.locator(".notice")).to_contain_text("Version 1 is now active")
    expect(page.locator('tr[data-version="1"]')).to_contain_text("active")

    # An order through the API starts a run of the new flow.
    set_up_stock(server)
    created = server.api(
        "POST",
        "/api/v1/orders",
        role="integrator",
        json=example_order("E2E-1"),
        headers={"Idempotency-Key": "e2e-order-1"},
    )
    assert created.status_code == 201, created.text
    page.reload()
    run_link = page.locator("#runs tbody tr a").first
    expect(run_link).to_be_visible()
    run_link.click()
    expect(page.locator("h1")).to_contain_text("Run")
    expect(page.locator("#run-status")).to_have_text("completed")
    graph = page.locator("#graph")
    for node in (f"{FLOW}.1", "route", "route.3"):
        expect(graph.locator(f'[data-node-id="{node}"]')).to_have_class(re.compile(r"\bon-path\b"))
    expect(graph.locator('[data-node-id="review"]')).not_to_have_class(re.compile(r"\bon-path\b"))
    expect(page.locator("table.steps")).to_contain_text("allocations")
    page.screenshot(path=str(OUTPUT / "designer-run.png"), full_page=True)
    context.close()


def clone_via_api(server: Server, new_id: str, title: str) -> None:  # noqa: F811
    response = server.api(
        "POST", "/api/v1/flows/create_fulfillment_orders/clone", json={"id": new_id, "title": title}
    )
    assert response.status_code == 201, response.text


def test_stale_save_from_two_tabs_keeps_the_newer_text_and_roles_hold(server: Server, browser: Any) -> None:  # noqa: F811
    clone_via_api(server, "e2e_two_tabs", "Two tabs")
    editor = f"{server.url}/ui/flows/e2e_two_tabs/versions/1/edit"
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab_a = context.new_page()
    log_in(tab_a, server, "admin")
    tab_a.goto(editor)
    tab_b = context.new_page()
    tab_b.goto(editor)
    text = tab_a.locator("#source").input_value()

    tab_a.locator("#source").fill(text + "# saved from tab A\n")
    tab_a.click("#save-button")
    expect(tab_a.locator("#save-status")).to_contain_text("Saved")

    mine = text + "# typed in tab B\n"
    tab_b.locator("#source").fill(mine)
    tab_b.click("#save-button")
    conflict = tab_b.locator("#conflict")
    expect(conflict).to_contain_text("Not saved: someone else saved this draft")
    expect(tab_b.locator("#source")).to_have_value(mine)  # nothing the user typed is lost
    expect(tab_b.locator("#server-source")).to_have_value(re.compile("# saved from tab A"))
    saved = server.api("GET", "/api/v1/flows/e2e_two_tabs/versions/1").json()["source"]
    assert saved.endswith("# saved from tab A\n")
    # Keeping their own text is one click, and then it is the newest.
    conflict.get_by_role("button", name="Save mine over it").click()
    expect(tab_b.locator("#save-status")).to_contain_text("Saved")
    assert (
        server.api("GET", "/api/v1/flows/e2e_two_tabs/versions/1")
        .json()["source"]
        .endswith("# typed in tab B\n")
    )
    context.close()

    viewer = browser.new_context()
    page = viewer.new_page()
    log_in(page, server, "agent")
    response = page.goto(editor)
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("Not allowed")
    expect(page.locator("#source")).to_have_count(0)
    page.goto(f"{server.url}/ui/flows/e2e_two_tabs/versions/1")
    expect(page.locator("#source")).to_have_attribute("readonly", "")
    expect(page.locator("#save-button")).to_have_count(0)
    viewer.close()


def test_script_in_a_flow_label_renders_as_text(server: Server, browser: Any) -> None:  # noqa: F811
    evil = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
    clone_via_api(server, "e2e_evil", evil)
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, server, "admin")
    # The label also goes into the flow text as a fail message, so the graph draws it.
    page.goto(f"{server.url}/ui/flows/e2e_evil/versions/1/edit")
    source = page.locator("#source")
    text = source.input_value()
    source.fill(
        text.replace(
            'fail error.message category "Fulfillment"',
            'fail "<script>window.__xss = 3</script>" category "Fulfillment"',
        )
    )
    expect(page.locator('#graph [data-node-id="fallout"]')).to_contain_text(
        "<script>window.__xss = 3</script>"
    )
    page.click("#save-button")
    expect(page.locator("#save-status")).to_contain_text("Saved")
    for path in (
        "/ui/flows",
        "/ui/flows/e2e_evil",
        "/ui/flows/e2e_evil/versions/1",
        "/ui/flows/e2e_evil/versions/1/edit",
    ):
        page.goto(server.url + path)
        expect(page.get_by_text("<script>window.__xss = 1</script>", exact=False).first).to_be_visible()
        assert page.evaluate("window.__xss") is None, path
    page.click('#graph [data-node-id="fallout"]')
    expect(page.locator("#inspector")).to_contain_text("<script>window.__xss = 3</script>")
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    context.close()
