"""Screenshots of the two pages for the README, taken in headless Chromium (`make screenshots`).

    python tests/screenshots.py GRAPH_HTML REPORT_HTML OUT_DIR

writes OUT_DIR/graph_page.png (a backward step of the graph page) and
OUT_DIR/training_page.png (the training replay part-way through).
"""

from __future__ import annotations

import sys
from pathlib import Path

import chromium

# Where each picture stops: the backward step through x1 * w1 (the chain rule's
# "swap" of a product), and an epoch where the boundary is still taking shape.
GRAPH_STEP_HEADING = "x1 * w1 (*)"
REPORT_EPOCH = 12


def main(graph: Path, report: Path, out: Path) -> int:
    reason = chromium.missing()
    if reason is not None:
        print(f"screenshots: {reason}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        page = browser.new_page(viewport={"width": 1180, "height": 300}, device_scale_factor=1.5)
        page.goto(graph.resolve().as_uri())
        last = int(page.get_attribute("#slider", "max"))
        for _ in range(last):
            page.click("#next")
            if (page.text_content("#phase").startswith("backward")
                    and GRAPH_STEP_HEADING in page.inner_text("#heading")):
                break
        else:
            raise SystemExit(f"screenshots: no backward step {GRAPH_STEP_HEADING} in {graph}")
        page.mouse.move(0, 0)
        page.screenshot(path=out / "graph_page.png", full_page=True)

        page = browser.new_page(viewport={"width": 1000, "height": 300}, device_scale_factor=1.5)
        page.goto(report.resolve().as_uri())
        page.fill("#slider", str(REPORT_EPOCH))
        page.evaluate("document.activeElement.blur()")   # no focus ring in the picture
        page.mouse.move(0, 0)
        page.screenshot(path=out / "training_page.png", full_page=True)
        browser.close()
    for name in ("graph_page.png", "training_page.png"):
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
