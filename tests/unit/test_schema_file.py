"""schema.graphql is the API as the code defines it, so a change to the API shows up in
review as a change to that file. Regenerate it with `agora schema > schema.graphql`."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from schema import schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_file_matches_the_code() -> None:
    kept = SCHEMA_FILE.read_text()
    built = schema_sdl()
    diff = "".join(
        difflib.unified_diff(
            kept.splitlines(keepends=True),
            built.splitlines(keepends=True),
            "schema.graphql",
            "schema built from the code",
        )
    )
    assert not diff, (
        "schema.graphql differs from the code's schema; if the change is intended, run "
        f"`agora schema > schema.graphql` and commit it:\n{diff}"
    )


def test_agora_schema_prints_the_sdl(capsys: pytest.CaptureFixture[str]) -> None:
    from cli import main

    assert main(["schema"]) == 0
    assert capsys.readouterr().out == schema_sdl()
