"""The PyMongo client, guarded: time limits, and a circuit breaker asked before every
operation.

Time limits. `timeout_ms` is PyMongo's client-side operation timeout (CSOT,
`timeoutMS`): it bounds a whole operation, server selection, connecting and
retries included, and is sent to the server as `maxTimeMS`, so a slow command ends
with ExecutionTimeout and a frozen server with NetworkTimeout. Server selection
and connecting have their own, shorter limits.

Circuit breaker. A failure that says the server is gone (a failed heartbeat, a
network error on a command, a connection that could not be made, a server
selection that timed out) opens the breaker:
for `unavailable_cooldown_seconds` every operation then fails at once with
DocumentStoreUnavailable instead of each waiting for its own time limit. A
successful heartbeat or command closes it early; after the cool-down, operations
are tried again (and open it again if the server is still gone).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pymongo
from pymongo import AsyncMongoClient, errors
from pymongo.errors import ConnectionFailure, ServerSelectionTimeoutError
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
    ConnectionCheckOutFailedEvent,
    ConnectionCheckOutFailedReason,
    ConnectionPoolListener,
    ServerHeartbeatFailedEvent,
    ServerHeartbeatListener,
    ServerHeartbeatStartedEvent,
    ServerHeartbeatSucceededEvent,
)

from datasources.failures import StoreUnavailable

# What documents are read as: PyMongo's default document class.
Document = dict[str, Any]

# Used when the caller configures nothing (tests, the seed command): PyMongo's
# behaviour before time limits existed, minus its 30 s server selection.
UNCONFIGURED_SERVER_SELECTION_TIMEOUT_MS = 5_000
# Heartbeats use the connect timeout as their socket timeout: below this, a busy but
# healthy server could miss heartbeats and open the breaker.
MIN_CONNECT_TIMEOUT_MS = 1_000
DEFAULT_UNAVAILABLE_COOLDOWN_SECONDS = 2.0


class DocumentStoreUnavailable(StoreUnavailable, ServerSelectionTimeoutError):
    """The document store was seen unavailable moments ago: failed without trying.

    A ServerSelectionTimeoutError too (no server was selected), so PyMongo's retry
    logic treats it as the persistent outage it is and does not retry."""


class CircuitBreaker(CommandListener, ServerHeartbeatListener, ConnectionPoolListener):
    """Tracks whether the document server answers, from PyMongo's own events."""

    def __init__(self, cooldown_seconds: float = DEFAULT_UNAVAILABLE_COOLDOWN_SECONDS) -> None:
        if cooldown_seconds < 0:
            raise ValueError("cooldown_seconds must not be negative")
        self.cooldown_seconds = cooldown_seconds
        self._open_until = 0.0
        self._reason = ""

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def check(self) -> None:
        """Raise DocumentStoreUnavailable while the breaker is open."""
        remaining = self._open_until - time.monotonic()
        if remaining > 0:
            raise DocumentStoreUnavailable(
                f"document store unavailable ({self._reason}); "
                f"not trying again for {remaining:.1f} s"
            )

    def trip(self, reason: str) -> None:
        self._open_until = time.monotonic() + self.cooldown_seconds
        self._reason = reason

    def reset(self) -> None:
        self._open_until = 0.0

    # CommandListener

    def started(self, event: CommandStartedEvent | ServerHeartbeatStartedEvent) -> None:
        pass

    def succeeded(self, event: CommandSucceededEvent | ServerHeartbeatSucceededEvent) -> None:
        self.reset()

    def failed(self, event: CommandFailedEvent | ServerHeartbeatFailedEvent) -> None:
        if isinstance(event, ServerHeartbeatFailedEvent):
            self.trip(f"heartbeat failed: {type(event.reply).__name__}")
            return
        # Server-side failures are replies (the server answers); a network error
        # arrives as {"errtype": <PyMongo exception class name>, "errmsg": ...}.
        errtype = event.failure.get("errtype")
        cls = getattr(errors, errtype, None) if isinstance(errtype, str) else None
        if isinstance(cls, type) and issubclass(cls, ConnectionFailure):
            self.trip(f"{event.command_name} failed: {errtype}")

    # ConnectionPoolListener: a new connection that could not be made (refused, or a
    # frozen server that accepts TCP but never answers the handshake) is seen here only.

    def connection_check_out_failed(self, event: ConnectionCheckOutFailedEvent) -> None:
        if event.reason != ConnectionCheckOutFailedReason.CONN_ERROR:
            return  # the pool's own wait queue timed out, or the client is closing
        # PyMongo reports a cancelled checkout (a request's own deadline) the same way;
        # that says nothing about the server.
        try:
            task = asyncio.current_task()
        except RuntimeError:
            task = None
        if task is not None and task.cancelling():
            return
        self.trip("connecting failed")

    # PyMongo calls every method of a pool listener; the other pool events say nothing
    # about whether the server answers.

    def _ignore(self, event: object) -> None:
        pass

    pool_created = pool_ready = pool_cleared = pool_closed = _ignore
    connection_created = connection_ready = connection_closed = _ignore
    connection_check_out_started = connection_checked_out = connection_checked_in = _ignore


class _GuardedClient(AsyncMongoClient[Document]):
    """An AsyncMongoClient whose server selection, the step every operation (command,
    cursor batch, bulk write, transaction) starts with, asks the breaker first and
    keeps to the server selection timeout.

    With timeoutMS set, PyMongo lets server selection use the operation's whole
    remaining time and ignores serverSelectionTimeoutMS; the nested `pymongo.timeout`
    caps selection at the shorter limit again (the operation's deadline still holds).

    `_select_server` is PyMongo's internal choke point (pymongo is pinned); the
    time-limit tests fail if an upgrade renames it."""

    def __init__(
        self,
        *args: Any,
        breaker: CircuitBreaker,
        server_selection_timeout_seconds: float,
        **kwargs: Any,
    ) -> None:
        self._breaker = breaker
        self._server_selection_timeout = server_selection_timeout_seconds
        super().__init__(*args, **kwargs)

    async def _select_server(self, *args: Any, **kwargs: Any) -> Any:
        self._breaker.check()
        try:
            with pymongo.timeout(self._server_selection_timeout):
                return await super()._select_server(*args, **kwargs)
        except ServerSelectionTimeoutError as error:
            self._breaker.trip(f"server selection timed out: {type(error).__name__}")
            raise


def client_options(
    timeout_ms: int | None, server_selection_timeout_ms: int | None
) -> dict[str, Any]:
    """PyMongo's time-limit options for the configured values (None: not configured)."""
    selection_ms = server_selection_timeout_ms or UNCONFIGURED_SERVER_SELECTION_TIMEOUT_MS
    options: dict[str, Any] = {
        "serverSelectionTimeoutMS": selection_ms,
        "connectTimeoutMS": max(selection_ms, MIN_CONNECT_TIMEOUT_MS),
    }
    if timeout_ms is not None:
        options["timeoutMS"] = timeout_ms
    return options


def connect(
    url: str,
    breaker: CircuitBreaker,
    *,
    event_listeners: Sequence[CommandListener] = (),
    timeout_ms: int | None = None,
    server_selection_timeout_ms: int | None = None,
) -> AsyncMongoClient[Document]:
    """A client for `url` that keeps to these time limits and to `breaker`, which it
    also feeds with its events."""
    options = client_options(timeout_ms, server_selection_timeout_ms)
    return _GuardedClient(
        url,
        breaker=breaker,
        server_selection_timeout_seconds=options["serverSelectionTimeoutMS"] / 1000,
        tz_aware=True,
        appname="agora",
        event_listeners=[*event_listeners, breaker],
        **options,
    )
