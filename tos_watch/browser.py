"""Render JavaScript-built pages with Playwright driving Debian's Chromium; the only playwright import.

Used for documents marked `render = "browser"` (OTA's `executeClientScripts`).
Playwright is an optional extra (`pip install 'tos-watch[browser]'`) and its own
browser download is never used: it drives the system Chromium (`apt-get install
chromium`, /usr/bin/chromium, or $TOS_WATCH_CHROMIUM). Missing either is a
BrowserUnavailable naming the fix, which fails that one document, not the run.

The browser stays off the network except for the page: a fresh profile in a
temporary directory, background networking, sync, component updates and QUIC
switched off, and every request whose origin is not the page's (nor a main-frame
navigation, i.e. a redirect of the page itself) aborted. The wait is bounded:
the configured selectors get until `timeout`, then whatever rendered is returned
and extraction says which selector matched nothing.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from tos_watch.errors import FetchError
from tos_watch.fetch import origin_of, status_error
from tos_watch.models import FetchResult, Validators

CHROMIUM_ENV = "TOS_WATCH_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
MAX_BROWSERS = 2  # each Chromium costs ~150 MB; pages beyond this wait their turn
SETTLE_SECONDS = 2.0  # with nothing to wait for, give scripts this long to go quiet
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-default-apps",
                 "--disable-extensions", "--disable-domain-reliability", "--metrics-recording-only",
                 "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication",
                 "--dns-prefetch-disable")
INSTALL_HINT = ("install the optional extra (pip install 'tos-watch[browser]') and Debian's Chromium "
                f"(apt-get install chromium), or point ${CHROMIUM_ENV} at a Chromium binary; "
                "`playwright install` is not needed")

_semaphores: dict[int, asyncio.Semaphore] = {}


class BrowserUnavailable(FetchError):
    """This machine cannot render JavaScript pages: Playwright or Chromium is missing."""

    def __init__(self, reason: str, *, url: str) -> None:
        super().__init__(f"cannot render {url} in a browser: {reason}; {INSTALL_HINT}", url=url, transient=False)


def chromium_path() -> Path:
    """Where the Chromium binary is expected ($TOS_WATCH_CHROMIUM, else /usr/bin/chromium)."""
    return Path(os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM)


def browser_problem() -> str | None:
    """Why pages cannot be rendered here, or None when they can (used by tests to skip)."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    path = chromium_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        return f"no Chromium at {path}"
    return None


def _semaphore() -> asyncio.Semaphore:
    """One limit per event loop (asyncio primitives cannot cross loops)."""
    loop = asyncio.get_running_loop()
    return _semaphores.setdefault(id(loop), asyncio.Semaphore(MAX_BROWSERS))


async def render_page(url: str, *, wait_for: list[str] | tuple[str, ...] = (),
                      timeout: float = 30.0) -> FetchResult:
    """Load `url` in headless Chromium, wait (bounded) for `wait_for` selectors, return the DOM as HTML."""
    problem = browser_problem()
    if problem:
        raise BrowserUnavailable(problem, url=url)
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright

    started = time.perf_counter()
    async with _semaphore():
        try:
            with tempfile.TemporaryDirectory(prefix="tos-watch-chromium-") as profile:
                async with async_playwright() as pw:
                    context = await pw.chromium.launch_persistent_context(
                        profile, executable_path=str(chromium_path()), headless=True, args=list(CHROMIUM_ARGS),
                        service_workers="block", accept_downloads=False)
                    try:
                        return await _load(context, url, list(wait_for), timeout, started)
                    finally:
                        await context.close()
        except PlaywrightError as exc:
            raise _translate(exc, url, timeout) from exc


def _translate(exc: Exception, url: str, timeout: float) -> FetchError:
    message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    if "Executable doesn't exist" in message or "Failed to launch" in message:
        return BrowserUnavailable(f"Chromium would not start ({message})", url=url)
    if "Timeout" in message or "timeout" in message:
        return FetchError(f"{url}: the page did not load within {timeout:g}s in the browser", url=url,
                          transient=True)
    return FetchError(f"{url}: browser rendering failed: {message}", url=url, transient=True)


async def _load(context: Any, url: str, wait_for: list[str], timeout: float, started: float) -> FetchResult:
    """Navigate with only the page's origin reachable, then wait for the selectors, bounded."""
    allowed = {origin_of(url)}
    await context.route("**/*", lambda route: _gate(route, allowed))
    page = context.pages[0] if context.pages else await context.new_page()
    response = await page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
    if response is None:
        raise FetchError(f"{url}: the browser got no response", url=url, transient=True)
    error = status_error(response.status, url, await response.header_value("retry-after"))
    if error is not None:
        raise error
    content_type = await response.header_value("content-type") or "text/html"
    if "html" not in content_type:  # a PDF or text file: the server's bytes, not a rendered viewer
        body = await response.body()
        return _result(page.url, response.status, body, content_type, started)
    await _settle(page, wait_for, deadline=started + timeout)
    html = await page.content()
    return _result(page.url, response.status, html.encode("utf-8"), "text/html; charset=utf-8", started)


async def _gate(route: Any, allowed: set[str]) -> None:
    """Let through the page's own origin and its main-frame navigations; abort everything else."""
    request = route.request
    if request.is_navigation_request() and request.frame.parent_frame is None:
        allowed.add(origin_of(request.url))
    if origin_of(request.url) in allowed:
        await route.continue_()
    else:
        await route.abort("blockedbyclient")


async def _settle(page: Any, wait_for: list[str], deadline: float) -> None:
    """Wait for every selector until the deadline; with none, for the network to go quiet briefly."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        if not wait_for:
            remaining = max(0.1, min(SETTLE_SECONDS, deadline - time.perf_counter()))
            await page.wait_for_load_state("networkidle", timeout=remaining * 1000)
        for selector in wait_for:
            remaining = max(0.1, deadline - time.perf_counter())
            await page.wait_for_selector(selector, state="attached", timeout=remaining * 1000)
    except PlaywrightTimeout:
        pass  # bounded: return what rendered; extraction reports the selector that matched nothing


def _result(url: str, status: int, content: bytes, content_type: str, started: float) -> FetchResult:
    return FetchResult(url=url, status=status, content=content, content_type=content_type,
                       validators=Validators(), elapsed=time.perf_counter() - started)
