"""The system's Chromium, driven by Playwright: how the page tests and `make screenshots` start it.

Playwright's own browser download is never used (it needs a network this project
cannot count on): the browser is Debian's `chromium` package.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

INSTALL_HINT = ("install Chromium and Playwright for Python: "
                "apt-get install -y --no-install-recommends chromium (as root), "
                "and pip install -e '.[dev]' (or make .venv/.installed-dev)")
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def executable() -> str | None:
    """The path of the system's Chromium, or None."""
    for path in CANDIDATES:
        if Path(path).is_file() and os.access(path, os.X_OK):
            return path
    return shutil.which("chromium")


def missing() -> str | None:
    """Why the browser cannot be started here (with how to fix it), or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"Playwright for Python is not installed; {INSTALL_HINT}"
    if executable() is None:
        return f"no Chromium found at {' or '.join(CANDIDATES)}; {INSTALL_HINT}"
    return None


def launch(playwright):
    """A headless Chromium browser from `sync_playwright()`'s object."""
    return playwright.chromium.launch(executable_path=executable(), headless=True, args=ARGS)
