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

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from functools import cache
from inspect import isasyncgenfunction, isgeneratorfunction
from types import AsyncGeneratorType, GeneratorType, TracebackType
from typing import Any

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

_Step = Generator[Any, None, None] | AsyncGenerator[Any, None]

HOOKS = ("on_operation", "on_parse", "on_validate", "on_execute", "on_stream_result")

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


class ExtensionChain(SchemaExtension):
    def __init__(self, parts: list[SchemaExtension]) -> None:
        self.parts = parts
        self.hooks = {part: _hooks_of(type(part)) for part in parts}  # type: ignore[arg-type]

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
        return [getattr(part, name)(*args) for part, hooks in self.hooks.items() if name in hooks]

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
        for part in self.parts:
            results.update(part.get_results())  # type: ignore[arg-type]
        return results


class ChainRunningSchema(strawberry.Schema):
    """A schema whose one extension, an ExtensionChain, runs through ChainRunner."""

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        if len(extensions) == 1 and isinstance(extensions[0], ExtensionChain):
            return ChainRunner(execution_context, extensions[0])
        return super().create_extensions_runner(execution_context, extensions)


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
