"""Shared fixtures: every test gets its own cache and results folders, so tests never see each other's state;
what the slow tests share (tests/helpers/shared.py) is read only and made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.helpers.executors import comparable, executor_grid
from tests.helpers.shared import shared
from tests.helpers.toy_task import ToySets, toy_sets
from tests.helpers.weights import random_quality_weights


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


@pytest.fixture
def toy_metal(isolated_dirs) -> ToySets:
    """toy/metal/ds-5shot: its pool, training pairs and defect-free training pictures, in the test's own cache."""
    return toy_sets("metal")


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory) -> Path:
    """The quality metrics' weight files with random initialisation, made once per session."""
    return shared(tmp_path_factory, "quality-weights", random_quality_weights)


@pytest.fixture
def weights(random_weights, monkeypatch) -> Path:
    """``$BENCH_WEIGHTS`` at the random quality weights, for this test."""
    monkeypatch.setenv("BENCH_WEIGHTS", str(random_weights))
    return random_weights


@pytest.fixture(scope="session")
def inline_records(tmp_path_factory) -> dict:
    """The executors' grid (tests/helpers/executors.py) run inline in a cache of its own, once per session: what
    every executor must reproduce, run id -> what the run computed."""
    from bench.protocols.execute import run_specs
    from bench.records import RecordStore

    def run_inline(folder: Path) -> None:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("BENCH_CACHE", str(folder / "cache"))
            run_specs(executor_grid(folder)[:2], RecordStore(folder / "runs"), progress=False)

    folder = shared(tmp_path_factory, "executor-inline-records", run_inline)
    return {r["run_id"]: comparable(r) for r in RecordStore(folder / "runs")}
