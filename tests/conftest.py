"""Shared fixtures: every test gets its own cache and results folders, so tests never see each other's state."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


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

