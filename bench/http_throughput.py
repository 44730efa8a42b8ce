"""HTTP throughput of this tree against another commit, side by side in one run.

Starts two production servers on the embedded defaults — this working tree and a
git worktree of `--ref` — seeds both with the same demo data, then alternates
closed-loop rounds (C concurrent clients posting one document for D seconds) on
each and prints requests per second and the ratio. The machine is shared and
noisy: read the ratio, not the absolute numbers.

    .venv/bin/python bench/http_throughput.py --ref HEAD~5 --rounds 2 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = {
    "typename": "{ __typename }",
    "wide 100": "{ posts(first: 100) { edges { node { id title body tags publishedAt } } } }",
    "deep 5": "{ posts(first: 5) { edges { node { title author { handle profile { bio } } "
    "commentCount reactions { kind count } comments(first: 3) { edges { node { body "
    "author { handle } } } } } } } }",
}
SECRET = "bench-secret-" + "x" * 40
LIFTED = {
    "RATE_LIMIT_PER_ADDRESS": "100000000",
    "COST_BUDGET_POINTS": "1000000000",
}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(tree: Path, data_dir: Path, seed: list[str]) -> Iterator[str]:
    env = {**os.environ, "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING", **LIFTED}
    python = sys.executable
    subprocess.run(
        [python, "-c", "import cli, sys; sys.exit(cli.main(sys.argv[1:]))", "seed", *seed],
        cwd=tree,
        env={**env, "APP_ENV": "development"},
        check=True,
        capture_output=True,
    )
    port = free_port()
    process = subprocess.Popen(
        [python, "-m", "uvicorn", "app:app", "--port", str(port), "--log-level", "warning"],
        cwd=tree,
        env={**env, "APP_ENV": "production", "JWT_SECRET": SECRET},
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        for _ in range(200):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url.replace("/graphql", "/healthz")).status_code == 200:
                    break
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


async def load(url: str, document: str, seconds: float, clients: int) -> tuple[float, int]:
    done = failed = 0
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=clients)) as http:
        for _ in range(10):
            await http.post(url, json={"query": document})
        deadline = time.perf_counter() + seconds

        async def client() -> None:
            nonlocal done, failed
            while time.perf_counter() < deadline:
                response = await http.post(url, json={"query": document})
                done += 1
                failed += response.status_code != 200 or "errors" in response.json()

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return done / (time.perf_counter() - started), failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="HEAD~1", help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", default="--users 200 --posts 1000 --comments 2000")
    args = parser.parse_args()
    seed = args.seed.split()
    with tempfile.TemporaryDirectory(prefix="agora-bench-http-") as scratch:
        base = Path(scratch)
        subprocess.run(
            ["git", "worktree", "add", "-q", "--detach", str(base / "ref"), args.ref],
            cwd=ROOT,
            check=True,
        )
        try:
            with (
                server(ROOT, base / "data-tree", seed) as tree_url,
                server(base / "ref", base / "data-ref", seed) as ref_url,
            ):
                for name, document in DOCUMENTS.items():
                    for round_ in range(1, args.rounds + 1):
                        ref, ref_failed = asyncio.run(
                            load(ref_url, document, args.seconds, args.clients)
                        )
                        tree, tree_failed = asyncio.run(
                            load(tree_url, document, args.seconds, args.clients)
                        )
                        print(
                            f"{name:10} round {round_}: {args.ref} {ref:7.0f} req/s  "
                            f"this tree {tree:7.0f} req/s  ratio {tree / ref:5.2f}"
                            + (
                                f"  (failed: {ref_failed}/{tree_failed})"
                                if ref_failed or tree_failed
                                else ""
                            )
                        )
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(base / "ref")], cwd=ROOT, check=False
            )


if __name__ == "__main__":
    main()
