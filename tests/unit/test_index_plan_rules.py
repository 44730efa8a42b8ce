"""The SQLite judge of `support.index_plans`: an ordered walk of an index under a LIMIT
is not a full scan, also when it looks each row's partner up by primary key through a
LEFT JOIN; any other join, or no LIMIT, makes the same walk a scan."""

from __future__ import annotations

from support.index_plans import sqlite_full_scans

INDEXES = {"ix_posts_status_sort_at_id": frozenset({"status", "sort_at", "id"})}
WALK = "SEARCH posts USING INDEX ix_posts_status_sort_at_id (status=?)"
LOOKUP = "SEARCH users USING INTEGER PRIMARY KEY (rowid=?) LEFT-JOIN"
PAGE = (
    "SELECT posts.id, users.handle FROM posts {join} "
    "WHERE posts.status = ? AND posts.deleted_at IS NULL "
    "ORDER BY posts.sort_at DESC, posts.id DESC{limit}"
)


def _scans(join: str, plan: list[str], limit: str = " LIMIT ? OFFSET ?") -> list[str]:
    return sqlite_full_scans(PAGE.format(join=join, limit=limit), plan, INDEXES)


def test_an_ordered_walk_with_left_joins_by_primary_key_is_not_a_scan() -> None:
    assert _scans("", [WALK]) == []
    join = "LEFT OUTER JOIN users ON users.id = posts.author_id"
    assert _scans(join, [WALK, LOOKUP]) == []


def _walk_flagged(scans: list[str]) -> bool:
    return any(scan.startswith(WALK) for scan in scans)


def test_other_joins_make_the_walk_a_scan() -> None:
    inner = "JOIN users ON users.id = posts.author_id"
    assert _walk_flagged(_scans(inner, [WALK, "SEARCH users USING INTEGER PRIMARY KEY (rowid=?)"]))
    left = "LEFT OUTER JOIN users ON users.handle = posts.title"
    assert _walk_flagged(_scans(left, [WALK, "SCAN users LEFT-JOIN"]))


def test_a_condition_on_the_joined_table_makes_the_walk_a_scan() -> None:
    """It filters the walk's rows: the walk may read far more than LIMIT of them."""
    sql = (
        "SELECT posts.id, users.handle FROM posts "
        "LEFT OUTER JOIN users ON users.id = posts.author_id "
        "WHERE posts.status = ? AND users.id = ? "
        "ORDER BY posts.sort_at DESC, posts.id DESC LIMIT ? OFFSET ?"
    )
    assert _walk_flagged(sqlite_full_scans(sql, [WALK, LOOKUP], INDEXES))


def test_without_a_limit_the_walk_is_a_scan() -> None:
    join = "LEFT OUTER JOIN users ON users.id = posts.author_id"
    assert _walk_flagged(_scans(join, [WALK, LOOKUP], limit=""))
