"""SQLAlchemy models; the migrations in migrations/versions create the same tables."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from domain import Role

# SQLite only auto-increments an INTEGER PRIMARY KEY, PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


# The same rows are read again and again (the first page of posts, its authors): a
# value read before costs a fraction of parsing it again. One cache for every column
# of both engines (SQLite's texts, PostgreSQL's: see engine.py).
@lru_cache(maxsize=16_384)
def utc_from_text(text: str) -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime; one without an offset is UTC.
    ValueError for text in another form."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that reads aware UTC datetimes from SQLite too.

    SQLite keeps the naive UTC text SQLAlchemy writes ("2026-01-01 12:00:00.000000").
    Read with `fromisoformat` and an explicit offset, a value costs a quarter of a
    microsecond, against about two for SQLAlchemy's parse and a `replace(tzinfo=UTC)`:
    a page of 100 posts reads 400 of them. PostgreSQL returns aware values itself."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype)
        assert parse is not None  # SQLite's DATETIME always parses text

        def aware(value: str | None) -> datetime | None:
            if value is None:
                return None
            try:
                return utc_from_text(value)
            except ValueError:  # text in another form: SQLAlchemy's own parse
                parsed = parse(value)
                return None if parsed is None else parsed.replace(tzinfo=UTC)

        return aware


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # Every model here is mapped to a Table (DeclarativeBase allows any FromClause),
    # so bulk inserts can take `Model.__table__`.
    __table__: ClassVar[Table]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Handles and emails are stored lower-cased, so uniqueness is case-insensitive.
    handle: Mapped[str] = mapped_column(String(30), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(
        String(16), default=Role.USER.value, server_default=Role.USER.value
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    # Kept by triggers on follows (migration 0003), in the transaction of the follow.
    follower_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    following_count: Mapped[int] = mapped_column(BigInteger, server_default="0")

    __table_args__ = (CheckConstraint("role IN ('USER', 'MODERATOR', 'ADMIN')", name="role"),)


class RefreshTokenFamily(Base):
    """All refresh tokens descended from one login; revoked as a whole."""

    __tablename__ = "refresh_token_families"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    family_id: Mapped[int] = mapped_column(
        ForeignKey("refresh_token_families.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when the token is exchanged; a second exchange is a reuse.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_refresh_tokens_expires_at", "expires_at"),)


class Post(Base):
    """A post. Listings order by (sort_at DESC, id DESC): sort_at is created_at for a
    draft and published_at once published. deleted_at is a tombstone: such a post is
    invisible to every read and purged later."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    author_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # Denormalised copy of post_tags (lower-case, in the author's order), for reading.
    tags: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sort_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("status IN ('DRAFT', 'PUBLISHED')", name="status"),
        Index("ix_posts_status_sort_at_id", "status", "sort_at", "id"),
        Index("ix_posts_author_id_status_sort_at_id", "author_id", "status", "sort_at", "id"),
        # Only tombstones, for the purge job.
        Index(
            "ix_posts_deleted_at",
            "deleted_at",
            postgresql_where=text("deleted_at IS NOT NULL"),
            sqlite_where=text("deleted_at IS NOT NULL"),
        ),
    )


class PostTag(Base):
    __tablename__ = "post_tags"

    post_id: Mapped[int] = mapped_column(BigId, ForeignKey("posts.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(50))

    __table_args__ = (
        PrimaryKeyConstraint("post_id", "tag"),
        Index("ix_post_tags_tag_post_id", "tag", "post_id"),
    )


class Follow(Base):
    __tablename__ = "follows"

    follower_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    followee_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        PrimaryKeyConstraint("follower_id", "followee_id"),
        CheckConstraint("follower_id <> followee_id", name="not_self"),
        Index(
            "ix_follows_followee_id_created_at_follower_id",
            "followee_id",
            "created_at",
            "follower_id",
        ),
        Index(
            "ix_follows_follower_id_created_at_followee_id",
            "follower_id",
            "created_at",
            "followee_id",
        ),
    )


class Counter(Base):
    """A count kept by triggers (migration 0003) in the transaction of each write that
    changes it: PUBLISHED_POSTS counts the published posts that are not deleted, USERS
    the users."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


PUBLISHED_POSTS = "published_posts"
USERS = "users"


class OutboxRow(Base):
    """An event recorded in the transaction of the write that causes it, until it is
    published (migration 0004; see datasources/events/outbox.py)."""

    __tablename__ = "event_outbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    topic: Mapped[str] = mapped_column(String(200))
    data: Mapped[str] = mapped_column(Text)  # JSON
    at: Mapped[int] = mapped_column(BigInteger)
