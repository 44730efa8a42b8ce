"""Executors copied from a template per document and operation
(`schema.prepared_executors`) hold what graphql-core's own would, each run its own state
and nothing of another request."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import strawberry
from graphql import parse
from graphql.execution.executor import CollectedErrors
from graphql.pyutils import RefMap
from strawberry.execution import optimized_is_awaitable

from schema.planned_executor import PlannedExecutor
from schema.prepared_executors import _OF_A_RUN, PreparedExecutors, _template_of, fresh_state


@strawberry.type
class Query:
    @strawberry.field
    def greeting(self, info: strawberry.Info, name: str = "world") -> str:
        if name == "bad":
            raise ValueError("a bad name")
        return f"{info.context['greeting']}, {name}"

    @strawberry.field
    async def later(self) -> int:
        return 1

    @strawberry.field
    def broken(self) -> str:
        raise ValueError("broken")


SCHEMA = strawberry.Schema(query=Query)._schema
DOCUMENT = parse(
    "query Greet($name: String!) { greeting(name: $name) later } query Fail { broken }"
)


# Containers an executor reads but never changes: its document's fragments.
OF_THE_DOCUMENT = {"fragment_definitions", "fragments"}


class Context(dict[str, Any]):
    """A dict that can be referred to weakly."""


async def _run(
    prepared: PreparedExecutors, context: Any, variables: dict[str, Any], name: str = "Greet"
) -> Any:
    result = prepared.execute(
        SCHEMA,
        DOCUMENT,
        None,
        context,
        variables,
        name,
        is_awaitable=optimized_is_awaitable,
        executor_class=PlannedExecutor,
    )
    return await result if not hasattr(result, "data") else result


async def test_each_request_gets_its_own_context_variables_and_errors() -> None:
    prepared = PreparedExecutors()
    first = await _run(prepared, Context(greeting="hello"), {"name": "ada"})
    second = await _run(prepared, Context(greeting="hi"), {"name": "bo"})
    assert first.data == {"greeting": "hello, ada", "later": 1}
    assert second.data == {"greeting": "hi, bo", "later": 1}
    bad = await _run(prepared, Context(greeting="hello"), {"name": "bad"})
    assert [error.message for error in bad.errors] == ["a bad name"]
    good = await _run(prepared, Context(greeting="hello"), {"name": "cy"})
    assert good.errors is None
    assert good.data == {"greeting": "hello, cy", "later": 1}
    failed = [await _run(prepared, Context(), {}, "Fail") for _ in range(2)]
    for result in failed:
        assert [error.message for error in result.errors] == ["broken"]
    assert failed[0].errors[0] is not failed[1].errors[0]
    assert len(prepared) == 2


async def test_variables_are_coerced_on_every_request() -> None:
    prepared = PreparedExecutors()
    await _run(prepared, Context(greeting="hello"), {"name": "ada"})
    refused = await _run(prepared, Context(greeting="hello"), {"name": 3})
    assert refused.data is None
    assert "String cannot represent a non string value: 3" in refused.errors[0].message


async def test_an_unknown_operation_is_refused_every_time() -> None:
    prepared = PreparedExecutors()
    for _ in range(2):
        result = await _run(prepared, Context(), {}, "Nope")
        assert [error.message for error in result.errors] == ["Unknown operation named 'Nope'."]
    assert len(prepared) == 0


async def test_a_template_keeps_nothing_of_its_request() -> None:
    prepared = PreparedExecutors()
    context = Context(greeting="hello")
    await _run(prepared, context, {"name": "ada"})
    kept = weakref.ref(context)
    del context
    gc.collect()
    assert kept() is None


def test_a_copy_holds_what_graphql_core_builds_with_fresh_state() -> None:
    built = PlannedExecutor.build(
        SCHEMA,
        DOCUMENT,
        None,
        object(),  # a context: the request's, not a container the executor fills
        {"name": "ada"},
        "Greet",
        operation_extensions=None,
    )
    assert isinstance(built, PlannedExecutor)
    copy = PlannedExecutor.__new__(PlannedExecutor)
    copy.__dict__.update(built.__dict__)
    fresh_state(copy)
    assert set(copy.__dict__) == set(built.__dict__)
    for name, value in built.__dict__.items():
        if name in OF_THE_DOCUMENT:
            assert copy.__dict__[name] is value, name
        elif isinstance(value, (list, set, dict, RefMap, CollectedErrors)):
            assert copy.__dict__[name] is not value, name
            assert type(copy.__dict__[name]) is type(value), name
            if not isinstance(value, CollectedErrors):
                assert len(copy.__dict__[name]) == len(value) == 0, name
    assert copy.async_helpers.gather.__self__ is copy
    assert copy.async_helpers.track.__self__ is copy


async def test_templates_live_as_long_as_their_document() -> None:
    prepared = PreparedExecutors()
    documents = [parse(f'{{ greeting(name: "{index}") }}') for index in range(3)]
    for index, document in enumerate(documents):
        result = await prepared.execute(  # type: ignore[misc]
            SCHEMA, document, None, {"greeting": "hi"}, None, None, executor_class=PlannedExecutor
        )
        assert result.data == {"greeting": f"hi, {index}"}
    assert len(prepared) == 3
    del document, documents
    gc.collect()
    assert len(prepared) == 0


async def test_a_new_document_at_a_freed_address_gets_its_own_answer() -> None:
    """A document parsed where a dead one lived (CPython reuses addresses) must not be
    answered by the dead one's template: a mutation's, say."""
    prepared = PreparedExecutors()
    first = parse('query Greet { greeting(name: "first") }')
    await _execute(prepared, first, "Greet")
    address = id(first)
    del first
    second = None
    for _ in range(100_000):
        candidate = parse('query Greet { greeting(name: "second") }')
        if id(candidate) == address:
            second = candidate
            break
    assert second is not None, "no document was parsed at the freed address"
    result = await _execute(prepared, second, "Greet")
    assert result.data == {"greeting": "hi, second"}


async def _execute(prepared: PreparedExecutors, document: Any, name: str) -> Any:
    return await prepared.execute(  # type: ignore[misc]
        SCHEMA, document, None, {"greeting": "hi"}, None, name, executor_class=PlannedExecutor
    )


async def test_the_first_request_is_not_kept_by_its_built_executor() -> None:
    """Without the collector: the executor graphql-core builds for a document's first
    request refers to itself through its helpers, which kept the request alive."""
    prepared = PreparedExecutors()
    context = Context(greeting="hello")
    kept = weakref.ref(context)
    gc.disable()
    try:
        await _run(prepared, context, {"name": "ada"})
        del context
        assert kept() is None
    finally:
        gc.enable()


def test_a_template_keeps_no_container_of_a_run() -> None:
    """`_OF_A_RUN` names what `fresh_state` makes, and a template holds none of them."""
    made: set[str] = set()

    class Records:
        gather_async_work = track_async_work = None

        def __setattr__(self, name: str, value: Any) -> None:
            made.add(name)

    fresh_state(Records())  # type: ignore[arg-type]
    assert made == set(_OF_A_RUN)
    built = PlannedExecutor.build(SCHEMA, DOCUMENT, None, object(), {"name": "ada"}, "Greet")
    assert isinstance(built, PlannedExecutor)
    template = _template_of(built)
    assert all(getattr(template, name) is None for name in _OF_A_RUN)
    assert built.async_helpers is None
