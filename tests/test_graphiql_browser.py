"""GraphiQL in a real browser (headless Chromium), offline: the page and its assets come
from the app's own origin, queries run with the Headers tab's bearer token, subscriptions
run over graphql-transport-ws on the same origin, the page's CSP holds, and the token stays
out of the browser's storage unless the developer opts in.

Needs Debian's chromium (skipped without it locally, failed with CI=true).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser

from support.accounts import Session, register
from support.apps import RunningApp, backend_settings, serving
from support.browser import GraphiQL, Traffic, chromium, offline_context
from support.comments import add_comment
from support.graphql import GraphQLClient
from support.posts import create_post


@dataclass
class Setting:
    app: RunningApp
    gql: GraphQLClient
    browser: Browser
    user: Session


@pytest.fixture(scope="module")
async def setting(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, chromium_binary: str
) -> AsyncIterator[Setting]:
    """The app in development on the embedded defaults, a signed-up user and Chromium."""
    binary = chromium_binary
    settings = backend_settings("embedded", tmp_path_factory.mktemp("graphiql"), request)
    async with (
        serving(settings) as app,
        httpx.AsyncClient(base_url=app.url, timeout=30) as http,
        chromium(binary) as browser,
    ):
        gql = GraphQLClient(http)
        yield Setting(app, gql, browser, await register(gql, "graphiql"))


def assert_stayed_home(traffic: Traffic, violations: list[str]) -> None:
    """Every request on the app's origin, no CSP violation, no page error."""
    assert traffic.requests, "the page made no requests"
    assert traffic.foreign() == [], traffic.foreign()
    assert violations == [], violations
    csp_errors = [text for text in traffic.console_errors if "Content Security Policy" in text]
    assert csp_errors == [], csp_errors
    assert traffic.console_errors == [], traffic.console_errors
    assert traffic.page_errors == [], traffic.page_errors


async def test_query_with_the_authorization_header(setting: Setting, tmp_path: Path) -> None:
    async with offline_context(setting.browser, setting.app.url) as (context, traffic):
        graphiql = await GraphiQL.open(context, traffic, setting.app.graphql_url)
        await graphiql.set_query("{ viewer { handle } }")
        await graphiql.set_headers({"Authorization": f"Bearer {setting.user.token}"})
        await graphiql.run()
        result = await graphiql.wait_for_response_containing(setting.user.handle)
        assert result["data"] == {"viewer": {"handle": setting.user.handle}}

        # The explorer plugin is there and knows the schema.
        await graphiql.page.get_by_role("button", name="Show GraphiQL Explorer").click()
        explorer = graphiql.page.locator(".graphiql-explorer-root")
        await explorer.get_by_text("viewer", exact=True).wait_for()
        await graphiql.page.screenshot(path=tmp_path / "graphiql.png")

        # The query went out with the header; the token is in no storage of the page's.
        # (GraphiQL writes its storage with a debounce of up to 500 ms.)
        await graphiql.page.wait_for_timeout(700)
        stored = await graphiql.stored()
        assert "graphiql:queries" in stored["local"], stored  # the history was kept...
        assert setting.user.token not in str(stored), stored  # ...without the header
        assert "Bearer" not in str(stored), stored
        assert_stayed_home(traffic, await graphiql.csp_violations())
        assert (tmp_path / "graphiql.png").stat().st_size > 10_000


async def test_subscription_over_the_same_origin(setting: Setting) -> None:
    post = await create_post(setting.gql, setting.user, title="Watched")
    async with offline_context(setting.browser, setting.app.url) as (context, traffic):
        graphiql = await GraphiQL.open(context, traffic, setting.app.graphql_url)
        await graphiql.set_query(
            f'subscription {{ commentAdded(postId: "{post["id"]}") '
            "{ comment { body author { handle } } } }"
        )
        await graphiql.set_headers({"Authorization": f"Bearer {setting.user.token}"})
        await graphiql.run()
        await graphiql.wait_until_running()
        # The subscription starts listening a moment after GraphiQL sends it: comment until
        # a comment arrives.
        bodies = []
        for attempt in range(20):
            bodies.append(f"Live comment {attempt} {uuid.uuid4().hex[:6]}")
            await add_comment(setting.gql, setting.user, post["id"], bodies[-1])
            if await graphiql.response_contains("Live comment", timeout_ms=500):
                break
        result = await graphiql.wait_for_response_containing("Live comment")
        event = result["data"]["commentAdded"]["comment"]
        assert event["author"] == {"handle": setting.user.handle}
        assert event["body"] in bodies

        # Over WebSocket, on the page's own origin, with the token in connection_init.
        assert traffic.websockets == [setting.app.ws_url]
        messages = traffic.sent_messages()
        assert messages[0]["type"] == "connection_init"
        assert messages[0]["payload"] == {"Authorization": f"Bearer {setting.user.token}"}
        assert any(m["type"] == "subscribe" for m in messages)
        assert_stayed_home(traffic, await graphiql.csp_violations())


async def test_headers_persist_only_when_the_developer_opts_in(setting: Setting) -> None:
    token = setting.user.token
    header = json.dumps({"Authorization": f"Bearer {token}"})
    async with offline_context(setting.browser, setting.app.url) as (context, traffic):
        graphiql = await GraphiQL.open(context, traffic, setting.app.graphql_url)
        # What an earlier GraphiQL on this origin persisted (Strawberry's did) is dropped.
        await graphiql.page.evaluate(
            """header => {
              localStorage.setItem("graphiql:headers", header);
              const tab = {id: "t", query: "{ viewer { id } }", headers: header};
              localStorage.setItem("graphiql:tabState",
                JSON.stringify({activeTabIndex: 0, tabs: [tab]}));
              localStorage.setItem("graphiql:queries", JSON.stringify(
                {queries: [{query: "{ viewer { id } }", headers: header}]}));
            }""",
            header,
        )
        await graphiql.page.reload()
        await graphiql.ready()
        assert token not in await graphiql.headers_text()
        assert token not in str(await graphiql.stored())

        # Not opted in: the header is used, not stored, and a reload forgets it.
        await graphiql.set_headers({"Authorization": f"Bearer {token}"})
        await graphiql.page.wait_for_timeout(700)  # GraphiQL's storage writes are debounced
        assert token not in str(await graphiql.stored())
        await graphiql.page.reload()
        await graphiql.ready()
        assert token not in await graphiql.headers_text()

        # Opting in, in GraphiQL's settings dialog: the header is stored at once and
        # survives a reload.
        await graphiql.set_headers({"Authorization": f"Bearer {token}"})
        await graphiql.page.wait_for_timeout(200)
        await graphiql.page.get_by_role("button", name="Open settings dialog").click()
        dialog = graphiql.page.get_by_role("dialog")
        await dialog.get_by_role("button", name="On", exact=True).click()
        await graphiql.page.keyboard.press("Escape")
        assert token in str(await graphiql.stored())
        await graphiql.page.reload()
        await graphiql.ready()
        assert token in await graphiql.headers_text()
        await graphiql.set_query("{ viewer { handle } }")
        await graphiql.run()
        await graphiql.wait_for_response_containing(setting.user.handle)

        # Opting out again takes the header out of storage, history included.
        await graphiql.page.get_by_role("button", name="Open settings dialog").click()
        await dialog.get_by_role("button", name="Off", exact=True).click()
        await graphiql.page.keyboard.press("Escape")
        await graphiql.page.wait_for_timeout(700)
        assert token not in str(await graphiql.stored())
        await graphiql.page.reload()
        await graphiql.ready()
        assert token not in await graphiql.headers_text()
        assert_stayed_home(traffic, await graphiql.csp_violations())
