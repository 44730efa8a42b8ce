"""Memory under a flood of distinct documents: the server's resident set after 100
distinct queries and after 100,000, each parsed, validated, planned and executed once
in-process (production schema, embedded datastores in a temporary DATA_DIR).

The document cache (`schema.document_checks`) keeps at most 2,000 documents and the
plans live only as long as their documents, so the second figure must stay within
100 MB of the first.

    .venv/bin/python bench/document_memory.py            # 100,000 documents
    .venv/bin/python bench/document_memory.py --count 20000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datasources.stores import open_datastores_for  # noqa: E402
from resolvers.context import new_context  # noqa: E402
from schema import build_schema  # noqa: E402
from schema.admission import begin_admission  # noqa: E402
from settings import load_settings  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def document(i: int) -> str:
    """A distinct, valid query: the number shows up as an alias, an argument and a
    fragment name, so neither the text nor the plan repeats."""
    return (
        f'query Q{i} {{ a{i}: posts(first: {i % 5 + 1}, search: "w{i}") {{ '
        f"edges {{ node {{ ...F{i} }} }} }} }} "
        f"fragment F{i} on Post {{ id t{i}: title tags author {{ handle }} }}"
    )


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="agora-memory-") as folder:
        settings = load_settings(
            app_env="development",
            data_dir=Path(folder),
            database_url=f"sqlite+aiosqlite:///{folder}/agora.db",
            mongodb_url=None,
            redis_url=None,
            jwt_secret=secrets.token_urlsafe(48),
            rate_limit_per_address=10**9,
            cost_budget_points=10**12,
        )
        stores = await open_datastores_for(settings)
        schema = build_schema(production=True)
        try:
            started = time.perf_counter()
            marks = {100, *range(10_000, count, 10_000), count}
            for i in range(count):
                context = new_context(settings, stores, f"m{i}")
                begin_admission()
                result = await schema.execute(document(i), context_value=context)
                assert not result.errors, result.errors
                if i + 1 in marks:
                    gc.collect()
                    print(
                        f"after {i + 1:>7,} distinct documents: RSS {rss_mb():7.1f} MB "
                        f"({time.perf_counter() - started:.0f} s)",
                        flush=True,
                    )
        finally:
            await stores.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().count))
