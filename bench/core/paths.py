"""Where bench keeps caches and results, and the writability checks every output path passes before work starts.

Environment variables override the default folders; nothing else is global."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from bench.core.errors import BenchError


def cache_dir() -> Path:
    """Normalized datasets, generated pair sets and trained generator states (``BENCH_CACHE``)."""
    return Path(os.environ.get("BENCH_CACHE") or Path.home() / ".cache" / "bench")


@contextmanager
def cache_at(path: Path) -> Iterator[Path]:
    """``BENCH_CACHE`` pointed at ``path`` for the block, restored after: a timing that must not be served
    trained states from the cache (the efficiency protocol's training time) runs cold inside it."""
    before = os.environ.get("BENCH_CACHE")
    os.environ["BENCH_CACHE"] = str(path)
    try:
        yield path
    finally:
        if before is None:
            os.environ.pop("BENCH_CACHE", None)
        else:
            os.environ["BENCH_CACHE"] = before


def results_dir() -> Path:
    """Run records, tables and plots (``BENCH_RESULTS``, default ./results)."""
    return Path(os.environ.get("BENCH_RESULTS") or "results")


def weights_dir() -> Path | None:
    """Local pretrained weights in torch hub layout (``BENCH_WEIGHTS``); never downloaded by bench."""
    value = os.environ.get("BENCH_WEIGHTS")
    return Path(value) if value else None


def writable_dir(path: Path | str, option: str) -> Path:
    """``path`` as a folder bench can write into, probed before any work starts and left as it was found.

    ``option`` names the flag or key the path came from, so the error says what to change."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise BenchError(f"{option} {path} is a file, not a folder", "pass a folder (it is created if missing)")
    created = []
    folder = path
    while not folder.exists():
        created.append(folder)
        folder = folder.parent
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".bench-write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise BenchError(f"cannot write to {option} {path}: {exc.strerror or exc}", "choose a folder you can write to") from None
    finally:
        for made in created:  # innermost first: the probe leaves no folders behind
            if made.is_dir() and not any(made.iterdir()):
                made.rmdir()
    return path


def writable_file(path: Path | str, option: str) -> Path:
    """``path`` as a file bench can (re)write: not a folder, and its folder writable."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise BenchError(f"{option} {path} is a folder, not a file", "pass a file path")
    writable_dir(path.parent, f"the folder of {option}")
    return path
