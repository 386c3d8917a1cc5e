"""Atomic writes: a reader sees the old file or folder, or the complete new one, never a half-written one.

Temporary siblings are named ``.<name>.tmp-<host>-<pid>-<random>``: an interrupted writer cleans up after
itself, and what a killed one leaves behind is recognisably stale (its process is gone) and swept.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:16] or "host"
_TEMP = re.compile(r"^\..+\.(?:tmp|old)-(?:(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)-)?[0-9a-f]{8}$")
LEGACY_AGE_S = 24 * 3600  # temp names without an owner (older versions of bench) count as stale after a day


def _sibling(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{tag}-{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def is_stale(path: Path, now: float | None = None) -> bool:
    """A temporary sibling whose writer on this host has exited (other hosts' entries are left alone)."""
    match = _TEMP.match(path.name)
    if match is None:
        return False
    if match["pid"] is None:
        return (now or time.time()) - path.lstat().st_mtime > LEGACY_AGE_S
    return match["host"] == _HOST and not _alive(int(match["pid"]))


def sweep_stale(root: Path) -> list[Path]:
    """Remove stale temporary siblings below ``root``; pair-set folders (holding meta.json) are not entered."""
    removed: list[Path] = []
    if not Path(root).is_dir():
        return removed
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        for name in [*dirs, *files]:
            candidate = here / name
            if _TEMP.match(name) and is_stale(candidate):
                if candidate.is_dir() and not candidate.is_symlink():
                    shutil.rmtree(candidate, ignore_errors=True)
                else:
                    candidate.unlink(missing_ok=True)
                removed.append(candidate)
        dirs[:] = [d for d in dirs if not _TEMP.match(d) and not (here / d / "meta.json").is_file()]
    return removed


@contextmanager
def atomic_file(path: Path | str) -> Iterator[Path]:
    """Yield a temporary sibling path to write; it replaces ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path | str, text: str) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(text)


@contextmanager
def atomic_dir(path: Path | str) -> Iterator[Path]:
    """Yield a temporary sibling folder to fill; it replaces ``path`` (and any old folder) only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "tmp")
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        trash = _sibling(path, "old")
        os.replace(path, trash)
        os.replace(tmp, path)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, path)
