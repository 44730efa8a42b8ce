"""Several schema extensions run as one.

Strawberry wraps every hook of every extension in context managers of its own on every
operation; with Agora's seven extensions that was about half the time of a small
query. The chain is the one extension Strawberry sees: each of its hooks enters the
parts' hooks in the parts' order and leaves them in reverse, passing an exception on
the way out to each part as a `with` block would, which is what Strawberry does with
them one by one.

`ChainRunner` is the runner Strawberry drives the chain with: each stage of an
operation enters the parts' hooks directly, instead of Strawberry wrapping each hook
in a context manager made for it (about a fifth of a small query's time went there).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterable, Iterator
from functools import cache
from inspect import isasyncgenfunction, isgeneratorfunction
from types import AsyncGeneratorType, GeneratorType, TracebackType
from typing import Any

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema._graphql_core import execution_context_class_kwargs
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import (
    DEFAULT_ALLOWED_OPERATION_TYPES,
    _coerce_error,
    _parse_operation_document,
    _run_validation,
)
from strawberry.types import ExecutionContext
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.graphql import OperationType

_Step = Generator[Any, None, None] | AsyncGenerator[Any, None]

HOOKS = ("on_operation", "on_parse", "on_validate", "on_execute", "on_stream_result")
# Not a hook, but asked of the parts the same way: only those that override it.
RESULTS = "get_results"

# What `next` answers for a hook that has ended: asking `next` for a default instead
# of catching StopIteration saves making the exception, about half a microsecond a hook
# and a dozen hooks an operation.
_ENDED = object()


@cache
def _hooks_of(kind: type[SchemaExtension]) -> dict[str, bool]:
    """The hooks a part overrides, each with whether it is asynchronous."""
    found = {}
    for name in HOOKS:
        hook = getattr(kind, name)
        if hook is getattr(SchemaExtension, name):
            continue
        if isasyncgenfunction(hook):
            found[name] = True
        elif isgeneratorfunction(hook):
            found[name] = False
        else:
            raise TypeError(f"{kind.__name__}.{name} must be a generator")
        if found[name] and name != "on_execute":
            raise TypeError(f"{kind.__name__}.{name} must not be asynchronous")
    return found


@cache
def _stages_of(kinds: tuple[type[SchemaExtension], ...]) -> dict[str, tuple[tuple[int, Any], ...]]:
    """For each hook, the parts that override it (by position) with their functions:
    worked out once per list of part types, not per operation."""
    hooks = [_hooks_of(kind) for kind in kinds]  # type: ignore[arg-type]
    stages = {
        name: tuple(
            (index, getattr(kind, name)) for index, kind in enumerate(kinds) if name in hooks[index]
        )
        for name in HOOKS
    }
    stages[RESULTS] = tuple(
        (index, kind.get_results)
        for index, kind in enumerate(kinds)
        if kind.get_results is not SchemaExtension.get_results
    )
    return stages


class ExtensionChain(SchemaExtension):
    def __init__(self, parts: list[SchemaExtension]) -> None:
        self.parts = parts
        self.stages = _stages_of(tuple(map(type, parts)))

    # Strawberry sets the operation's execution context on each extension it runs.
    @property
    def execution_context(self) -> ExecutionContext:
        return self._execution_context

    @execution_context.setter
    def execution_context(self, value: ExecutionContext) -> None:
        self._execution_context = value
        for part in self.parts:
            part.execution_context = value

    def _steps(self, name: str, *args: Any) -> list[_Step]:
        parts = self.parts
        return [hook(parts[index], *args) for index, hook in self.stages[name]]

    # Generator functions themselves: Strawberry tells hook kinds apart by that.
    def on_operation(self) -> Iterator[None]:
        with _Stage(self._steps("on_operation")):
            yield

    def on_parse(self) -> Iterator[None]:
        with _Stage(self._steps("on_parse")):
            yield

    def on_validate(self) -> Iterator[None]:
        with _Stage(self._steps("on_validate")):
            yield

    def on_stream_result(self, result: Any) -> Iterator[None]:
        with _Stage(self._steps("on_stream_result", result)):
            yield

    async def on_execute(self) -> AsyncIterator[None]:
        async with _AsyncStage(self._steps("on_execute")):
            yield

    def get_results(self) -> dict[str, Any]:
        results: dict[str, Any] = {}
        parts = self.parts
        for index, get_results in self.stages[RESULTS]:
            results.update(get_results(parts[index]))
        return results


class ChainRunningSchema(strawberry.Schema):
    """A schema whose one extension, an ExtensionChain, runs through ChainRunner.

    Its `execute` is Strawberry's, step for step, with the stages entered directly:
    the runner, the middleware manager, the awaited wrappers and `async with` around
    synchronous hooks made about a tenth of a small query's time. A schema with
    directives or with other extensions runs Strawberry's own."""

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        if len(extensions) == 1 and isinstance(extensions[0], ExtensionChain):
            return ChainRunner(execution_context, extensions[0])
        return super().create_extensions_runner(execution_context, extensions)

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        chain = self._chain()
        if chain is None:
            return await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        context = self._create_execution_context(
            query=query,
            allowed_operation_types=DEFAULT_ALLOWED_OPERATION_TYPES
            if allowed_operation_types is None
            else allowed_operation_types,
            variable_values=variable_values,
            context_value=context_value,
            root_value=root_value,
            operation_name=operation_name,
            operation_extensions=operation_extensions,
        )
        chain.execution_context = context
        try:
            with _Stage(chain._steps("on_operation")):
                refused = self._prepare(context, chain)
                if refused is not None:
                    return self._finish(context, refused, chain)
                result = await self._execute_prepared(context, chain, operation_extensions)
        except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError):
            raise
        except Exception as error:  # as Strawberry's execute
            return self._finish(
                context, PreExecutionError(data=None, errors=[_coerce_error(error)]), chain
            )
        return self._finish(context, result, chain, errors_processed=True)

    def _chain(self) -> ExtensionChain | None:
        """The operation's chain, when it is the schema's one extension."""
        extensions = self.extensions
        if len(extensions) != 1 or isinstance(extensions[0], SchemaExtension) or self.directives:
            return None
        if self.config.enable_experimental_incremental_execution:
            return None  # results that are not one ExecutionResult: Strawberry's own
        chain = extensions[0]()
        return chain if isinstance(chain, ExtensionChain) else None

    def _prepare(self, context: ExecutionContext, chain: ExtensionChain) -> ExecutionResult | None:
        """Strawberry's `_prepare_operation_async`: parse, check the operation's type,
        validate; a result when the operation may not run."""
        if not context.query and context.graphql_document is None:
            raise MissingQueryError
        with _Stage(chain._steps("on_parse")):
            try:
                _parse_operation_document(context)
            except GraphQLError as error:
                context.pre_execution_errors = [error]
                return PreExecutionError(data=None, errors=[error])
            except Exception as error:  # as Strawberry's
                failed = GraphQLError(str(error), original_error=error)
                context.pre_execution_errors = [failed]
                return PreExecutionError(data=None, errors=[failed])
        try:
            operation_type = context.operation_type
        except RuntimeError as error:
            raise CannotGetOperationTypeError(context.operation_name) from error
        if operation_type not in context.allowed_operations:
            raise InvalidOperationTypeError(operation_type)
        with _Stage(chain._steps("on_validate")):
            _run_validation(context)
            if context.pre_execution_errors:
                return PreExecutionError(data=None, errors=context.pre_execution_errors)
        return None

    async def _execute_prepared(
        self,
        context: ExecutionContext,
        chain: ExtensionChain,
        operation_extensions: dict[str, Any] | None,
    ) -> Any:
        """Strawberry's `_execute_operation`, without middleware (the chain has none)."""
        assert context.graphql_document is not None
        async with _AsyncStage(chain._steps("on_execute")):
            if not context.result:
                result = self._get_execute_function()(
                    self._schema,
                    context.graphql_document,
                    root_value=context.root_value,
                    variable_values=context.variables,
                    operation_name=context.operation_name,
                    context_value=context.context,
                    is_awaitable=optimized_is_awaitable,
                    **execution_context_class_kwargs(self.execution_context_class),
                    operation_extensions=operation_extensions,
                )
                if optimized_is_awaitable(result):
                    result = await result
                context.result = result
            else:
                result = context.result
            if isinstance(result, GraphQLExecutionResult) and result.errors:
                context.pre_execution_errors = result.errors
                self._process_errors(result.errors, context)
        return result

    def _finish(
        self,
        context: ExecutionContext,
        result: Any,
        chain: ExtensionChain,
        *,
        errors_processed: bool = False,
    ) -> ExecutionResult:
        """Strawberry's `_handle_execution_result`, the chain's results read directly."""
        if result.errors:
            context.pre_execution_errors = result.errors
            if not errors_processed:
                self._process_errors(result.errors, context)
        if isinstance(result, GraphQLExecutionResult):
            result = ExecutionResult(data=result.data, errors=result.errors)
        result.extensions = {**chain.get_results(), **context.extensions_results}
        context.result = result
        return result


class ChainRunner(SchemaExtensionsRunner):
    """Runs the stages of an operation whose one extension is an ExtensionChain."""

    def __init__(self, execution_context: ExecutionContext, chain: ExtensionChain) -> None:
        super().__init__(execution_context, [chain])
        self.chain = chain

    def operation(self) -> Any:
        return _Stage(self.chain._steps("on_operation"))

    def parsing(self) -> Any:
        return _Stage(self.chain._steps("on_parse"))

    def validation(self) -> Any:
        return _Stage(self.chain._steps("on_validate"))

    def executing(self) -> Any:
        return _AsyncStage(self.chain._steps("on_execute"))

    def on_stream_result(self, result: Any) -> Any:
        return _Stage(self.chain._steps("on_stream_result", result))


class _Stage:
    """The parts' synchronous hooks of one stage, entered in order and left in reverse,
    as nested `with` blocks (and as Strawberry's own stage context managers, with or
    without `async`)."""

    __slots__ = ("entered", "steps")

    def __init__(self, steps: list[_Step]) -> None:
        self.steps = steps
        self.entered: list[Generator[Any, None, None]] = []

    def __enter__(self) -> None:
        entered = self.entered
        try:
            for step in self.steps:
                if type(step) is not GeneratorType:
                    raise RuntimeError("an asynchronous schema extension hook outside on_execute")
                next(step)
                entered.append(step)
        except BaseException as error:
            left = _leave(entered, error)
            if left is not None and left is not error:
                raise left from error
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        return _exit(error, _leave(self.entered, error))

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(self, *exited: Any) -> bool:
        return self.__exit__(*exited)


class _AsyncStage:
    """on_execute's hooks, synchronous or asynchronous, as nested `async with` blocks."""

    __slots__ = ("entered", "steps")

    def __init__(self, steps: list[_Step]) -> None:
        self.steps = steps
        self.entered: list[_Step] = []

    async def __aenter__(self) -> None:
        entered = self.entered
        try:
            for step in self.steps:
                if type(step) is AsyncGeneratorType:
                    await step.__anext__()
                else:
                    next(step)  # type: ignore[arg-type]
                entered.append(step)
        except BaseException as error:
            left = await _leave_async(entered, error)
            if left is not None and left is not error:
                raise left from error
            raise

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        return _exit(error, await _leave_async(self.entered, error))


def _exit(error: BaseException | None, left: BaseException | None) -> bool:
    """What a stage's `__exit__` answers when its block ended with `error` and leaving
    the parts left `left`: True when a part swallowed the error; raises a new one."""
    if left is None:
        return error is not None
    if left is error:
        return False
    raise left


def _leave(
    entered: list[Generator[Any, None, None]], error: BaseException | None
) -> BaseException | None:
    """Leaves the entered steps last to first, as nested `with` blocks: each gets the
    exception on its way (and may swallow or replace it); returns what is left."""
    for step in reversed(entered):
        error = _leave_one(step, error)
    return error


def _leave_one(
    step: Generator[Any, None, None], error: BaseException | None
) -> BaseException | None:
    if error is None:
        try:
            if next(step, _ENDED) is _ENDED:
                return None
        except BaseException as raised:  # raised on its way out: the outer parts see it
            return raised
        return RuntimeError("a schema extension hook yielded twice")
    try:
        step.throw(error)
    except StopIteration:
        return None  # swallowed
    except BaseException as raised:
        return raised
    return RuntimeError("a schema extension hook yielded again after an error")


async def _leave_async(entered: list[_Step], error: BaseException | None) -> BaseException | None:
    for step in reversed(entered):
        if type(step) is not AsyncGeneratorType:
            error = _leave_one(step, error)  # type: ignore[arg-type]
            continue
        if error is None:
            try:
                await step.__anext__()
            except StopAsyncIteration:
                continue
            except BaseException as raised:
                error = raised
                continue
            error = RuntimeError("a schema extension hook yielded twice")
            continue
        try:
            await step.athrow(error)
        except StopAsyncIteration:
            error = None
        except BaseException as raised:
            error = raised
        else:
            error = RuntimeError("a schema extension hook yielded again after an error")
    return error
