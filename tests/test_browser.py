"""The pages in a real browser: headless Chromium (the system's), driven by Playwright.

Every page is opened from file:// with every request and console message recorded:
a test fails on any request but the page itself, on any console error or uncaught
exception, and on any alert. Screenshots go to the test's temporary directory.
Without Chromium these tests skip, saying how to install it; in CI (CI=true) they fail.
"""

from __future__ import annotations

import os
import re

import chromium
import pytest
from graphs import neuron

import nn
from autograd import Value, backward_steps, step_through, topological_order
from autograd.steps import number
from nn.report import TrainingReplay


@pytest.fixture(scope="module")
def browser():
    reason = chromium.missing()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs the browser for the page tests: {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        yield browser
        browser.close()


class Watched:
    """A page whose requests, console errors and dialogs are recorded."""

    def __init__(self, browser, url: str, width: int = 1200, height: int = 800) -> None:
        self.url = url
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda message: message.type == "error"
                     and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", self._dialog)
        self.page.goto(url)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def check_quiet(self) -> None:
        assert self.errors == [], f"console errors: {self.errors}"
        assert self.dialogs == [], f"the page opened dialogs: {self.dialogs}"
        others = [url for url in self.requests if url != self.url]
        assert others == [], f"network requests besides the page: {others}"
        self.context.close()


@pytest.fixture
def watch(browser):
    pages: list[Watched] = []

    def open_page(path, **size) -> Watched:
        watched = Watched(browser, path.resolve().as_uri(), **size)
        pages.append(watched)
        return watched

    yield open_page
    for watched in pages:
        watched.check_quiet()


def node_texts(page, node_id: str) -> list[str]:
    return page.locator(f"#graph g.node:has(> title:text-is('{node_id}')) text").all_text_contents()


def current(page) -> set[str]:
    """The ids of the highlighted boxes and ellipses."""
    return set(page.locator("#graph g.node.current > title").all_text_contents())


# --- the graph page ---------------------------------------------------------------------

def test_next_through_every_step_matches_backward_steps(watch, tmp_path):
    out = neuron()["o"]
    out.backward()   # whatever the graph held, the page starts clean
    order = topological_order(out)
    path = step_through(out).save_html(tmp_path / "neuron.html")
    watched = watch(path)
    page = watched.page
    forward = [v for v in order if v.children]
    steps = list(backward_steps(neuron()["o"]))
    assert page.inner_text("#position") == f"step 0 / {1 + len(forward) + len(steps)}"
    assert page.is_disabled("#back")
    # The forward pass: at first only the leaves have data.
    for i, v in enumerate(order):
        expected = f"data {number(v.data)}" if not v.children else "data ?"
        assert expected in node_texts(page, f"v{i}")
    page.screenshot(path=tmp_path / "forward-start.png")

    for k, v in enumerate(forward, start=1):
        page.click("#next")
        assert page.inner_text("#position").startswith(f"step {k} /")
        assert page.inner_text("#explanation").startswith(f"{v.label} = ")
        assert f"data {number(v.data)}" in node_texts(page, f"v{order.index(v)}")
        assert current(page) == {f"v{order.index(v)}", f"v{order.index(v)}_op"}

    page.click("#next")   # the start of the backward pass: every grad 0 but the output's
    assert page.text_content("#phase").startswith("backward")
    for i in range(len(order) - 1):
        assert "grad 0.0" in node_texts(page, f"v{i}")
    assert "grad 1.0" in node_texts(page, f"v{len(order) - 1}")

    for step in steps:
        page.click("#next")
        assert page.inner_text("#explanation") == step.explanation
        assert page.inner_text("#heading").endswith(f"{step.node.label} ({step.op})")
        node_id = f"v{[v.label for v in order].index(step.node.label)}"
        assert current(page) == {node_id, f"{node_id}_op"}
        # The edges into this node's operation are highlighted, one per operand.
        flows = page.locator("#graph g.edge.flow > title").all_text_contents()
        assert sorted(flows) == sorted(
            [f"v{[v.label for v in order].index(c.label)}->{node_id}_op" for c in step.operands]
            + [f"{node_id}_op->{node_id}"])
        for child, after in zip(step.operands, step.grads_after):
            child_id = f"v{[v.label for v in order].index(child.label)}"
            assert f"grad {number(after)}" in node_texts(page, child_id)
            assert f"{child.label}.grad" in page.inner_text("#changes")
        if step.index == 1:
            page.screenshot(path=tmp_path / "backward-step.png")
    assert page.is_disabled("#next")
    # At the end every box holds the gradient of one clean backward pass.
    fresh = neuron()["o"]
    fresh.backward()
    for i, v in enumerate(topological_order(fresh)):
        assert f"grad {number(v.grad)}" in node_texts(page, f"v{i}")


def test_slider_and_arrow_keys(watch, tmp_path):
    path = step_through(neuron()["o"]).save_html(tmp_path / "neuron.html")
    page = watch(path).page
    last = int(page.get_attribute("#slider", "max"))
    page.fill("#slider", str(last))   # sets the value and fires "input"
    assert page.inner_text("#position") == f"step {last} / {last}"
    steps = list(backward_steps(neuron()["o"]))
    assert page.inner_text("#explanation") == steps[-1].explanation
    page.click("h1")   # the keys work anywhere on the page
    page.keyboard.press("ArrowLeft")
    assert page.inner_text("#explanation") == steps[-2].explanation
    assert page.input_value("#slider") == str(last - 1)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")   # already at the end: stays there
    assert page.inner_text("#position") == f"step {last} / {last}"
    page.fill("#slider", "3")
    assert page.inner_text("#position") == f"step 3 / {last}"
    assert page.text_content("#phase").startswith("forward")
    page.keyboard.press("Home")
    assert page.input_value("#slider") == "0"
    page.screenshot(path=tmp_path / "slider.png")


def test_hostile_label_shows_as_text_and_runs_nothing(watch, tmp_path):
    label = "<script>alert(1)</script>"
    x = Value(2.0, label=label)
    y = x * Value(3.0, label='"w" & <b>')
    y.label = "</script><img src=x onerror=alert(2)>"
    path = step_through(y, title=label).save_html(tmp_path / "hostile.html")
    watched = watch(path)
    page = watched.page
    assert page.inner_text("h1") == label
    assert label in node_texts(page, "v0")
    assert '"w" & <b>' in node_texts(page, "v1")
    page.click("#next")
    assert page.inner_text("#explanation").startswith("</script><img src=x onerror=alert(2)> = ")
    assert page.locator("img").count() == 0 and page.locator("script").count() == 2
    page.screenshot(path=tmp_path / "hostile.png")
    # check_quiet (after the test) fails on the alert a script would have opened.


def test_big_graph_page_steps(watch, tmp_path):
    v = Value(0.0, label="start")
    for i in range(124):
        v = v + Value(0.1 * i, label=f"a{i}") * Value(-0.2 * i, label=f"b{i}")
    path = step_through(v).save_html(tmp_path / "big.html")
    page = watch(path).page
    last = int(page.get_attribute("#slider", "max"))
    assert last == 1 + 2 * 124 + 2 * 124
    page.fill("#slider", str(last - 1))
    steps = list(backward_steps(v))
    assert page.inner_text("#explanation") == steps[-2].explanation
    page.keyboard.press("End")
    assert page.inner_text("#explanation") == steps[-1].explanation


def test_page_steps_inline_in_a_notebook_export(watch, tmp_path):
    # What an HTML export of a notebook holds: the output cell's HTML, as is.
    shown = step_through(neuron()["o"])._repr_html_()
    path = tmp_path / "notebook.html"
    path.write_text(f"<!DOCTYPE html><html><body><h1>notebook</h1>{shown}</body></html>",
                    encoding="utf-8")
    page = watch(path).page
    frame = page.frame_locator("iframe")
    assert frame.locator("#position").inner_text() == "step 0 / 11"
    frame.locator("#next").click()
    assert frame.locator("#explanation").inner_text() == "x1*w1 = x1 * w1 = -6.0"
    page.screenshot(path=tmp_path / "notebook.png")


def test_step_through_view_is_driven_by_another_page(watch, tmp_path):
    # A page of its own (as the site's playground) holds the view and calls the script:
    # one view replaced by the next, the first one's keys gone with it.
    from autograd.page import page_file, script_json

    first, second = step_through(neuron()["o"]), step_through(Value(2.0, label="a") * 3)
    path = tmp_path / "host.html"
    path.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
        '<input id="typing"><div id="here"></div>'
        f'<script>{page_file("graph.js")}\n'
        f"var views = [{script_json(first.data)}, {script_json(second.data)}];\n"
        f"var markup = [{script_json({'m': first.view})}.m, {script_json({'m': second.view})}.m];\n"
        "var here = document.getElementById('here');\n"
        "function open(k) {\n"
        "  if (window.view) window.view.destroy();\n"
        "  here.innerHTML = markup[k];\n"
        "  window.view = stepThrough(views[k], here);\n"
        "}\n"
        "open(0);</script></body></html>", encoding="utf-8")
    page = watch(path).page
    assert page.inner_text("#position") == "step 0 / 11"
    page.click("#next")
    assert page.inner_text("#explanation") == "x1*w1 = x1 * w1 = -6.0"
    page.focus("#typing")
    page.keyboard.press("ArrowRight")   # keys typed into a field are the field's
    assert page.inner_text("#position") == "step 1 / 11"
    page.evaluate("window.oldSlider = here.querySelector('#slider'); open(1)")
    assert page.inner_text("#position") == "step 0 / 3"
    page.click("#position")
    page.keyboard.press("ArrowRight")
    assert page.inner_text("#position") == "step 1 / 3"
    assert page.inner_text("#explanation") == second.data["forward"][0]["text"]
    assert page.evaluate("oldSlider.value") == "1"   # the first view no longer listens
    page.keyboard.press("End")
    assert page.inner_text("#heading") == "step 1 of 1: " + second.data["backward"][0]["heading"]


# --- the training replay ----------------------------------------------------------------

@pytest.fixture(scope="module")
def report(tmp_path_factory):
    X, y = nn.data.make_moons(40, noise=0.1, seed=3)
    X_val, y_val = nn.data.make_moons(40, noise=0.1, seed=4)
    model = nn.MLP(2, [8, 8, 1], seed=3)
    epochs = 30
    replay = TrainingReplay(model, X, y, validation=(X_val, y_val), epochs=epochs, resolution=30)
    history = nn.fit(model, X, y, epochs=epochs, lr=lambda e: 1.0 - 0.9 * e / epochs,
                     validation=(X_val, y_val), progress=False, callback=replay, l2=1e-4)
    path = tmp_path_factory.mktemp("report") / "report.html"
    replay.save_html(path, history, title="moons", settings={"epochs": epochs})
    return path, history


def shown_epoch(page) -> dict[str, str]:
    """The epoch each part of the page shows."""
    text = page.inner_text("#epoch")
    match = re.match(r"epoch (\d+) of", text)
    return {"label": match.group(1) if match else "0" if text == "before training" else text,
            "slider": page.input_value("#slider"),
            "boundary": page.get_attribute("#boundary", "data-epoch"),
            "loss": page.get_attribute("#loss-chart", "data-epoch"),
            "accuracy": page.get_attribute("#accuracy-chart", "data-epoch")}


def boundary_pixels(page) -> str:
    return page.evaluate("document.getElementById('boundary').toDataURL()")


def test_training_page_epoch_boundary_and_curves_move_together(watch, report, tmp_path):
    path, history = report
    page = watch(path, width=1000, height=900).page
    # It opens at the end of training.
    assert set(shown_epoch(page).values()) == {"30"}
    assert page.inner_text("#lr") == "0.13"   # 1 - 0.9 * 29 / 30
    final = boundary_pixels(page)
    marker_end = page.get_attribute("#loss-chart", "data-marker-x")
    page.screenshot(path=tmp_path / "report-end.png")

    page.fill("#slider", "5")
    assert set(shown_epoch(page).values()) == {"5"}
    assert boundary_pixels(page) != final
    assert float(page.get_attribute("#loss-chart", "data-marker-x")) < float(marker_end)
    assert page.get_attribute("#accuracy-chart", "data-marker-x") == \
        page.get_attribute("#loss-chart", "data-marker-x")
    assert page.inner_text("#loss") == (f"training {float(f'{history.train_loss[4]:.4g}'):g}, "
                                        f"validation {float(f'{history.val_loss[4]:.4g}'):g}")
    assert page.inner_text("#lr") == "0.88"   # epoch 5 ran with 1 - 0.9 * 4 / 30
    page.screenshot(path=tmp_path / "report-epoch5.png")

    page.click("h1")
    page.keyboard.press("ArrowLeft")
    assert set(shown_epoch(page).values()) == {"4"}
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert set(shown_epoch(page).values()) == {"6"}

    page.fill("#slider", "0")
    assert page.inner_text("#epoch") == "before training"
    assert page.get_attribute("#boundary", "data-epoch") == "0"
    assert page.get_attribute("#loss-chart", "data-marker-x") == ""


def test_training_page_plays_and_pauses(watch, report):
    path, _ = report
    page = watch(path).page
    page.fill("#slider", "0")
    page.click("#play")   # plays from the start
    assert page.inner_text("#play").endswith("pause")
    page.wait_for_function("Number(document.getElementById('slider').value) >= 3")
    page.click("#play")
    assert page.inner_text("#play").endswith("play")
    stopped = shown_epoch(page)
    assert len(set(stopped.values())) == 1 and int(stopped["slider"]) >= 3
    page.wait_for_timeout(500)
    assert shown_epoch(page) == stopped   # paused: nothing moves
    page.fill("#slider", "30")
    page.click("#play")   # at the end, play starts over
    page.wait_for_function("document.getElementById('slider').value === '30'")
    assert page.inner_text("#play").endswith("play")
