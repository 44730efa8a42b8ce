"""Subscribers that would receive the same results share one execution.

Subscriptions with the same document, operation name and variables, seen by the same
*visibility class*, form a cohort: one operation runs for all of them (one bus
subscription, one execution and one JSON encoding per event) and each member gets
the shared result inside a `next` frame of its own id.

The visibility class is everything a result depends on besides the event: the
anonymous share one class; a signed-in subscriber shares only with subscribers of
the same user, role and access token (same session, same expiry), so whatever the
selection reads about the viewer (`viewerReactions`, `email`, drafts,
notifications), and whenever the token ends, is the same for every member.

A subscription that resumes (`since`) gets a replay of its own, and a document that
does not parse or validate gets its own errors: both run on their own, the usual
way (`join` returns False).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Hashable
from contextlib import aclosing
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
)
from starlette.websockets import WebSocket
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from logs import get_logger
from resolvers.context import Context
from schema import AgoraSchema
from schema.admission import choose_operation
from schema.operation_metrics import TRANSPORT
from telemetry import metrics

if TYPE_CHECKING:
    from web.graphql_view import TransportWS

log = get_logger(__name__)

RESUME_ARGUMENT = "since"


def _encode(message: object) -> str:
    # Strawberry's own encoding of WebSocket messages, so shared frames are the same bytes.
    return json.dumps(message, separators=(",", ":"))


def _error_tail(errors: list[GraphQLError]) -> str:
    return ',"type":"error","payload":' + _encode([error.formatted for error in errors]) + "}"


class Member:
    """One subscription of a cohort: its connection, and its id on it."""

    __slots__ = ("cohort", "handler", "id", "prefix")

    def __init__(self, handler: TransportWS, operation_id: str, cohort: Cohort) -> None:
        self.handler = handler
        self.id = operation_id
        self.prefix = '{"id":' + _encode(operation_id)
        self.cohort = cohort


class AudienceSocket(WebSocket):
    """The `request` of a cohort's operation: closing it (a subscriber fell behind on
    the bus) closes every member's connection."""

    def __init__(self, cohort: Cohort, scope: dict[str, Any]) -> None:
        super().__init__({**scope, "state": {}}, _no_receive, _no_send)
        self.cohort = cohort

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        for handler in {member.handler for member in self.cohort.members}:
            await handler.socket.close(code=code, reason=reason)


async def _no_receive() -> Any:
    raise RuntimeError("a cohort's operation has no socket of its own")


async def _no_send(message: Any) -> None:
    raise RuntimeError("a cohort's operation has no socket of its own")


class Cohort:
    def __init__(self, cohorts: Cohorts, key: Hashable) -> None:
        self.cohorts = cohorts
        self.key = key
        self.members: list[Member] = []
        self.task: asyncio.Task[None] | None = None

    def start(self, schema: AgoraSchema, payload: dict[str, Any], context: Context) -> None:
        own = replace(
            context,
            request=AudienceSocket(self, context.request.scope),
            response=None,
            extras={},
            audience=lambda: len(self.members),
            _request_loaders=None,
        )
        self.task = asyncio.get_running_loop().create_task(
            self._run(
                schema,
                payload["query"],
                payload.get("variables"),
                payload.get("operationName"),
                own,
            )
        )

    async def _run(
        self,
        schema: AgoraSchema,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Context,
    ) -> None:
        try:
            results = await schema.stream(
                query,
                variable_values=variables,
                context_value=context,
                operation_name=operation_name,
            )
            async with aclosing(results):
                first = True
                async for result in results:
                    if first and isinstance(result, PreExecutionError):
                        assert result.errors
                        self._finish(_error_tail(result.errors))
                        return
                    first = False
                    if not isinstance(result, ExecutionResult):  # incremental delivery
                        error = GraphQLError("Incremental delivery is not supported here")
                        self._finish(_error_tail([error]))
                        return
                    self._fan_out(result)
            self._finish(',"type":"complete"}')
        except asyncio.CancelledError:
            raise  # the last member left
        except Exception:
            log.exception("a shared subscription failed")
            self._finish(',"type":"complete"}')

    def _fan_out(self, result: ExecutionResult) -> None:
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        tail = ',"type":"next","payload":' + _encode(payload) + "}"
        for member in self.members:
            member.handler.frames.send(member.prefix + tail)

    def _finish(self, tail: str) -> None:
        """The last frame to every member; they are no longer operations of theirs."""
        self.cohorts.forget(self)
        for member in self.members:
            if member.handler.operations.pop(member.id, None) is not None:
                metrics.subscription_ended()
                member.handler.frames.send(member.prefix + tail)
        self.members.clear()

    def leave(self, member: Member) -> None:
        if member in self.members:
            self.members.remove(member)
            metrics.subscription_ended()
        if not self.members:
            self.cohorts.forget(self)
            if self.task is not None:
                self.task.cancel()


class Cohorts:
    """The cohorts of one process, by key."""

    def __init__(self, schema: AgoraSchema) -> None:
        self.schema = schema
        self._cohorts: dict[Hashable, Cohort] = {}

    def __len__(self) -> int:
        return len(self._cohorts)

    def join(self, handler: TransportWS, message: dict[str, Any]) -> Member | None:
        """Adds the subscription to its cohort (started if new); None when it must run
        on its own."""
        payload = message["payload"]
        key = self.key(handler.context, payload)
        if key is None:
            return None
        cohort = self._cohorts.get(key)
        if cohort is None:
            cohort = self._cohorts[key] = Cohort(self, key)
            cohort.start(self.schema, payload, handler.context)
        else:
            # The cohort's operation counted its first member as a request.
            name = metrics.OPERATION_NAMES.label(payload.get("operationName"))
            metrics.record_request(TRANSPORT, "subscription", name, "ok")
        member = Member(handler, message["id"], cohort)
        cohort.members.append(member)
        metrics.subscription_started()
        return member

    def forget(self, cohort: Cohort) -> None:
        if self._cohorts.get(cohort.key) is cohort:
            del self._cohorts[cohort.key]

    def key(self, context: Context, payload: dict[str, Any]) -> Hashable | None:
        query = payload.get("query")
        variables = payload.get("variables")
        operation_name = payload.get("operationName")
        if not isinstance(query, str) or not isinstance(variables, dict | None):
            return None
        if not isinstance(operation_name, str | None):
            return None
        checked = self.schema.document_checks.check(query)
        if not checked.ok:
            return None
        operation = choose_operation(checked, operation_name)
        if (
            isinstance(operation, GraphQLError)
            or operation.operation is not OperationType.SUBSCRIPTION
        ):
            return None
        if _resumes(operation, checked.fragments, variables or {}):
            return None
        visibility = _visibility(context)
        if visibility is None:
            return None
        try:
            frozen_variables = json.dumps(variables, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):
            return None
        return (query, operation_name, frozen_variables, visibility)


def _visibility(context: Context) -> Hashable | None:
    if context.auth_error:
        return None  # refused credentials: let the operation say so on its own
    viewer, claims = context.viewer, context.claims
    if viewer is None:
        return ("anonymous",)
    if claims is None:
        return None
    return ("viewer", viewer.user_id, viewer.role, claims.session_id, claims.expires_at)


def _resumes(operation: OperationDefinitionNode, fragments: Any, variables: dict[str, Any]) -> bool:
    """Whether the root field is given a `since` (a literal, or a variable that is set
    or has a default)."""
    defaults = {
        definition.variable.name.value: definition.default_value
        for definition in operation.variable_definitions or ()
    }
    for field in _root_fields(operation.selection_set, fragments):
        for argument in field.arguments or ():
            if argument.name.value != RESUME_ARGUMENT:
                continue
            value = argument.value
            if isinstance(value, NullValueNode):
                continue
            if isinstance(value, VariableNode):
                name = value.name.value
                if name in variables:
                    if variables[name] is None:
                        continue
                elif defaults.get(name) is None or isinstance(defaults.get(name), NullValueNode):
                    continue
            return True
    return False


def _root_fields(selection_set: SelectionSetNode, fragments: Any) -> list[FieldNode]:
    fields: list[FieldNode] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            fields.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            fields.extend(_root_fields(selection.selection_set, fragments))
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                fields.extend(_root_fields(fragment.selection_set, fragments))
    return fields
