"""Primed values (`Loader.prime`) are kept as values until loaded, and answer as
aiodataloader's primed futures do: loaded without a batch, never overriding what is
cached or primed first, forgotten by `clear`, an exception raised where it is loaded."""

from __future__ import annotations

import asyncio

import pytest

from loaders.base import ListLoader


def _loader(batches: list[list[int]]) -> ListLoader[int, str]:
    async def fetch(keys: list[int]) -> list[str]:
        batches.append(keys)
        return [f"fetched {key}" for key in keys]

    return ListLoader(fetch)


async def test_a_primed_key_loads_without_a_batch() -> None:
    batches: list[list[int]] = []
    loader = _loader(batches)
    loader.prime(1, "primed 1").prime(2, "primed 2")
    assert await loader.load(1) == "primed 1"
    assert await loader.load_each([2, 3]) == ["primed 2", "fetched 3"]
    assert await loader.load_many([1, 2]) == ["primed 1", "primed 2"]
    assert batches == [[3]]


async def test_priming_keeps_what_is_cached_or_primed_first() -> None:
    batches: list[list[int]] = []
    loader = _loader(batches)
    assert await loader.load(1) == "fetched 1"
    loader.prime(1, "too late")
    loader.prime(2, "first").prime(2, "second")
    assert await loader.load_each([1, 2]) == ["fetched 1", "first"]
    assert batches == [[1]]


async def test_clear_forgets_a_primed_value() -> None:
    batches: list[list[int]] = []
    loader = _loader(batches)
    loader.prime(1, "primed 1").prime(2, "primed 2").prime(3, "primed 3")
    loader.clear(1)
    assert await loader.load(1) == "fetched 1"
    loader.clear(2).prime(2, "primed again")
    assert await loader.load(2) == "primed again"
    loader.clear_all()
    assert await loader.load(3) == "fetched 3"
    assert batches == [[1], [3]]


async def test_a_primed_exception_is_raised_where_loaded() -> None:
    loader = _loader([])
    loader.prime(1, LookupError("gone"))  # type: ignore[arg-type]
    with pytest.raises(LookupError, match="gone"):
        await loader.load(1)
    (outcome,) = await loader.load_each([1])
    assert isinstance(outcome, LookupError)


async def test_a_load_answers_the_primed_value_of_when_it_was_asked() -> None:
    """A `clear` (and a new prime) while a load waits on other keys changes later loads,
    not this one, as aiodataloader's futures would."""

    async def slow(keys: list[int]) -> list[str]:
        await asyncio.sleep(0.01)
        return [f"fetched {key}" for key in keys]

    for change in ("clear", "clear and prime", "clear all"):
        loader = ListLoader(slow)
        loader.prime(1, "old")
        waiting = asyncio.ensure_future(loader.load_each([1, 2]))
        await asyncio.sleep(0)
        if change == "clear all":
            loader.clear_all()
        else:
            loader.clear(1)
            if change == "clear and prime":
                loader.prime(1, "new")
        assert await waiting == ["old", "fetched 2"], change


async def test_a_loader_without_a_cache_loads_what_it_is_asked() -> None:
    batches: list[list[int]] = []
    loader = _loader(batches)
    loader.cache = False
    loader.prime(1, "primed")
    assert await loader.load(1) == "fetched 1"
    with pytest.raises(TypeError):
        loader.load(None)  # type: ignore[arg-type]
