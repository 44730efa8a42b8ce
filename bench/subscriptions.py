"""Subscription load: N WebSocket subscribers on commentAdded, M comments/s for D seconds.

    .venv/bin/python bench/subscriptions.py --subscribers 1000 --rate 20 --duration 10
    .venv/bin/python bench/subscriptions.py --url http://127.0.0.1:8000 ...   # a running server

Without --url it starts `uvicorn app:app` itself, with a temporary DATA_DIR and the
embedded defaults (SQLite, the embedded document server, the in-process event bus);
DATABASE_URL, MONGODB_URL, REDIS_URL etc. set in the environment are passed on.

The subscribers speak graphql-transport-ws with the `websockets` library, several
subscriptions per connection (anonymous, so the per-user connection limit does not
apply). Each comment's body carries its send time; a subscriber's latency for it is
receive time minus send time, on this process's monotonic clock. Prints subscribers,
events sent, deliveries expected/received, losses and latency percentiles. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

REPO = Path(__file__).resolve().parent.parent

REGISTER = """mutation($input: RegisterInput!) {
  register(input: $input) { user { id } accessToken errors { code message } }
}"""
CREATE_POST = """mutation($input: CreatePostInput!) {
  createPost(input: $input) { post { id } errors { code message } }
}"""
ADD_COMMENT = """mutation($input: AddCommentInput!) {
  addComment(input: $input) { comment { id } errors { code message } }
}"""
SUBSCRIPTION = """subscription($postId: ID!) {
  commentAdded(postId: $postId) { cursor comment { id body author { handle } } }
}"""


# ---------------------------------------------------------------------------
# The server (when the bench starts its own)
# ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def own_server(args: argparse.Namespace) -> AsyncIterator[str]:
    """`uvicorn app:app` on a free port with a temporary DATA_DIR; yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="agora-bench-") as data_dir:
        port = free_port()
        env = {**os.environ, "DATA_DIR": data_dir, "LOG_LEVEL": "WARNING"}
        env.setdefault("APP_ENV", "development")
        if args.per_connection > 20:  # the server's default limit
            env["WS_MAX_SUBSCRIPTIONS_PER_CONNECTION"] = str(args.per_connection)
        # Every bench client comes from 127.0.0.1: lift the per-address protections.
        for name, value in {
            "WS_MAX_ANONYMOUS_CONNECTIONS_PER_ADDRESS": "100000",
            "WS_MAX_ANONYMOUS_SUBSCRIPTIONS_PER_ADDRESS": "1000000",
            "WS_CONNECTIONS_PER_MINUTE_PER_ADDRESS": "100000000",
            "RATE_LIMIT_PER_ADDRESS": "100000000",
            "RATE_LIMIT_PER_ACCOUNT": "100000000",
            "AUTH_RATE_LIMIT_PER_ADDRESS": "100000000",
            "COST_BUDGET_POINTS": "1000000000",
        }.items():
            env.setdefault(name, value)
        log_path = Path(data_dir) / "server.log"
        cmd = [
            sys.executable, "-m", "uvicorn", "app:app",
            "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--log-level", "warning", "--no-proxy-headers",
        ]  # fmt: skip
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        url = f"http://127.0.0.1:{port}"
        try:
            await wait_ready(url, process)
            yield url
        except BaseException:
            print(f"--- server log ({log_path}) ---\n{tail(log_path)}", file=sys.stderr)
            raise
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    async with asyncio.timeout(20):
                        await process.wait()
                except TimeoutError:
                    process.kill()
                    await process.wait()


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(unreadable: {error})"


async def wait_ready(url: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the server was not ready within 60 s")


# ---------------------------------------------------------------------------
# HTTP: the publisher
# ---------------------------------------------------------------------------


async def graphql(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    payload = next(iter(body["data"].values()))
    if payload.get("errors"):
        raise RuntimeError(f"user errors: {payload['errors']}")
    return payload


async def set_up_posts(http: httpx.AsyncClient, count: int) -> tuple[str, list[str]]:
    handle = f"bench_{uuid.uuid4().hex[:10]}"
    user = await graphql(
        http,
        REGISTER,
        {
            "input": {
                "handle": handle,
                "email": f"{handle}@example.com",
                "password": "correct horse battery",
                "displayName": "Subscription bench",
            }
        },
    )
    token = user["accessToken"]
    posts = []
    for i in range(count):
        post = await graphql(
            http,
            CREATE_POST,
            {"input": {"title": f"Bench post {i}", "body": "x", "tags": [], "publish": True}},
            token,
        )
        posts.append(post["post"]["id"])
    return token, posts


# ---------------------------------------------------------------------------
# Subscribers
# ---------------------------------------------------------------------------


@dataclass
class Recorder:
    """What every subscription received."""

    post_of: dict[str, str] = field(default_factory=dict)  # subscription key -> post id
    probed: dict[str, int] = field(default_factory=dict)  # subscription key -> last probe seen
    seen: set[tuple[str, int]] = field(default_factory=set)  # (subscription key, event seq)
    latencies_ms: list[float] = field(default_factory=list)
    duplicates: int = 0
    payload_errors: Counter[str] = field(default_factory=Counter)
    ended: Counter[str] = field(default_factory=Counter)  # why subscriptions/connections ended
    last_delivery: float = 0.0
    probe_deliveries: int = 0

    def deliver(self, key: str, body: str, now: float) -> None:
        self.last_delivery = now
        kind, _, rest = body.partition(" ")
        if kind == "probe":
            self.probe_deliveries += 1
            self.probed[key] = max(self.probed.get(key, 0), int(rest))
            return
        seq_text, _, sent = rest.partition(" ")
        seq = int(seq_text)
        if (key, seq) in self.seen:
            self.duplicates += 1
            return
        self.seen.add((key, seq))
        self.latencies_ms.append((now - float(sent)) * 1000)


class SubscriberConnection:
    """One WebSocket carrying several commentAdded subscriptions."""

    def __init__(self, index: int, ws_url: str, posts: list[str], recorder: Recorder) -> None:
        self.index = index
        self.ws_url = ws_url
        self.posts = posts  # one subscription per entry
        self.recorder = recorder
        self.ws: ClientConnection | None = None
        self.task: asyncio.Task[None] | None = None

    def key(self, sub_id: str) -> str:
        return f"{self.index}:{sub_id}"

    async def open(self) -> None:
        self.ws = await connect(
            self.ws_url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            open_timeout=20,
            close_timeout=2,
            max_queue=None,  # never push back on the server: measure it, not us
        )
        await self.ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        async with asyncio.timeout(20):
            ack = json.loads(await self.ws.recv())
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"connection {self.index}: expected connection_ack, got {ack}")
        for n, post_id in enumerate(self.posts):
            sub_id = str(n)
            self.recorder.post_of[self.key(sub_id)] = post_id
            message = {
                "id": sub_id,
                "type": "subscribe",
                "payload": {"query": SUBSCRIPTION, "variables": {"postId": post_id}},
            }
            await self.ws.send(json.dumps(message))
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        assert self.ws is not None
        recorder = self.recorder
        try:
            async for raw in self.ws:
                now = time.perf_counter()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "next":
                    payload = message["payload"]
                    if payload.get("errors"):
                        recorder.payload_errors[payload["errors"][0].get("message", "?")] += 1
                        continue
                    comment = payload["data"]["commentAdded"]["comment"]
                    recorder.deliver(self.key(message["id"]), comment["body"], now)
                elif kind == "ping":
                    await self.ws.send('{"type":"pong"}')
                elif kind in ("error", "complete"):
                    recorder.ended[f"{kind}: {json.dumps(message.get('payload'))[:100]}"] += 1
        except ConnectionClosed:
            pass
        finally:
            close = self.ws.close_code
            if close is not None and close != 1000:
                recorder.ended[f"connection closed {close} {self.ws.close_reason}"] += 1

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


async def open_subscribers(
    ws_url: str, posts: list[str], count: int, per_connection: int, recorder: Recorder
) -> list[SubscriberConnection]:
    assignments = [posts[i % len(posts)] for i in range(count)]
    connections = [
        SubscriberConnection(n, ws_url, assignments[start : start + per_connection], recorder)
        for n, start in enumerate(range(0, count, per_connection))
    ]
    gate = asyncio.Semaphore(20)

    async def open_one(connection: SubscriberConnection) -> None:
        async with gate:
            await connection.open()

    await asyncio.gather(*(open_one(c) for c in connections))
    return connections


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------


async def until(condition: Callable[[], bool], deadline: float) -> None:
    """Polls `condition` (state that many reader tasks update) until true or the deadline."""
    while True:
        if condition() or time.monotonic() >= deadline:
            return
        await asyncio.sleep(0.05)


async def warm_up(
    http: httpx.AsyncClient, token: str, posts: list[str], recorder: Recorder, limit: float
) -> int:
    """Probe comments until every subscription has received one; returns how many have.

    A subscription is registered on the server some time after it is sent, and nothing
    says when: one that received a probe is live. A new probe is sent only once the
    previous one's deliveries have gone quiet, so a slow server is not buried in probes.
    """
    deadline = time.monotonic() + limit
    total = len(recorder.post_of)
    round_ = 0
    while len(recorder.probed) < total and time.monotonic() < deadline:
        round_ += 1
        for post_id in posts:
            body = {"input": {"postId": post_id, "body": f"probe {round_}"}}
            await graphql(http, ADD_COMMENT, body, token)
        sent = time.perf_counter()
        await until(
            lambda sent=sent: (
                len(recorder.probed) == total
                or time.perf_counter() - max(sent, recorder.last_delivery) >= 1.0
            ),
            deadline,
        )
    # Let the probes' deliveries finish before measuring.
    await until(lambda: time.perf_counter() - recorder.last_delivery >= 1.0, deadline)
    return len(recorder.probed)


@dataclass
class PublishStats:
    sent: list[tuple[int, str]] = field(default_factory=list)  # (seq, post id), published
    failed: Counter[str] = field(default_factory=Counter)
    mutation_ms: list[float] = field(default_factory=list)
    behind_ms: list[float] = field(default_factory=list)  # actual send time - scheduled


async def publish(
    http: httpx.AsyncClient, token: str, posts: list[str], rate: float, duration: float
) -> PublishStats:
    stats = PublishStats()
    total = int(rate * duration)
    gate = asyncio.Semaphore(64)
    start = time.perf_counter()

    async def one(seq: int, scheduled: float) -> None:
        post_id = posts[seq % len(posts)]
        async with gate:
            sent = time.perf_counter()
            stats.behind_ms.append(max(0.0, sent - scheduled) * 1000)
            variables = {"input": {"postId": post_id, "body": f"bench {seq} {sent:.6f}"}}
            try:
                await graphql(http, ADD_COMMENT, variables, token)
            except Exception as error:
                stats.failed[type(error).__name__] += 1
                return
            stats.mutation_ms.append((time.perf_counter() - sent) * 1000)
            stats.sent.append((seq, post_id))

    tasks = []
    for seq in range(total):
        scheduled = start + seq / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(seq, scheduled)))
    await asyncio.gather(*tasks)
    return stats


async def loop_lag(samples: list[float], stop: asyncio.Event) -> None:
    """How late this (client) event loop wakes up: high values mean the bench is the bottleneck."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.05)
        samples.append((time.perf_counter() - before - 0.05) * 1000)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[index]


def spread(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50):.1f}  p90 {percentile(values, 90):.1f}  "
        f"p99 {percentile(values, 99):.1f}  max {max(values, default=math.nan):.1f}"
    )


async def run(args: argparse.Namespace, base_url: str) -> int:
    ws_url = base_url.replace("http://", "ws://").replace("https://", "wss://") + "/graphql"
    recorder = Recorder()
    lag: list[float] = []
    stop_lag = asyncio.Event()
    connections: list[SubscriberConnection] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
        token, posts = await set_up_posts(http, args.posts)
        try:
            began = time.perf_counter()
            connections = await open_subscribers(
                ws_url, posts, args.subscribers, args.per_connection, recorder
            )
            opened = time.perf_counter() - began
            live = await warm_up(http, token, posts, recorder, args.warmup)
            lag_task = asyncio.create_task(loop_lag(lag, stop_lag))
            stats = await publish(http, token, posts, args.rate, args.duration)
            subscribers_of = Counter(recorder.post_of.values())
            expected = sum(subscribers_of[post_id] for _, post_id in stats.sent)
            await until(lambda: len(recorder.seen) >= expected, time.monotonic() + args.drain)
            stop_lag.set()
            await lag_task
        finally:
            await asyncio.gather(*(c.close() for c in connections))

    received = len(recorder.seen)
    per_event = Counter(seq for _, seq in recorder.seen)
    events_lost = sum(1 for seq, _ in stats.sent if per_event[seq] == 0)
    partial = sum(1 for seq, post_id in stats.sent if 0 < per_event[seq] < subscribers_of[post_id])
    print(
        f"subscribers: {args.subscribers} on {len(posts)} post(s), over {len(connections)} "
        f"WebSocket connection(s) ({args.per_connection} per connection), "
        f"opened in {opened:.1f} s; live after warm-up: {live}"
    )
    print(
        f"events sent: {len(stats.sent)} of {int(args.rate * args.duration)} "
        f"({args.rate:g}/s for {args.duration:g} s), failed: {sum(stats.failed.values())}"
        + (f" {dict(stats.failed)}" if stats.failed else "")
    )
    print(
        f"deliveries: expected {expected}, received {received}, missing {expected - received} "
        f"(waited up to {args.drain:g} s after the last send), duplicates {recorder.duplicates}"
    )
    print(f"events lost: {events_lost} reached no subscriber, {partial} only some of theirs")
    print(f"delivery latency ms: {spread(recorder.latencies_ms)}")
    print(f"addComment latency ms: {spread(stats.mutation_ms)}")
    print(f"publisher behind schedule ms: {spread(stats.behind_ms)}")
    print(f"bench client loop lag ms: {spread(lag)}")
    if recorder.payload_errors:
        print(f"payload errors: {dict(recorder.payload_errors)}")
    if recorder.ended:
        print(f"ended by the server: {dict(recorder.ended)}")
    return 0 if expected == received and not recorder.duplicates else 1


async def main(args: argparse.Namespace) -> int:
    limit = 120 + args.warmup + args.duration + args.drain
    async with asyncio.timeout(limit):  # bounded, whatever happens
        if args.url:
            return await run(args, args.url.rstrip("/"))
        async with own_server(args) as url:
            return await run(args, url)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server's base URL (default: start one)")
    parser.add_argument("--subscribers", type=int, default=1000, help="subscriptions (1000)")
    parser.add_argument(
        "--per-connection", type=int, default=20, help="subscriptions per WebSocket (20)"
    )
    parser.add_argument("--posts", type=int, default=1, help="posts subscribed to (1)")
    parser.add_argument("--rate", type=float, default=20, help="comments per second (20)")
    parser.add_argument("--duration", type=float, default=10, help="seconds of publishing (10)")
    parser.add_argument(
        "--warmup", type=float, default=60, help="max seconds until all are live (60)"
    )
    parser.add_argument(
        "--drain", type=float, default=30, help="max seconds to wait for late deliveries (30)"
    )
    args = parser.parse_args(argv)
    if min(args.subscribers, args.per_connection, args.posts) < 1 or args.rate <= 0:
        parser.error("--subscribers, --per-connection, --posts and --rate must be positive")
    return args


if __name__ == "__main__":
    options = parse_args()
    try:
        import uvloop
    except ImportError:
        sys.exit(asyncio.run(main(options)))
    sys.exit(uvloop.run(main(options)))
