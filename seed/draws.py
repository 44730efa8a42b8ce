"""The random draws the generator makes, all from its one `random.Random(seed)`."""

from __future__ import annotations

import bisect
import functools
import random
import string
from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

from bson import ObjectId

from seed.timeline import ANCHOR_MS
from seed.vocabulary import TAGS, TOPICS, WORDS

T = TypeVar("T")

# The collections whose documents get ObjectIds from `Draws.object_id`.
_ID_COLLECTIONS = ("comments", "notifications")


class Draws:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        # ObjectIds: creation second, then a per-collection random base plus a counter.
        self._id_base = {name: rng.getrandbits(64) for name in _ID_COLLECTIONS}
        self._id_count: Counter[str] = Counter()

    def object_id(self, collection: str, ms: int) -> str:
        self._id_count[collection] += 1
        tail = (self._id_base[collection] + self._id_count[collection]) % (1 << 64)
        return str(ObjectId((ms // 1000).to_bytes(4, "big") + tail.to_bytes(8, "big")))

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self.rng.random() * len(items))]

    def count(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + int(self.rng.random() * (high - low + 1))

    def weighted(self, cumulative: Sequence[float]) -> int:
        """An index drawn with the weights whose running totals are `cumulative`."""
        return min(
            bisect.bisect(cumulative, self.rng.random() * cumulative[-1]), len(cumulative) - 1
        )

    def between(self, start: int, end: int) -> int:
        """A millisecond in [start, end) (start itself when the range is empty)."""
        return start + int(self.rng.random() * (end - start)) if end > start else start

    def after(self, start: int, mean: int) -> int:
        """Some time after `start` (exponential, `mean` ms on average), before the anchor."""
        at = start + int(self.rng.expovariate(1.0 / mean))
        return at if at < ANCHOR_MS else self.between(start, ANCHOR_MS)

    def fill(self, template: str, topic: str, topic2: str = "") -> str:
        """The template with its fields filled in; only the fields it uses draw numbers."""
        fields = _fields(template)
        if not fields:
            return template
        values: dict[str, object] = {}
        for name in fields:
            if name == "topic":
                values[name] = topic
            elif name == "Topic":
                values[name] = topic[:1].upper() + topic[1:]
            elif name == "topic2":
                values[name] = topic2 or TOPICS[self.pick(TAGS)]
            elif name == "n":
                values[name] = self.count(2, 12)
            elif name == "pct":
                values[name] = 5 * self.count(2, 17)
            else:
                values[name] = self.pick(WORDS[name])
        return template.format_map(values)


def cumulative(weights: Sequence[float]) -> list[float]:
    """The running totals of `weights`, as `Draws.weighted` and `Random.choices` take them."""
    total = 0.0
    out = []
    for weight in weights:
        total += weight
        out.append(total)
    return out


@functools.cache
def _fields(template: str) -> tuple[str, ...]:
    """The names of the fields a template uses."""
    return tuple(
        dict.fromkeys(name for _, name, _, _ in string.Formatter().parse(template) if name)
    )
