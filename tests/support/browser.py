"""A headless Chromium (Debian's, driven by Playwright) on the app's GraphiQL page.

Needs the `chromium` binary (Debian package chromium; never `playwright install`, which
downloads): `find_chromium` raises ServerUnavailable without it, which the tests turn into
a skip locally and a failure with CI=true. The browser may reach the app's own origin
only: every other request and WebSocket is aborted and recorded.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Route,
    WebSocket,
    WebSocketRoute,
    async_playwright,
)
from playwright.async_api import TimeoutError as PlaywrightTimeout

from support.servers import ServerUnavailable

# Headless, as root, and quiet: without the background-networking flags Chromium calls
# Google's services on start-up.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000

# CodeMirror 5 editors of GraphiQL 3, and the DOM's view of them.
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_TAB = ".graphiql-editor-tools button[data-name='headers']"
TOOL_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
RESPONSE = ".graphiql-response .CodeMirror"
EXECUTE = ".graphiql-execute-button"
# Records Content-Security-Policy violations before any page script runs (init scripts are
# not subject to the page's CSP).
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def find_chromium() -> str:
    """Debian's Chromium."""
    binary = shutil.which("chromium")
    if binary is None:
        raise ServerUnavailable("chromium not found; install Chromium (Debian package chromium)")
    return binary


@contextlib.asynccontextmanager
async def chromium(binary: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Traffic:
    """What a browser context asked for, and what its pages said."""

    origin: str  # http://127.0.0.1:<port>
    requests: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    frames_sent: list[str] = field(default_factory=list)

    def same_origin(self, url: str) -> bool:
        """http://<host:port>/… or ws://<host:port>/… of the app."""
        parts = urlsplit(url)
        return parts.scheme in {"http", "ws"} and parts.netloc == urlsplit(self.origin).netloc

    def foreign(self) -> list[str]:
        return [
            url
            for url in [*self.requests, *self.websockets, *self.aborted]
            if not self.same_origin(url)
        ]

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def on_websocket(self, socket: WebSocket) -> None:
        self.websockets.append(socket.url)
        socket.on("framesent", lambda payload: self.frames_sent.append(_text(payload)))

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    async def only_own_origin(self, route: Route) -> None:
        if self.same_origin(route.request.url):
            await route.continue_()
        else:
            self.aborted.append(route.request.url)
            await route.abort("blockedbyclient")

    async def no_foreign_websocket(self, socket: WebSocketRoute) -> None:
        self.aborted.append(socket.url)
        await socket.close(code=1008, reason="offline test")

    def sent_messages(self) -> list[dict[str, Any]]:
        """The graphql-transport-ws messages the page sent."""
        return [json.loads(frame) for frame in self.frames_sent if frame.startswith("{")]


def _text(payload: str | bytes) -> str:
    return payload if isinstance(payload, str) else payload.decode(errors="replace")


@contextlib.asynccontextmanager
async def offline_context(
    browser: Browser, origin: str
) -> AsyncIterator[tuple[BrowserContext, Traffic]]:
    """A fresh browser context (own storage) that can reach `origin` and nothing else."""
    traffic = Traffic(origin)
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    await context.add_init_script(CSP_RECORDER)
    await context.route("**/*", traffic.only_own_origin)
    await context.route_web_socket(
        lambda url: not traffic.same_origin(url), traffic.no_foreign_websocket
    )
    context.on("request", traffic.on_request)
    context.on("weberror", lambda error: traffic.page_errors.append(str(error.error)))
    try:
        yield context, traffic
    finally:
        await context.close()


class GraphiQL:
    """GraphiQL's page, driven through its CodeMirror editors."""

    def __init__(self, page: Page) -> None:
        self.page = page

    @classmethod
    async def open(cls, context: BrowserContext, traffic: Traffic, url: str) -> GraphiQL:
        page = await context.new_page()
        page.on("websocket", traffic.on_websocket)
        page.on("console", traffic.on_console)
        await page.goto(url)
        graphiql = cls(page)
        try:
            await graphiql.ready()
        except PlaywrightTimeout:
            raise AssertionError(
                f"GraphiQL did not start; requests aborted: {traffic.aborted}, "
                f"console errors: {traffic.console_errors}, page errors: {traffic.page_errors}"
            ) from None
        return graphiql

    async def ready(self) -> None:
        await self.page.wait_for_selector(QUERY_EDITOR)
        await self.page.wait_for_selector(RESPONSE)

    async def set_editor(self, selector: str, text: str) -> None:
        await self.page.wait_for_selector(selector)
        await self.page.eval_on_selector(
            selector, "(element, text) => element.CodeMirror.setValue(text)", text
        )

    async def editor_value(self, selector: str) -> str:
        return str(await self.page.eval_on_selector(selector, "e => e.CodeMirror.getValue()"))

    async def set_query(self, query: str) -> None:
        await self.set_editor(QUERY_EDITOR, query)

    async def set_headers(self, headers: dict[str, str]) -> None:
        await self.page.click(HEADERS_TAB)
        await self.set_editor(TOOL_EDITOR, json.dumps(headers))

    async def headers_text(self) -> str:
        await self.page.click(HEADERS_TAB)
        await self.page.wait_for_selector(TOOL_EDITOR)
        return await self.editor_value(TOOL_EDITOR)

    async def run(self) -> None:
        await self.page.click(EXECUTE)

    async def wait_until_running(self) -> None:
        """Until the execute button has turned into a stop button (a live subscription)."""
        await self.page.wait_for_function(
            "selector => document.querySelector(selector)"
            "?.getAttribute('aria-label')?.startsWith('Stop')",
            arg=EXECUTE,
        )

    async def response_contains(self, text: str, timeout_ms: float = TIMEOUT_MS) -> bool:
        """Whether the result panel shows `text` within the time."""
        try:
            await self.page.wait_for_function(
                "([selector, text]) => document.querySelector(selector)"
                "?.CodeMirror.getValue().includes(text)",
                arg=[RESPONSE, text],
                timeout=timeout_ms,
            )
        except PlaywrightTimeout:
            return False
        return True

    async def wait_for_response_containing(self, text: str) -> dict[str, Any]:
        """The result panel's JSON, once it contains `text`."""
        assert await self.response_contains(text), await self.editor_value(RESPONSE)
        return dict(json.loads(await self.editor_value(RESPONSE)))

    async def stored(self) -> dict[str, dict[str, str]]:
        """Everything in the page's localStorage and sessionStorage."""
        return dict(
            await self.page.evaluate(
                "() => ({local: {...localStorage}, session: {...sessionStorage}})"
            )
        )

    async def csp_violations(self) -> list[str]:
        return list(await self.page.evaluate("() => window.__cspViolations"))
