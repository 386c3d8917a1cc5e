"""Shared fixtures: every test gets its own cache and results folders, so tests never see each other's state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bench.core.pairset import Pair


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv("BENCH_WEIGHTS", raising=False)
    return tmp_path


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Tests train tiny networks: on a 2-core CPU, intra-op threads cost far more than they bring."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_pair(pair_id: str, size: int = 16, class_id: int = 1, seed: int = 0, group: str = "scratch") -> Pair:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    mask = np.zeros((size, size), np.uint8)
    if class_id:
        mask[2:6, 3:9] = class_id
    return Pair(pair_id, image, mask, group)
