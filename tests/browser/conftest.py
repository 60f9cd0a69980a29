"""A real server (uvicorn) and Debian's chromium driven by Playwright."""

import shutil
import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import IN_CI, live_server_url  # noqa: F401 - shared fixture

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]


# Playwright's own wait_for_function compiles its predicate with eval inside the page, which
# the pages' Content-Security-Policy forbids (no 'unsafe-eval'): the wait fails, and the
# attempt counts as a violation. This one asks the page through page.evaluate (the DevTools
# protocol, not subject to the page's policy) until the predicate holds. Same arguments.
_PREDICATE = """async (arg) => {
  const v = (%s);
  return !!(typeof v === 'function' ? await v(arg) : v);
}"""
_NAVIGATING = ("Execution context was destroyed", "navigat", "Target closed")


def _wait_for_function(self, expression, *, arg=None, timeout=None, polling=None):
    wait = (30_000 if timeout is None else timeout) / 1000
    every = polling / 1000 if isinstance(polling, (int, float)) else 0.02
    deadline = time.monotonic() + wait
    while True:
        try:
            if self.evaluate(_PREDICATE % expression, arg):
                return True
        except PlaywrightError as exc:
            if not any(text in str(exc) for text in _NAVIGATING):
                raise
        if time.monotonic() > deadline:
            raise PlaywrightTimeout(
                f"wait_for_function: {expression!r} not true in {wait} s"
            )
        time.sleep(every)


Page.wait_for_function = _wait_for_function


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium")
    if not chromium:
        message = "Debian's chromium is not installed (apt-get install chromium); browser tests need it."
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


# Every page of the context reports what its Content-Security-Policy blocked.
_CSP_REPORTER = """
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolation({
  directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample,
  source: e.sourceFile + ':' + e.lineNumber, page: location.href,
}));
"""


def csp_violations(context) -> list[dict]:
    """What the policy blocks in `context`'s pages from now on (docs/security.md)."""
    seen: list[dict] = []
    context.expose_binding("__cspViolation", lambda source, v: seen.append(v))
    context.add_init_script(_CSP_REPORTER)
    return seen


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    violations = csp_violations(context)
    pg = context.new_page()
    yield pg
    context.close()
    # Whatever a test does, nothing on our pages may need what the policy forbids.
    assert violations == [], "blocked by the Content-Security-Policy"


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
