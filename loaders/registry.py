"""One object holding a request's loaders, so resolvers reach them as `context.loaders.x`."""

from __future__ import annotations

from dataclasses import dataclass

from datasources.stores import Datastores
from loaders.users import ProfileByUserIdLoader, UserByIdLoader


@dataclass(frozen=True)
class Loaders:
    user_by_id: UserByIdLoader
    profile_by_user_id: ProfileByUserIdLoader


def build_loaders(stores: Datastores) -> Loaders:
    """Must run inside the event loop that serves the request (aiodataloader binds to it)."""
    return Loaders(
        user_by_id=UserByIdLoader(stores.relational.users),
        profile_by_user_id=ProfileByUserIdLoader(stores.documents.profiles),
    )
