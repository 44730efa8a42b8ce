"""What the datastores were asked while a block ran, and whether an index answers it.

Recording: `SqlRecorder` keeps every SQL statement an engine runs (with its parameters)
and `CommandRecorder`, a PyMongo command listener, every command a client sends; both
note where in Agora's code the request came from (`origin`).

Plans: `sqlite_full_scans` reads SQLite's EXPLAIN QUERY PLAN, `postgres_full_scans`
PostgreSQL's EXPLAIN (FORMAT JSON), `collection_scans` a MongoDB-wire `explain` reply;
each returns the full scans it finds (empty: every table was reached through an index).
`NeoSQLiteReplay` runs a recorded command through NX-27017's command handler in this
process, on the embedded server's own files and with its SQL fixes installed
(datasources/documents/embedded_server_process.py), and gives the SQL that NeoSQLite sent
to SQLite for it: NX-27017 explains neither aggregations nor a find's sort and limit, so
its own `explain` cannot tell whether the server's SQL uses an index.

A full scan is a walk over a whole table or a whole index: it grows with the table. On
SQLite, so is a search of an index by an UNSELECTIVE column alone (posts by `status`).
One shape is not one: an index walked in order under a LIMIT, by a single-table
statement whose conditions are all on the index's columns (or say `deleted_at IS NULL`),
reads about LIMIT entries whatever the table's size: the first page of a listing in
index order, or the page after a cursor. A LEFT JOIN that looks each row up by another
table's primary key keeps it so (one row out for each row walked): a page of posts
with their authors.
"""

from __future__ import annotations

import contextlib
import copy
import re
import sqlite3
import sys
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import greenlet
from pymongo import monitoring
from sqlalchemy import event
from sqlalchemy.engine import Engine

from datasources.instrumentation import MONGO_HOUSEKEEPING

ROOT = Path(__file__).resolve().parents[2]
# Agora's own code, where a datastore request is made on behalf of a resolver or loader.
_AGORA_PARTS = ("datasources", "loaders", "resolvers", "schema", "auth")
# Where the request is issued, not made: skipped when naming the origin.
_PLUMBING = (
    "datasources/instrumentation.py",
    "datasources/tracing.py",
    "datasources/documents/client.py",
    "datasources/relational/sessions.py",
    "datasources/relational/engine.py",
    "datasources/documents/repository.py",
    "loaders/base.py",
)


# ---------------------------------------------------------------------------
# Where a request comes from
# ---------------------------------------------------------------------------


def _frames() -> Iterator[types.FrameType]:
    """The Python frames that led here, outermost last. SQLAlchemy's asyncio layer runs a
    statement in a greenlet whose frames end at the greenlet's start: the frames of the
    coroutine that awaited it are those of the parent greenlet, where it switched out."""
    frame: types.FrameType | None = sys._getframe(1)
    current = greenlet.getcurrent()
    while True:
        while frame is not None:
            yield frame
            frame = frame.f_back
        parent = current.parent
        if parent is None:
            return
        frame, current = parent.gr_frame, parent


def _agora_file(frame: types.FrameType) -> str | None:
    try:
        relative = Path(frame.f_code.co_filename).resolve().relative_to(ROOT)
    except ValueError:
        return None
    path = relative.as_posix()
    return path if relative.parts[0] in _AGORA_PARTS else None


# The attribute `named_loaders` gives each loader: its field in loaders.Loaders.
LOADER_NAME = "index_plans_loader"


def named_loaders(build: Callable[..., Any]) -> Callable[..., Any]:
    """`loaders.build_loaders`, its loaders marked with their names (for `origin`)."""

    def build_named(*args: Any, **kwargs: Any) -> Any:
        built = build(*args, **kwargs)
        for name, member in vars(type(built)).items():
            if isinstance(member, cached_property):  # a loader, built here
                setattr(getattr(built, name), LOADER_NAME, name)
        return built

    return build_named


def origin() -> str:
    """The Agora method that made the current datastore request and, after "via", the
    loader (see `named_loaders`) or resolver it ran for: "datasources/relational/posts.py
    PostRepository.by_authors via loader published_posts"."""
    calls = []
    loader = None
    for frame in _frames():
        path = _agora_file(frame)
        if path is None:
            continue
        name = getattr(frame.f_locals.get("self"), LOADER_NAME, None)
        if loader is None and isinstance(name, str):
            loader = f"loader {name}"
        if path not in _PLUMBING:
            calls.append(f"{path} {frame.f_code.co_qualname}")
    if not calls:
        return "(not from Agora's code)"
    callers = [call for call in calls[1:] if not call.startswith("datasources/")]
    via = loader or (callers[0] if callers else None)
    return calls[0] + (f" via {via}" if via else "")


# ---------------------------------------------------------------------------
# Recording
# ---------------------------------------------------------------------------


@dataclass
class Statement:
    sql: str
    parameters: Any
    origins: set[str] = field(default_factory=set)

    def describe(self) -> str:
        return f"{self.sql}\n  parameters: {self.parameters!r}\n  from: " + "\n        ".join(
            sorted(self.origins)
        )


@dataclass
class SqlRecorder:
    """Every statement the engine runs while `recording` (each distinct one once)."""

    engine: Engine
    recording: bool = False
    statements: dict[tuple[str, str], Statement] = field(default_factory=dict)

    def __post_init__(self) -> None:
        event.listen(self.engine, "before_cursor_execute", self._executed)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._executed)

    def _executed(
        self,
        _conn: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        if not self.recording:
            return
        parameters = copy.deepcopy(parameters)
        key = (statement, repr(parameters))
        recorded = self.statements.setdefault(key, Statement(statement, parameters))
        recorded.origins.add(origin())

    def reads(self) -> list[Statement]:
        """The queries: SELECT (or WITH ... SELECT) statements."""
        return [s for s in self.statements.values() if _is_query(s.sql)]

    def others(self) -> list[Statement]:
        """Everything else but transaction control."""
        return [
            s
            for s in self.statements.values()
            if not _is_query(s.sql) and not _TRANSACTION_CONTROL.match(s.sql)
        ]


_QUERY = re.compile(r"\s*\(?\s*(SELECT|WITH)\b", re.IGNORECASE)
_TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


def _is_query(sql: str) -> bool:
    return _QUERY.match(sql) is not None


# Commands that read documents, and that `explain` can wrap.
READ_COMMANDS = frozenset({"find", "aggregate", "count", "distinct"})
# Driver chatter and the continuation of a read already recorded.
_NOT_A_QUERY = MONGO_HOUSEKEEPING | {"getMore", "killCursors"}
# Fields of a command that say how to run it, not what to read: not part of a replay.
_RUN_OPTIONS = frozenset(
    {
        "lsid",
        "txnNumber",
        "$clusterTime",
        "$readPreference",
        "readConcern",
        "maxTimeMS",
        "$db",
        "autocommit",
        "startTransaction",
    }
)


@dataclass
class Command:
    database: str
    name: str
    body: dict[str, Any]  # the command without its run options
    origins: set[str] = field(default_factory=set)

    @property
    def collection(self) -> str:
        return str(self.body[self.name])

    def describe(self) -> str:
        return f"{self.database}: {self.body!r}\n  from: " + "\n        ".join(sorted(self.origins))


class CommandRecorder(monitoring.CommandListener):
    """Every command a client sends while `recording`, but driver chatter and getMore
    (each distinct command once)."""

    def __init__(self) -> None:
        self.recording = False
        self.commands: dict[str, Command] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if not self.recording or event.command_name in _NOT_A_QUERY:
            return
        body = {k: copy.deepcopy(v) for k, v in event.command.items() if k not in _RUN_OPTIONS}
        command = Command(event.database_name, event.command_name, body)
        recorded = self.commands.setdefault(repr((command.database, body)), command)
        recorded.origins.add(origin())

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def reads(self) -> list[Command]:
        return [c for c in self.commands.values() if c.name in READ_COMMANDS]

    def others(self) -> list[Command]:
        return [c for c in self.commands.values() if c.name not in READ_COMMANDS]


# ---------------------------------------------------------------------------
# What counts as a full scan
# ---------------------------------------------------------------------------

# Columns with a handful of values: an index search by one of them alone (and at most a
# range, such as a keyset position) reads about the whole table. posts.status is DRAFT
# or PUBLISHED, and most posts are published.
UNSELECTIVE: Mapping[str, frozenset[str]] = {"posts": frozenset({"status"})}
# A condition an ordered walk may check on the rows it reads without reading many more:
# tombstones are few (deleted posts are purged soon after).
_HARMLESS_FILTER = re.compile(r"^\(*(?:\w+\.)?deleted_at IS NULL\)*$", re.IGNORECASE)
# A LEFT JOIN's lookup of each row by the joined table's primary key.
_PRIMARY_KEY_LOOKUP = re.compile(r"SEARCH \S+ USING INTEGER PRIMARY KEY \(rowid=\?\) LEFT-JOIN$")
_LIMIT_AT_END = re.compile(r"\bLIMIT\s+(?:\?|\d+|\$\d+)(?:\s+OFFSET\s+(?:\?|\d+|\$\d+))?\s*$")


def _top_level_conjuncts(condition: str) -> list[str]:
    """`a AND (b OR c) AND d` as ["a", "(b OR c)", "d"]."""
    parts, depth, start = [], 0, 0
    upper = condition.upper()
    i = 0
    while i < len(condition):
        char = condition[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and upper.startswith(" AND ", i):
            parts.append(condition[start:i].strip())
            start = i + 5
            i += 4
        i += 1
    parts.append(condition[start:].strip())
    return [part for part in parts if part]


def _where(sql: str) -> list[str]:
    """The top-level conjuncts of a single SELECT's WHERE clause (none without one)."""
    match = re.search(
        r"\bWHERE\b(?P<condition>.*?)(?:\bORDER BY\b|\bGROUP BY\b|\bLIMIT\b|$)",
        sql,
        re.IGNORECASE | re.DOTALL,
    )
    return _top_level_conjuncts(match.group("condition")) if match else []


# ---------------------------------------------------------------------------
# SQLite plans
# ---------------------------------------------------------------------------

# "SCAN posts", "SCAN posts USING INDEX ix", "SCAN users USING COVERING INDEX ix",
# "SCAN json_each VIRTUAL TABLE INDEX 1:", "SCAN CONSTANT ROW", "SCAN ranked".
_SQLITE_SCAN = re.compile(r"SCAN (?P<name>\S+)(?: AS \S+)?(?P<rest>.*)")
# "SEARCH posts USING INDEX ix (status=? AND sort_at<?)",
# "SEARCH users USING INTEGER PRIMARY KEY (rowid=?)", "SEARCH c USING INDEX i (<expr>=?)".
_SQLITE_SEARCH = re.compile(
    r"SEARCH (?P<name>\S+)(?: AS \S+)? USING (?:COVERING )?"
    r"(?:INDEX (?P<index>\S+)|(?P<rowid>INTEGER PRIMARY KEY)) \((?P<constraints>[^)]*)\)"
)
_SQLITE_INDEX = re.compile(r" USING (?:COVERING )?INDEX (?P<index>\S+)")
# The intermediate results a plan names: a subquery's or a CTE's rows, bounded by it.
_SQLITE_SUBRESULT = re.compile(r"(?:CO-ROUTINE|MATERIALIZE) (?P<name>\S+)")


def sqlite_plan(connection: sqlite3.Connection, sql: str, parameters: Any = ()) -> list[str]:
    """The detail lines of EXPLAIN QUERY PLAN, indented by depth."""
    rows = connection.execute(f"EXPLAIN QUERY PLAN {sql}", parameters or ()).fetchall()
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + str(detail))
    return lines


def sqlite_index_columns(connection: sqlite3.Connection) -> dict[str, frozenset[str]]:
    """The columns of every index of the database ("<expr>" for an expression)."""
    names = [
        row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    ]
    return {
        name: frozenset(
            row[2] or "<expr>" for row in connection.execute(f"PRAGMA index_info({_quoted(name)})")
        )
        for name in names
    }


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _without_scalar_subqueries(sql: str) -> str:
    """The statement with each parenthesized `(SELECT …)` removed: a scalar subquery
    (a kept count read beside a page) has its own plan lines, judged on their own."""
    out, i = [], 0
    while (start := sql.upper().find("(SELECT", i)) != -1:
        out.append(sql[i:start])
        depth, j = 0, start
        while j < len(sql):
            depth += {"(": 1, ")": -1}.get(sql[j], 0)
            j += 1
            if depth == 0:
                break
        i = j
    out.append(sql[i:])
    return "".join(out)


def _outer_plan(plan: Sequence[str]) -> list[str]:
    """The plan's lines for the statement itself: not its scalar subqueries' (each a
    "SCALAR SUBQUERY n" line with its own lines indented below it)."""
    outer, inside = [], False
    for line in plan:
        if not line.startswith(" "):
            inside = line.startswith("SCALAR SUBQUERY")
            if not inside:
                outer.append(line)
    return outer


def _sqlite_ordered_walk(sql: str, plan: Sequence[str], columns: frozenset[str]) -> bool:
    """A statement that reads an index in order and stops after LIMIT rows: no join but
    LEFT JOINs by primary key, no sort of its own, and no condition but on the index's
    columns (which the walk's position serves) or a harmless one. Scalar subqueries
    aside."""
    sql = _without_scalar_subqueries(sql)
    joins = len(re.findall(r"\bJOIN\b", sql, re.IGNORECASE))
    left_joins = len(re.findall(r"\bLEFT OUTER JOIN\b", sql, re.IGNORECASE))
    walk, *lookups = _outer_plan(plan) or [""]
    if joins != left_joins or len(lookups) != joins:
        return False
    if not all(_PRIMARY_KEY_LOOKUP.match(line.strip()) for line in lookups):
        return False
    if _LIMIT_AT_END.search(sql.strip()) is None:
        return False
    walked = re.match(r"\s*(?:SEARCH|SCAN) (\S+)", walk)
    for conjunct in _where(sql):
        # With a join, a condition on another table filters the walk's rows: the walk
        # may then read far more than LIMIT of them.
        if joins and (walked is None or _tables(conjunct) != {walked.group(1)}):
            return False
        if _HARMLESS_FILTER.match(conjunct):
            continue
        referenced = set(re.findall(r"\b\w+\.(\w+)\b", conjunct))
        if not referenced or not referenced <= columns:
            return False
    return True


def _tables(condition: str) -> set[str]:
    return set(re.findall(r"\b(\w+)\.\w+\b", condition))


def _selective(table: str, constraints: str) -> bool:
    """Whether an index search's constraints ("status=? AND sort_at<?") include an
    equality on a column with many values ("<expr>": an indexed expression)."""
    unselective = UNSELECTIVE.get(table, frozenset())
    for constraint in constraints.replace("<expr>", "(expression)").split(" AND "):
        match = re.match(r"(?P<column>.+?)(?P<operator><=|>=|=|<|>)", constraint.strip())
        if match and match.group("operator") == "=" and match["column"] not in unselective:
            return True
    return False


def sqlite_full_scans(
    sql: str, plan: Sequence[str], index_columns: Mapping[str, frozenset[str]]
) -> list[str]:
    """The plan lines that read a whole table or a whole index, or search an index by
    an unselective column only; but an ordered walk under a LIMIT."""
    subresults = {m.group("name") for line in plan if (m := _SQLITE_SUBRESULT.search(line.strip()))}
    scans = []
    for line in (line.strip() for line in plan):
        if search := _SQLITE_SEARCH.match(line):
            table = search.group("name").strip('"')
            if _selective(table, search.group("constraints")):
                continue
            index = search.group("index")
            columns = index_columns.get(index, frozenset()) if index else frozenset({"id"})
            if not _sqlite_ordered_walk(sql, plan, columns):
                scans.append(f"{line}: reads about all of {table}")
            continue
        scan = _SQLITE_SCAN.match(line)
        if scan is None:
            continue
        name, rest = scan.group("name").strip('"'), scan.group("rest")
        if name == "CONSTANT" or name in subresults or name.startswith("(subquery"):
            continue
        if "VIRTUAL TABLE" in rest:
            continue  # json_each over one document's field
        index = _SQLITE_INDEX.search(rest)
        if index and _sqlite_ordered_walk(
            sql, plan, index_columns.get(index.group("index"), frozenset())
        ):
            continue
        scans.append(line)
    return scans


# ---------------------------------------------------------------------------
# PostgreSQL plans
# ---------------------------------------------------------------------------

_INDEX_SCANS = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")


def _postgres_nodes(
    node: Mapping[str, Any], parent: Mapping[str, Any] | None = None
) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any] | None]]:
    yield node, parent
    for child in node.get("Plans", ()):
        yield from _postgres_nodes(child, node)


def postgres_full_scans(explained: Sequence[Mapping[str, Any]]) -> list[str]:
    """The nodes of an EXPLAIN (FORMAT JSON) result that read a whole table (Seq Scan) or
    a whole index (an index scan without an Index Cond); but an ordered walk under a
    Limit, with no filter but a harmless one. Run with enable_seqscan off: a Seq Scan
    that remains is one no index can replace.

    Unlike SQLite's, PostgreSQL's choice among usable indexes follows its statistics,
    which a small test data set does not make representative of a large one: here only
    whether some index serves each table is asserted, not UNSELECTIVE searches."""
    scans = []
    for top in explained:
        for node, parent in _postgres_nodes(top["Plan"]):
            kind = node["Node Type"]
            relation = node.get("Relation Name", "its table")
            if kind == "Seq Scan":
                scans.append(f"Seq Scan on {relation}")
            elif kind in _INDEX_SCANS and "Index Cond" not in node:
                ordered_walk = (
                    kind != "Bitmap Index Scan"
                    and parent is not None
                    and parent["Node Type"] == "Limit"
                    and _HARMLESS_FILTER.match(node.get("Filter", "deleted_at IS NULL"))
                )
                if not ordered_walk:
                    scans.append(
                        f"{kind} using {node.get('Index Name')} on {relation}: no condition"
                    )
    return scans


def postgres_plan_text(explained: Sequence[Mapping[str, Any]]) -> list[str]:
    """The plan as indented lines, for messages."""
    lines = []

    def walk(node: Mapping[str, Any], depth: int) -> None:
        detail = [node["Node Type"]]
        if "Relation Name" in node:
            detail.append(f"on {node['Relation Name']}")
        if "Index Name" in node:
            detail.append(f"using {node['Index Name']}")
        for key in ("Index Cond", "Recheck Cond", "Filter", "Join Filter", "Hash Cond"):
            if key in node:
                detail.append(f"{key}: {node[key]}")
        lines.append("  " * depth + " ".join(detail))
        for child in node.get("Plans", ()):
            walk(child, depth + 1)

    for top in explained:
        walk(top["Plan"], 0)
    return lines


# ---------------------------------------------------------------------------
# MongoDB-wire explain
# ---------------------------------------------------------------------------


def _stages(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        if "stage" in value:
            yield value
        for child in value.values():
            yield from _stages(child)
    elif isinstance(value, list):
        for child in value:
            yield from _stages(child)


def winning_plans(reply: Mapping[str, Any]) -> list[Any]:
    """The winning plans of an explain reply (an aggregation's are under its stages)."""
    return list(_find_key(reply, "winningPlan"))


def _find_key(value: Any, key: str) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for k, child in value.items():
            if k == key:
                yield child
            else:
                yield from _find_key(child, key)
    elif isinstance(value, list):
        for child in value:
            yield from _find_key(child, key)


def collection_scans(reply: Mapping[str, Any]) -> list[str]:
    """The COLLSCAN stages of the winning plans of an explain reply (an aggregation's
    reply repeats its plan: once each)."""
    scans = [
        f"COLLSCAN {dict(stage)}"
        for plan in winning_plans(reply)
        for stage in _stages(plan)
        if stage["stage"] == "COLLSCAN"
    ]
    return list(dict.fromkeys(scans))


# ---------------------------------------------------------------------------
# The embedded document server's SQL
# ---------------------------------------------------------------------------

# NeoSQLite's own bookkeeping: schema look-ups, settings, its index catalogue.
_NEOSQLITE_HOUSEKEEPING = re.compile(
    r"sqlite_master|sqlite_schema|sqlite_temp_master|\bPRAGMA\b|\bpragma_|neosqlite_|_neosqlite",
    re.IGNORECASE,
)


@contextlib.contextmanager
def served_neosqlite() -> Iterator[None]:
    """NeoSQLite in this process as the embedded server's process runs it (its SQL fixes
    installed, see embedded_server_process.apply), as it was again afterwards."""
    import neosqlite.connection
    from neosqlite.collection import aggregation_cursor

    from datasources.documents import embedded_server_process

    cursor_class = aggregation_cursor.AggregationCursor
    module = neosqlite.connection.sqlite3
    estimate = vars(cursor_class).get("_estimate_result_size")
    embedded_server_process.apply()
    try:
        yield
    finally:
        neosqlite.connection.sqlite3 = module
        if estimate is not None:
            setattr(cursor_class, "_estimate_result_size", estimate)  # noqa: B010
        elif "_estimate_result_size" in vars(cursor_class):
            delattr(cursor_class, "_estimate_result_size")


@dataclass
class ReplayedCommand:
    command: Command
    # (SQL as SQLite ran it, its plan) for each statement that reads a collection.
    statements: list[tuple[str, list[str]]]
    reply: dict[str, Any]
    index_columns: dict[str, frozenset[str]]


class NeoSQLiteReplay:
    """NX-27017's command handler over the embedded server's files (the server must be
    stopped), running recorded commands and explaining the SQL they produce."""

    def __init__(self, documents_dir: Path) -> None:
        from nx_27017.handler import NeoSQLiteHandler

        self._handler = NeoSQLiteHandler(data_dir=str(documents_dir))

    def close(self) -> None:
        self._handler.close_all()

    def run(self, command: Command) -> ReplayedCommand:
        database = self._handler.get_database(command.database)
        connection: sqlite3.Connection = database.db
        executed: list[str] = []
        connection.set_trace_callback(executed.append)
        try:
            _, reply = self._handler.handle_command(
                {"request_id": 1, "sections": [("body", {**command.body, "$db": command.database})]}
            )
        finally:
            connection.set_trace_callback(None)
        statements = [
            (sql, sqlite_plan(connection, sql))
            for sql in dict.fromkeys(executed)
            if _is_query(sql) and not _NEOSQLITE_HOUSEKEEPING.search(sql)
        ]
        return ReplayedCommand(command, statements, reply, sqlite_index_columns(connection))
