"""counters: follower and following counts on users, the numbers of published posts and
of users; posts indexed by (author, status) for the listings of one author's posts

Kept by triggers in the transaction of the write that changes them, so they are
exact after every commit whatever path wrote the rows (the API, the seeder, a
cascade), and reading a count costs one indexed row instead of counting.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 14:00:00
"""

# The SQL below is built from this file's own constants only, never from input.
# ruff: noqa: S608

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLISHED_POSTS = "published_posts"
USERS = "users"
# A post counts when it is published and not deleted (as `_visible()` and the
# published filter of datasources/relational/posts.py read it).
LISTED_NEW = "(NEW.status = 'PUBLISHED' AND NEW.deleted_at IS NULL)"
LISTED_OLD = "(OLD.status = 'PUBLISHED' AND OLD.deleted_at IS NULL)"

RECOUNT = [
    "UPDATE users SET"
    " follower_count = (SELECT count(*) FROM follows WHERE follows.followee_id = users.id),"
    " following_count = (SELECT count(*) FROM follows WHERE follows.follower_id = users.id)",
    "UPDATE counters SET value = (SELECT count(*) FROM posts"
    " WHERE status = 'PUBLISHED' AND deleted_at IS NULL)"
    f" WHERE name = '{PUBLISHED_POSTS}'",
    f"UPDATE counters SET value = (SELECT count(*) FROM users) WHERE name = '{USERS}'",
]

SQLITE_TRIGGERS = [
    """CREATE TRIGGER follows_counted_insert AFTER INSERT ON follows BEGIN
        UPDATE users SET follower_count = follower_count + 1 WHERE id = NEW.followee_id;
        UPDATE users SET following_count = following_count + 1 WHERE id = NEW.follower_id;
    END""",
    """CREATE TRIGGER follows_counted_delete AFTER DELETE ON follows BEGIN
        UPDATE users SET follower_count = follower_count - 1 WHERE id = OLD.followee_id;
        UPDATE users SET following_count = following_count - 1 WHERE id = OLD.follower_id;
    END""",
    f"""CREATE TRIGGER users_counted_insert AFTER INSERT ON users BEGIN
        UPDATE counters SET value = value + 1 WHERE name = '{USERS}';
    END""",
    f"""CREATE TRIGGER users_counted_delete AFTER DELETE ON users BEGIN
        UPDATE counters SET value = value - 1 WHERE name = '{USERS}';
    END""",
    f"""CREATE TRIGGER posts_counted_insert AFTER INSERT ON posts WHEN {LISTED_NEW} BEGIN
        UPDATE counters SET value = value + 1 WHERE name = '{PUBLISHED_POSTS}';
    END""",
    f"""CREATE TRIGGER posts_counted_delete AFTER DELETE ON posts WHEN {LISTED_OLD} BEGIN
        UPDATE counters SET value = value - 1 WHERE name = '{PUBLISHED_POSTS}';
    END""",
    f"""CREATE TRIGGER posts_counted_update AFTER UPDATE OF status, deleted_at ON posts
        WHEN {LISTED_OLD} <> {LISTED_NEW} BEGIN
        UPDATE counters SET value = value + (CASE WHEN {LISTED_NEW} THEN 1 ELSE -1 END)
        WHERE name = '{PUBLISHED_POSTS}';
    END""",
]

POSTGRESQL_TRIGGERS = [
    """CREATE FUNCTION follows_counted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- Both rows in one statement, locked in id order: two updates in the order of
        -- the edge would deadlock with a concurrent follow the other way round.
        IF TG_OP = 'INSERT' THEN
            UPDATE users SET
                follower_count = follower_count + (id = NEW.followee_id)::int,
                following_count = following_count + (id = NEW.follower_id)::int
            WHERE id IN (NEW.follower_id, NEW.followee_id);
        ELSE
            UPDATE users SET
                follower_count = follower_count - (id = OLD.followee_id)::int,
                following_count = following_count - (id = OLD.follower_id)::int
            WHERE id IN (OLD.follower_id, OLD.followee_id);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER follows_counted AFTER INSERT OR DELETE ON follows
        FOR EACH ROW EXECUTE FUNCTION follows_counted()""",
    f"""CREATE FUNCTION users_counted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE counters SET value = value + (CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END)
        WHERE name = '{USERS}';
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER users_counted AFTER INSERT OR DELETE ON users
        FOR EACH ROW EXECUTE FUNCTION users_counted()""",
    f"""CREATE FUNCTION posts_counted() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        change integer := 0;
    BEGIN
        IF TG_OP IN ('INSERT', 'UPDATE') AND {LISTED_NEW} THEN
            change := change + 1;
        END IF;
        IF TG_OP IN ('DELETE', 'UPDATE') AND {LISTED_OLD} THEN
            change := change - 1;
        END IF;
        IF change <> 0 THEN
            UPDATE counters SET value = value + change WHERE name = '{PUBLISHED_POSTS}';
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER posts_counted AFTER INSERT OR UPDATE OF status, deleted_at OR DELETE
        ON posts FOR EACH ROW EXECUTE FUNCTION posts_counted()""",
]


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("follower_count", sa.BigInteger(), nullable=False, server_default="0")
    )
    op.add_column(
        "users", sa.Column("following_count", sa.BigInteger(), nullable=False, server_default="0")
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.execute(
        sa.text(
            f"INSERT INTO counters (name, value) VALUES ('{PUBLISHED_POSTS}', 0), ('{USERS}', 0)"
        )
    )
    # One author's published posts, newest first, from one index (status after author,
    # so that a search for one author's posts does not walk all published ones).
    op.drop_index("ix_posts_author_id_sort_at_id", table_name="posts")
    op.create_index(
        "ix_posts_author_id_status_sort_at_id", "posts", ["author_id", "status", "sort_at", "id"]
    )
    triggers = SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_TRIGGERS
    for statement in [*triggers, *RECOUNT]:
        op.execute(sa.text(statement))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in [
            "follows_counted_insert",
            "follows_counted_delete",
            "users_counted_insert",
            "users_counted_delete",
            "posts_counted_insert",
            "posts_counted_delete",
            "posts_counted_update",
        ]:
            op.execute(sa.text(f"DROP TRIGGER {name}"))
    else:
        op.execute(sa.text("DROP TRIGGER follows_counted ON follows"))
        op.execute(sa.text("DROP TRIGGER posts_counted ON posts"))
        op.execute(sa.text("DROP TRIGGER users_counted ON users"))
        op.execute(sa.text("DROP FUNCTION users_counted()"))
        op.execute(sa.text("DROP FUNCTION follows_counted()"))
        op.execute(sa.text("DROP FUNCTION posts_counted()"))
    op.drop_index("ix_posts_author_id_status_sort_at_id", table_name="posts")
    op.create_index("ix_posts_author_id_sort_at_id", "posts", ["author_id", "sort_at", "id"])
    op.drop_table("counters")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("following_count")
        batch.drop_column("follower_count")
