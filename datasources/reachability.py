"""Does each configured datastore answer? Asked once before a server starts, so a
wrong or down URL is one line naming the variable instead of a failure at the first
request (or a traceback from deep in start-up)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable

import redis.asyncio as redis

from datasources.documents.client import CircuitBreaker, connect
from datasources.relational import open_relational_store
from datasources.relational.migrate import describe_database
from settings import Settings, StartupFailure

CHECK_TIMEOUT_SECONDS = 3.0
_PASSWORD = re.compile(r"(//[^:/@]*:)[^@]*@")


def without_password(url: str) -> str:
    return _PASSWORD.sub(r"\1***@", url)


def reason(error: BaseException) -> str:
    """Why a datastore call failed, in a few words (never a traceback)."""
    if isinstance(error, TimeoutError):
        return "no answer in time"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    first_line = (str(error).splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line[:160]}" if first_line else type(error).__name__


async def _relational(url: str) -> None:
    store = open_relational_store(url)
    try:
        await store.ping()
    finally:
        await store.close()


async def _documents(url: str, timeout_seconds: float) -> None:
    # The app's own client options; PyMongo gives up first, so it says why.
    timeout_ms = int(timeout_seconds * 1000 * 2 / 3)
    client = connect(url, CircuitBreaker(), server_selection_timeout_ms=timeout_ms)
    try:
        await client.admin.command("ping")
    finally:
        await client.close()


async def _events(url: str, timeout_seconds: float) -> None:
    client = redis.from_url(url, socket_connect_timeout=timeout_seconds)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def check_reachable(
    settings: Settings, timeout_seconds: float = CHECK_TIMEOUT_SECONDS
) -> None:
    """Raises StartupFailure naming every configured URL that does not answer."""
    checks: list[tuple[str, str, Awaitable[None]]] = []
    if settings.database_url:
        label = describe_database(settings.database_url)
        checks.append(("DATABASE_URL", label, _relational(settings.database_url)))
    if settings.mongodb_url:
        label = f"MongoDB ({without_password(settings.mongodb_url)})"
        checks.append(("MONGODB_URL", label, _documents(settings.mongodb_url, timeout_seconds)))
    if settings.redis_url:
        label = f"Redis ({without_password(settings.redis_url)})"
        checks.append(("REDIS_URL", label, _events(settings.redis_url, timeout_seconds)))

    async def answer(check: Awaitable[None]) -> BaseException | None:
        try:
            async with asyncio.timeout(timeout_seconds):
                await check
        except Exception as error:
            return error
        return None

    results = await asyncio.gather(*(answer(check) for _, _, check in checks))
    failing = [
        f"{variable} does not answer ({label}: {reason(error)})"
        for (variable, label, _), error in zip(checks, results, strict=True)
        if error is not None
    ]
    if failing:
        raise StartupFailure("; ".join(failing) + "; start it or correct the URL")
