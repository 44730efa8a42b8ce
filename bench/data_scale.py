"""Latency of README's first query as the data grows (issue 10's data-scale benchmark).

For each backend and data size, seeds fresh datastores with `agora seed`, starts one
`agora serve` process on them (development mode, so that responses carry
`extensions.queryStats`), checks that each query answers without `errors`, then sends
each query `--requests` times from one client, one request at a time, after
`--warmup` requests that are not measured. Prints how long each seed took, p50 and p99
latency and the SQL statements and MongoDB commands per (backend, size, query), and for
each backend and query p50(largest size) / p50(smallest size), which issue 10 wants at
most 2.0.

Sizes (users, posts, comments; `--seed 42`): small 100/500/10,000, medium
1,000/5,000/100,000 (README's demo set), large 10,000/50,000/1,000,000.
Backends: `embedded` (SQLite file and embedded document server in a fresh DATA_DIR) and
`postgres` (a temporary PostgreSQL cluster, a fresh database per size, and a fresh
SecantusDB server per size, both started as the test suite starts them).

    .venv/bin/python bench/data_scale.py --sizes small
    .venv/bin/python bench/data_scale.py --sizes small,medium --backends embedded
    .venv/bin/python bench/data_scale.py            # all three sizes on both: long

The client runs on the same cores as the server: read the ratios, not absolute figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from http_compare import (
    LIFTED,
    ROOT,
    SECRET,
    BenchFailure,
    Server,
    agora_cli,
    base_env,
    free_port,
    interruptible,
    log_tail,
    machine_speed,
    postgres,
    run_logged,
    start,
    stop,
)

STARTUP_TIMEOUT = 300.0  # start-up on a large data set may take a while (fails fast on exit)
REQUEST_TIMEOUT = 60.0
TARGET_RATIO = 2.0
SEED = 42


@dataclass(frozen=True)
class Size:
    name: str
    users: int
    posts: int
    comments: int

    @property
    def seed_args(self) -> list[str]:
        return [
            "--users", str(self.users), "--posts", str(self.posts),
            "--comments", str(self.comments), "--seed", str(SEED),
        ]  # fmt: skip


SIZES = {
    size.name: size
    for size in (
        Size("small", 100, 500, 10_000),
        Size("medium", 1_000, 5_000, 100_000),
        Size("large", 10_000, 50_000, 1_000_000),
    )
}
BACKENDS = {
    "embedded": "embedded defaults (SQLite, embedded document server)",
    "postgres": "PostgreSQL + SecantusDB",
}


def readme_first_query() -> str:
    """README.md's "A first query to try", exactly as written there."""
    text = (ROOT / "README.md").read_text()
    found = re.search(r"A first query to try.*?```graphql\n(.*?)```", text, re.DOTALL)
    if found is None or "posts(first: 5)" not in found[1]:
        raise BenchFailure("README.md has no 'A first query to try' block with posts(first: 5)")
    return found[1].strip()


@dataclass(frozen=True)
class Query:
    name: str
    label: str
    document: str
    first: int  # the answer must list this many posts


def queries() -> list[Query]:
    first = readme_first_query()
    deep = first.replace("posts(first: 5)", "posts(first: 20)", 1)
    return [
        Query("first5", "README's first query, posts(first: 5)", first, 5),
        Query("first20", "the same at posts(first: 20)", deep, 20),
    ]


@dataclass
class Result:
    backend: str
    size: str
    query: str
    p50_ms: float
    p99_ms: float
    sql: int | None
    mongo: int | None


# Servers of the postgres backend: the test suite's (tests/support/servers.py).


def support_servers() -> Any:
    """tests/support/servers.py, which needs the test extras (pytest)."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    try:
        from support import servers
    except ImportError as error:
        raise BenchFailure(
            f"the postgres backend uses tests/support/servers.py, which needs the test extras "
            f"(.venv/bin/pip install -e '.[test]'): {error}"
        ) from error
    return servers


@contextlib.contextmanager
def secantus(folder: Path) -> Iterator[str]:
    """A throwaway SecantusDB server with its files under `folder`, stopped on exit."""
    servers = support_servers()
    entered = False
    try:
        with servers.secantus_server(folder) as url:
            entered = True
            yield str(url)
    except (servers.ServerUnavailable, RuntimeError) as error:
        if entered:
            raise
        raise BenchFailure(f"SecantusDB: {error}") from error  # a start-up failure has the log


def fresh_database(cluster: str, name: str) -> str:
    """An empty database `name` on the cluster; its SQLAlchemy URL."""
    try:
        return str(support_servers().create_database(cluster, name))
    except RuntimeError as error:
        raise BenchFailure(f"cannot create database {name}: {error}") from error


# Processes


def seed(key: str, size: Size, env: dict[str, str], logs: Path) -> float:
    """`agora seed` of the size into the datastores `env` points at; returns its seconds."""
    started = time.monotonic()
    run_logged(
        f"agora seed {shlex.join(size.seed_args)} ({key})",
        agora_cli("seed", *size.seed_args),
        cwd=ROOT,
        env=env,
        log=logs / f"{key}-seed.log",
    )
    return time.monotonic() - started


def serve(key: str, env: dict[str, str], logs: Path) -> Server:
    port = free_port()
    return start(
        key,
        agora_cli("serve", "--host", "127.0.0.1", "--port", str(port)),
        port,
        cwd=ROOT,
        env=env,
        logs=logs,
    )


def wait_ready(server: Server, http: httpx.Client) -> float:
    """Until /readyz answers 200; fails with the log's tail if the server exits or takes
    too long. Returns the seconds it took."""
    started = time.monotonic()
    url = f"http://127.0.0.1:{server.port}/readyz"
    last = "no answer"
    while True:
        if server.process.poll() is not None:
            raise BenchFailure(
                f"agora serve ({server.key}) exited with code {server.process.returncode} "
                f"during start-up\n{log_tail(server.log)}"
            )
        with contextlib.suppress(httpx.HTTPError):
            response = http.get(url, timeout=5)
            if response.status_code == 200:
                return time.monotonic() - started
            last = f"{response.status_code} {response.text[:200]}"
        if time.monotonic() - started > STARTUP_TIMEOUT:
            raise BenchFailure(
                f"agora serve ({server.key}) not ready after {STARTUP_TIMEOUT:.0f} s ({last})\n"
                f"{log_tail(server.log)}"
            )
        time.sleep(0.2)


# Requests


def answer(response: httpx.Response, query: Query, where: str) -> dict[str, Any]:
    """The response's JSON body, once it is a 200 without errors listing `query.first` posts."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or body.get("errors"):
        raise BenchFailure(
            f"{where}: {query.name} answered {response.status_code}: {response.text[:500]}"
        )
    edges = ((body.get("data") or {}).get("posts") or {}).get("edges")
    if not isinstance(edges, list) or len(edges) != query.first:
        count = len(edges) if isinstance(edges, list) else None
        raise BenchFailure(f"{where}: {query.name} listed {count} posts, expected {query.first}")
    return body


def query_stats(body: dict[str, Any]) -> tuple[int | None, int | None]:
    stats = (body.get("extensions") or {}).get("queryStats") or {}
    sql, mongo = stats.get("sql"), stats.get("mongo")
    return (
        sql if isinstance(sql, int) else None,
        mongo if isinstance(mongo, int) else None,
    )


def check(http: httpx.Client, server: Server, query: Query, where: str) -> None:
    response = http.post(server.url, json={"query": query.document})
    body = answer(response, query, where)
    sql, mongo = query_stats(body)
    total = body["data"]["posts"].get("totalCount")
    total_text = f"{total:,}" if isinstance(total, int) else "?"
    stats = "" if sql is None else f", {sql} SQL statements, {mongo} MongoDB commands"
    print(
        f"  ok {query.name}: {query.first} posts of {total_text}, {len(response.content):,} "
        f"bytes{stats}",
        flush=True,
    )


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def measure(
    http: httpx.Client,
    server: Server,
    query: Query,
    args: argparse.Namespace,
    backend: str,
    size: Size,
) -> Result:
    """`--warmup` requests, then `--requests` timed ones, one at a time; each answer checked
    (outside the timing)."""
    where = f"{backend} {size.name}"
    content = json.dumps({"query": query.document}).encode()
    headers = {"content-type": "application/json"}
    times: list[float] = []
    body: dict[str, Any] = {}
    for index in range(args.warmup + args.requests):
        started = time.perf_counter()
        response = http.post(server.url, content=content, headers=headers)
        elapsed = time.perf_counter() - started
        body = answer(response, query, where)
        if index >= args.warmup:
            times.append(elapsed * 1000)
    sql, mongo = query_stats(body)
    return Result(
        backend,
        size.name,
        query.name,
        statistics.median(times),
        percentile(times, 0.99),
        sql,
        mongo,
    )


# Runs


@dataclass
class Seeded:
    backend: str
    size: str
    seconds: float


def run_one(
    backend: str,
    size: Size,
    env: dict[str, str],
    scratch: Path,
    args: argparse.Namespace,
    documents: Sequence[Query],
) -> tuple[Seeded, list[Result]]:
    """Seeds, serves and measures one (backend, size); the server is stopped on return."""
    key = f"{backend}-{size.name}"
    logs = scratch / "logs"
    seconds = seed(key, size, {**env, "APP_ENV": "development"}, logs)
    print(f"  seeded in {seconds:.1f} s ({shlex.join(size.seed_args)})", flush=True)
    serve_env = {**env, "APP_ENV": "development"}
    if args.production:
        serve_env.update(APP_ENV="production", JWT_SECRET=SECRET)
    server = serve(key, serve_env, logs)
    results = []
    try:
        with httpx.Client(timeout=REQUEST_TIMEOUT) as http:
            ready = wait_ready(server, http)
            print(f"  agora serve ready in {ready:.1f} s on port {server.port}", flush=True)
            try:
                for query in documents:
                    check(http, server, query, key)
                for query in documents:
                    result = measure(http, server, query, args, backend, size)
                    print(
                        f"  {query.name}: p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms",
                        flush=True,
                    )
                    results.append(result)
            except httpx.HTTPError as error:
                raise BenchFailure(f"{key}: {error!r}\n{log_tail(server.log)}") from error
            except BenchFailure as failure:
                raise BenchFailure(f"{failure}\n{log_tail(server.log)}") from failure
    finally:
        stop(server)
    return Seeded(backend, size.name, seconds), results


def run(args: argparse.Namespace, documents: Sequence[Query]) -> tuple[list[Seeded], list[Result]]:
    seeds: list[Seeded] = []
    results: list[Result] = []
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="agora-scale-")))
        (scratch / "logs").mkdir()
        print(f"scratch folder (removed at exit): {scratch}", flush=True)
        cluster: str | None = None
        for backend in args.backends:
            for size in args.sizes:
                print(f"\n{backend}, {size.name} ({BACKENDS[backend]})", flush=True)
                folder = scratch / f"{backend}-{size.name}"
                data_dir = folder / "data"
                data_dir.mkdir(parents=True)
                env = {**base_env(), "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING", **LIFTED}
                with contextlib.ExitStack() as this_size:
                    if backend == "postgres":
                        if cluster is None:
                            cluster = stack.enter_context(postgres(scratch))
                            print(f"  PostgreSQL cluster: {cluster}", flush=True)
                        env["DATABASE_URL"] = fresh_database(cluster, f"agora_{size.name}")
                        env["MONGODB_URL"] = this_size.enter_context(secantus(folder))
                        print(
                            f"  database {env['DATABASE_URL']}, SecantusDB {env['MONGODB_URL']}",
                            flush=True,
                        )
                    seeded, found = run_one(backend, size, env, scratch, args, documents)
                seeds.append(seeded)
                results += found
                # This size's files are no longer needed (a large set takes gigabytes).
                shutil.rmtree(folder, ignore_errors=True)
    return seeds, results


# Report


def report(
    seeds: Sequence[Seeded],
    results: Sequence[Result],
    documents: Sequence[Query],
    args: argparse.Namespace,
) -> None:
    print("\nseeding (agora seed --seed 42):")
    print(f"  {'backend':9} {'size':7} {'users':>7} {'posts':>7} {'comments':>10} {'seconds':>8}")
    for seeded in seeds:
        size = SIZES[seeded.size]
        print(
            f"  {seeded.backend:9} {seeded.size:7} {size.users:>7,} {size.posts:>7,} "
            f"{size.comments:>10,} {seeded.seconds:8.1f}"
        )
    mode = "production" if args.production else "development"
    print(
        f"\nlatency, one client, sequential requests ({args.requests} measured after "
        f"{args.warmup} unmeasured), agora serve in {mode} mode:"
    )
    for query in documents:
        print(f"  {query.name}: {query.label}")
    print(
        f"  {'backend':9} {'size':7} {'comments':>10}  {'query':8} {'p50 ms':>9} {'p99 ms':>9}"
        f" {'SQL':>5} {'Mongo':>6}"
    )
    for result in results:
        size = SIZES[result.size]
        sql = "-" if result.sql is None else str(result.sql)
        mongo = "-" if result.mongo is None else str(result.mongo)
        print(
            f"  {result.backend:9} {result.size:7} {size.comments:>10,}  {result.query:8} "
            f"{result.p50_ms:9.2f} {result.p99_ms:9.2f} {sql:>5} {mongo:>6}"
        )
    print(f"\np50(largest size) / p50(smallest size) (target ≤ {TARGET_RATIO:.1f}):")
    for backend in args.backends:
        for query in documents:
            mine = [r for r in results if r.backend == backend and r.query == query.name]
            if len(mine) < 2:
                print(f"  {backend:9} {query.name:8} n/a: one size measured (target ≤ 2.0)")
                continue
            ordered = sorted(mine, key=lambda r: SIZES[r.size].comments)
            small, large = ordered[0], ordered[-1]
            ratio = large.p50_ms / small.p50_ms
            verdict = "ok" if ratio <= TARGET_RATIO else "OVER TARGET"
            print(
                f"  {backend:9} {query.name:8} {large.size}/{small.size}: "
                f"{large.p50_ms:.2f} / {small.p50_ms:.2f} ms = {ratio:.2f} "
                f"(target ≤ {TARGET_RATIO:.1f}) {verdict}"
            )


# Main


def choices(known: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        picked = [part.strip() for part in text.split(",") if part.strip()]
        unknown = [part for part in picked if part not in known]
        if unknown or not picked:
            raise argparse.ArgumentTypeError(
                f"{text!r}: give a comma-separated list of {', '.join(known)}"
            )
        return [name for name in known if name in picked]  # in the known order, once each

    return parse


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=choices(list(SIZES)),
        default=list(SIZES),
        help="comma-separated, of small (10k comments), medium (100k), large (1M); default all",
    )
    parser.add_argument(
        "--backends",
        type=choices(list(BACKENDS)),
        default=list(BACKENDS),
        help="comma-separated, of embedded, postgres; default both",
    )
    parser.add_argument(
        "--requests", type=int, default=100, help="measured requests per query (default 100)"
    )
    parser.add_argument(
        "--warmup", type=int, default=10, help="unmeasured requests before them (default 10)"
    )
    parser.add_argument(
        "--production",
        action="store_true",
        help="serve with APP_ENV=production (its responses carry no queryStats)",
    )
    args = parser.parse_args()
    if args.requests < 1 or args.warmup < 0:
        parser.error("--requests must be at least 1 and --warmup at least 0")
    args.sizes = [SIZES[name] for name in args.sizes]
    interruptible()
    started = time.monotonic()
    print(f"machine speed: a fixed Python workload took {machine_speed():.0f} ms", flush=True)
    try:
        documents = queries()
        seeds, results = run(args, documents)
    except BenchFailure as failure:
        print(f"data_scale: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("data_scale: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    report(seeds, results, documents, args)
    print(f"\nmachine speed at the end: {machine_speed():.0f} ms")
    print(f"({time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
