"""Datastore failures that callers may tell apart from bugs: a time limit passed, or a
store is unavailable. `classify` names what a driver exception means."""

from __future__ import annotations

import enum
import errno
import socket
import sqlite3

from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError
from pymongo.errors import ServerSelectionTimeoutError as MongoServerSelectionTimeout
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class Failure(enum.Enum):
    TIMEOUT = "TIMEOUT"  # a statement or command ran past its time limit
    UNAVAILABLE = "UNAVAILABLE"  # the store did not answer (down, frozen, unreachable)


class StoreUnavailable(Exception):
    """Raised when a store is known to be unavailable: seen so moments ago (a circuit
    breaker is open, and nothing is tried), or a read found its connection dead twice
    in a row; `classify` names it UNAVAILABLE."""


# PostgreSQL SQLSTATEs. 57014 query_canceled: statement_timeout (or an explicit cancel).
_SQLSTATE_TIMEOUT = frozenset({"57014"})
# Class 08 connection exceptions; 57P01-57P03 admin/crash shutdown, cannot connect now;
# 53300 too many connections.
_SQLSTATE_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "53300"})

# MongoDB server codes: 50 MaxTimeMSExpired, 262 ExceededTimeLimit, 89 NetworkTimeout
# (between servers); 91 ShutdownInProgress, 11600 InterruptedAtShutdown.
_MONGO_TIMEOUT_CODES = frozenset({50, 89, 262})
_MONGO_UNAVAILABLE_CODES = frozenset({91, 11600})

_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.EHOSTDOWN,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.EPIPE,
    }
)

_SQLITE_INTERRUPT = getattr(sqlite3, "SQLITE_INTERRUPT", 9)


def classify(error: BaseException) -> Failure | None:
    """What a datastore driver's exception means, or None for anything else.

    Give it the exception a resolver raised, as raised: SQLAlchemy's wrappers
    (`DBAPIError.orig`), explicit chains (`raise ... from error`) and exception groups
    whose every member is a datastore failure are looked through.
    """
    return _classify(error, depth=0)


def _classify(error: BaseException, depth: int) -> Failure | None:
    if depth > 8:  # chains are short; this only guards against a cycle
        return None
    if isinstance(error, BaseExceptionGroup):
        failures = [_classify(member, depth + 1) for member in error.exceptions]
        if failures and all(failures):
            return Failure.TIMEOUT if Failure.TIMEOUT in failures else Failure.UNAVAILABLE
        return None
    failure = _classify_one(error)
    if failure is not None:
        return failure
    for inner in (getattr(error, "orig", None), error.__cause__):
        if isinstance(inner, BaseException) and inner is not error:
            failure = _classify(inner, depth + 1)
            if failure is not None:
                return failure
    return None


def _classify_one(error: BaseException) -> Failure | None:
    if isinstance(error, StoreUnavailable):
        return Failure.UNAVAILABLE
    if isinstance(error, PyMongoError):
        return _classify_mongo(error)
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return Failure.UNAVAILABLE
    if isinstance(error, PoolTimeout):  # no pooled connection came free in time
        return Failure.UNAVAILABLE
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(sqlstate, str):
        if sqlstate in _SQLSTATE_TIMEOUT:
            return Failure.TIMEOUT
        if sqlstate.startswith("08") or sqlstate in _SQLSTATE_UNAVAILABLE:
            return Failure.UNAVAILABLE
    if isinstance(error, sqlite3.OperationalError):
        interrupted = getattr(error, "sqlite_errorcode", None) == _SQLITE_INTERRUPT
        if interrupted or str(error) == "interrupted":
            return Failure.TIMEOUT
        return None
    # asyncpg's client-side command_timeout, an asyncio deadline around a query.
    if isinstance(error, TimeoutError):
        return Failure.TIMEOUT
    if isinstance(error, ConnectionError | socket.gaierror):
        return Failure.UNAVAILABLE
    if isinstance(error, OSError):
        if error.errno in _NETWORK_ERRNOS:
            return Failure.UNAVAILABLE
        # asyncio's connect to a name with several addresses (localhost: ::1 and
        # 127.0.0.1) reports every failed attempt in one plain OSError.
        if error.errno is None and str(error).startswith("Multiple exceptions: "):
            return Failure.UNAVAILABLE
    return None


def _classify_mongo(error: PyMongoError) -> Failure | None:
    # ServerSelectionTimeoutError says `timeout` too, but what it means is that no
    # server answered: the store is unavailable, not slow.
    if isinstance(error, MongoServerSelectionTimeout):
        return Failure.UNAVAILABLE
    code = error.code if isinstance(error, OperationFailure) else None
    if error.timeout or code in _MONGO_TIMEOUT_CODES:
        return Failure.TIMEOUT
    if isinstance(error, ConnectionFailure) or code in _MONGO_UNAVAILABLE_CODES:
        return Failure.UNAVAILABLE
    return None
