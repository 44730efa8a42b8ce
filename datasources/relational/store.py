"""The relational store: sessions over one engine plus a repository per kind of row,
which is what resolvers reach the relational data through."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from datasources.relational.engine import create_engine
from datasources.relational.follows import FollowRepository
from datasources.relational.outbox import OutboxRepository
from datasources.relational.posts import PostRepository
from datasources.relational.refresh_tokens import RefreshTokenRepository
from datasources.relational.sessions import Sessions
from datasources.relational.users import UserRepository


class RelationalStore(Sessions):
    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.users = UserRepository(self)
        self.posts = PostRepository(self)
        self.follows = FollowRepository(self)
        self.refresh_tokens = RefreshTokenRepository(self)
        self.outbox = OutboxRepository(self)


def open_relational_store(
    url: str, *, statement_timeout_seconds: float | None = None
) -> RelationalStore:
    """The store for `url`. `statement_timeout_seconds` limits every statement (None: no
    limit; the app passes SQL_STATEMENT_TIMEOUT_SECONDS); one that runs longer raises an
    error that `datasources.failures.classify` names TIMEOUT."""
    return RelationalStore(create_engine(url, statement_timeout_seconds=statement_timeout_seconds))
