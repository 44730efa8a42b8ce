"""Checks that tests/support/servers.py starts real servers that answer, and stops them."""

from __future__ import annotations

import pathlib
import socket
from urllib.parse import urlsplit

import pymongo
import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from support.servers import RedisHandle, ServerUnavailable, Starter, create_database, redis_server


def accepts_connections(url: str) -> bool:
    port = urlsplit(url).port
    assert port is not None
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


async def scalar(url: str, sql: str) -> object:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.scalar(text(sql))
    finally:
        await engine.dispose()


async def execute(url: str, sql: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def test_postgres_answers_and_stops(
    start_postgres: Starter, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with start_postgres(tmp_path_factory.mktemp("pg")) as url:
        assert url.startswith("postgresql+asyncpg://agora:agora@127.0.0.1:")
        assert url.endswith("/agora")
        assert await scalar(url, "select 1") == 1
        assert await scalar(url, "select current_user") == "agora"
    assert not accepts_connections(url)


async def test_create_database_is_separate(
    start_postgres: Starter, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with start_postgres(tmp_path_factory.mktemp("pg")) as url:
        await execute(url, "create table marker (id int)")
        other = create_database(url, "agora_isolated")

        assert other == url.removesuffix("/agora") + "/agora_isolated"
        assert await scalar(other, "select current_database()") == "agora_isolated"
        assert await scalar(other, "select to_regclass('marker') is null") is True
        assert await scalar(url, "select to_regclass('marker') is null") is False


def test_create_database_rejects_unsafe_names() -> None:
    with pytest.raises(ValueError, match="invalid database name"):
        create_database("postgresql+asyncpg://agora:agora@127.0.0.1:1/agora", "x; drop")


async def test_redis_ping_set_get(
    start_redis: Starter, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server: RedisHandle
    with start_redis(tmp_path_factory.mktemp("redis")) as server:
        assert server.url.startswith("redis://127.0.0.1:")
        client = aioredis.Redis.from_url(server.url)
        try:
            assert await client.ping() is True
            await client.set("greeting", "hello")
            assert await client.get("greeting") == b"hello"
        finally:
            await client.aclose()
    assert not accepts_connections(server.url)


async def test_redis_stop_and_start_on_same_port(
    start_redis: Starter, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server: RedisHandle
    with start_redis(tmp_path_factory.mktemp("redis")) as server:
        url = server.url

        server.stop()
        assert not server.running
        # The port is free again (SO_REUSEADDR, as redis itself binds it).
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", server.port))
        client = aioredis.Redis.from_url(url, retry_on_error=None, retry=None)
        try:
            with pytest.raises(RedisConnectionError):
                await client.ping()
        finally:
            await client.aclose()

        server.start()
        assert server.url == url
        client = aioredis.Redis.from_url(url)
        try:
            assert await client.ping() is True
        finally:
            await client.aclose()


def test_redis_missing_binary_is_unavailable(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with (
        pytest.raises(ServerUnavailable, match="redis-server not found"),
        redis_server(tmp_path),
    ):
        pass


async def test_secantus_ping_insert_find(
    start_secantus: Starter, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with start_secantus(tmp_path_factory.mktemp("secantus")) as url:
        assert url.startswith("mongodb://127.0.0.1:")
        client: pymongo.AsyncMongoClient[dict[str, object]] = pymongo.AsyncMongoClient(
            url, serverSelectionTimeoutMS=5000
        )
        try:
            assert (await client.admin.command("ping"))["ok"] == 1
            posts = client.agora_test.posts
            await posts.insert_one({"_id": 1, "title": "hello"})
            assert await posts.find_one({"_id": 1}) == {"_id": 1, "title": "hello"}
        finally:
            await client.close()
    assert not accepts_connections(url)
