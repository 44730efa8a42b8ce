"""One Agora process at a time on a data folder.

The embedded datastores (the SQLite file and the document server's files in DATA_DIR)
are each owned by one process: a second server or a seed run beside a serving one
would corrupt them or fight over them. The owner holds an exclusive `flock` on
DATA_DIR/agora.lock, which the kernel releases when the process ends however it ends,
and writes its pid there so the refusal can name it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from settings import StartupFailure

LOCK_FILE = "agora.lock"


class DataFolderInUse(StartupFailure):
    pass


# Held locks of this process: folder -> (file descriptor, holders). The tests open
# several stores on one folder in one process; only other processes are refused.
_held: dict[Path, tuple[int, int]] = {}


def uses_data_folder(sqlalchemy_url: str, mongodb_url: str | None) -> bool:
    """Whether a process with these URLs keeps datastores in DATA_DIR (the SQLite file,
    the embedded document server), and so must be the only one there."""
    return mongodb_url is None or sqlalchemy_url.startswith("sqlite")


def hold_data_folder(data_dir: Path) -> None:
    folder = data_dir.resolve()
    if folder in _held:
        fd, holders = _held[folder]
        _held[folder] = (fd, holders + 1)
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise DataFolderInUse(
            f"the data folder {folder} is in use by another Agora process (pid {owner}); "
            "stop that process, or set DATA_DIR to another folder"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _held[folder] = (fd, 1)


def release_data_folder(data_dir: Path) -> None:
    folder = data_dir.resolve()
    if folder not in _held:
        return
    fd, holders = _held.pop(folder)
    if holders > 1:
        _held[folder] = (fd, holders - 1)
        return
    os.close(fd)  # closing the descriptor releases the lock
