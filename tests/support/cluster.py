"""Two `uvicorn app:app` server processes (A and B) serving the same data from the
session's PostgreSQL, SecantusDB and Redis, as a deployment with several processes does."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from support.apps import Endpoints, RealServers, http_client
from support.graphql import GraphQLClient
from support.servers import RedisHandle, create_database, free_port

REPO = Path(__file__).resolve().parents[2]
# A Redis database of its own on the shared server, so no other test's app (they
# number posts and users from 1 too) publishes on these topics.
REDIS_DB = 7
STARTUP_TIMEOUT = 45.0


@dataclass
class AppProcess(Endpoints):
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 60) -> str:
        """The end of the server's log, without uvicorn's access lines."""
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError as error:
            return f"(no log: {error})"
        return "\n".join([line for line in text if '" 200' not in line][-lines:])


@dataclass
class Cluster:
    a: AppProcess
    b: AppProcess
    redis: RedisHandle

    def processes(self) -> tuple[AppProcess, AppProcess]:
        return self.a, self.b

    def logs(self) -> str:
        return "\n".join(
            f"--- process {p.name} (pid {p.process.pid}, exit code {p.process.poll()}), "
            f"{p.log_path} ---\n{p.log_tail()}"
            for p in self.processes()
        )

    @contextlib.contextmanager
    def logs_on_failure(self) -> Iterator[None]:
        """Prints both servers' logs (captured by pytest, shown with the failure)."""
        try:
            yield
        except BaseException:
            print(self.logs())
            raise


def start_process(name: str, env: dict[str, str], log_path: Path) -> AppProcess:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    return AppProcess(name, port, process, log_path)


def wait_ready(app: AppProcess, deadline: float) -> None:
    last = "no answer"
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            raise RuntimeError(
                f"server {app.name} exited with {app.process.returncode} during start-up:\n"
                + app.log_tail()
            )
        try:
            response = httpx.get(f"{app.url}/readyz", timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text}"
        except httpx.HTTPError as error:
            last = repr(error)
        time.sleep(0.1)
    raise RuntimeError(f"server {app.name} not ready ({last}):\n{app.log_tail()}")


def stop_process(app: AppProcess) -> None:
    if app.process.poll() is None:
        app.process.send_signal(signal.SIGTERM)
        try:
            app.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            app.process.kill()
            app.process.wait(timeout=5)


def real_servers_env(servers: RealServers, prefix: str, redis_db: int) -> dict[str, str]:
    """The environment of Agora processes on the session's real servers: a PostgreSQL
    and a MongoDB database of their own, a Redis database number of their own, and one
    JWT key (a token works on every process given this environment)."""
    suffix = uuid.uuid4().hex[:10]
    return {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": create_database(servers.postgres_url, f"{prefix}_{suffix}"),
        "MONGODB_URL": servers.mongodb_url,
        "MONGODB_DATABASE": f"{prefix}_{suffix}",
        "REDIS_URL": f"{servers.redis.url.rsplit('/', 1)[0]}/{redis_db}",
        "JWT_SECRET": secrets.token_urlsafe(48),
    }


@contextlib.contextmanager
def running_cluster(servers: RealServers, tmp: Path) -> Iterator[Cluster]:
    """Processes A and B on a database of their own, migrated once, stopped afterwards."""
    redis = servers.redis
    env = {
        **real_servers_env(servers, "mp", REDIS_DB),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    # Migrate once, so the two processes never race to create the schema.
    migrated = subprocess.run(
        [sys.executable, "-m", "cli", "migrate"],
        cwd=REPO,
        env={**env, "DATA_DIR": str(tmp / "migrate")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    apps: list[AppProcess] = []
    try:
        for name in ("A", "B"):
            (tmp / name).mkdir()
            apps.append(
                start_process(name, {**env, "DATA_DIR": str(tmp / name)}, tmp / f"{name}.log")
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        for app in apps:
            wait_ready(app, deadline)
        yield Cluster(apps[0], apps[1], redis)
    finally:
        for app in apps:
            stop_process(app)
        if not redis.running:  # never leave the shared server down for the next tests
            redis.start()


@contextlib.asynccontextmanager
async def clients_of(cluster: Cluster) -> AsyncIterator[tuple[GraphQLClient, GraphQLClient]]:
    """GraphQL clients of A and B; both servers' logs are printed if the block fails."""
    with cluster.logs_on_failure():
        async with http_client(cluster.a) as a, http_client(cluster.b) as b:
            yield GraphQLClient(a), GraphQLClient(b)
