"""The embedded document server: NX-27017 (MIT), a MongoDB wire-protocol server over SQLite,
run by embedded_server_process.py (which makes its reads use the indexes).

Started as a child process on a free loopback port when MONGODB_URL is unset,
with its data in DATA_DIR/documents so it survives restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import sys
from pathlib import Path

from logs import get_logger

log = get_logger(__name__)

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    # If the app is killed outright, the kernel ends the document server too.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _tail(path: Path, size: int = 2000) -> str:
    return path.read_text(errors="replace")[-size:] if path.exists() else ""


class EmbeddedDocumentServer:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir / "documents"
        self.port: int | None = None
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("embedded document server is not running")
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    async def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        log_path = self.data_dir / "server.log"
        with log_path.open("ab") as log_file:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "datasources.documents.embedded_server_process",
                "--data-dir",
                str(self.data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-file",
                str(log_path),
                "--pid-file",
                str(self.data_dir / "server.pid"),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        await self._wait_until_listening(log_path)
        log.info("embedded document server started", port=self.port, data_dir=str(self.data_dir))
        return self.url

    async def _wait_until_listening(self, log_path: Path) -> None:
        assert self._process is not None and self.port is not None
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            if self._process.returncode is not None:
                break
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return
        tail = await asyncio.to_thread(_tail, log_path)
        await self.stop()
        raise RuntimeError(f"embedded document server did not start; its log ends with:\n{tail}")

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("embedded document server did not stop; killing it")
            process.kill()
            await process.wait()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.data_dir / "server.pid")
