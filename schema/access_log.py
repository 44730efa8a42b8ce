"""Tells the HTTP request which operation it ran, for its access log line
(`web.access_log`): the type and name as the parsed document says, whatever the
client put in `operationName`, and the SQL statements and MongoDB commands it took
(`schema.query_stats` counts them; its extension comes earlier in the list, so its
count is still bound when this one finishes)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from starlette.requests import Request
from strawberry.extensions import SchemaExtension

from datasources.instrumentation import current_stats
from logs import enabled_for

MAX_NAME_LENGTH = 100


class OperationForAccessLog(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        if not enabled_for(logging.INFO):  # no access line will be written
            return
        request = getattr(self.execution_context.context, "request", None)
        if not isinstance(request, Request):  # WebSocket operations have no access line
            return
        try:
            kind = self.execution_context.operation_type.value
        except RuntimeError:  # no document, or none that parsed
            return
        name = self.execution_context.operation_name
        request.state.operation = (kind, name[:MAX_NAME_LENGTH] if name else None)
        stats = current_stats()
        if stats is not None:
            request.state.query_stats = stats.as_dict()
