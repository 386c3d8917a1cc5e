"""Work the slow tests share across files: made once per test session by whichever test asks first, in a folder
every pytest-xdist worker of the session sees (the parent of each worker's base temp; with ``--dist loadfile`` a
session fixture is per worker), named by what it holds. A second asker, in this worker or another, waits on the
folder's lock and then reads what the first wrote; the folder appears whole or not at all (``atomic_dir``), so a
failed or interrupted build leaves nothing half made. Shared work is read only: a test that writes beside it
copies it into its own folder first."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path
from typing import Callable

import pytest

from bench.core.atomic import atomic_dir


def session_root(factory: pytest.TempPathFactory) -> Path:
    base = factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared"


def shared(factory: pytest.TempPathFactory, key: str, build: Callable[[Path], object]) -> Path:
    """The folder ``key``, filled by ``build(folder)`` the first time any test of the session asks for it."""
    folder = session_root(factory) / key
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{key}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not folder.is_dir():
                with atomic_dir(folder) as fresh:
                    build(fresh)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder


def copy_records(source: Path, target: Path) -> Path:
    """A test's own record folder, holding copies of the shared records of ``source``."""
    shutil.copytree(source, target, dirs_exist_ok=True)
    return target
