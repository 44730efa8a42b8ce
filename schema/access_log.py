"""Tells the HTTP request which operation it ran, for its access log line
(`web.access_log`): the type and name as the parsed document says, whatever the
client put in `operationName`."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.requests import Request
from strawberry.extensions import SchemaExtension

MAX_NAME_LENGTH = 100


class OperationForAccessLog(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        request = getattr(self.execution_context.context, "request", None)
        if not isinstance(request, Request):  # WebSocket operations have no access line
            return
        try:
            kind = self.execution_context.operation_type.value
        except RuntimeError:  # no document, or none that parsed
            return
        name = self.execution_context.operation_name
        request.state.operation = (kind, name[:MAX_NAME_LENGTH] if name else None)
