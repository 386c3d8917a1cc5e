"""Where bench keeps caches and results. Environment variables override the defaults; nothing else is global."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Normalized datasets, generated pair sets and trained generator states (``BENCH_CACHE``)."""
    return Path(os.environ.get("BENCH_CACHE") or Path.home() / ".cache" / "bench")


def results_dir() -> Path:
    """Run records, tables and plots (``BENCH_RESULTS``, default ./results)."""
    return Path(os.environ.get("BENCH_RESULTS") or "results")


def weights_dir() -> Path | None:
    """Local pretrained weights in torch hub layout (``BENCH_WEIGHTS``); never downloaded by bench."""
    value = os.environ.get("BENCH_WEIGHTS")
    return Path(value) if value else None
