"""ExtensionChain runs its parts as nested `with` blocks: hooks entered in order and
left in reverse, an error passed out through every part entered, results merged; the
same whether Strawberry's own runner drives the chain or ChainRunner does."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from schema.extension_chain import ChainRunner, ChainRunningSchema, ExtensionChain

SCHEMA_CLASS = {"strawberry": strawberry.Schema, "chain": ChainRunningSchema}


@pytest.fixture(params=list(SCHEMA_CLASS))
def runner(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _schema(
    runner: str, parts: list[type[SchemaExtension]], events: list[str]
) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        def hello(self) -> str:
            events.append("resolve")
            return "world"

        @strawberry.field
        def broken(self) -> str:
            raise ValueError("broken")

    def chain() -> ExtensionChain:
        return ExtensionChain([part() for part in parts])

    return SCHEMA_CLASS[runner](query=Query, extensions=[chain])


def _recording(name: str, events: list[str]) -> type[SchemaExtension]:
    class Recording(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            events.append(f"{name} operation in")
            yield
            events.append(f"{name} operation out")

        def on_parse(self) -> Iterator[None]:
            events.append(f"{name} parse in")
            yield
            events.append(f"{name} parse out")

        async def on_execute(self) -> AsyncIterator[None]:
            events.append(f"{name} execute in")
            yield
            events.append(f"{name} execute out")

        def get_results(self) -> dict[str, Any]:
            return {name: True}

    return Recording


async def test_hooks_nest_in_order_and_results_merge(runner: str) -> None:
    events: list[str] = []
    schema = _schema(runner, [_recording("a", events), _recording("b", events)], events)
    result = await schema.execute("{ hello }")
    assert result.data == {"hello": "world"}
    assert result.extensions == {"a": True, "b": True}
    assert events == [
        "a operation in",
        "b operation in",
        "a parse in",
        "b parse in",
        "b parse out",
        "a parse out",
        "a execute in",
        "b execute in",
        "resolve",
        "b execute out",
        "a execute out",
        "b operation out",
        "a operation out",
    ]


async def test_every_part_sees_the_execution_context(runner: str) -> None:
    seen: list[str | None] = []

    class Reads(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            yield
            seen.append(self.execution_context.query)

    schema = _schema(runner, [Reads, Reads], [])
    await schema.execute("{ hello }")
    assert seen == ["{ hello }", "{ hello }"]


async def test_an_error_raised_inside_passes_out_through_every_part(runner: str) -> None:
    passed: list[str] = []

    def part(name: str) -> type[SchemaExtension]:
        class Part(SchemaExtension):
            def on_parse(self) -> Iterator[None]:
                try:
                    yield
                except GraphQLError as error:
                    passed.append(f"{name}: {error.message}")
                    raise

        return Part

    class Refuses(SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            raise GraphQLError("refused")
            yield  # pragma: no cover - a generator that raises when entered

    schema = _schema(runner, [part("a"), part("b"), Refuses], [])
    result = await schema.execute("{ hello }")
    assert result.errors is not None
    assert [e.message for e in result.errors] == ["refused"]
    assert passed == ["b: refused", "a: refused"]


async def test_a_part_may_replace_the_error_on_its_way_out(runner: str) -> None:
    class Replaces(SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            try:
                yield
            except GraphQLError as error:
                raise GraphQLError(f"replaced: {error.message}") from error

    class Refuses(SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            yield
            raise GraphQLError("refused")

    schema = _schema(runner, [Replaces, Refuses], [])
    result = await schema.execute("{ hello }")
    assert result.errors is not None
    assert [e.message for e in result.errors] == ["replaced: refused"]


async def test_a_part_may_swallow_the_error_on_its_way_out(runner: str) -> None:
    class Swallows(SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            with contextlib.suppress(GraphQLError):
                yield

    class Refuses(SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            yield
            raise GraphQLError("refused")

    schema = _schema(runner, [Swallows, Refuses], [])
    result = await schema.execute("{ hello }")
    assert result.errors is None
    assert result.data == {"hello": "world"}


async def test_a_stage_whose_part_swallows_the_error_ends_quietly() -> None:
    class Swallows(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            with contextlib.suppress(ValueError):
                yield

        async def on_execute(self) -> AsyncIterator[None]:
            with contextlib.suppress(ValueError):
                yield

    runner = ChainRunner(None, ExtensionChain([Swallows()]))  # type: ignore[arg-type]
    with runner.operation():
        raise ValueError("swallowed")
    async with runner.executing():
        raise ValueError("swallowed")
    with pytest.raises(KeyError), runner.operation():
        raise KeyError("not this one")


async def test_field_errors_reach_the_parts_after_execution(runner: str) -> None:
    messages: list[list[str]] = []

    class Reads(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            yield
            result = self.execution_context.result
            messages.append([e.message for e in (result.errors or [])] if result else [])

    schema = _schema(runner, [Reads], [])
    result = await schema.execute("{ broken }")
    assert result.data is None
    assert messages == [["broken"]]


def test_a_hook_that_is_not_a_generator_is_refused() -> None:
    class Plain(SchemaExtension):
        def on_operation(self) -> None:  # type: ignore[override]
            return None

    with pytest.raises(TypeError, match="must be a generator"):
        ExtensionChain([Plain()])
