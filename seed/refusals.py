"""When seeding refuses: datastores that already hold data, and production."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from datasources.relational import open_relational_store
from datasources.stores import Datastores
from settings import Settings


class SeedRefused(Exception):
    """Seeding would be unsafe or would mix with existing data; the message says why."""


class StoreNotEmpty(SeedRefused):
    """The datastores already hold data."""


def check_not_production(settings: Settings) -> None:
    if settings.is_production:
        raise SeedRefused(
            "refusing to seed with APP_ENV=production: every demo user shares one known password"
        )


async def check_users_first(settings: Settings) -> None:
    """Refuses before anything is started: with the app serving the same DATA_DIR, the
    embedded document server could not be started a second time."""
    store = open_relational_store(settings.sqlalchemy_url)
    try:
        users = await store.users.count(None)
    except SQLAlchemyError:
        users = 0  # no users table yet (not migrated), or unreachable: open_datastores says
    finally:
        await store.close()
    if users:
        raise _users_not_empty(users, settings)


async def check_empty(stores: Datastores, settings: Settings) -> None:
    users = await stores.relational.users.count(None)
    if users:
        raise _users_not_empty(users, settings)
    documents = stores.documents
    for name, collection in (
        ("profiles", documents.profiles.collection),
        ("comments", documents.comments.collection),
        ("reactions", documents.reactions.collection),
        ("notifications", documents.notifications.collection),
    ):
        if await collection.find_one({}, {"_id": 1}) is not None:
            raise StoreNotEmpty(
                f"refusing to seed: the {name} collection of document database "
                f"{settings.mongodb_database!r} is not empty; {fresh_start_hint(settings)}"
            )


def fresh_start_hint(settings: Settings) -> str:
    if settings.database_url is None and settings.mongodb_url is None:
        return f"to start fresh, delete DATA_DIR ({settings.data_dir.resolve()})"
    return (
        f"to start fresh, point DATABASE_URL and MONGODB_URL/MONGODB_DATABASE at empty "
        f"databases (or delete DATA_DIR ({settings.data_dir.resolve()}) for the embedded ones)"
    )


def _users_not_empty(users: int, settings: Settings) -> StoreNotEmpty:
    return StoreNotEmpty(
        f"refusing to seed: the users table already has {users} "
        f"row{'s' if users != 1 else ''}; {fresh_start_hint(settings)}"
    )
