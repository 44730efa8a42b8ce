"""How long the document checks take on hostile documents (fresh cache, best of 3).

The documents are those of tests/test_protection.py. Before the checks were made
linear, the 920-byte fan-out document took 21 s of validation.

    .venv/bin/python bench/document_checks.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from schema import build_schema  # noqa: E402
from schema.document_checks import DocumentChecks  # noqa: E402
from test_protection import HOSTILE  # noqa: E402


def main() -> None:
    schema = build_schema(production=True)
    for name, document in HOSTILE.items():
        best = float("inf")
        for _ in range(3):
            checks = DocumentChecks(schema._schema, hide_suggestions=True)
            started = time.perf_counter()
            checked = checks.check(document)
            best = min(best, time.perf_counter() - started)
        code = checked.errors[0].extensions["code"] if checked.errors else "accepted"
        print(f"{name:28} {len(document):6} bytes  {best * 1000:6.1f} ms  {code}")


if __name__ == "__main__":
    main()
