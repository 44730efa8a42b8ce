"""Plain Strawberry at the version Agora pins, with nothing of Agora's: `{ hello }` and a
static `posts(first: Int)` connection of 100 posts built once at start-up, served by
`strawberry.asgi.GraphQL` (no GraphiQL) with the parser and validation caches (as
classes: one instance per operation, sharing a module-level LRU cache).

    uvicorn plain_strawberry:app --app-dir bench/reference_servers --log-level warning

The posts are raw_starlette.py's: `BENCH_POSTS_FILE` (a wide query's JSON response)
when it is set, else 100 synthetic ones.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from raw_starlette import load_posts
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache

DEFAULT_FIRST = 20


@strawberry.type
class Post:
    id: strawberry.ID
    title: str
    body: str
    tags: list[str]
    published_at: datetime


@strawberry.type
class PostEdge:
    node: Post


@strawberry.type
class PostConnection:
    edges: list[PostEdge]


EDGES = [
    PostEdge(
        node=Post(
            id=strawberry.ID(post["id"]),
            title=post["title"],
            body=post["body"],
            tags=list(post["tags"]),
            published_at=datetime.fromisoformat(post["publishedAt"]),
        )
    )
    for post in load_posts()
]


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"

    @strawberry.field
    def posts(self, first: int | None = None) -> PostConnection:
        return PostConnection(edges=EDGES[: DEFAULT_FIRST if first is None else max(first, 0)])


schema = strawberry.Schema(query=Query, extensions=[ParserCache, ValidationCache])
app = GraphQL(schema, graphql_ide=None)
