"""Structured logging: one JSON object per line in production, readable lines in development.

Every line of the process goes through here: the app's own (structlog), and those of
libraries that log with the standard library (uvicorn's start-up, errors and shutdown,
Strawberry, asyncio, warnings), which the root handler renders with the same
processors. Each line has `timestamp`, `level`, `event` and `request_id` (null outside
a request); the request id is bound with structlog's contextvars, so every line
logged while a request is handled carries it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

# Keys whose values must never reach a log line, whoever logs them.
SECRET_KEYS = frozenset(
    {"password", "token", "access_token", "refresh_token", "authorization", "jwt_secret", "secret"}
)
# uvicorn installs handlers of its own on these; their lines are re-routed to the root
# handler (uvicorn's access line is replaced by web.access_log's, which knows more).
UVICORN_ACCESS = "uvicorn.access"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", UVICORN_ACCESS)


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in SECRET_KEYS:
            event[key] = "[redacted]"
    return event


def _every_line_has_a_request_id(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event.setdefault("request_id", None)
    return event


def _trace_ids(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """With tracing on (telemetry.tracing), a line logged inside a span names its trace,
    so a log line leads to its trace and back. With tracing off there is no span: one
    context lookup per line."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is not None:
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            event["trace_id"] = format(span.trace_id, "032x")
            event["span_id"] = format(span.span_id, "016x")
    return event


def _json_line(record: Any, **_: Any) -> str:
    # orjson: a line per request is on the hot path; str() for what JSON has no type for.
    return orjson.dumps(record, default=str).decode()


def _processors(*, json: bool) -> tuple[list[Any], Any]:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
        _trace_ids,
    ]
    if json:
        shared.append(_every_line_has_a_request_id)
        return shared, structlog.processors.JSONRenderer(serializer=_json_line)
    # Plain tracebacks: rich ones print local variables, passwords included.
    renderer = structlog.dev.ConsoleRenderer(
        colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
    )
    return shared, renderer


# The level configure_logging set last (0: not configured, structlog decides).
_configured_level = logging.NOTSET


def enabled_for(level: int) -> bool:
    """Whether configure_logging's level lets a line at `level` through: a hot path asks
    before making a line (a call on a logger costs a few microseconds even when its
    level is off, the price of loggers that follow every reconfiguration)."""
    return level >= _configured_level


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    global _configured_level
    found = logging.getLevelName(level)
    _configured_level = found if isinstance(found, int) else logging.NOTSET
    shared, renderer = _processors(json=json)
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info if json else structlog.dev.set_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # The standard library's records: the same processors, then the same renderer.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info if json else structlog.dev.set_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Libraries' chatter stays at WARNING; uvicorn's own lifecycle lines are kept.
    root.setLevel(logging.WARNING)
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        # The access logger reaches no handler at all: uvicorn then does not even make
        # its line's arguments (the path, the client's address), a microsecond or two
        # a request.
        uvicorn_logger.propagate = name != UVICORN_ACCESS
        uvicorn_logger.setLevel(logging.getLevelName(level))
    logging.getLogger(UVICORN_ACCESS).disabled = True
    logging.captureWarnings(True)


def report_failure(line: str, *, json: bool) -> None:
    """Why the process cannot go on, as its last line on stderr: in production one JSON
    object like every other line (written whether or not logging is configured yet)."""
    if json:
        shared, renderer = _processors(json=True)
        event: Any = {"event": line}
        for processor in (*shared, renderer):
            event = processor(None, "error", event)
        line = event
    print(line, file=sys.stderr)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
