"""Subscription load: N WebSocket subscribers on commentAdded, M comments/s for D seconds.

    .venv/bin/python bench/subscriptions.py --subscribers 1000 --rate 20 --duration 10
    .venv/bin/python bench/subscriptions.py --subscribers 10000 --rate 2 --duration 30 --clients 2
    .venv/bin/python bench/subscriptions.py --subscribers 1000 --posts 100 --documents 10
    .venv/bin/python bench/subscriptions.py --url http://127.0.0.1:8000 --server-pid 1234 ...

Without --url it starts `uvicorn app:app` itself, with a temporary DATA_DIR and the
embedded defaults (SQLite, the embedded document server, the in-process event bus);
DATABASE_URL, MONGODB_URL, REDIS_URL etc. set in the environment are passed on.

The subscribers speak graphql-transport-ws with the `websockets` library, several
subscriptions per connection (anonymous, so the per-user connection limit does not
apply), opened and read by --clients processes. Each comment's body carries its send
time; a subscriber's latency for it is receive time minus send time, both on the
system-wide monotonic clock. Prints deliveries expected/received, losses, latency
percentiles, deliveries per second, executions per event (from the server's /metrics),
the server's memory per idle subscriber and the CPU it spent. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import math
import multiprocessing
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from array import array
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import orjson
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

EXECUTIONS_METRIC = "agora_subscription_executions_total"
DELIVERED_METRIC = "agora_events_delivered_total"
STATUS_INTERVAL = 0.1  # seconds between a client process's progress reports


# ---------------------------------------------------------------------------
# Subscription documents
# ---------------------------------------------------------------------------

# Document k selects, besides `cursor comment { id body author { handle } }`, the extras
# whose bit is set in k mod 64; k div 64 > 0 aliases `comment` as c<k div 64>.
COMMENT_EXTRAS = ("createdAt", "editedAt", "post { id }", "parent { id }")
AUTHOR_EXTRAS = ("displayName", "role")


def subscription_document(k: int) -> tuple[str, tuple[str, ...]]:
    """The k-th subscription document (0: the bench's classic one) and the path of the
    comment's body in its `data`."""
    bits, group = k % 64, k // 64
    comment = ["id", "body"] + [e for j, e in enumerate(COMMENT_EXTRAS) if bits >> j & 1]
    author = ["handle"] + [
        e for j, e in enumerate(AUTHOR_EXTRAS) if bits >> (j + len(COMMENT_EXTRAS)) & 1
    ]
    key = f"c{group}" if group else "comment"
    alias = f"{key}: " if group else ""
    query = (
        "subscription($postId: ID!) {\n"
        f"  commentAdded(postId: $postId) {{ cursor {alias}comment "
        f"{{ {' '.join(comment)} author {{ {' '.join(author)} }} }} }}\n"
        "}"
    )
    return query, ("commentAdded", key, "body")


# ---------------------------------------------------------------------------
# The server (when the bench starts its own), and what /proc says about it
# ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    pid: int | None  # the uvicorn process, when known (own server or --server-pid)
    metrics_token: str | None


@contextlib.asynccontextmanager
async def own_server(args: argparse.Namespace) -> AsyncIterator[Server]:
    """`uvicorn app:app` on a free port with a temporary DATA_DIR."""
    with tempfile.TemporaryDirectory(prefix="agora-bench-") as data_dir:
        port = free_port()
        env = {**os.environ, "DATA_DIR": data_dir, "LOG_LEVEL": "WARNING"}
        env.setdefault("APP_ENV", "development")
        # /metrics is open in development; in production it needs this token.
        env.setdefault("METRICS_TOKEN", secrets.token_urlsafe(24))
        if args.per_connection > 20:  # the server's default limit
            env["WS_MAX_SUBSCRIPTIONS_PER_CONNECTION"] = str(args.per_connection)
        # Every bench client comes from 127.0.0.1: lift the per-address protections
        # (connections, subscriptions, new connections per minute, the publisher's
        # requests per minute, the cost budget anonymous subscribers share).
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
            "--ws-per-message-deflate", "true" if args.compression == "on" else "false",
        ]  # fmt: skip
        if args.ws_impl:
            cmd += ["--ws", args.ws_impl]
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        url = f"http://127.0.0.1:{port}"
        try:
            await wait_ready(url, process)
            yield Server(url, process.pid, env["METRICS_TOKEN"])
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


def rss_kib(pid: int) -> int | None:
    """VmRSS of a process, in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (its threads included, its children not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # fields[0] is field 3, the state
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    """Direct child processes (e.g. the embedded document server of a uvicorn process)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError, ValueError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return sorted(set(found))


def process_name(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in argv if a]
    # `python -m package.module ...`: the module says what it is.
    if "-m" in words[:-1]:
        return words[words.index("-m") + 1]
    return Path(words[0]).name if words else "?"


def raise_fd_limit() -> int:
    """Raises the soft limit on open files to the hard one; returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---------------------------------------------------------------------------
# HTTP: the publisher and /metrics
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


async def scrape(http: httpx.AsyncClient, token: str | None) -> str:
    """The server's /metrics text; raises with the reason when it cannot be read."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.get("/metrics", headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"/metrics answered {response.status_code}")
    return response.text


def metric_sum(text: str, name: str) -> float | None:
    """The sum of every sample of `name` (all label sets); None when there is none."""
    total: float | None = None
    for line in text.splitlines():
        if not line.startswith(name) or line[len(name) : len(name) + 1] not in ("{", " "):
            continue
        rest = line[len(name) :]
        if rest.startswith("{"):
            rest = rest[rest.rindex("}") + 1 :]
        with contextlib.suppress(ValueError, IndexError):
            total = (total or 0.0) + float(rest.split()[0])
    return total


# ---------------------------------------------------------------------------
# Client processes: each opens and reads its share of the subscriptions
# ---------------------------------------------------------------------------


@dataclass
class ClientPlan:
    index: int
    ws_url: str
    posts: list[str]  # every post, in order: event i goes to posts[i % len(posts)]
    documents: list[tuple[str, tuple[str, ...]]]  # (query, path of the body in `data`)
    # One list per WebSocket connection: (subscriber id, post index, document index).
    connections: list[list[tuple[int, int, int]]]
    compression: bool
    open_concurrency: int


@dataclass
class ClientResult:
    """What one client process received (bench events counted once per subscriber)."""

    latencies_ms: bytes  # array('d')
    per_event: dict[int, int]  # event seq -> subscribers of this process that got it
    duplicates: int
    misrouted: int  # deliveries of an event of another post
    probe_deliveries: int
    payload_errors: Counter[str]
    ended: Counter[str]
    first_delivery: float  # time.monotonic() of the first / last bench delivery
    last_delivery: float
    lag_ms: list[float]  # this process's event-loop lag while measuring


class Recorder:
    """What the subscriptions of one client process received."""

    def __init__(self, plan: ClientPlan) -> None:
        self.subscribers = [s for c in plan.connections for s in c]
        self.local = {sub: n for n, (sub, _, _) in enumerate(self.subscribers)}
        self.post_index = [post for _, post, _ in self.subscribers]
        self.posts = len(plan.posts)
        self.probed: set[int] = set()  # subscriber ids that received a probe
        self.seen: dict[int, bytearray] = {}  # event seq -> flag per local subscriber
        self.per_event: Counter[int] = Counter()
        self.unique = 0
        self.latencies_ms = array("d")
        self.duplicates = 0
        self.misrouted = 0
        self.payload_errors: Counter[str] = Counter()
        self.ended: Counter[str] = Counter()
        self.ended_subscriptions = 0
        self.first_delivery = math.inf
        self.last_delivery = 0.0  # of a bench event
        self.last_any = 0.0  # of anything, probes included
        self.probe_deliveries = 0

    def deliver(self, sub: int, body: str, now: float) -> None:
        self.last_any = now
        kind, _, rest = body.partition(" ")
        if kind == "probe":
            self.probe_deliveries += 1
            self.probed.add(sub)
            return
        seq_text, _, sent = rest.partition(" ")
        seq = int(seq_text)
        n = self.local[sub]
        if seq % self.posts != self.post_index[n]:
            self.misrouted += 1
            return
        flags = self.seen.get(seq)
        if flags is None:
            flags = self.seen[seq] = bytearray(len(self.subscribers))
        if flags[n]:
            self.duplicates += 1
            return
        flags[n] = 1
        self.unique += 1
        self.per_event[seq] += 1
        self.first_delivery = min(self.first_delivery, now)
        self.last_delivery = now
        self.latencies_ms.append((now - float(sent)) * 1000)


class SubscriberConnection:
    """One WebSocket carrying several commentAdded subscriptions."""

    def __init__(
        self,
        index: int,
        plan: ClientPlan,
        subscriptions: list[tuple[int, int, int]],
        recorder: Recorder,
    ) -> None:
        self.index = index
        self.plan = plan
        self.subscriptions = subscriptions
        self.body_path = {str(sub): plan.documents[doc][1] for sub, _, doc in subscriptions}
        self.recorder = recorder
        self.ws: ClientConnection | None = None
        self.task: asyncio.Task[None] | None = None
        self.deflate = False

    async def open(self) -> None:
        self.ws = await connect(
            self.plan.ws_url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            compression="deflate" if self.plan.compression else None,
            open_timeout=30,
            close_timeout=2,
            max_queue=None,  # never push back on the server: measure it, not us
        )
        assert self.ws.response is not None
        extensions = self.ws.response.headers.get("sec-websocket-extensions", "")
        self.deflate = "permessage-deflate" in extensions
        await self.ws.send('{"type":"connection_init","payload":{}}')
        async with asyncio.timeout(30):
            ack = orjson.loads(await self.ws.recv())
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"connection {self.index}: expected connection_ack, got {ack}")
        for sub, post, doc in self.subscriptions:
            message = {
                "id": str(sub),
                "type": "subscribe",
                "payload": {
                    "query": self.plan.documents[doc][0],
                    "variables": {"postId": self.plan.posts[post]},
                },
            }
            await self.ws.send(orjson.dumps(message).decode())
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        assert self.ws is not None
        recorder = self.recorder
        try:
            async for raw in self.ws:
                now = time.monotonic()
                message = orjson.loads(raw)
                kind = message.get("type")
                if kind == "next":
                    payload = message["payload"]
                    if payload.get("errors"):
                        recorder.payload_errors[payload["errors"][0].get("message", "?")] += 1
                        continue
                    value: Any = payload.get("data")
                    try:
                        for key in self.body_path[message["id"]]:
                            value = value[key]
                    except (KeyError, TypeError):
                        recorder.payload_errors["no comment body in the payload"] += 1
                        continue
                    recorder.deliver(int(message["id"]), value, now)
                elif kind == "ping":
                    await self.ws.send('{"type":"pong"}')
                elif kind in ("error", "complete"):
                    recorder.ended_subscriptions += 1
                    text = orjson.dumps(message.get("payload")).decode()[:100]
                    recorder.ended[f"{kind}: {text}"] += 1
        except ConnectionClosed:
            pass
        finally:
            close = self.ws.close_code
            if close is not None and close != 1000:
                recorder.ended_subscriptions += len(self.subscriptions)
                recorder.ended[f"connection closed {close} {self.ws.close_reason}"] += 1

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


def client_main(plan: ClientPlan, conn: Connection) -> None:
    """A client process's entry point (multiprocessing, spawn)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    raise_fd_limit()
    try:
        import uvloop
    except ImportError:
        asyncio.run(client_run(plan, conn))
    else:
        uvloop.run(client_run(plan, conn))


async def client_run(plan: ClientPlan, conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

    start_reader(conn, loop, commands.put_nowait, lambda: commands.put_nowait(("stop",)))
    recorder = Recorder(plan)
    connections = [
        SubscriberConnection(n, plan, subs, recorder) for n, subs in enumerate(plan.connections)
    ]
    lag: list[float] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        began = time.monotonic()
        gate = asyncio.Semaphore(plan.open_concurrency)

        async def open_one(connection: SubscriberConnection) -> None:
            async with gate:
                await connection.open()

        opening = asyncio.gather(*(open_one(c) for c in connections))
        stop = asyncio.ensure_future(wait_for_stop(commands))
        pending: set[asyncio.Future[Any]] = {opening, stop}
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if stop.done():
            opening.cancel()
            with contextlib.suppress(BaseException):
                await opening
            return
        await opening  # raises if a connection failed
        stop.cancel()
        deflate = sum(c.deflate for c in connections)
        conn.send(("opened", time.monotonic() - began, len(connections), deflate))
        tasks.append(asyncio.create_task(report_status(conn, recorder)))
        tasks.append(asyncio.create_task(loop_lag(lag)))
        while True:
            command = await commands.get()
            if command[0] == "measure":
                lag.clear()
            elif command[0] == "finish":
                break
            else:  # stop
                return
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        tasks.clear()
        await asyncio.gather(*(c.close() for c in connections))
        conn.send(
            (
                "result",
                vars(
                    ClientResult(
                        latencies_ms=recorder.latencies_ms.tobytes(),
                        per_event=dict(recorder.per_event),
                        duplicates=recorder.duplicates,
                        misrouted=recorder.misrouted,
                        probe_deliveries=recorder.probe_deliveries,
                        payload_errors=recorder.payload_errors,
                        ended=recorder.ended,
                        first_delivery=recorder.first_delivery,
                        last_delivery=recorder.last_delivery,
                        lag_ms=lag,
                    )
                ),
            )
        )
    except Exception:
        with contextlib.suppress(Exception):
            conn.send(("error", f"client {plan.index}: {traceback.format_exc()}"))
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await asyncio.gather(*(c.close() for c in connections))


def start_reader(
    conn: Connection,
    loop: asyncio.AbstractEventLoop,
    on_message: Callable[[Any], None],
    on_eof: Callable[[], None],
) -> threading.Thread:
    """Reads `conn` in a thread of its own, handing each message to the event loop.

    (Not with loop.add_reader: uvloop makes the descriptor non-blocking, and then a
    large message is cut short with BlockingIOError.)
    """

    def read() -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                with contextlib.suppress(RuntimeError):  # the loop is closed
                    loop.call_soon_threadsafe(on_eof)
                return
            try:
                loop.call_soon_threadsafe(on_message, message)
            except RuntimeError:
                return

    thread = threading.Thread(target=read, daemon=True, name="pipe-reader")
    thread.start()
    return thread


async def wait_for_stop(commands: asyncio.Queue[tuple[Any, ...]]) -> None:
    """Returns at the first command: while connections are opening, any means stop."""
    await commands.get()


async def report_status(conn: Connection, recorder: Recorder) -> None:
    last: tuple[Any, ...] = ()
    while True:
        status = (
            "status",
            len(recorder.probed),
            recorder.ended_subscriptions,
            recorder.unique,
            recorder.last_any,
        )
        if status != last:
            conn.send(status)
            last = status
        await asyncio.sleep(STATUS_INTERVAL)


async def loop_lag(samples: list[float]) -> None:
    """How late this event loop wakes up: high values mean the bench is the bottleneck."""
    while True:
        before = time.perf_counter()
        await asyncio.sleep(0.05)
        samples.append((time.perf_counter() - before - 0.05) * 1000)


# ---------------------------------------------------------------------------
# The parent's side of the client processes
# ---------------------------------------------------------------------------


class ClientProcess:
    def __init__(self, plan: ClientPlan) -> None:
        context = multiprocessing.get_context("spawn")
        self.plan = plan
        self.subscriptions = sum(len(c) for c in plan.connections)
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(
            target=client_main, args=(plan, child_conn), daemon=True, name=f"client-{plan.index}"
        )
        self.process.start()
        child_conn.close()
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[tuple[float, int, int]] = loop.create_future()
        self.result: asyncio.Future[ClientResult] = loop.create_future()
        self.probed = self.ended = self.unique = 0
        self.last_any = 0.0
        self.failure: Exception | None = None
        self.reader = start_reader(self.conn, loop, self._receive, self._eof)

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def check(self) -> None:
        """Raises the process's error, if it failed."""
        if self.failure is not None:
            raise self.failure

    def _fail(self, error: Exception) -> None:
        if self.failure is None:
            self.failure = error
        for future in (self.opened, self.result):
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved: no "never retrieved" warnings

    def _receive(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "status":
            _, self.probed, self.ended, self.unique, self.last_any = message
        elif kind == "opened" and not self.opened.done():
            self.opened.set_result(message[1:])
        elif kind == "result" and not self.result.done():
            self.result.set_result(ClientResult(**message[1]))
        elif kind == "error":
            self._fail(RuntimeError(message[1]))

    def _eof(self) -> None:
        self._fail(RuntimeError(f"client process {self.plan.index} exited unexpectedly"))

    def send(self, *message: Any) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(message)

    async def stop(self) -> None:
        """Asks the process to stop, then makes sure it has."""
        if self.process.is_alive():
            self.send("stop")
        deadline = time.monotonic() + 10
        await until(lambda: not self.process.is_alive(), deadline)
        if self.process.is_alive():
            self.process.terminate()
            await asyncio.sleep(0.5)
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        # The child's end is closed now: the reader thread sees EOF and ends.
        await asyncio.to_thread(self.reader.join, 5)
        if not self.reader.is_alive():
            self.conn.close()
        for future in (self.opened, self.result):
            if not future.done():
                future.cancel()


def plan_clients(args: argparse.Namespace, ws_url: str, posts: list[str]) -> list[ClientPlan]:
    """Subscriber i: post i mod P, document (i div P) mod K (so each post's subscribers
    cycle through the documents); `per_connection` consecutive subscribers share a
    connection, connection n belongs to client n mod C."""
    subscribers = [
        (i, i % len(posts), (i // len(posts)) % args.documents) for i in range(args.subscribers)
    ]
    groups = [
        subscribers[start : start + args.per_connection]
        for start in range(0, len(subscribers), args.per_connection)
    ]
    documents = [subscription_document(k) for k in range(args.documents)]
    clients = min(args.clients, len(groups))
    return [
        ClientPlan(
            index=c,
            ws_url=ws_url,
            posts=posts,
            documents=documents,
            connections=groups[c::clients],
            compression=args.compression == "on",
            open_concurrency=max(1, math.ceil(20 / clients)),
        )
        for c in range(clients)
    ]


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------


async def until(condition: Callable[[], bool], deadline: float) -> None:
    """Polls `condition` (state the client processes report) until true or the deadline."""
    while True:
        if condition() or time.monotonic() >= deadline:
            return
        await asyncio.sleep(0.05)


async def warm_up(
    http: httpx.AsyncClient,
    token: str,
    posts: list[str],
    clients: list[ClientProcess],
    limit: float,
) -> int:
    """Probe comments until every subscription has received one; returns how many have.

    A subscription is registered on the server some time after it is sent, and nothing
    says when: one that received a probe is live. A new probe is sent only once the
    previous one's deliveries have gone quiet, so a slow server is not buried in probes.
    Subscriptions the server ended (refused) are not waited for.
    """
    deadline = time.monotonic() + limit
    total = sum(c.subscriptions for c in clients)

    def probed() -> int:
        for client in clients:
            client.check()
        return sum(c.probed for c in clients)

    def settled() -> bool:
        return probed() + sum(c.ended for c in clients) >= total

    def last_any() -> float:
        return max(c.last_any for c in clients)

    round_ = 0
    while not settled() and time.monotonic() < deadline:
        round_ += 1
        for post_id in posts:
            body = {"input": {"postId": post_id, "body": f"probe {round_}"}}
            await graphql(http, ADD_COMMENT, body, token)
        sent = time.monotonic()

        def quiet(sent: float = sent) -> bool:
            return settled() or time.monotonic() - max(sent, last_any()) >= 1 + STATUS_INTERVAL

        await until(quiet, deadline)
    # Let the probes' deliveries finish before measuring.
    await until(lambda: time.monotonic() - last_any() >= 1.0 + STATUS_INTERVAL, deadline)
    return probed()


@dataclass
class PublishStats:
    sent: list[tuple[int, int]] = field(default_factory=list)  # (seq, post index), published
    failed: Counter[str] = field(default_factory=Counter)
    mutation_ms: list[float] = field(default_factory=list)
    behind_ms: list[float] = field(default_factory=list)  # actual send time - scheduled
    first_send: float = math.inf


async def publish(
    http: httpx.AsyncClient, token: str, posts: list[str], rate: float, duration: float
) -> PublishStats:
    stats = PublishStats()
    total = int(rate * duration)
    gate = asyncio.Semaphore(64)
    start = time.monotonic()

    async def one(seq: int, scheduled: float) -> None:
        post = seq % len(posts)
        async with gate:
            sent = time.monotonic()
            stats.first_send = min(stats.first_send, sent)
            stats.behind_ms.append(max(0.0, sent - scheduled) * 1000)
            variables = {"input": {"postId": posts[post], "body": f"bench {seq} {sent:.6f}"}}
            try:
                await graphql(http, ADD_COMMENT, variables, token)
            except Exception as error:
                stats.failed[type(error).__name__] += 1
                return
            stats.mutation_ms.append((time.monotonic() - sent) * 1000)
            stats.sent.append((seq, post))

    tasks = []
    for seq in range(total):
        scheduled = start + seq / rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(seq, scheduled)))
    await asyncio.gather(*tasks)
    return stats


async def parent_lag(samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.05)
        samples.append((time.perf_counter() - before - 0.05) * 1000)


def percentile(values: list[float] | array[float], p: float) -> float:
    """Of sorted values."""
    if not values:
        return math.nan
    index = min(len(values) - 1, max(0, math.ceil(p / 100 * len(values)) - 1))
    return values[index]


def spread(values: list[float] | array[float]) -> str:
    ordered = sorted(values)
    return (
        f"p50 {percentile(ordered, 50):.1f}  p90 {percentile(ordered, 90):.1f}  "
        f"p99 {percentile(ordered, 99):.1f}  max {max(ordered, default=math.nan):.1f}"
    )


def mib(kib: int | None) -> str:
    return "?" if kib is None else f"{kib / 1024:.1f} MiB"


@dataclass
class Snapshot:
    """The server's processes at one moment: RSS (KiB) and CPU seconds by pid."""

    rss: dict[int, int | None] = field(default_factory=dict)
    cpu: dict[int, float | None] = field(default_factory=dict)

    @classmethod
    def take(cls, pids: list[int]) -> Snapshot:
        return cls({p: rss_kib(p) for p in pids}, {p: cpu_seconds(p) for p in pids})


def cpu_delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


async def run(args: argparse.Namespace, server: Server) -> int:
    base_url = server.url
    ws_url = base_url.replace("http://", "ws://").replace("https://", "wss://") + "/graphql"
    server_pids = [server.pid, *children_of(server.pid)] if server.pid else []
    lag: list[float] = []
    stop_lag = asyncio.Event()
    clients: list[ClientProcess] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
        token, posts = await set_up_posts(http, args.posts)
        # One comment per post before anyone subscribes, so that the memory the mutation
        # path takes on first use is in the baseline, not counted per subscriber.
        for post_id in posts:
            await graphql(http, ADD_COMMENT, {"input": {"postId": post_id, "body": "x"}}, token)
        await asyncio.sleep(1)
        rss_before = Snapshot.take(server_pids)
        try:
            began = time.monotonic()
            for plan in plan_clients(args, ws_url, posts):
                clients.append(ClientProcess(plan))
            opened = await asyncio.gather(*(c.opened for c in clients))
            opened_in = time.monotonic() - began
            connections = sum(o[1] for o in opened)
            deflated = sum(o[2] for o in opened)
            live = await warm_up(http, token, posts, clients, args.warmup)
            await asyncio.sleep(2)  # let the server settle before reading its memory
            rss_idle = Snapshot.take(server_pids)

            metrics_before: str | None = None
            metrics_error = ""
            try:
                metrics_before = await scrape(http, server.metrics_token)
            except (httpx.HTTPError, RuntimeError) as error:
                metrics_error = str(error) or type(error).__name__
            for client in clients:
                client.send("measure")
            lag_task = asyncio.create_task(parent_lag(lag, stop_lag))
            bench_pids = [os.getpid(), *(c.pid for c in clients)]
            cpu_start, bench_start = Snapshot.take(server_pids), Snapshot.take(bench_pids)
            wall_start = time.monotonic()
            stats = await publish(http, token, posts, args.rate, args.duration)
            subscribers_of = Counter(i % len(posts) for i in range(args.subscribers))
            expected = sum(subscribers_of[post] for _, post in stats.sent)

            def drained() -> bool:
                for client in clients:
                    client.check()
                return sum(c.unique for c in clients) >= expected

            await until(drained, time.monotonic() + args.drain)
            wall = time.monotonic() - wall_start
            cpu_end, bench_end = Snapshot.take(server_pids), Snapshot.take(bench_pids)
            stop_lag.set()
            await lag_task
            metrics_after: str | None = None
            if metrics_before is not None:
                try:
                    metrics_after = await scrape(http, server.metrics_token)
                except (httpx.HTTPError, RuntimeError) as error:
                    metrics_error = str(error) or type(error).__name__
            for client in clients:
                client.send("finish")
            async with asyncio.timeout(60):
                results = await asyncio.gather(*(c.result for c in clients))
        finally:
            await asyncio.gather(*(c.stop() for c in clients), return_exceptions=True)

    # Deliveries
    per_event: Counter[int] = Counter()
    latencies = array("d")
    for result in results:
        per_event.update(result.per_event)
        latencies.frombytes(result.latencies_ms)
    latencies = array("d", sorted(latencies))
    received = sum(per_event.values())
    sent_seqs = {seq for seq, _ in stats.sent}
    unexpected = sum(n for seq, n in per_event.items() if seq not in sent_seqs)
    received_expected = received - unexpected
    missing = expected - received_expected
    duplicates = sum(r.duplicates for r in results)
    misrouted = sum(r.misrouted for r in results)
    events_lost = sum(1 for seq, _ in stats.sent if per_event[seq] == 0)
    partial = sum(1 for seq, post in stats.sent if 0 < per_event[seq] < subscribers_of[post])
    last_delivery = max((r.last_delivery for r in results), default=0.0)
    span = last_delivery - stats.first_send
    rate = received / span if received and span > 0 else math.nan
    payload_errors: Counter[str] = Counter()
    ended: Counter[str] = Counter()
    for result in results:
        payload_errors.update(result.payload_errors)
        ended.update(result.ended)

    print(
        f"subscribers: {args.subscribers} on {len(posts)} post(s), {args.documents} "
        f"document(s), over {connections} WebSocket connection(s) ({args.per_connection} per "
        f"connection) in {len(clients)} client process(es), opened in {opened_in:.1f} s; "
        f"live after warm-up: {live}"
    )
    print(
        f"compression: {args.compression}, negotiated on {deflated} of {connections} "
        f"connection(s); server WebSocket implementation: "
        + ("(its own)" if args.url else args.ws_impl or "uvicorn's default")
    )
    print(
        f"events sent: {len(stats.sent)} of {int(args.rate * args.duration)} "
        f"({args.rate:g}/s for {args.duration:g} s), failed: {sum(stats.failed.values())}"
        + (f" {dict(stats.failed)}" if stats.failed else "")
    )
    print(
        f"deliveries: expected {expected}, received {received_expected}, missing {missing} "
        f"(waited up to {args.drain:g} s after the last send), duplicates {duplicates}"
        + (f", of unsent events {unexpected}" if unexpected else "")
        + (f", of another post's events {misrouted}" if misrouted else "")
    )
    print(f"events lost: {events_lost} reached no subscriber, {partial} only some of theirs")
    print(
        f"deliveries/s sustained: {rate:.0f} ({received} over {span:.2f} s, "
        "first send to last delivery)"
    )
    print(f"delivery latency ms: {spread(latencies)}")
    print(f"addComment latency ms: {spread(stats.mutation_ms)}")
    print(f"publisher behind schedule ms: {spread(stats.behind_ms)}")
    print(f"bench loop lag ms: publisher {spread(lag)}")
    for n, result in enumerate(results):
        print(f"bench loop lag ms: client {n} {spread(result.lag_ms)}")

    # Executions per event
    per_event_text = "n/a"
    if metrics_before is None or metrics_after is None:
        print(f"executions per event: n/a (no /metrics: {metrics_error})")
    else:
        before, after = (
            metric_sum(metrics_before, EXECUTIONS_METRIC),
            metric_sum(metrics_after, EXECUTIONS_METRIC),
        )
        if before is None and after is None:
            print(f"executions per event: n/a (server has no {EXECUTIONS_METRIC})")
        elif stats.sent:
            executions = (after or 0.0) - (before or 0.0)
            per_event_text = f"{executions / len(stats.sent):.2f}"
            print(
                f"executions per event: {per_event_text} ({executions:.0f} executions "
                f"for {len(stats.sent)} events, {EXECUTIONS_METRIC})"
            )
        before, after = (
            metric_sum(metrics_before, DELIVERED_METRIC),
            metric_sum(metrics_after, DELIVERED_METRIC),
        )
        if before is not None or after is not None:
            print(
                f"server events delivered: {(after or 0.0) - (before or 0.0):.0f} "
                f"({DELIVERED_METRIC})"
            )

    # Memory and CPU
    if not server_pids:
        print("server RSS: n/a (give --server-pid with --url)")
        print("server CPU: n/a (give --server-pid with --url)")
    for pid in server_pids:
        main = pid == server_pids[0]
        name = "server" if main else f"server child {pid} ({process_name(pid)})"
        before_kib, idle_kib = rss_before.rss.get(pid), rss_idle.rss.get(pid)
        per_subscriber = (
            f"{(idle_kib - before_kib) * 1024 / args.subscribers / 1000:.1f} KB"
            if before_kib is not None and idle_kib is not None
            else "?"
        )
        print(
            f"{name} RSS: before {mib(before_kib)}, with {args.subscribers} idle "
            f"subscribers {mib(idle_kib)}, per idle subscriber {per_subscriber}"
        )
        spent = cpu_delta(cpu_start.cpu.get(pid), cpu_end.cpu.get(pid))
        if spent is None:
            print(f"{name} CPU: ?")
        else:
            print(
                f"{name} CPU: {spent:.2f} s over {wall:.2f} s wall "
                f"({spent / wall * 100:.0f}% of one core)"
            )
    bench_cpu = [cpu_delta(bench_start.cpu.get(p), bench_end.cpu.get(p)) for p in bench_pids]
    print(
        f"bench CPU: publisher {bench_cpu[0] or 0:.2f} s, clients "
        + " + ".join(f"{c or 0:.2f}" for c in bench_cpu[1:])
        + f" s, over {wall:.2f} s wall"
    )
    if payload_errors:
        print(f"payload errors: {dict(payload_errors)}")
    if ended:
        print(f"ended by the server: {dict(ended)}")
    print(
        f"summary: deliveries/s {rate:.0f}  p50 {percentile(latencies, 50):.1f} ms  "
        f"p99 {percentile(latencies, 99):.1f} ms  lost {missing}  duplicated {duplicates}  "
        f"executions/event {per_event_text}"
    )
    ok = missing == 0 and not duplicates and not misrouted and not unexpected
    return 0 if ok else 1


async def main(args: argparse.Namespace) -> int:
    nofile = raise_fd_limit()
    connections = math.ceil(args.subscribers / args.per_connection)
    if nofile != resource.RLIM_INFINITY and nofile < connections + 256:
        print(
            f"warning: at most {nofile} open files (RLIMIT_NOFILE's hard limit), "
            f"{connections} connections need more; raise it (ulimit -Hn)",
            file=sys.stderr,
        )
    # SIGTERM stops the run as Ctrl-C does: clients and server are stopped.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    limit = 120 + args.warmup + args.duration + args.drain + args.subscribers / 50
    async with asyncio.timeout(limit):  # bounded, whatever happens
        if args.url:
            token = os.environ.get("METRICS_TOKEN") or None
            return await run(args, Server(args.url.rstrip("/"), args.server_pid, token))
        async with own_server(args) as server:
            return await run(args, server)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server's base URL (default: start one)")
    parser.add_argument(
        "--server-pid", type=int, help="with --url: the server's pid, for its RSS and CPU"
    )
    parser.add_argument("--subscribers", type=int, default=1000, help="subscriptions (1000)")
    parser.add_argument(
        "--per-connection", type=int, default=20, help="subscriptions per WebSocket (20)"
    )
    parser.add_argument("--posts", type=int, default=1, help="posts subscribed to (1)")
    parser.add_argument(
        "--documents", type=int, default=1, help="different subscription documents (1)"
    )
    parser.add_argument(
        "--clients", type=int, default=1, help="client processes holding the subscribers (1)"
    )
    parser.add_argument("--rate", type=float, default=20, help="comments per second (20)")
    parser.add_argument("--duration", type=float, default=10, help="seconds of publishing (10)")
    parser.add_argument(
        "--warmup", type=float, default=60, help="max seconds until all are live (60)"
    )
    parser.add_argument(
        "--drain", type=float, default=30, help="max seconds to wait for late deliveries (30)"
    )
    parser.add_argument(
        "--compression",
        choices=("on", "off"),
        default="off",
        help="permessage-deflate, asked by the clients and allowed by the own server (off)",
    )
    parser.add_argument(
        "--ws-impl",
        choices=("websockets", "websockets-sansio", "wsproto"),
        help="the own server's uvicorn --ws (default: uvicorn's, auto)",
    )
    args = parser.parse_args(argv)
    if (
        min(args.subscribers, args.per_connection, args.posts, args.documents, args.clients) < 1
        or args.rate <= 0
    ):
        parser.error(
            "--subscribers, --per-connection, --posts, --documents, --clients and --rate "
            "must be positive"
        )
    if args.url and args.ws_impl:
        parser.error("--ws-impl is for the server the bench starts (without --url)")
    if args.server_pid and not args.url:
        parser.error("--server-pid goes with --url")
    if args.ws_impl == "wsproto" and importlib.util.find_spec("wsproto") is None:
        parser.error("--ws-impl wsproto: wsproto is not installed in this environment")
    return args


if __name__ == "__main__":
    options = parse_args()
    try:
        import uvloop
    except ImportError:
        runner: Callable[..., int] = asyncio.run
    else:
        runner = uvloop.run
    try:
        sys.exit(runner(main(options)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted", file=sys.stderr)
        sys.exit(130)
