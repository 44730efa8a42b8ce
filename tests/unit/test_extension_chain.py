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


# -- ChainRunningSchema.execute against Strawberry's own, on the same schema -----------


def _differential_schema(events: list[str]) -> ChainRunningSchema:
    @strawberry.type
    class Query:
        @strawberry.field
        def hello(self, name: str = "world") -> str:
            return name

        @strawberry.field
        async def later(self) -> str:
            return "later"

        @strawberry.field
        def broken(self) -> str:
            raise ValueError("broken")

    @strawberry.type
    class Mutation:
        @strawberry.field
        def touch(self) -> bool:
            return True

    class Records(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            events.append(f"operation {self.execution_context.query!r}")
            yield
            result = self.execution_context.result
            events.append(f"result {getattr(result, 'data', None)} {_messages(result)}")
            events.append(f"pre-execution {_messages(self.execution_context)}")

        def on_parse(self) -> Iterator[None]:
            yield
            events.append(f"parsed {self.execution_context.graphql_document is not None}")

        def on_validate(self) -> Iterator[None]:
            yield
            events.append(f"validated {_messages(self.execution_context)}")
            if self.execution_context.query == '{ hello(name: "validate") }':
                raise GraphQLError("refused after validation")

        async def on_execute(self) -> AsyncIterator[None]:
            query = self.execution_context.query or ""
            if "refuse" in query:
                from graphql import ExecutionResult as GraphQLResult

                self.execution_context.result = GraphQLResult(None, [GraphQLError("refused")])
            if "explode" in query:
                raise ValueError("exploded in on_execute")
            yield
            self.execution_context.extensions_results["seen"] = True

        def get_results(self) -> dict[str, Any]:
            return {"records": len(events)}

    def chain() -> ExtensionChain:
        return ExtensionChain([Records()])

    class Logs(ChainRunningSchema):
        def process_errors(self, errors: list[GraphQLError], *_: Any) -> None:
            events.append(f"processed {[error.message for error in errors]}")

    return Logs(query=Query, mutation=Mutation, extensions=[chain])


def _messages(holder: Any) -> list[str]:
    errors = getattr(holder, "errors", None) or getattr(holder, "pre_execution_errors", None)
    return [error.message for error in errors or ()]


DIFFERENTIAL_CASES: list[tuple[str | None, dict[str, Any]]] = [
    ("{ hello }", {}),
    ("{ later hello(name: $n) }", {}),
    ("query Q($n: String!) { hello(name: $n) }", {"variable_values": {"n": "ada"}}),
    ("query Q($n: String!) { hello(name: $n) }", {}),
    ("query Q($n: String!) { hello(name: $n) }", {"variable_values": {"n": 3}}),
    ("{ broken hello }", {}),
    ("{ hello(", {}),
    ("{ nope }", {}),
    ("", {}),
    (None, {}),
    ("{ hello }", {"allowed_operation_types": {strawberry.types.graphql.OperationType.MUTATION}}),
    ("{ hello }", {"allowed_operation_types": set()}),
    ("mutation { touch }", {}),
    ("query A { hello } query B { later }", {}),
    ("query A { hello } query B { later }", {"operation_name": "B"}),
    ("query A { hello } query B { later }", {"operation_name": "C"}),
    ('{ hello(name: "validate") }', {}),
    ('{ hello(name: "refuse") }', {}),
    ('{ hello(name: "explode") }', {}),
]


@pytest.mark.parametrize(("query", "arguments"), DIFFERENTIAL_CASES)
async def test_execute_answers_as_strawberrys_own(
    query: str | None, arguments: dict[str, Any]
) -> None:
    outcomes = []
    for execute in (strawberry.Schema.execute, ChainRunningSchema.execute):
        events: list[str] = []
        schema = _differential_schema(events)
        try:
            result = await execute(schema, query, **arguments)
        except Exception as error:
            outcomes.append((type(error), str(error), events))
            continue
        errors = [error.formatted for error in result.errors or ()]
        outcomes.append((result.data, errors, result.extensions, type(result).__name__, events))
    assert outcomes[0] == outcomes[1]
