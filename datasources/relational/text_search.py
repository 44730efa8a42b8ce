"""Case-insensitive substring search in text columns, alike on PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, func


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_ci(column: SQLColumnExpression[Any], text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match, with % and _ taken literally (both dialects)."""
    return func.lower(column).like(func.lower(f"%{_escape_like(text)}%"), escape="\\")
