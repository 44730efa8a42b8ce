"""The floor under any Python GraphQL server: a raw Starlette endpoint that answers
every POST /graphql, whatever its body, with the wide query's response
(`{"data":{"posts":{"edges":[{"node":{id,title,body,tags,publishedAt}}, ...]}}}`,
100 posts), encoded with orjson on each request. No parsing, validation or execution.

    uvicorn raw_starlette:app --app-dir bench/reference_servers --log-level warning

The posts come from `BENCH_POSTS_FILE` when it is set: a wide query's JSON response
(bench/http_compare.py saves Agora's, so this server sends the same bytes). Otherwise
100 synthetic posts are made, deterministically, once at start-up. plain_strawberry.py
serves the same posts.
"""

from __future__ import annotations

import base64
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

POSTS = 100
TAGS = [
    "python", "graphql", "databases", "api-design", "testing", "performance",
    "security", "career", "architecture", "travel", "music", "cooking",
]  # fmt: skip
WORDS = [
    "the", "a", "an", "of", "to", "and", "in", "for", "on", "with", "why", "how", "what",
    "when", "notes", "about", "lessons", "from", "building", "running", "scaling", "testing",
    "shipping", "small", "large", "fast", "slow", "systems", "teams", "queries", "servers",
    "clients", "caches", "schemas", "data", "design", "production",
]  # fmt: skip


def synthetic_posts(count: int = POSTS) -> list[dict[str, Any]]:
    """`count` posts shaped like Agora's (global id, 2 or 3 tags), newest first."""
    rng = random.Random(42)
    newest = datetime(2025, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    posts = []
    for index in range(count):
        key = count - index
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 9))).capitalize()
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(60, 120))) + "."
        posts.append({
            "id": base64.urlsafe_b64encode(f"Post:{key}".encode()).decode().rstrip("="),
            "title": title,
            "body": body.capitalize(),
            "tags": rng.sample(TAGS, rng.randint(2, 3)),
            "publishedAt": (newest - timedelta(minutes=17 * index)).isoformat(),
        })  # fmt: skip
    return posts


def load_posts() -> list[dict[str, Any]]:
    """The posts to serve, as JSON objects: `BENCH_POSTS_FILE`'s, or synthetic ones."""
    path = os.environ.get("BENCH_POSTS_FILE")
    if not path:
        return synthetic_posts()
    response = orjson.loads(Path(path).read_bytes())
    return [edge["node"] for edge in response["data"]["posts"]["edges"]]


RESPONSE = {"data": {"posts": {"edges": [{"node": post} for post in load_posts()]}}}


async def graphql(request: Request) -> Response:
    return Response(orjson.dumps(RESPONSE), media_type="application/json")


app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])
