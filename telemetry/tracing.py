"""OpenTelemetry traces: the tracer provider every span of the app comes from, and
whether tracing is on. What makes the spans lives with what it traces:
`web.tracing` (the request span), `schema.operation_span` (the operation span) and
`datasources.tracing` (SQL statements, MongoDB commands, Redis calls).

Off by default. Then nothing is installed (no middleware, extension, listener or
span processor) and no exporter or instrumentation package is imported; the
OpenTelemetry API and SDK are, by this module. The standard variables turn it on
(see `configure`):

- `OTEL_TRACES_EXPORTER`: `otlp` and/or `console` (comma-separated), or `none`;
- unset, an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` or
  `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) means `otlp`;
- `OTEL_SDK_DISABLED=true` turns it off whatever else is set.

The SDK reads the rest itself: `OTEL_SERVICE_NAME` (default here "agora"),
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`,
`OTEL_EXPORTER_OTLP_*` (endpoint, headers, timeout, compression, certificates),
`OTEL_BSP_*` (batching), `OTEL_SPAN_*_LIMIT`, `OTEL_PROPAGATORS`. The exporter is
OTLP over HTTP/protobuf behind a BatchSpanProcessor.

Every span comes from one tracer provider of this module's own, made once per
process (and made the global one if nobody set another). What it exports can be
swapped (`configure(exporter=...)`, `reset()`): OpenTelemetry refuses to replace a
global provider, so tests swap the exporter instead. The instrumentations are
installed per object (the app's middleware, the engine, the Mongo client, the
Redis clients), never by patching a library for the whole process.

A leaf: of the project's modules it imports only `logs`. It knows OpenTelemetry,
not Starlette or the datastore clients; it does import the datastores'
instrumentation packages for `datasources.tracing` (`instrumentations`), which may
not import inside a function, so that they stay unimported while tracing is off.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.sdk.trace import (
    ReadableSpan,
    Span,
    SpanProcessor,
    SynchronousMultiSpanProcessor,
    TracerProvider,
)
from opentelemetry.sdk.trace.export import SpanExporter

from logs import report_failure

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.instrumentation._semconv import _StabilityMode
    from opentelemetry.instrumentation.pymongo import CommandTracer
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

DEFAULT_SERVICE_NAME = "agora"
TRACER_NAME = "agora"
EXPORTERS = ("otlp", "console")
OTLP_PROTOCOL = "http/protobuf"


class TracingConfigError(ValueError):
    """An OTEL_* variable this server cannot honour; the message names it."""


@dataclass
class _State:
    enabled: bool = False
    # Configured by the caller with an exporter (tests): the environment is then ignored.
    explicit: SpanExporter | None = None
    # The OTEL_* variables last configured from; None: not configured from them yet.
    environment: tuple[tuple[str, str], ...] | None = None


_state = _State()
_lock = threading.Lock()
_provider: TracerProvider | None = None
_tracers: dict[str, trace.Tracer] = {}


def tracing_enabled() -> bool:
    """Whether spans are being made: decides what the app, schema and stores install."""
    return _state.enabled


def configure(exporter: SpanExporter | None = None) -> bool:
    """Turn tracing on or off; returns whether it is on. Idempotent.

    With `exporter` (tests): on, every span handed to it as it ends (a
    SimpleSpanProcessor), whatever the environment says, until `reset()`.
    Otherwise as the process's OTEL_* variables say (`exporter_names`); a repeated
    call with the same variables changes nothing. Raises TracingConfigError for a
    value that cannot be honoured."""
    with _lock:
        if exporter is not None:
            if _state.explicit is not exporter:
                from opentelemetry.sdk.trace.export import SimpleSpanProcessor

                _install([SimpleSpanProcessor(exporter)])
                _state.explicit, _state.environment = exporter, None
            return True
        if _state.explicit is not None:
            return True
        variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("OTEL_")))
        if variables != _state.environment:
            _install(_processors_for(exporter_names(os.environ)))
            _state.environment = variables
        return _state.enabled


def configure_or_exit(*, json: bool = False) -> bool:
    """`configure()` from the environment; a bad value stops start-up with one line
    naming the variable (exit code 2; a JSON log line when `json`), like the server's
    own settings."""
    try:
        return configure()
    except TracingConfigError as error:
        report_failure(f"agora: {error}", json=json)
        raise SystemExit(2) from None


def reset() -> None:
    """Off again, and the next `configure()` reads the environment afresh. What was
    already instrumented keeps making spans, which go nowhere."""
    with _lock:
        _install(None)
        _state.explicit, _state.environment = None, None


def exporter_names(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The exporters the variables ask for; () when tracing is off."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return ()
    listed = environ.get("OTEL_TRACES_EXPORTER", "")
    names = tuple(dict.fromkeys(n.strip().lower() for n in listed.split(",") if n.strip()))
    if not names and any(
        environ.get(name, "").strip()
        for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        names = ("otlp",)
    if "none" in names:
        return ()
    for name in names:
        if name not in EXPORTERS:
            raise TracingConfigError(
                f"OTEL_TRACES_EXPORTER: {name!r} is not one of {', '.join(EXPORTERS)}, none"
            )
    if "otlp" in names:
        for variable in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
            protocol = environ.get(variable, "").strip()
            if protocol:
                if protocol != OTLP_PROTOCOL:
                    raise TracingConfigError(
                        f"{variable}: only {OTLP_PROTOCOL} is supported, not {protocol!r}"
                    )
                break
    return names


# -- the provider and what it exports -------------------------------------------------


class _Switchboard(SpanProcessor):
    """The provider's one span processor, forwarding to whatever is configured now."""

    def __init__(self) -> None:
        self.current: SpanProcessor | None = None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        current = self.current
        if current is not None:
            current.on_start(span, parent_context)

    def _on_ending(self, span: Span) -> None:
        current = self.current
        if current is not None:
            current._on_ending(span)

    def on_end(self, span: ReadableSpan) -> None:
        current = self.current
        if current is not None:
            current.on_end(span)

    def shutdown(self) -> None:
        current, self.current = self.current, None
        if current is not None:
            current.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        current = self.current
        return current.force_flush(timeout_millis) if current is not None else True


_switchboard = _Switchboard()


def _processors_for(names: Sequence[str]) -> list[SpanProcessor] | None:
    if not names:
        return None
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporters: list[SpanExporter] = []
    for name in names:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())  # endpoint, headers… from OTEL_EXPORTER_OTLP_*
        else:
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
    return [BatchSpanProcessor(exporter) for exporter in exporters]


def _install(processors: list[SpanProcessor] | None) -> None:
    previous = _switchboard.current
    if processors:
        combined = SynchronousMultiSpanProcessor()
        for processor in processors:
            combined.add_span_processor(processor)
        tracer_provider()
        _use_traceresponse_header()
        _switchboard.current = combined
    else:
        _switchboard.current = None
    _state.enabled = bool(processors)
    if previous is not None:
        previous.shutdown()  # exports what it still holds


def tracer_provider() -> TracerProvider:
    """This module's provider, made on first use: for instrumentations that take a
    provider rather than a tracer."""
    global _provider
    if _provider is None:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource

        # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES first; "agora" if neither names it.
        resource = Resource.create()
        if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
        provider = TracerProvider(resource=resource)  # the sampler from OTEL_TRACES_SAMPLER
        provider.add_span_processor(_switchboard)
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            trace.set_tracer_provider(provider)  # for any other library's spans
        _provider = provider
    return _provider


def _use_traceresponse_header() -> None:
    """Responses carry the request span's context in a `traceresponse` header (W3C Trace
    Context Level 2), so a client can find the server's part of its trace."""
    from opentelemetry.instrumentation.propagators import (
        TraceResponsePropagator,
        get_global_response_propagator,
        set_global_response_propagator,
    )

    if get_global_response_propagator() is None:
        set_global_response_propagator(TraceResponsePropagator())


def tracer(name: str = TRACER_NAME, version: str | None = None) -> trace.Tracer:
    """A tracer of this module's provider (the API's no-op tracer while tracing is off)."""
    if not _state.enabled:
        return trace.NoOpTracer()
    found = _tracers.get(name)
    if found is None:
        found = _tracers[name] = tracer_provider().get_tracer(name, version)
    return found


# -- the datastores' instrumentation packages, for datasources.tracing ---------------


@dataclass(frozen=True)
class Instrumentations:
    """OpenTelemetry's instrumentation packages for the datastores, for
    `datasources.tracing`, which knows what to apply them to."""

    engine_tracer: type[EngineTracer]  # SQLAlchemy
    sqlalchemy_version: str
    command_tracer: type[CommandTracer]  # PyMongo
    pymongo_version: str
    database_semconv: _StabilityMode  # OTEL_SEMCONV_STABILITY_OPT_IN, for PyMongo's
    redis_instrumentor: type[RedisInstrumentor]


@functools.cache
def instrumentations() -> Instrumentations:
    """Imported on the first call, which `datasources.tracing` makes only with tracing
    on: importing them takes a while, and checks OTEL_PROPAGATORS (an unknown name
    raises), which should not stop a server that does not trace."""
    from opentelemetry.instrumentation._semconv import (
        _OpenTelemetrySemanticConventionStability,
        _OpenTelemetryStabilitySignalType,
    )
    from opentelemetry.instrumentation.pymongo import CommandTracer
    from opentelemetry.instrumentation.pymongo.version import __version__ as pymongo_version
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.instrumentation.sqlalchemy.version import __version__ as sql_version

    _OpenTelemetrySemanticConventionStability._initialize()
    return Instrumentations(
        engine_tracer=EngineTracer,
        sqlalchemy_version=sql_version,
        command_tracer=CommandTracer,
        pymongo_version=pymongo_version,
        database_semconv=_OpenTelemetrySemanticConventionStability._get_opentelemetry_stability_opt_in_mode(
            _OpenTelemetryStabilitySignalType.DATABASE
        ),
        redis_instrumentor=RedisInstrumentor,
    )
