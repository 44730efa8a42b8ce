"""The GraphQL-over-HTTP conformance audit of the npm `graphql-http` package, on /graphql.

tests/js/audit.mjs runs `graphql-http`'s server audit (every MUST, SHOULD and MAY of the
GraphQL-over-HTTP specification it checks) against a running app, in development (the
shared app on both backends) and in production (introspection off, no GraphiQL). No audit
may fail a MUST (error) or a SHOULD (warning); failing MAYs (notices) are printed only.

Needs Node.js 20+ and `npm ci` in tests/js (a skip locally, a failure with CI=true).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from support.apps import RunningApp, own_app
from support.node import JS_DIR, run_node

AUDIT_SCRIPT = JS_DIR / "audit.mjs"
PRODUCTION_SECRET = "audit-production-secret-" + "s" * 24


async def audit(node: str, url: str) -> dict[str, Any]:
    run = await run_node(node, AUDIT_SCRIPT, url)
    if run.returncode not in (0, 1):
        pytest.fail(f"audit.mjs could not audit {url}: {run.describe()}")
    return run.output()


def assert_conformant(report: dict[str, Any]) -> None:
    counts = report["counts"]
    notices = [f"{f['id']} {f['name']}: {f['reason']}" for f in report["failures"]]
    if notices:
        print("audits not passed:\n  " + "\n  ".join(notices))
    failing = [f for f in report["failures"] if f["status"] in {"warn", "error"}]
    assert counts["warn"] == 0 and counts["error"] == 0 and not failing, (
        f"graphql-http audit of {report['url']}: {counts}\n" + json.dumps(failing, indent=2)
    )
    assert counts["ok"] + counts["notice"] == report["total"] > 0, counts


async def test_development_app_conforms(node: str, app_server: RunningApp) -> None:
    assert_conformant(await audit(node, app_server.graphql_url))


@pytest.fixture(scope="module")
async def production_app(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[RunningApp]:
    # Production does not migrate at start-up: `agora migrate` is a deploy step, which
    # own_app takes first.
    data_dir = tmp_path_factory.mktemp("production")
    async with own_app(
        request, data_dir, app_env="production", jwt_secret=PRODUCTION_SECRET
    ) as running:
        yield running


async def test_production_app_conforms(node: str, production_app: RunningApp) -> None:
    assert production_app.settings.is_production
    assert_conformant(await audit(node, production_app.graphql_url))
