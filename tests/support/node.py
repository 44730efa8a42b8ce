"""Node.js and the scripts of tests/js (npm clients: graphql-ws, Apollo Client, graphql-http).

Needs Node.js 20+ and `npm ci` in tests/js (the `node` fixture skips without them locally
and fails with CI=true).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.servers import ServerUnavailable

REPO = Path(__file__).resolve().parents[2]
JS_DIR = REPO / "tests" / "js"
NODE_TIMEOUT = 30.0
# The npm packages the scripts in tests/js import.
NODE_PACKAGES = ("@apollo/client", "rxjs", "graphql", "graphql-http", "graphql-ws")


def find_node() -> str:
    """The Node.js binary, once tests/js has its npm packages."""
    binary = shutil.which("node")
    if binary is None:
        raise ServerUnavailable("node not found; install Node.js 20+ (Debian package nodejs)")
    missing = [
        name
        for name in NODE_PACKAGES
        if not (JS_DIR / "node_modules" / name / "package.json").is_file()
    ]
    if missing:
        raise ServerUnavailable(
            f"tests/js lacks the npm packages {', '.join(missing)}: "
            "run `(cd tests/js && npm ci --no-audit --no-fund)`"
        )
    return binary


@dataclass
class NodeRun:
    returncode: int
    stdout: str
    stderr: str

    def output(self) -> dict[str, Any]:
        """The JSON the script printed; fails the test with everything it said otherwise."""
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError:
            pytest.fail(
                f"node exited with {self.returncode} without JSON output\n"
                f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}"
            )

    def describe(self) -> str:
        return f"exit code {self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


async def run_node(node: str, script: Path, *args: str, timeout: float = NODE_TIMEOUT) -> NodeRun:
    """Runs a script in tests/js without blocking the event loop (the apps run in it)."""
    process = await asyncio.create_subprocess_exec(
        node,
        str(script),
        *args,
        cwd=JS_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"{script.name} {' '.join(args)} took longer than {timeout} s")
    return NodeRun(process.returncode or 0, stdout.decode(errors="replace"), stderr.decode())
