"""Handles made from people's names: ASCII, valid (`domain.HANDLE_PATTERN`) and unique."""

from __future__ import annotations

import re
import unicodedata

from domain import HANDLE_PATTERN

HANDLE = re.compile(HANDLE_PATTERN)
# Characters NFKD does not take apart.
_ASCII = str.maketrans({"ø": "o", "å": "a", "æ": "ae", "ß": "ss", "ł": "l", "đ": "d"})


def unique_handle(first: str, last: str, style: int, taken: set[str]) -> str:
    """A handle for this name in one of four styles (0-3), numbered when it is taken or
    invalid; added to `taken`."""
    given, family = _slug(first), _slug(last)
    handle = (
        f"{given}_{family}",
        f"{given}{family}",
        f"{given}_{family[0]}",
        f"{family}_{given}",
    )[style][:26]
    candidate, suffix = handle, 1
    while candidate in taken or not HANDLE.fullmatch(candidate):
        suffix += 1
        candidate = f"{handle}{suffix}"
    taken.add(candidate)
    return candidate


def _slug(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.lower().translate(_ASCII))
    return "".join(ch for ch in decomposed if "a" <= ch <= "z" or "0" <= ch <= "9")
