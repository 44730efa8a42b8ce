"""One log line per HTTP request: method, path, status, duration, and for GraphQL the
operation's type and name (`schema.access_log`). `web.edge` writes it while the
request id is still bound, so the line carries it. Health probes and metric scrapes
are logged at DEBUG: they come every few seconds."""

from __future__ import annotations

import logging
import time

from starlette.types import Scope

from logs import enabled_for, get_logger

log = get_logger("agora.access")
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


def log_request(scope: Scope, status: int, started: float) -> None:
    """`started`: the request's `time.perf_counter()` on arrival."""
    probe = scope["path"] in PROBES
    if not enabled_for(logging.DEBUG if probe else logging.INFO):
        return
    state = scope.get("state", {})
    operation = state.get("operation")
    fields = {
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    if operation is not None:
        fields["operation_type"], fields["operation_name"] = operation
    stats = state.get("query_stats")
    if stats is not None:
        fields["sql"], fields["mongo"] = stats["sql"], stats["mongo"]
    write = log.debug if probe else log.info
    write("request", **fields)
