"""The `agora` command run as an operator runs it: a child process with its own
environment, and `agora serve` started, waited for and stopped like a service."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
AGORA = [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())"]
# Variables of the developer's shell that would change what these commands do.
CONFIGURATION = {"APP_ENV", "DATABASE_URL", "MONGODB_URL", "REDIS_URL", "HOST", "PORT"}
STARTUP_TIMEOUT = 45.0


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    base = {name: value for name, value in os.environ.items() if name not in CONFIGURATION}
    return {**base, "DATA_DIR": str(data_dir), **extra}


def agora(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AGORA, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def agora_serving(env: dict[str, str], log_path: Path) -> Iterator[tuple[str, int]]:
    """`agora serve` on a free port, ready (GET /readyz answers 200); yields its URL and
    pid, then stops it with SIGTERM as a process manager does. Its stdout and stderr go
    to `log_path`."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*AGORA, "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                assert process.poll() is None, log_path.read_text()
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            yield url, process.pid
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
