"""PostgreSQL (asyncpg) or the embedded SQLite file (aiosqlite), one set of models for both."""

from datasources.relational.engine import RelationalStore, open_relational_store
from datasources.relational.records import UserRecord

__all__ = ["RelationalStore", "UserRecord", "open_relational_store"]
