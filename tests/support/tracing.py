"""Tracing in tests: spans recorded in memory, and reading the tree they form."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_span_id

from telemetry import tracing

# The README's "A first query to try", as written there.
README_QUERY = """
{
  posts(first: 5) {
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
}
"""


@contextlib.contextmanager
def recording() -> Iterator[InMemorySpanExporter]:
    """Tracing on for the block, every span ending up in the exporter yielded; off
    again afterwards (apps built inside keep their instrumentation, which then
    records nothing)."""
    exporter = InMemorySpanExporter()
    tracing.configure(exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.reset()


@contextlib.contextmanager
def context_failures() -> Iterator[list[str]]:
    """What OpenTelemetry logs about contexts during the block ("Failed to detach
    context": a span made current in one context and ended in another). Its own
    handler: the app's logging setup replaces the root logger's (and pytest's)."""
    failures: list[str] = []

    class Record(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            failures.append(record.getMessage())

    logger = logging.getLogger("opentelemetry.context")
    handler = Record(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield failures
    finally:
        logger.removeHandler(handler)


async def finished(exporter: InMemorySpanExporter, servers: int = 1) -> list[ReadableSpan]:
    """The spans once `servers` request spans have ended. A request span ends just after
    the response's last byte is handed to the server, which the client may see first."""
    for _ in range(500):
        spans = list(exporter.get_finished_spans())
        if sum(span.kind is SpanKind.SERVER for span in spans) >= servers:
            return spans
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {servers} request span(s) ended: {describe(spans)}")


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def children(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    return [other for other in spans if parent_of(other) == span.context.span_id]


def system(span: ReadableSpan) -> str | None:
    """The datastore a client span talks to (`db.system`), None for the others."""
    value = (span.attributes or {}).get("db.system")
    return str(value) if value is not None else None


def recorded(spans: Sequence[ReadableSpan]) -> list[str]:
    """Every text the spans would export: names, attribute values, events' names and
    attribute values, status descriptions, links' attribute values."""
    texts: list[str] = []
    for span in spans:
        texts += [span.name, *(str(v) for v in (span.attributes or {}).values())]
        for event in span.events:
            texts += [event.name, *(str(v) for v in (event.attributes or {}).values())]
        for link in span.links:
            texts += [str(v) for v in (link.attributes or {}).values()]
        texts.append(span.status.description or "")
    return texts


def describe(spans: Sequence[ReadableSpan]) -> str:
    """The spans as an indented tree, for assertion messages and the report."""
    ids = {span.context.span_id for span in spans}
    lines: list[str] = []

    def walk(span: ReadableSpan, depth: int) -> None:
        label = f"{span.name} [{span.kind.name.lower()}"
        if system(span):
            label += f", {system(span)}"
        lines.append(f"{'  ' * depth}{label}] {format_span_id(span.context.span_id)}")
        for child in sorted(children(span, spans), key=lambda s: s.start_time or 0):
            walk(child, depth + 1)

    for root in sorted(
        (s for s in spans if parent_of(s) not in ids), key=lambda s: s.start_time or 0
    ):
        walk(root, 0)
    return "\n".join(lines)
