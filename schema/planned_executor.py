"""Runs queries and subscription events by their plan (`schema.plans`) instead of
graphql-core's per-field machinery, with graphql-core's answers: the same data in the
same order, the same errors at the same paths, the same null propagation.

The response is built one level at a time: every field of every object at one depth
is resolved together, attribute reads directly, resolvers side by side in this task
(each in its own copy of the context, as a task would run it, but without a task per
call), so the loaders they call see every key of the level in one batch. Then the
values are completed, and the objects they hold make up the next level.

An operation that cannot be planned runs through graphql-core unchanged.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Coroutine
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo, OperationType, located_error
from graphql.execution.executor import invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, inspect, is_iterable
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.plans import (
    SLOW,
    Abstract,
    Completion,
    FieldPlan,
    Leaf,
    ListOf,
    NonNull,
    Object,
    Plan,
    Planner,
    plan_for,
    runtime_object,
)


def _operation_ended(*_: Any) -> Any:
    raise RuntimeError("the operation has ended")


_ENDED = GraphQLResolveInfoHelpers(gather=_operation_ended, track=_operation_ended)

# Coroutines abandoned by a cancelled operation, finishing their cancellation.
_cancelling: set[asyncio.Future[Any]] = set()


class Position:
    """Where a completed object or list sits in the response, for null propagation: a
    non-null field that fails nulls the nearest nullable position above it. Its path
    is built only when something asks for it (a resolver's info, an error)."""

    __slots__ = ("_path", "container", "key", "nullable", "parent", "typename")

    def __init__(
        self,
        container: dict[str, Any] | list[Any] | None,
        key: str | int | None,
        typename: str | None,
        nullable: bool,
        parent: Position | None,
    ) -> None:
        self.container = container
        self.key = key
        self.typename = typename
        self.nullable = nullable
        self.parent = parent
        self._path: Path | None = None

    @property
    def path(self) -> Path | None:
        path = self._path
        if path is None and self.parent is not None:
            assert self.key is not None
            path = self._path = Path(self.parent.path, self.key, self.typename)
        return path


class Work(Position):
    """An object value in the response whose fields the next level resolves."""

    __slots__ = ("object", "source", "target")

    def __init__(
        self,
        object: Object,
        source: Any,
        target: dict[str, Any],
        container: dict[str, Any] | list[Any] | None,
        key: str | int | None,
        typename: str | None,
        nullable: bool,
        parent: Position | None,
    ) -> None:
        # Position.__init__ inlined: one Work per object of the response.
        self.container = container
        self.key = key
        self.typename = typename
        self.nullable = nullable
        self.parent = parent
        self._path = None
        self.object = object
        self.source = source
        self.target = target


def _distribute(call: list[Any]) -> None:
    """A batch call's values (or its error) to its members, settled in its round."""
    _, field, values, members, round_ = call
    if not isinstance(values, Exception) and len(values) != len(members):
        values = RuntimeError(f"the batch of {field.name} answered {len(values)} of {len(members)}")
    for index, member in enumerate(members):
        member[2] = values if isinstance(values, Exception) else values[index]
        member[4] = round_


def _settled_round(entry: list[Any]) -> int:
    return int(entry[4])


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


async def _finish_cancelled(
    coroutine: Coroutine[Any, Any, Any], context: contextvars.Context, waiting: Any
) -> None:
    """Cancels an abandoned resolver the way a task is cancelled, and lets it clean up."""
    try:
        if waiting is not None:
            waiting.cancel()
            yielded = context.run(coroutine.send, None)
        else:
            yielded = context.run(coroutine.throw, asyncio.CancelledError())
        while True:
            if yielded is not None:
                yielded._asyncio_future_blocking = False
                await asyncio.wait([yielded])
            else:
                await asyncio.sleep(0)
            yielded = context.run(coroutine.send, None)
    except BaseException:  # the operation is gone; nothing is left to tell
        return


class PlannedExecutor(StrawberryGraphQLCoreExecutionContext):
    def execute_operation(self, serially: bool | None = None) -> Any:
        plan = self._plan(serially)
        if plan is None:
            return super().execute_operation(serially)
        return self._run(plan)

    def _plan(self, serially: bool | None) -> Plan | None:
        """Queries and subscription events (`serially` False: one event's result) are
        planned; mutations run their root fields one after another, in graphql-core."""
        kind = self.operation.operation
        if kind is OperationType.QUERY and not serially:
            root_type = self.schema.query_type
        elif kind is OperationType.SUBSCRIPTION and serially is False:
            root_type = self.schema.subscription_type
        else:
            return None
        if (
            root_type is None
            or self.abort_signal is not None
            or not self.error_propagation
            or getattr(self.middleware_manager, "middlewares", None)
        ):
            return None
        return plan_for(
            self.operation,
            self.fragment_definitions,
            root_type,
            self.schema,
            self.variable_values,
            self._planner,
        )

    def _planner(self) -> Planner:
        return Planner(
            self.schema,
            self.fragments,
            self.variable_values,
            self.operation,
            self.hide_suggestions,
        )

    async def _run(self, plan: Plan) -> Any:
        data: dict[str, Any] = {}
        # The root: nulled (None container) when a non-null root field fails.
        root = Work(plan.root, self.root_value, data, None, None, None, True, None)
        self._data_nulled = False
        works = [root]
        try:
            while works:
                works = await self._level(works)
        finally:
            # graphql-core's helpers are bound methods of this executor: a cycle that
            # would keep the context (loaders, their caches, the request) until the
            # collector finds it. No resolver runs after this.
            self.async_helpers = _ENDED
        return self.build_response(None if self._data_nulled else data)

    # One level

    async def _level(self, works: list[Work]) -> list[Work]:
        """Resolves every field of `works`; returns the objects of the next level."""
        collected = self.collected_errors
        skip_nulled = bool(collected._error_positions)
        is_awaitable = self.is_awaitable
        entries: list[list[Any]] = []  # [work, field, value, path, round]: completed below
        pending: list[list[Any]] = []  # the entries whose value is an awaitable
        arguments: dict[int, Any] = {}
        # Fields with a batch resolver: the entries of each, resolved in one call.
        batches: dict[int, tuple[FieldPlan, list[list[Any]]]] = {}
        for work in works:
            if skip_nulled and collected.has_nulled_position(work.path):
                continue
            source = work.source
            target = work.target
            for field in work.object.fields:
                path = None
                if field.attribute is not None:
                    try:
                        value = getattr(source, field.attribute)
                    except Exception as error:  # becomes a field error
                        value = error
                elif field.resolve is None:
                    value = field.constant
                elif field.batch is not None:
                    target[field.key] = None  # its place in the response order
                    entry = [work, field, None, None, 0]
                    entries.append(entry)
                    batch = batches.get(id(field))
                    if batch is None:
                        batch = batches[id(field)] = (field, [])
                    batch[1].append(entry)
                    continue
                else:
                    path = Path(work.path, field.key, field.parent_type.name)
                    value = self._resolve(field, source, path, arguments)
                fast = field.fast
                if fast is not None and path is None:
                    completed = fast(value)
                    if completed is not SLOW:
                        target[field.key] = completed
                        continue
                # Holds the field's place in the response order until it is completed.
                target[field.key] = None
                entry = [work, field, value, path, 0]  # 0: settled without waiting
                entries.append(entry)
                if not isinstance(value, Exception) and is_awaitable(value):
                    pending.append(entry)
        calls = [self._batch_call(field, members) for field, members in batches.values()]
        pending.extend(call for call in calls if call[4] is None)
        if pending:
            await self._settle(pending)
        for call in calls:
            _distribute(call)
        await self._await_list_items(entries)
        self._next: list[Work] = []
        # Completed in the order graphql-core would meet them: values at hand first,
        # then by the round of stepping in which each resolver finished. A non-null
        # failure among finished resolvers propagates once its round is over, as
        # graphql-core's gather notices it after the tasks of that round have run.
        entries.sort(key=_settled_round)
        failures: list[tuple[GraphQLError, Work]] = []
        settled = 0
        for work, field, value, path, round_ in entries:
            if round_ != settled:
                self._propagate(failures)
                settled = round_
            fast = field.fast
            if fast is not None:  # a plain value: what the full completion would give
                completed = fast(value)
                if completed is not SLOW:
                    work.target[field.key] = completed
                    continue
            failed = failures if round_ else None
            work.target[field.key] = self._complete_field(work, field, value, path, failed)
        self._propagate(failures)
        return self._next

    async def _await_list_items(self, entries: list[list[Any]]) -> None:
        """graphql-core awaits the awaitable items of a field's list (not those of a list
        inside it): so does this, a level's all together, each item's result or error
        taking the item's place."""
        is_awaitable = self.is_awaitable
        items: list[list[Any]] = []  # [list, index, awaitable, None, round]: see _settle
        for entry in entries:
            value = entry[2]
            if type(value) is not list and type(value) is not tuple:
                continue
            completion = entry[1].completion
            if type(completion) is NonNull:
                completion = completion.inner
            if type(completion) is not ListOf or not any(is_awaitable(v) for v in value):
                continue
            value = entry[2] = list(value)
            items.extend([value, i, v, None, 0] for i, v in enumerate(value) if is_awaitable(v))
        if items:
            await self._settle(items)
            for held, index, result, *_ in items:
                held[index] = result

    def _propagate(self, failures: list[tuple[GraphQLError, Work]]) -> None:
        for error, work in failures:
            self._fail(error, work)
        failures.clear()

    def _batch_call(self, field: FieldPlan, members: list[list[Any]]) -> list[Any]:
        """An entry for one batch call: [None, field, value, members, round]; its round is
        None while the value is an awaitable the level must settle."""
        assert field.batch is not None
        value: Any = self._arguments(field) if field.has_arguments else {}
        if not isinstance(value, Exception):
            try:
                sources = [member[0].source for member in members]
                value = field.batch(self.context_value, sources, **value)
            except Exception as error:  # every member's field error
                value = error
        waiting = not isinstance(value, Exception) and self.is_awaitable(value)
        return [None, field, value, members, None if waiting else 0]

    def _resolve(self, field: FieldPlan, source: Any, path: Path, arguments: dict[int, Any]) -> Any:
        info = self.build_resolve_info(field.definition, field.nodes, field.parent_type, path)
        assert field.resolve is not None
        try:
            if not field.has_arguments:
                return field.resolve(source, info)
            args = arguments.get(id(field))
            if args is None:
                args = arguments[id(field)] = self._arguments(field)
            if isinstance(args, Exception):
                return args
            return field.resolve(source, info, **args)
        except Exception as error:  # becomes a field error
            return error

    def _arguments(self, field: FieldPlan) -> dict[str, Any] | Exception:
        """The field's argument values (the same for every object of a level), or the
        exception that makes every object's field an error."""
        try:
            return get_argument_values(
                field.definition, field.nodes[0], self.variable_values, None, self.hide_suggestions
            )
        except Exception as error:
            return error

    # Resolvers side by side

    async def _settle(self, pending: list[list[Any]]) -> None:
        """Runs the resolvers' awaitables to their ends, stepping each coroutine in its own
        context copy; each entry's value becomes its result (or its exception)."""
        running: list[tuple[list[Any], Coroutine[Any, Any, Any], contextvars.Context, Any]] = []
        self._round = 1
        try:
            for entry in pending:
                awaitable = entry[2]
                coroutine = awaitable if asyncio.iscoroutine(awaitable) else _await(awaitable)
                self._advance(entry, coroutine, contextvars.copy_context(), running)
            while running:
                self._round += 1
                futures = [waiting for *_, waiting in running if waiting is not None]
                if futures:
                    await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
                else:
                    await asyncio.sleep(0)
                stepping, running = running, []
                for item in stepping:
                    waiting = item[3]
                    if waiting is not None and not waiting.done():
                        running.append(item)
                    else:
                        self._advance(item[0], item[1], item[2], running)
        except BaseException:
            for _entry, coroutine, context, waiting in running:
                task = asyncio.ensure_future(_finish_cancelled(coroutine, context, waiting))
                _cancelling.add(task)
                task.add_done_callback(_cancelling.discard)
            raise

    def _advance(
        self,
        entry: list[Any],
        coroutine: Coroutine[Any, Any, Any],
        context: contextvars.Context,
        running: list[tuple[list[Any], Coroutine[Any, Any, Any], contextvars.Context, Any]],
    ) -> None:
        try:
            yielded = context.run(coroutine.send, None)
        except StopIteration as stop:
            entry[2], entry[4] = stop.value, self._round
            return
        except Exception as error:  # becomes a field error
            entry[2], entry[4] = error, self._round
            return
        if yielded is not None:
            if getattr(yielded, "_asyncio_future_blocking", None) is None:
                coroutine.close()
                entry[2] = RuntimeError(f"a resolver yielded {yielded!r}, not a future")
                entry[4] = self._round
                return
            # As a task does: the future is now waited on.
            yielded._asyncio_future_blocking = False
        running.append((entry, coroutine, context, yielded))

    # Completion

    def _complete_field(
        self,
        work: Work,
        field: FieldPlan,
        value: Any,
        path: Path | None,
        failures: list[tuple[GraphQLError, Work]] | None,
    ) -> Any:
        """The completed value; a non-null failure nulls an ancestor at once, or after the
        round when `failures` collects them."""
        completion = field.completion
        try:
            return self._complete(completion, value, field, work, work.target, field.key, True)
        except Exception as raw:  # becomes a field error
            if path is None:
                path = Path(work.path, field.key, field.parent_type.name)
            error = located_error(raw, field.nodes, path.as_list())
            if type(completion) is NonNull:
                if failures is None:
                    self._fail(error, work)
                else:
                    failures.append((error, work))
            else:
                self.collected_errors.add(error, path)
            return None

    def _complete(
        self,
        completion: Completion,
        value: Any,
        field: FieldPlan,
        parent: Position,
        container: dict[str, Any] | list[Any],
        key: str | int,
        nullable: bool,
    ) -> Any:
        """graphql-core's `complete_value`. `parent` is the position holding `container`:
        the object of the field, or the list of an item."""
        if isinstance(value, Exception):
            raise value
        kind = type(completion)
        if kind is NonNull:
            assert isinstance(completion, NonNull)
            completed = self._complete(
                completion.inner, value, field, parent, container, key, False
            )
            if completed is None:
                raise TypeError(
                    "Cannot return null for non-nullable field"
                    f" {field.parent_type.name}.{field.name}."
                )
            return completed
        if value is None or value is Undefined:
            return None
        if kind is Leaf:
            assert isinstance(completion, Leaf)
            return self._leaf(completion, value)
        # A field's position is named by its parent type; a list item's by none.
        typename = field.parent_type.name if isinstance(key, str) else None
        if kind is ListOf:
            assert isinstance(completion, ListOf)
            position = Position(container, key, typename, nullable, parent)
            return self._list(completion, value, field, position)
        if kind is Abstract:
            assert isinstance(completion, Abstract)
            info = self._info(field, Path(parent.path, key, typename))
            resolve_type = completion.type.resolve_type or self.type_resolver
            runtime_name = resolve_type(value, info, completion.type)
            if self.is_awaitable(runtime_name):
                getattr(runtime_name, "close", lambda: None)()
                raise TypeError(f"{completion.type.name}: resolve_type must not be async here")
            runtime_type = self.ensure_valid_runtime_type(
                runtime_name, completion.type, field.details, info, value
            )
            completion = runtime_object(completion, runtime_type)
        assert isinstance(completion, Object)
        if completion.fast is not None:
            completed = completion.fast(value)
            if completed is not SLOW:
                return completed
        is_type_of = completion.is_type_of
        if is_type_of is not None:
            checked_info = (
                self._info(field, Path(parent.path, key, typename))
                if completion.is_type_of_reads_info
                else None
            )
            if not is_type_of(value, checked_info):
                raise invalid_return_type_error(completion.type, value, field.details)
        if completion.eager:
            completed = self._eager(completion, value, container, key, typename, nullable, parent)
            if completed is not None:
                return completed
        target: dict[str, Any] = {}
        self._next.append(
            Work(completion, value, target, container, key, typename, nullable, parent)
        )
        return target

    def _eager(
        self,
        completion: Object,
        value: Any,
        container: dict[str, Any] | list[Any],
        key: str | int,
        typename: str | None,
        nullable: bool,
        parent: Position,
    ) -> dict[str, Any] | None:
        """An object whose fields are all attributes (or constants), completed now, as
        graphql-core completes values at hand: a non-null failure in it is raised to the
        caller, which nulls the nearest nullable position. None when a value is an
        awaitable (or a list holding one): the object is then a level's work, which
        reads its attributes again (stored values: a property that made a new awaitable
        on each read would leave the first one unawaited)."""
        is_awaitable = self.is_awaitable
        values: list[Any] = []
        for field in completion.fields:
            if field.attribute is None:
                values.append(field.constant)
                continue
            try:
                field_value = getattr(value, field.attribute)
            except Exception as failed:  # becomes a field error
                field_value = failed
            else:
                if is_awaitable(field_value):
                    return None
                kind = type(field_value)
                if (kind is list or kind is tuple) and any(map(is_awaitable, field_value)):
                    return None
            values.append(field_value)
        position = Position(container, key, typename, nullable, parent)
        target: dict[str, Any] = {}
        for field, field_value in zip(completion.fields, values, strict=True):
            fast = field.fast
            if fast is not None:
                completed = fast(field_value)
                if completed is not SLOW:
                    target[field.key] = completed
                    continue
            target[field.key] = None  # its place in the response order
            try:
                target[field.key] = self._complete(
                    field.completion, field_value, field, position, target, field.key, True
                )
            except Exception as raw:  # becomes a field error
                path = Path(position.path, field.key, field.parent_type.name)
                error = located_error(raw, field.nodes, path.as_list())
                if type(field.completion) is NonNull:
                    raise error from None
                self.collected_errors.add(error, path)
        return target

    @staticmethod
    def _leaf(completion: Leaf, value: Any) -> Any:
        coerced = completion.type.coerce_output_value(value)
        if coerced is Undefined or coerced is None:
            raise TypeError(
                f"Expected `{inspect(completion.type)}.coerce_output_value("
                f"{inspect(value)})` to return non-nullable value, returned:"
                f" {inspect(coerced)}"
            )
        return coerced

    def _list(
        self, completion: ListOf, value: Any, field: FieldPlan, position: Position
    ) -> list[Any]:
        if not is_iterable(value):
            raise GraphQLError(
                "Expected Iterable, but did not find one for field"
                f" '{field.parent_type.name}.{field.name}'."
            )
        inner = completion.inner
        item_nullable = type(inner) is not NonNull
        completed: list[Any] = []
        for index, item in enumerate(value):
            try:
                completed.append(
                    self._complete(inner, item, field, position, completed, index, True)
                )
            except Exception as raw:  # becomes a field error
                item_path = Path(position.path, index, None)
                error = located_error(raw, field.nodes, item_path.as_list())
                if not item_nullable:
                    raise error from None
                self.collected_errors.add(error, item_path)
                completed.append(None)
        return completed

    def _info(self, field: FieldPlan, path: Path) -> GraphQLResolveInfo:
        return self.build_resolve_info(field.definition, field.nodes, field.parent_type, path)

    def _fail(self, error: GraphQLError, position: Position) -> None:
        """A non-null value failed below `position`: null the nearest nullable position."""
        while not position.nullable:
            assert position.parent is not None
            position = position.parent
        if position.container is None:
            self._data_nulled = True
        else:
            position.container[position.key] = None  # type: ignore[index]
        self.collected_errors.add(error, position.path)
