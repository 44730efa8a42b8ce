"""Apply the Alembic migrations in migrations/ to a database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url

from datasources.relational.sessions import Sessions
from settings import StartupFailure

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(store: Sessions, revision: str = "head") -> None:
    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    async with store.engine.begin() as connection:
        await connection.run_sync(run)


class NotMigrated(StartupFailure):
    pass


def describe_database(url: str) -> str:
    """The database a URL names, for messages (never its password)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite ({parsed.database})"
    return f"PostgreSQL ({parsed.host}:{parsed.port or 5432}/{parsed.database})"


async def check_migrated(store: Sessions) -> None:
    """Raises NotMigrated unless the database is at the migrations' head (production
    never migrates on start, so an older schema would fail at the first query)."""

    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with store.engine.connect() as connection:
        revision = await connection.run_sync(current)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision != head:
        database = describe_database(store.engine.url.render_as_string(hide_password=True))
        state = f"at revision {revision}" if revision else "empty"
        raise NotMigrated(
            f"the database {database} is {state}, not at this version's schema ({head}); "
            "run `agora migrate` first (APP_ENV=production never migrates on start)"
        )
