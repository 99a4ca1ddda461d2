"""The real tejun app served over HTTP from a thread, and Debian's chromium driven by Playwright.

Used by the page journeys (test_journeys.py, test_pages_i18n.py): the app is the test session's (migrated
database, published models of bpmn/ and forms/), served by werkzeug's `make_server` on a free port.
Every page a test opens is watched for CSP violations, console errors and uncaught script errors.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LAPTOP = {"width": 1280, "height": 900}
TABLET = {"width": 820, "height": 1180}
VENDOR = ROOT / "service" / "web" / "static" / "vendor"

WATCH_JS = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.__tejunViolation({directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample || ''});
});
"""
# Chrome logs a 4xx answer to fetch() as a console error; some steps provoke one on purpose
EXPECTED_CONSOLE = re.compile(r"Failed to load resource: .* status of (409|413|415|422)")


def need_chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (make browser)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; required under CI=true")
        pytest.skip(reason)
    for name in ("form.js", "diagram.js", "app.js"):
        if not (VENDOR / name).is_file():
            pytest.fail(f"{VENDOR / name} is missing: run service/web/assets/build.sh (make assets)")
    return CHROMIUM


class LiveServer:
    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="tejun-live", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


class Watch:
    """What a page reported: CSP violations, console errors, uncaught errors."""

    def __init__(self, page):
        self.violations: list[dict] = []
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        page.expose_function("__tejunViolation", lambda v: self.violations.append(v))
        page.add_init_script(WATCH_JS)
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def assert_clean(self) -> None:
        console_errors = [t for kind, t in self.console if kind == "error" and not EXPECTED_CONSOLE.search(t)]
        assert not self.violations, f"CSP violations: {self.violations}"
        assert not [t for _, t in self.console if "Content Security Policy" in t or "Refused to" in t]
        assert not console_errors, f"console errors: {console_errors}"
        assert not self.errors, f"uncaught errors: {self.errors}"


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
