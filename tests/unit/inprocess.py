"""Helpers of the fast tier: the schema driven in-process, as the HTTP layer drives it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from strawberry.types import ExecutionResult

from datasources.stores import Datastores
from resolvers.context import Context, new_context
from schema import AgoraSchema
from schema.admission import begin_admission
from settings import Settings

# Limits lifted: the limits have tests of their own in the full suite.
UNLIMITED: dict[str, Any] = {
    "rate_limit_per_address": 10_000_000,
    "rate_limit_per_account": 10_000_000,
    "auth_rate_limit_per_address": 10_000_000,
    "auth_rate_limit_per_account": 10_000_000,
    "cost_budget_points": 1_000_000_000,
    # The session's stores live while the later tests run: a sweep every few seconds
    # would move the process's metrics under tests/test_metrics.py.
    "outbox_sweep_seconds": 3600,
}

PASSWORD = "correct horse battery"


def unique_handle(prefix: str = "u") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@dataclass
class Session:
    """A registered user: global ID, handle and access token."""

    id: str
    handle: str
    token: str


class InProcessGraphQL:
    """Runs operations on the schema in-process, as `web.graphql_http` does per request."""

    def __init__(self, schema: AgoraSchema, settings: Settings, stores: Datastores) -> None:
        self.schema = schema
        self.settings = settings
        self.stores = stores

    async def context(self, token: str | None = None) -> Context:
        context = new_context(self.settings, self.stores, f"req-{uuid.uuid4().hex[:12]}")
        await context.authenticate(f"Bearer {token}" if token else None)
        return context

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> ExecutionResult:
        context = await self.context(token)
        begin_admission()
        return await self.schema.execute(query, variable_values=variables, context_value=context)

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The data of an operation that must raise no top-level error."""
        result = await self.execute(query, variables, token)
        assert not result.errors, result.errors
        assert result.data is not None
        return result.data

    async def register(self, prefix: str = "u") -> Session:
        handle = unique_handle(prefix)
        data = await self(
            "mutation($i: RegisterInput!) { register(input: $i) "
            "{ user { id handle } accessToken errors { code } } }",
            {
                "i": {
                    "handle": handle,
                    "email": f"{handle}@example.com",
                    "password": PASSWORD,
                    "displayName": handle.title(),
                }
            },
        )
        payload = data["register"]
        assert payload["errors"] == [], payload
        return Session(payload["user"]["id"], handle, payload["accessToken"])
