"""Keyset paging over (timestamp DESC, id DESC), the order of every relational listing
but users: posts by `sort_at`, follows by `created_at`.

The key of a row is `(the timestamp as ISO 8601 UTC with microseconds, the id)`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVarTuple

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    SQLColumnExpression,
    func,
    select,
    true,
    tuple_,
)

from datasources.paging import Key, split_time_key
from datasources.relational.records import utc

Ts = TypeVarTuple("Ts")


def time_key(at: datetime, id_: int) -> Key:
    """The key of a row ordered by (at DESC, id DESC)."""
    return (utc(at).astimezone(UTC).isoformat(timespec="microseconds"), id_)


def parse_time_key(after: Key | None) -> tuple[datetime, int] | None:
    """`after` as (aware UTC datetime, id); ValueError when it is not a key of that form."""
    if after is None:
        return None
    at, id_ = split_time_key(after, int)
    # SQLite stores wall-clock text without an offset: compare in UTC only.
    return at.astimezone(UTC), id_


def before_key(
    at: SQLColumnExpression[Any],
    id_: SQLColumnExpression[Any],
    after: tuple[datetime, int] | tuple[BindParameter[Any], BindParameter[Any]] | None,
) -> ColumnElement[bool]:
    """Rows strictly after `after` in (at DESC, id DESC) order: a key's values, or the
    parameters of a statement built once that will take them."""
    if after is None:
        return true()
    return tuple_(at, id_) < tuple_(*after)


def newest_per_group(
    query: Select[*Ts],
    group: SQLColumnExpression[Any],
    at: SQLColumnExpression[Any],
    id_: SQLColumnExpression[Any],
    after: tuple[datetime, int] | None,
    first: int,
) -> Select[*tuple[Any, ...]]:
    """Up to `first + 1` rows of `query` per value of `group` (labelled `owner`), those
    following `after` in (at DESC, id DESC) order; ordered by group, then in that order.
    One statement: ROW_NUMBER() over each group."""
    rank = func.row_number().over(partition_by=group, order_by=(at.desc(), id_.desc()))
    ranked = (
        query.add_columns(group.label("owner"), rank.label("rank"))
        .where(before_key(at, id_, after))
        .subquery("ranked")
    )
    return select(ranked).where(ranked.c.rank <= first + 1).order_by(ranked.c.owner, ranked.c.rank)
