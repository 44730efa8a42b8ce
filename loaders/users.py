"""Loaders for users and their profiles."""

from __future__ import annotations

from collections.abc import Sequence

from aiodataloader import DataLoader

from datasources.documents.profiles import ProfileRecord, ProfileRepository
from datasources.relational.records import UserRecord
from datasources.relational.users import UserRepository


class UserByIdLoader(DataLoader[int, UserRecord | None]):
    def __init__(self, users: UserRepository) -> None:
        super().__init__()
        self._users = users

    async def batch_load_fn(self, keys: Sequence[int]) -> list[UserRecord | None]:
        return await self._users.get_many(keys)


class ProfileByUserIdLoader(DataLoader[int, ProfileRecord]):
    def __init__(self, profiles: ProfileRepository) -> None:
        super().__init__()
        self._profiles = profiles

    async def batch_load_fn(self, keys: Sequence[int]) -> list[ProfileRecord]:
        return await self._profiles.get_many(keys)
