"""Operational failures at start-up: one line on stderr that names the problem and the
thing to do, exit code 2, no traceback, for each way a deployment commonly goes wrong."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from support.commands import AGORA, ROOT, agora, agora_serving, environment
from support.servers import free_port

PRODUCTION = {"APP_ENV": "production", "JWT_SECRET": "p" * 40}


def one_line_refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a command that refused with exit code 2."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    if lines[0].startswith("{"):  # production: the line is a JSON log record
        record = json.loads(lines[0])
        assert record["level"] == "error", record
        return str(record["event"])
    return lines[0]


def closed_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """`agora serve` on the embedded defaults in DATA_DIR=tmp_path/data, until the test ends."""
    with agora_serving(environment(tmp_path / "data"), tmp_path / "server.log") as (_, pid):
        yield tmp_path / "data", pid


def test_unresolvable_host(tmp_path: Path) -> None:
    line = one_line_refusal(agora("serve", env=environment(tmp_path, HOST="not-a-host.invalid")))
    assert line.startswith("agora serve: HOST=not-a-host.invalid does not resolve"), line
    assert "set HOST" in line


@pytest.mark.parametrize("host", ["a..b", "-"])
def test_host_that_is_not_a_name(tmp_path: Path, host: str) -> None:
    line = one_line_refusal(agora("serve", env=environment(tmp_path, HOST=host)))
    assert line.startswith(f"agora serve: HOST={host} does not resolve"), line


def test_sqlite_with_workers_is_refused_even_beside_mongodb_and_redis(tmp_path: Path) -> None:
    env = environment(
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path}/agora.db",
        MONGODB_URL="mongodb://127.0.0.1:1",
        REDIS_URL="redis://127.0.0.1:1/0",
    )
    line = one_line_refusal(agora("serve", "--workers", "2", env=env))
    assert "but the SQLite file can serve only one process" in line, line


@pytest.mark.parametrize(("argument", "value"), [("--port", "70000"), ("--workers", "0")])
def test_out_of_range_arguments_are_usage_errors(tmp_path: Path, argument: str, value: str) -> None:
    result = agora("serve", argument, value, env=environment(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"argument {argument}: must be from" in result.stderr


def test_host_that_is_not_this_machine(tmp_path: Path) -> None:
    line = one_line_refusal(agora("serve", env=environment(tmp_path, HOST="192.0.2.1")))
    assert "HOST=192.0.2.1 is not an address of this machine" in line


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line_refusal(agora("serve", "--port", str(port), env=environment(tmp_path)))
    assert f"port {port} on 127.0.0.1 is in use" in line
    assert "set PORT" in line


def test_datastore_urls_that_do_not_answer(tmp_path: Path) -> None:
    env = environment(
        tmp_path,
        DATABASE_URL=f"postgresql://agora:hunter2secret@127.0.0.1:{closed_port()}/agora",
        MONGODB_URL=f"mongodb://127.0.0.1:{closed_port()}",
        REDIS_URL=f"redis://:hunter2secret@127.0.0.1:{closed_port()}/0",
    )
    line = one_line_refusal(agora("serve", env=env, timeout=30))
    for variable in ("DATABASE_URL", "MONGODB_URL", "REDIS_URL"):
        assert f"{variable} does not answer" in line, line
    assert "hunter2secret" not in line  # passwords never printed
    assert "start it or correct the URL" in line


def test_several_workers_refused_on_the_embedded_defaults(tmp_path: Path) -> None:
    line = one_line_refusal(agora("serve", "--workers", "2", env=environment(tmp_path)))
    assert line.startswith("agora serve: --workers 2 needs PostgreSQL, MongoDB and Redis"), line
    for part in ("the SQLite file", "the embedded document server", "the in-process event bus"):
        assert part in line


def test_production_on_an_unmigrated_database(tmp_path: Path) -> None:
    line = one_line_refusal(agora("serve", env=environment(tmp_path, **PRODUCTION)))
    assert f"SQLite ({tmp_path.resolve() / 'agora.db'})" in line
    assert "run `agora migrate` first" in line


def test_production_on_an_unmigrated_postgresql_database(
    fresh_postgres: str, tmp_path: Path
) -> None:
    env = environment(tmp_path, **PRODUCTION, DATABASE_URL=fresh_postgres)
    url = make_url(fresh_postgres)
    named = f"PostgreSQL ({url.host}:{url.port}/{url.database})"
    line = one_line_refusal(agora("serve", env=env))
    assert named in line and "run `agora migrate` first" in line

    migrated = agora("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.strip() == f"migrated {named} to head"


def test_migrate_names_the_sqlite_file_it_migrated(tmp_path: Path) -> None:
    result = agora("migrate", env=environment(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/x.db"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"migrated SQLite ({tmp_path}/x.db) to head"


def test_second_server_on_a_data_folder_in_use(serving: tuple[Path, int], tmp_path: Path) -> None:
    data_dir, pid = serving
    second = agora("serve", "--port", str(free_port()), env=environment(data_dir))
    line = one_line_refusal(second)
    assert f"the data folder {data_dir.resolve()} is in use by another Agora process" in line
    assert f"(pid {pid})" in line and "set DATA_DIR" in line


def test_seed_on_a_data_folder_in_use(serving: tuple[Path, int]) -> None:
    data_dir, pid = serving
    line = one_line_refusal(agora("seed", "--users", "3", env=environment(data_dir)))
    assert line.startswith(f"agora seed: the data folder {data_dir.resolve()} is in use"), line
    assert f"(pid {pid})" in line


def test_the_data_folder_is_free_again_once_the_server_stops(tmp_path: Path) -> None:
    """The lock is the process's: a stopped (or killed) server leaves nothing to clean up."""
    data_dir = tmp_path / "data"
    env = environment(data_dir)
    killed = subprocess.Popen([*AGORA, "serve", "--port", str(free_port())], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while not (data_dir / "agora.lock").exists() or not (data_dir / "agora.lock").read_text():
            assert time.monotonic() < deadline, "the server never took the data folder"
            time.sleep(0.1)
    finally:
        killed.kill()
        killed.wait(timeout=10)
    seeded = agora("seed", "--users", "3", "--posts", "2", "--comments", "2", env=env, timeout=120)
    assert seeded.returncode == 0, seeded.stderr
