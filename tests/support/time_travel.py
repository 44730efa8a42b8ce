"""Time that passes at once: the code under test reads a clock the test moves forward.

`TimeTravel.install(module)` replaces what `module` imported as `time` (the module) and
as `datetime` (the class) with stand-ins that read the real clock plus the offset that
`forward(seconds)` adds to. Both are looked up at call time, so a waiting period
(a token's lifetime, a cache's TTL, a rate-limit window, a cool-down) passes without a
sleep. The real clock keeps running: only the jumps are skipped.
"""

from __future__ import annotations

import datetime as datetime_module
import time as time_module
import types
from typing import Any

import pytest


class _ShiftedTime:
    """The `time` module, with `time()` and `monotonic()` moved forward."""

    def __init__(self, travel: TimeTravel) -> None:
        self._travel = travel

    def time(self) -> float:
        return time_module.time() + self._travel.offset

    def monotonic(self) -> float:
        return time_module.monotonic() + self._travel.offset

    def __getattr__(self, name: str) -> Any:
        return getattr(time_module, name)


class TimeTravel:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self.offset = 0.0

    def forward(self, seconds: float) -> None:
        """Moves the installed clocks `seconds` ahead."""
        self.offset += seconds

    def install(self, module: types.ModuleType) -> None:
        """`module` reads this clock from now on (until the test ends)."""
        installed = False
        if getattr(module, "time", None) is time_module:
            self._monkeypatch.setattr(module, "time", _ShiftedTime(self))
            installed = True
        if getattr(module, "datetime", None) is datetime_module.datetime:
            self._monkeypatch.setattr(module, "datetime", self._datetime())
            installed = True
        assert installed, f"{module.__name__} imports neither `time` nor `datetime`"

    def _datetime(self) -> type[datetime_module.datetime]:
        travel = self

        class ShiftedDatetime(datetime_module.datetime):
            @classmethod
            def now(cls, tz: datetime_module.tzinfo | None = None) -> datetime_module.datetime:
                real = datetime_module.datetime.now(tz)
                return real + datetime_module.timedelta(seconds=travel.offset)

        return ShiftedDatetime
