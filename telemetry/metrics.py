"""Prometheus metrics: their definitions, the small helpers that record into them, and the
text exposition that /metrics serves.

A leaf: nothing of the project's is imported here, so every layer records through the
helpers below.

Several worker processes (`agora serve --workers N`) use prometheus-client's multiprocess
mode: `agora serve` sets PROMETHEUS_MULTIPROC_DIR before the workers start, each worker
writes its values to files there, and a scrape (answered by any worker) merges them all.
prometheus-client picks its mode when it is first imported, so `exposition` asks it which
mode it is in instead of reading the environment again. Gauges say how workers combine:
"livesum" (connections, subscriptions, pools: the sum over the live workers) or
"liveall" (the worker start time, one sample per live worker, labelled with its pid); a
worker removes its live gauges once its app has shut down (`mark_process_dead`).

Operation names are chosen by clients, so the `operation_name` label is bounded: only
the name of an operation that parsed and validated, cut to `MAX_NAME_LENGTH`
characters, and only the first `MAX_OPERATION_NAMES` distinct names a process sees; later
names are counted as "(other)", except the names of the trusted-documents manifest's
operations, which are always labels. Labels that are not names: "(anonymous)" (a valid
operation without a name) and "(none)" (no operation was validated: a request error, a
syntax or validation error). None of these is a valid GraphQL name, so none collides
with one.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MAX_OPERATION_NAMES = 100
MAX_NAME_LENGTH = 64
ANONYMOUS = "(anonymous)"
OTHER = "(other)"
NONE = "(none)"

# Operation types, as labels; NONE when no operation type could be told.
OPERATION_TYPES = frozenset({"query", "mutation", "subscription"})
# Outcomes of a request: "ok" (no error), "errors" (answered with GraphQL errors),
# "refused" (4xx: a request error; over WebSocket, an operation refused before it ran),
# "failed" (5xx, or an exception that left the app).
OUTCOMES = ("ok", "errors", "refused", "failed")

_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,47}")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ROUND_TRIP_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144)

REQUESTS = Counter(
    "agora_graphql_requests",
    "GraphQL requests: HTTP requests to /graphql (the GraphiQL page aside), and operations "
    "sent over WebSocket (a subscription is counted when it starts or is refused).",
    ["transport", "operation_type", "operation_name", "outcome"],
)
REQUEST_DURATION = Histogram(
    "agora_graphql_request_duration_seconds",
    "Time from receiving a GraphQL request to the end of its response (WebSocket: queries "
    "and mutations, from the subscribe message to the result).",
    ["transport", "operation_type"],
    buckets=LATENCY_BUCKETS,
)
SQL_STATEMENTS = Histogram(
    "agora_graphql_sql_statements",
    "SQL statements per executed query or mutation.",
    ["operation_type"],
    buckets=ROUND_TRIP_BUCKETS,
)
MONGODB_COMMANDS = Histogram(
    "agora_graphql_mongodb_commands",
    "MongoDB commands per executed query or mutation.",
    ["operation_type"],
    buckets=ROUND_TRIP_BUCKETS,
)
ERRORS = Counter(
    "agora_graphql_errors",
    "GraphQL errors sent to clients, by `extensions.code` (each error of a response, and "
    "the error of a refused request); OTHER for a missing or unusual code.",
    ["transport", "code"],
)
WEBSOCKET_CONNECTIONS = Gauge(
    "agora_websocket_connections",
    "Open WebSocket connections to /graphql.",
    multiprocess_mode="livesum",
)
SUBSCRIPTIONS_ACTIVE = Gauge(
    "agora_subscriptions_active",
    "Subscription operations running now.",
    multiprocess_mode="livesum",
)
SUBSCRIPTIONS_STARTED = Counter(
    "agora_subscriptions_started",
    "Subscription operations that passed validation and admission and started.",
)
EVENTS_PUBLISHED = Counter(
    "agora_events_published",
    "Events published on the event bus after a committed write, by event type.",
    ["event"],
)
EVENTS_DELIVERED = Counter(
    "agora_events_delivered",
    "Events delivered to a subscriber (after its own authorization), by event type.",
    ["event"],
)
SUBSCRIPTION_EXECUTIONS = Counter(
    "agora_subscription_executions",
    "Executions of a subscription's selection set for an event: one per cohort of "
    "subscribers that share the result, by event type.",
    ["event"],
)
EVENTS_DROPPED = Counter(
    "agora_events_dropped",
    "Events a subscriber never got because its bounded buffer overflowed: what it held, "
    "and the event that did not fit (it is disconnected, close code 1013, and may resume).",
)
SUBSCRIBERS_CUT_OFF = Counter(
    "agora_event_subscribers_cut_off",
    "Subscribers disconnected for falling a whole buffer behind.",
)
DB_POOL_CHECKED_OUT = Gauge(
    "agora_db_pool_checked_out",
    "SQL connections checked out of the pool now.",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "agora_db_pool_size",
    "Connections the SQL pool keeps (its size; it may open max_overflow more).",
    multiprocess_mode="livesum",
)
DB_POOL_MAX_OVERFLOW = Gauge(
    "agora_db_pool_max_overflow",
    "Connections the SQL pool may open beyond its size.",
    multiprocess_mode="livesum",
)
# Made by `worker_started`, in a process that serves: a process that only imports this
# module (e.g. a supervisor) must not show up as a worker.
_worker_start: Gauge | None = None
_worker_lock = threading.Lock()


def multiprocess() -> bool:
    """Whether prometheus-client writes values to PROMETHEUS_MULTIPROC_DIR's files."""
    return values.ValueClass is not values.MutexValue


# -- operation names --------------------------------------------------------------------


class OperationNames:
    """The label values of operation names: at most `limit` distinct names, each at most
    `length` characters; later names give OTHER. The names of trusted documents (the
    operator's manifest) are labels whatever came first: a client sending many names
    cannot push them into OTHER."""

    def __init__(self, limit: int = MAX_OPERATION_NAMES, length: int = MAX_NAME_LENGTH) -> None:
        self.limit = limit
        self.length = length
        self._seen: set[str] = set()
        self._trusted: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def trust(self, names: Iterable[str]) -> None:
        self._trusted = self._trusted | {name[: self.length] for name in names}

    def label(self, name: str | None) -> str:
        if not name:
            return ANONYMOUS
        name = name[: self.length]
        if name in self._seen or name in self._trusted:
            return name
        with self._lock:
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(name)
        return name

    def __contains__(self, name: str) -> bool:
        return name[: self.length] in self._seen or name[: self.length] in self._trusted

    def __len__(self) -> int:
        return len(self._seen)


OPERATION_NAMES = OperationNames()


def error_code(code: object) -> str:
    return code if isinstance(code, str) and _CODE.fullmatch(code) else "OTHER"


def operation_type_label(operation_type: str | None) -> str:
    return operation_type if operation_type in OPERATION_TYPES else NONE


# -- GraphQL requests ---------------------------------------------------------------------


@dataclass
class RequestRecord:
    """What the schema learns about an HTTP request's operation, for the web layer that
    counts the request once its response is sent."""

    operation_type: str = NONE
    operation_name: str = NONE
    # Set when the operation ran to its end in the schema: the `extensions.code` of each
    # error of its result, read when the response is sent (once every error has its
    # code). None: the response was made elsewhere (a request error, a timeout).
    error_codes: Callable[[], list[object]] | None = None


_request: ContextVar[RequestRecord | None] = ContextVar("metrics_request", default=None)


def begin_request() -> tuple[RequestRecord, Token[RequestRecord | None]]:
    record = RequestRecord()
    return record, _request.set(record)


def end_request(token: Token[RequestRecord | None]) -> None:
    _request.reset(token)


def current_request() -> RequestRecord | None:
    return _request.get()


def outcome_of_status(status: int, has_errors: bool) -> str:
    if status >= 500:
        return "failed"
    if status >= 400:
        return "refused"
    return "errors" if has_errors else "ok"


# Labelled children, kept: prometheus_client's `labels()` takes a lock and checks its
# arguments on every call, four times a request. Label values are bounded (operation
# names are capped at MAX_OPERATION_NAMES), so these stay small.
_children: dict[tuple[object, ...], Any] = {}


def _child(metric: Any, *label_values: str) -> Any:
    key = (metric, *label_values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*label_values)
    return child


def record_request(
    transport: str,
    operation_type: str,
    operation_name: str,
    outcome: str,
    error_codes: Iterable[object] = (),
    duration: float | None = None,
) -> None:
    _child(REQUESTS, transport, operation_type, operation_name, outcome).inc()
    if duration is not None:
        _child(REQUEST_DURATION, transport, operation_type).observe(duration)
    record_errors(transport, error_codes)


def refused(transport: str, code: str) -> None:
    """A request refused before any operation of it was looked at."""
    record_request(transport, NONE, NONE, "refused", [code])


def record_errors(transport: str, codes: Iterable[object]) -> None:
    for code in codes:
        _child(ERRORS, transport, error_code(code)).inc()


def record_round_trips(operation_type: str, sql: int, mongodb: int) -> None:
    _child(SQL_STATEMENTS, operation_type).observe(sql)
    _child(MONGODB_COMMANDS, operation_type).observe(mongodb)


# -- WebSocket and subscriptions ------------------------------------------------------------


def websocket_opened() -> None:
    WEBSOCKET_CONNECTIONS.inc()


def websocket_closed() -> None:
    WEBSOCKET_CONNECTIONS.dec()


def subscription_started() -> None:
    SUBSCRIPTIONS_STARTED.inc()
    SUBSCRIPTIONS_ACTIVE.inc()


def subscription_ended() -> None:
    SUBSCRIPTIONS_ACTIVE.dec()


# -- events -----------------------------------------------------------------------------


def event_published(event: str) -> None:
    EVENTS_PUBLISHED.labels(event).inc()


def event_delivered(event: str, subscribers: int = 1) -> None:
    """One execution of a subscription for `event`, delivered to `subscribers`."""
    SUBSCRIPTION_EXECUTIONS.labels(event).inc()
    EVENTS_DELIVERED.labels(event).inc(subscribers)


def subscriber_cut_off(dropped_events: int) -> None:
    SUBSCRIBERS_CUT_OFF.inc()
    EVENTS_DROPPED.inc(dropped_events)


# -- SQL connection pool ----------------------------------------------------------------


def pool_opened(size: int, max_overflow: int) -> None:
    DB_POOL_SIZE.inc(size)
    DB_POOL_MAX_OVERFLOW.inc(max_overflow)


def pool_closed(size: int, max_overflow: int) -> None:
    DB_POOL_SIZE.dec(size)
    DB_POOL_MAX_OVERFLOW.dec(max_overflow)


def connection_checked_out() -> None:
    DB_POOL_CHECKED_OUT.inc()


def connection_returned() -> None:
    DB_POOL_CHECKED_OUT.dec()


# -- workers and exposition -------------------------------------------------------------


def worker_started() -> None:
    """Records this serving process's start (one sample per live worker, by pid)."""
    global _worker_start
    with _worker_lock:
        if _worker_start is None:
            _worker_start = Gauge(
                "agora_worker_start_time_seconds",
                "When each live server process started serving (Unix time); one sample "
                "per worker, labelled pid, when several workers serve.",
                multiprocess_mode="liveall",
            )
    _worker_start.set(time.time())


def worker_stopped() -> None:
    """This serving process is done (its app has shut down): in multiprocess mode its
    live gauges (connections, subscriptions, pools, its start time) leave with it."""
    if multiprocess():
        mark_process_dead(os.getpid())


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric (of every worker, in multiprocess mode) and
    its media type."""
    if multiprocess():
        _forget_dead_workers()
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def _forget_dead_workers() -> None:
    """A worker killed outright (uvicorn replaces one that stops answering) never shuts
    down, so its live gauges would be summed in forever: drop those of gone processes."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    pids: set[int] = set()
    for path in Path(folder).glob("gauge_live*_*.db"):
        suffix = path.stem.rsplit("_", 1)[-1]
        if suffix.isdigit():
            pids.add(int(suffix))
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, folder)
        except PermissionError:  # alive, another user's
            pass
