"""Executors in other processes: packed local processes and Ray tasks give the inline records (a session
fixture, tests/conftest.py); the sweep command on packed processes; the packing benchmark. Apart from
test_executors.py so that two test workers share the executors' minutes."""

from __future__ import annotations

import pytest

from bench.executors.base import ExecutorOptions
from bench.executors.ray_tasks import import_ray
from bench.protocols.execute import make_executor
from tests.helpers.executors import check_grid


@pytest.mark.slow
def test_local_processes_give_the_inline_records(tmp_path, inline_records):
    check_grid(tmp_path, make_executor("local", ExecutorOptions(jobs=2, threads=1)), inline_records)


@pytest.fixture
def local_ray():
    """A local Ray started by the test, CPU only; the executor joins it rather than starting its own."""
    ray = import_ray()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_tasks_give_the_inline_records(tmp_path, inline_records, local_ray):
    check_grid(tmp_path, make_executor("ray", ExecutorOptions(threads=1)), inline_records)


@pytest.mark.slow
def test_sweep_runs_its_grid_on_packed_processes(tmp_path, capsys):
    from bench.cli import main

    grid_file = tmp_path / "grid.yaml"
    grid_file.write_text("protocol: synthetic-ratio\nsegmenters: [segformer]\nratios: [0]\nseeds: [0, 1]\nschedule: smoke\n")
    assert main(["sweep", str(grid_file), "--executor", "local", "--jobs", "2", "--threads", "1"]) == 0
    assert "2 run(s) done" in capsys.readouterr().out
    assert main(["sweep", str(grid_file), "--executor", "local"]) == 0
    assert "0 run(s) done, 2 skipped" in capsys.readouterr().out


@pytest.mark.slow
def test_grid_benchmark_measures_sequential_and_packed(tmp_path):
    from bench.perf.grid import benchmark, markdown

    result = benchmark("segformer", runs=1, pairs=3, size=32, work=tmp_path, with_ray=False)
    grid = result["grid"]
    assert set(grid["seconds"]) == {"sequential", "packed"} and all(s > 0 for s in grid["seconds"].values())
    assert result["loading"]["uncached_s"] > 0 and result["loading"]["cached_s"] > 0
    assert result["device_type"] == "cpu" and result["cores"] >= 1
    assert f"packed / sequential throughput: **{grid['packed_over_sequential']:.2f}x**" in markdown(result)
