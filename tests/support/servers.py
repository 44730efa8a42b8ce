"""
Real database servers for the test suite.

Each context manager starts a server from the binaries installed on this
machine, on a free loopback port, with its files under the given temporary
directory, and stops it on exit. A missing binary raises `ServerUnavailable`,
which `unavailable` turns into a skip locally and a failure on CI (CI=true).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pathlib
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, NoReturn, TypeVar

import pymongo
import pytest
from pymongo.errors import PyMongoError
from sqlalchemy.engine import make_url

__all__ = [
    "IN_CI",
    "RedisHandle",
    "ServerUnavailable",
    "Starter",
    "available",
    "create_database",
    "find_postgres",
    "find_redis",
    "find_secantus",
    "free_port",
    "postgres_server",
    "redis_server",
    "secantus_command",
    "secantus_server",
    "started",
    "unavailable",
]

IN_CI = os.environ.get("CI", "").lower() == "true"
T = TypeVar("T")
# What starts a server with its files under a directory: postgres_server, redis_server...
Starter = Callable[[pathlib.Path], AbstractContextManager[Any]]

STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
LOG_TAIL_LINES = 40

_PG_USER = "agora"
_PG_PASSWORD = "agora"
_PG_DATABASE = "agora"
_PG_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class ServerUnavailable(Exception):
    """The binary/package needed to start this server is not installed (message says which)."""


def unavailable(error: ServerUnavailable) -> NoReturn:
    """Skips the test for lack of a server; with CI=true, fails it instead."""
    if IN_CI:
        pytest.fail(f"CI=true and a required server is unavailable: {error}")
    pytest.skip(str(error))


def available(find: Callable[[], T]) -> T:
    """What `find` found (a binary, a directory); `unavailable` when it found nothing."""
    try:
        return find()
    except ServerUnavailable as error:
        unavailable(error)


def started(
    start: Callable[[pathlib.Path], AbstractContextManager[T]], directory: pathlib.Path
) -> Iterator[T]:
    """For a fixture to `yield from`: the server `start(directory)` runs, stopped afterwards;
    `unavailable` when it cannot be started."""
    try:
        with start(directory) as server:
            yield server
    except ServerUnavailable as error:
        unavailable(error)


# Shared helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(*paths: pathlib.Path) -> str:
    parts = []
    for path in paths:
        try:
            lines = path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        except OSError:
            continue
        parts.append(f"--- {path} (last {len(lines)} lines) ---\n" + "\n".join(lines))
    return "\n".join(parts) or "(no log output)"


def _port_is_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _wait_until_ready(
    name: str,
    probe: Callable[[], bool],
    process: subprocess.Popen[bytes],
    log_path: pathlib.Path,
) -> None:
    """Poll `probe` until it succeeds; fail fast if the process dies first."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{name} exited with code {process.returncode} during startup\n"
                + _log_tail(log_path)
            )
        if probe():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{name} not ready after {STARTUP_TIMEOUT:.0f}s\n" + _log_tail(log_path))


def _terminate(process: subprocess.Popen[bytes], wake_port: int | None = None) -> None:
    """SIGTERM, then SIGKILL if the server ignores it; always reap it."""
    if process.poll() is not None:
        return
    process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    while wake_port is not None and time.monotonic() < deadline:
        # Some servers block in accept(), which closing the listening socket
        # does not interrupt on Linux; a throwaway connection wakes them.
        _port_is_open(wake_port)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.05)
            return
    try:
        process.wait(timeout=max(deadline - time.monotonic(), 0))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# PostgreSQL


def find_postgres() -> pathlib.Path:
    """The directory of PostgreSQL's server binaries (initdb, pg_ctl, postgres)."""

    def version(path: pathlib.Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name))

    # Debian installs each major version side by side and only wraps psql on PATH.
    debian = sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=version)
    if debian:
        return debian[-1].parent
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            result = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            )
            bindir = pathlib.Path(result.stdout.strip())
            if (bindir / "initdb").is_file():
                return bindir
    initdb = shutil.which("initdb")
    if initdb is not None:
        return pathlib.Path(initdb).resolve().parent
    raise ServerUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; "
        "install the Debian package postgresql"
    )


def _pg_env() -> dict[str, str]:
    # PGHOST, PGDATABASE, PGSERVICE etc. from the caller's shell would
    # silently redirect psql/pg_ctl to some other server.
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _run_logged(
    cmd: Sequence[str | os.PathLike[str]],
    log_path: pathlib.Path,
    *,
    user: str | None = None,
    cwd: pathlib.Path | None = None,
) -> None:
    """Run a command to completion, appending its output to `log_path`."""
    # Output goes to a file rather than a pipe: a daemon forked by the command
    # (pg_ctl start) could inherit the pipe and keep us waiting for EOF.
    with log_path.open("ab") as log:
        log.write(f"$ {' '.join(map(str, cmd))}\n".encode())
        log.flush()
        try:
            result = subprocess.run(
                [os.fspath(arg) for arg in cmd],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=_pg_env(),
                user=user,
                group=None if user is None else pwd.getpwnam(user).pw_gid,
                extra_groups=None if user is None else [],
                timeout=STARTUP_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            returncode: int | str = f"timeout after {STARTUP_TIMEOUT:.0f}s"
        else:
            returncode = result.returncode
    if returncode != 0:
        raise RuntimeError(
            f"{pathlib.Path(cmd[0]).name} failed ({returncode})\n" + _log_tail(log_path)
        )


def _make_traversable(path: pathlib.Path) -> None:
    # The postgres user must be able to reach the data directory, but pytest
    # creates its base temp dirs 0700. Add only the search bit, never read.
    for parent in reversed(path.parents):
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _psql(bindir: pathlib.Path, url: str, statements: Sequence[str]) -> None:
    parsed = make_url(url)
    env = _pg_env()
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    cmd = [
        str(bindir / "psql"),
        "--no-psqlrc",
        "--quiet",
        "--set=ON_ERROR_STOP=1",
        f"--host={parsed.host}",
        f"--port={parsed.port}",
        f"--username={parsed.username}",
        f"--dbname={parsed.database}",
    ]
    # One -c per statement: psql runs each in its own transaction, which
    # CREATE DATABASE requires.
    for statement in statements:
        cmd += ["-c", statement]
    result = subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=STARTUP_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql failed ({result.returncode}): {result.stderr.strip()}")


def _pg_url(port: int, database: str) -> str:
    return f"postgresql+asyncpg://{_PG_USER}:{_PG_PASSWORD}@127.0.0.1:{port}/{database}"


@contextlib.contextmanager
def postgres_server(tmp_dir: pathlib.Path) -> Iterator[str]:
    """
    Run a throwaway PostgreSQL cluster; yields a SQLAlchemy URL
    'postgresql+asyncpg://agora:agora@127.0.0.1:<port>/agora'.
    """
    bindir = find_postgres()
    root_dir = tmp_dir / "postgres"
    root_dir.mkdir(parents=True, exist_ok=True)
    data_dir = root_dir / "data"
    server_log = root_dir / "server.log"
    commands_log = root_dir / "commands.log"

    # PostgreSQL refuses to run as root, so drop to the postgres system user.
    user: str | None = None
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            raise ServerUnavailable(
                "running as root, but there is no 'postgres' system user to run "
                "PostgreSQL as; install the Debian package postgresql"
            ) from None
        user = account.pw_name
        os.chown(root_dir, account.pw_uid, account.pw_gid)
        _make_traversable(root_dir)

    def as_server(cmd: Sequence[str | os.PathLike[str]]) -> None:
        _run_logged(cmd, commands_log, user=user, cwd=root_dir)

    # --no-locale: the C locale accepts UTF8 whatever LANG the host has.
    as_server([
        bindir / "initdb", "-D", data_dir, "-A", "trust", "-U", "postgres",
        "--no-sync", "--no-locale", "-E", "UTF8",
    ])  # fmt: skip
    port = free_port()
    # Settings go in the config file rather than `pg_ctl -o`, which pg_ctl
    # passes through a shell. No unix socket: pytest temp paths can exceed
    # the 107-byte socket path limit, and TCP is all the tests need.
    with (data_dir / "postgresql.auto.conf").open("a") as conf:
        conf.write(
            f"port = {port}\n"
            "listen_addresses = '127.0.0.1'\n"
            "unix_socket_directories = ''\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
        )

    try:
        try:
            as_server([
                bindir / "pg_ctl", "start", "-D", data_dir, "-l", server_log,
                "-w", "-t", str(int(STARTUP_TIMEOUT)),
            ])  # fmt: skip
            _psql(
                bindir,
                f"postgresql://postgres@127.0.0.1:{port}/postgres",
                [
                    f"CREATE ROLE {_PG_USER} LOGIN SUPERUSER PASSWORD '{_PG_PASSWORD}'",
                    f"CREATE DATABASE {_PG_DATABASE} OWNER {_PG_USER}",
                ],
            )
        except RuntimeError as exc:
            exc.add_note(_log_tail(server_log))
            raise
        yield _pg_url(port, _PG_DATABASE)
    finally:
        _pg_stop(bindir, data_dir, commands_log, as_server)


def _pg_stop(
    bindir: pathlib.Path,
    data_dir: pathlib.Path,
    log_path: pathlib.Path,
    as_server: Callable[[Sequence[str | os.PathLike[str]]], None],
) -> None:
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return
    for mode in ("fast", "immediate"):
        with contextlib.suppress(RuntimeError):
            as_server([bindir / "pg_ctl", "stop", "-D", data_dir, "-m", mode, "-w"])
            return
    # pg_ctl could not stop it: kill the postmaster directly so nothing leaks.
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
    with log_path.open("a") as log:
        log.write("postmaster killed with SIGKILL after pg_ctl stop failed\n")


def create_database(base_url: str, name: str) -> str:
    """Create an empty database on the server behind `base_url`; returns its SQLAlchemy URL."""
    # Names are interpolated into SQL, so accept only plain lowercase identifiers.
    if not _PG_IDENTIFIER.fullmatch(name):
        raise ValueError(f"invalid database name {name!r}: use [a-z_][a-z0-9_]*, max 63 chars")
    _psql(find_postgres(), base_url, [f"CREATE DATABASE {name}"])
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


# Redis


class RedisHandle:
    """A redis-server process that can be stopped and restarted on the same port."""

    def __init__(self, binary: str, tmp_dir: pathlib.Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._binary = binary
        self._dir = tmp_dir
        self._log_path = tmp_dir / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server (no-op if it is already running)."""
        if self.running:
            return
        cmd = [
            self._binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self._dir),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
        ]  # fmt: skip
        # Append so the log keeps every run when a test restarts the server.
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            _wait_until_ready("redis-server", self._ping, self._process, self._log_path)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and wait until it has released the port (no-op if stopped)."""
        if self._process is not None:
            _terminate(self._process)
            self._process = None

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False


def find_redis() -> str:
    """The redis-server binary on PATH."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerUnavailable("redis-server not found; install the Debian package redis-server")
    return binary


@contextlib.contextmanager
def redis_server(tmp_dir: pathlib.Path) -> Iterator[RedisHandle]:
    """Run a throwaway redis-server; yields a handle with .url, .stop() and .start()."""
    binary = find_redis()
    redis_dir = tmp_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    handle = RedisHandle(binary, redis_dir)
    try:
        handle.start()
        yield handle
    finally:
        handle.stop()


# SecantusDB


def find_secantus() -> None:
    """Nothing: SecantusDB is a Python package of this environment, when it is installed."""
    if importlib.util.find_spec("secantus") is None:
        raise ServerUnavailable(
            f"SecantusDB not installed in {sys.prefix}; install the PyPI package secantusdb"
        )


def secantus_command(root_dir: pathlib.Path, port: int) -> list[str]:
    """The command line of a standalone SecantusDB keeping its files under `root_dir`."""
    root_dir.mkdir(parents=True, exist_ok=True)
    # An explicit (empty) config disables discovery of ./secantusd.toml,
    # ~/.secantus/ and /etc/secantus/, so the host cannot change our server.
    config = root_dir / "secantusd.toml"
    config.touch()
    return [
        sys.executable, "-m", "secantus",
        "--config", str(config),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--storage-path", str(root_dir / "data"),
        "--standalone",
    ]  # fmt: skip


@contextlib.contextmanager
def secantus_server(tmp_dir: pathlib.Path) -> Iterator[str]:
    """Run a throwaway standalone SecantusDB server; yields 'mongodb://127.0.0.1:<port>/'."""
    find_secantus()
    root_dir = tmp_dir / "secantus"
    port = free_port()
    url = f"mongodb://127.0.0.1:{port}/"
    cmd = secantus_command(root_dir, port)
    log_path = root_dir / "server.log"

    def ping() -> bool:
        if not _port_is_open(port):
            return False
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            url, directConnection=True, serverSelectionTimeoutMS=1000
        )
        try:
            client.admin.command("ping")
        except PyMongoError:
            return False
        finally:
            client.close()
        return True

    with log_path.open("ab") as log:
        process = subprocess.Popen(
            cmd, cwd=root_dir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_ready("secantusd", ping, process, log_path)
        yield url
    finally:
        # secantusd otherwise spends 2s joining its accept thread on SIGTERM.
        _terminate(process, wake_port=port)
