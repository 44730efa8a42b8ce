"""The embedded document server's process: NX-27017 with two fixes to the SQL that its
storage engine (NeoSQLite) sends to SQLite, so that Agora's reads are served by the
collections' indexes. Run as `python -m datasources.documents.embedded_server_process`
with NX-27017's own arguments; only this child process is changed.

1. `$in` and equality on a reference field. NeoSQLite matches `{field: {$in: [...]}}` as
   `EXISTS (SELECT 1 FROM json_each(data, '$.field') WHERE json_each.value IN (...))`,
   so that an array field matches when any element is in the list. SQLite cannot
   answer that from an index: every `$in` read a whole collection (about 200 ms a
   read at 100,000 comments). The fields in REFERENCE_FIELDS hold one scalar in every
   document Agora writes (an id, or null), never an array, so for them the EXISTS is
   the same test as `json_extract(data, '$.field') IN (...)`, which the expression
   indexes on those fields serve. The rewrite keeps the list as it is (placeholders or
   literals), so the statement's parameters do not change. An equality
   `{field: x}` is sent as `(value = x OR EXISTS (... element = x))` and gets the
   same treatment.

2. The aggregation's size estimate. Before every aggregation NeoSQLite counts the
   whole collection (`SELECT COUNT(1)`) to choose a memory-constrained mode that
   needs the optional `quez` package; without it the count decides nothing, and it
   grows with the collection (about 8 ms at 100,000 comments).

3. Stopping. NX-27017's SIGTERM handler raises SystemExit wherever the signal lands;
   inside a weakref callback or a `__del__` Python ignores that exception and the
   server keeps running, with its pid file, so the next start on the same data refuses
   ("already running"). Here SIGTERM and SIGINT end the process at once: SQLite's
   journal keeps every committed write, as after a crash.

NeoSQLite and NX-27017 are pinned; tests/test_index_plans.py replays every command
the loaders send through NX-27017's own handler with these fixes installed and
explains each SQL statement, so an upgrade that changes the SQL shape fails there.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sqlite3
from collections.abc import Callable
from typing import Any

import neosqlite.connection
from neosqlite.collection import aggregation_cursor
from nx_27017 import daemon
from nx_27017.nx_27017 import main as serve

# Fields that Agora's documents hold as one scalar (an integer id, an ObjectId string,
# or null) in every collection: comments.post_id/parent_id/author_id,
# reactions.post_id/user_id, profiles.user_id, notifications.user_id/post_id/comment_id.
REFERENCE_FIELDS = ("post_id", "parent_id", "user_id", "author_id", "comment_id", "event.id")

_IN_ANY_ELEMENT = re.compile(
    r"EXISTS \(SELECT 1 FROM json_each\(data, '\$\.(?P<field>"  # noqa: S608
    + "|".join(map(re.escape, REFERENCE_FIELDS))
    + r")'\)(?: AS json_each)? WHERE json_each\.value IN \((?P<values>[^()]*)\)\)"
)


# An equality is sent as `(value = x OR EXISTS (... any element = x))`; the element
# test written as a second `value = x` leaves `value = x OR value = x`, which SQLite
# answers from the index (the parameters stay as they are).
_EQUALS_ANY_ELEMENT = re.compile(
    r"EXISTS \(SELECT 1 FROM json_each\(CASE WHEN json_type\(data, '\$\.(?P<field>"  # noqa: S608
    + "|".join(map(re.escape, REFERENCE_FIELDS))
    + r")'\) = 'array' THEN json_extract\(data, '\$\.(?P=field)'\) END\)"
    r" WHERE value = (?P<value>\?|[^()\s]+)\)"
)


def indexable(sql: str) -> str:
    """`sql` with every any-element test (`$in` or equality) on a reference field
    written as a test of the field's value (see the module's docstring)."""
    if "json_each" not in sql:
        return sql
    sql = _IN_ANY_ELEMENT.sub(r"json_extract(data, '$.\g<field>') IN (\g<values>)", sql)
    return _EQUALS_ANY_ELEMENT.sub(r"json_extract(data, '$.\g<field>') = \g<value>", sql)


class _Cursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> _Cursor:
        return super().execute(indexable(sql), parameters)

    def executemany(self, sql: str, parameters: Any, /) -> _Cursor:
        return super().executemany(indexable(sql), parameters)


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        return self.cursor().executemany(sql, parameters)


def apply() -> None:
    """Install both fixes in this process (before NX-27017 opens a database)."""
    module = neosqlite.connection.sqlite3
    if module is not sqlite3:
        raise RuntimeError("NeoSQLite does not use the standard sqlite3 module here")
    connect = sqlite3.connect

    def connect_indexable(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", _Connection)
        return connect(*args, **kwargs)

    neosqlite.connection.sqlite3 = _ModuleWithConnect(connect_indexable)

    if not aggregation_cursor.QUEZ_AVAILABLE:
        aggregation_cursor.AggregationCursor._estimate_result_size = lambda self: 0


class _ModuleWithConnect:
    """The sqlite3 module as NeoSQLite's connection module sees it: the same, but
    connecting through `connect`."""

    def __init__(self, connect: Any) -> None:
        self.connect = connect

    def __getattr__(self, name: str) -> Any:
        return getattr(sqlite3, name)


def _exit_at_once(pid_file: str | None) -> Callable[[int, Any], None]:
    def exit_now(signum: int, frame: Any) -> None:
        if pid_file:
            with contextlib.suppress(OSError):
                os.unlink(pid_file)
        os._exit(0)

    return exit_now


def main() -> None:
    apply()
    pid_file = argparse.ArgumentParser(add_help=False)
    pid_file.add_argument("--pid-file")
    given, _ = pid_file.parse_known_args()
    # Read when NX-27017 installs its signal handlers.
    daemon._signal_exit_handler = _exit_at_once(given.pid_file)
    serve()


if __name__ == "__main__":
    main()
