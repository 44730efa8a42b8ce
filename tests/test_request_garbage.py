"""A served request's objects are freed by reference counting as soon as it ends, not
left in reference cycles for the collector: a cycle holding the operation's result
keeps the whole response alive until the next collection, and under load the
collector's passes over those objects cost more CPU than the response did.

Agora runs in this process (uvicorn in the test's loop), so the collector sees its
objects: with automatic collection off, whatever a collection then finds unreachable
was left in a cycle.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support.apps import app_with

REQUESTS = 20
# The server's objects of a request: none may be left to the collector. (The test's
# own HTTP client leaves a few dozen small ones per request; they are not counted.)
SERVER_KINDS = (
    "ExecutionResult",  # and with it the response's data
    "ExecutionContext",
    "PlannedExecutor",
    "Context",  # and with it the request's loaders and their caches
    "RequestRecord",
    "RequestResponseCycle",
)
# Fewer than one response holds: a page of twenty posts is forty dicts and more.
MAX_DICTS_LEFT_PER_REQUEST = 5


@contextmanager
def garbage_kept() -> Iterator[list[object]]:
    """The objects that only the collector could free, made in the block."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        found: list[object] = []
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


async def test_a_query_leaves_its_response_to_reference_counting(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    query = "{ posts(first: 20) { edges { cursor node { id title tags } } } }"
    async with app_with(request, tmp_path) as (_running, http):
        for _ in range(3):  # caches filled, as any later request finds them
            assert (await http.post("/graphql", json={"query": query})).status_code == 200
        with garbage_kept() as garbage:
            for _ in range(REQUESTS):
                response = await http.post("/graphql", json={"query": query})
                assert response.status_code == 200
                assert "errors" not in response.json()
    kinds = Counter(type(value).__qualname__ for value in garbage)
    left = {kind: kinds[kind] for kind in SERVER_KINDS if kinds[kind]}
    assert not left, kinds.most_common(20)
    assert kinds["dict"] <= MAX_DICTS_LEFT_PER_REQUEST * REQUESTS, kinds.most_common(20)
