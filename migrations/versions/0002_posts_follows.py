"""content: posts (with their tags) and follows

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:11:38.979663
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TOMBSTONES = sa.text("deleted_at IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("author_id", BigId, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sort_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('DRAFT', 'PUBLISHED')", name=op.f("ck_posts_status")),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_posts_author_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    )
    op.create_index("ix_posts_status_sort_at_id", "posts", ["status", "sort_at", "id"])
    op.create_index("ix_posts_author_id_sort_at_id", "posts", ["author_id", "sort_at", "id"])
    op.create_index(
        "ix_posts_deleted_at",
        "posts",
        ["deleted_at"],
        postgresql_where=TOMBSTONES,
        sqlite_where=TOMBSTONES,
    )

    op.create_table(
        "post_tags",
        sa.Column("post_id", BigId, nullable=False),
        sa.Column("tag", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_post_tags_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("post_id", "tag", name=op.f("pk_post_tags")),
    )
    op.create_index("ix_post_tags_tag_post_id", "post_tags", ["tag", "post_id"])

    op.create_table(
        "follows",
        sa.Column("follower_id", BigId, nullable=False),
        sa.Column("followee_id", BigId, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("follower_id <> followee_id", name=op.f("ck_follows_not_self")),
        sa.ForeignKeyConstraint(
            ["follower_id"],
            ["users.id"],
            name=op.f("fk_follows_follower_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["followee_id"],
            ["users.id"],
            name=op.f("fk_follows_followee_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("follower_id", "followee_id", name=op.f("pk_follows")),
    )
    op.create_index(
        "ix_follows_followee_id_created_at_follower_id",
        "follows",
        ["followee_id", "created_at", "follower_id"],
    )
    op.create_index(
        "ix_follows_follower_id_created_at_followee_id",
        "follows",
        ["follower_id", "created_at", "followee_id"],
    )


def downgrade() -> None:
    # Dropping a table drops its indexes on both dialects.
    op.drop_table("follows")
    op.drop_table("post_tags")
    op.drop_table("posts")
