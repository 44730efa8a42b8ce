"""One log format: in production every line the server process writes, from start-up
to shutdown (uvicorn's, the app's, a failed request's), is one JSON object with a
timestamp, a level and a request id; request lines also say the operation, the status
and the duration. Development lines stay for people to read."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from support.commands import agora, agora_serving, environment


def serve_and_stop(env: dict[str, str], log_path: Path, exchange: Any) -> list[str]:
    """Runs `exchange(url)` against `agora serve`; every line the process wrote."""
    with agora_serving(env, log_path) as (url, _):
        exchange(url)
    return log_path.read_text().splitlines()


def post(url: str, body: bytes, request_id: str) -> httpx.Response:
    return httpx.post(
        f"{url}/graphql",
        content=body,
        headers={"content-type": "application/json", "x-request-id": request_id},
        timeout=30,
    )


def test_every_production_line_is_one_json_object(tmp_path: Path) -> None:
    env = environment(tmp_path / "data", APP_ENV="production", JWT_SECRET="j" * 40)
    migrated = agora("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr

    def exchange(url: str) -> None:
        query = b'{"query": "query FrontPage { posts(first: 2) { totalCount } }"}'
        assert post(url, query, "req-query-0001").status_code == 200
        invalid = post(url, b'{"query": "query Broken { nope }"}', "req-invalid-0002")
        assert invalid.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert post(url, b"{not json", "req-malformed-0003").status_code == 400
        # A fault: the posts table vanishes under the running server (a bug's stand-in).
        with sqlite3.connect(tmp_path / "data" / "agora.db") as database:
            database.execute("ALTER TABLE posts RENAME TO posts_gone")
        fault = post(url, query, "req-fault-0004").json()
        assert fault["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR", fault

    lines = serve_and_stop(env, tmp_path / "server.log", exchange)
    records = []
    for line in lines:
        record = json.loads(line)  # every line, or this fails naming it
        assert isinstance(record, dict), line
        assert {"timestamp", "level", "event", "request_id"} <= record.keys(), line
        records.append(record)
    events = [record["event"] for record in records]
    # start-up and shutdown, from uvicorn and from the app
    assert any(event.startswith("Started server process") for event in events), events
    assert "agora ready" in events and "agora stopped" in events, events
    assert any(event.startswith("Finished server process") for event in events), events

    requests = {
        record["request_id"]: record
        for record in records
        if record["event"] == "request" and record.get("path") == "/graphql"
    }
    query = requests["req-query-0001"]
    assert (query["operation_type"], query["operation_name"], query["status"]) == (
        "query",
        "FrontPage",
        200,
    )
    assert isinstance(query["duration_ms"], float) and query["duration_ms"] > 0
    assert requests["req-invalid-0002"]["operation_name"] == "Broken"
    assert requests["req-malformed-0003"]["status"] == 400
    assert "operation_name" not in requests["req-malformed-0003"]  # nothing was parsed
    assert query["sql"] >= 1 and query["mongo"] == 0  # the round trips it took
    # The fault's traceback is inside its one JSON line, not spread over many.
    (fault,) = [r for r in records if r["request_id"] == "req-fault-0004" and r["level"] == "error"]
    assert "Traceback" in fault["exception"] and "posts" in fault["exception"], fault
    assert requests["req-fault-0004"]["status"] == 200


def test_a_production_start_up_failure_is_one_json_line(tmp_path: Path) -> None:
    env = environment(tmp_path, APP_ENV="production", JWT_SECRET="j" * 40)
    result = agora("serve", env=env)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    record = json.loads(line)
    assert record["level"] == "error" and record["request_id"] is None
    assert "run `agora migrate` first" in record["event"]


def test_a_production_configuration_error_is_one_json_line(tmp_path: Path) -> None:
    env = environment(tmp_path, APP_ENV="production", JWT_SECRET="short")
    result = agora("serve", env=env)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert json.loads(line)["event"].startswith("agora: invalid configuration: JWT_SECRET")


def test_development_lines_are_for_people(tmp_path: Path) -> None:
    def exchange(url: str) -> None:
        post(url, b'{"query": "query Hello { __typename }"}', "req-dev-00000001")

    lines = serve_and_stop(environment(tmp_path / "data"), tmp_path / "server.log", exchange)
    request_lines = [line for line in lines if "req-dev-00000001" in line and "request" in line]
    assert request_lines, lines
    assert not request_lines[0].lstrip().startswith("{")
    for field in ("status=200", "operation_name=Hello", "duration_ms="):
        assert field in request_lines[0], request_lines[0]
