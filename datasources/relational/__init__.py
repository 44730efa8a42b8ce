"""PostgreSQL (asyncpg) or the embedded SQLite file (aiosqlite), one set of models for both."""

from datasources.relational.records import UserRecord
from datasources.relational.store import RelationalStore, open_relational_store

__all__ = ["RelationalStore", "UserRecord", "open_relational_store"]
