"""Datastore failures that callers may tell apart from bugs: a time limit passed, or a
store is unavailable. `classify` names what a driver exception means."""

from __future__ import annotations

import enum


class Failure(enum.Enum):
    TIMEOUT = "TIMEOUT"  # a statement or command ran past its time limit
    UNAVAILABLE = "UNAVAILABLE"  # the store did not answer (down, frozen, unreachable)


def classify(error: BaseException) -> Failure | None:
    """What a datastore driver's exception means, or None for anything else."""
    return None
