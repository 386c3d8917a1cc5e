"""Executors: packing policy, retry-once, and the same records from inline, local processes and Ray."""

from __future__ import annotations

import numpy as np
import pytest

from bench.core.specs import GeneratorSpec
from bench.executors.base import ATTEMPTS, ExecutorOptions, RunTask
from bench.executors.packing import CUDA_CONTEXT_BYTES, Admission, memory_key, peaks_from_records
from bench.executors.ray_tasks import RayExecutor, import_ray
from bench.protocols.execute import make_executor, run_specs
from bench.records import RecordStore
from bench.runner import resolve
from bench.spec import RunSpec
from tests.helpers.releases import save

GiB = 2**30
SMOKE = dict(segmenter="bisenetv2", dataset="toy", category="wood", schedule="smoke", device="cpu")


def grid(tmp_path):
    """Two real runs and one whose imported masks name no class the task has, which shows only when the generator
    fits, so its task raises in the worker (a missing folder, too few pairs, pairs of another size or an import
    that overlaps the test split fail the grid before any run)."""
    tool = tmp_path / "bad-tool"
    if not tool.is_dir():
        for i in range(15):  # the 15 pairs ratio 1 asks for on toy/wood/ds-5shot
            save(tool / "images" / f"{i:02d}.png", np.full((64, 64, 3), i, np.uint8))
            save(tool / "masks" / f"{i:02d}.png", np.full((64, 64), 9, np.uint8))
    broken = GeneratorSpec.of("import:generic", path=str(tool))
    return [
        RunSpec(ratio=0.0, seed=0, **SMOKE),
        RunSpec(generator=GeneratorSpec("copy-paste"), ratio=1.0, seed=0, **SMOKE),
        RunSpec(generator=broken, ratio=1.0, seed=0, **SMOKE),
    ]


def comparable(record: dict) -> dict:
    """What a run computes, without when, where and how long."""
    return {k: record[k] for k in ("run_id", "spec", "data", "metrics")} | {"loss_last": record["segmenter"]["loss_last"]}


@pytest.fixture(scope="module")
def inline_records(tmp_path_factory):
    root = tmp_path_factory.mktemp("inline")
    mp = pytest.MonkeyPatch()
    mp.setenv("BENCH_CACHE", str(root / "cache"))
    try:
        store = RecordStore(root / "runs")
        outcome = run_specs(grid(root)[:2], store, progress=False)
    finally:
        mp.undo()
    return {o.record["run_id"]: comparable(o.record) for o in outcome.outcomes}


def test_cpu_runs_are_bounded_by_slots():
    admission = Admission(slots=2)
    key = ("bisenetv2",)
    assert admission.admits(key, [])
    assert admission.admits(key, [key])
    assert not admission.admits(key, [key, key])


def test_gpu_runs_pack_by_measured_peak_and_unmeasured_runs_start_alone():
    small, big, unknown = ("small",), ("big",), ("unknown",)
    peaks = {small: 2 * GiB, big: 30 * GiB}
    admission = Admission(slots=16, gpu_budget_bytes=20 * GiB, peaks=peaks)
    per_small = 2 * GiB + CUDA_CONTEXT_BYTES
    fitting = 20 * GiB // per_small
    assert admission.admits(small, [small] * (fitting - 1))
    assert not admission.admits(small, [small] * fitting)
    assert admission.admits(big, []), "a run always starts on an idle device"
    assert not admission.admits(small, [big])
    assert admission.admits(unknown, []) and not admission.admits(unknown, [small])
    assert not admission.admits(small, [unknown]), "nothing joins a run whose peak is not known yet"
    admission.learn(unknown, {"resources": {"peak_gpu_reserved_bytes": GiB}})
    assert admission.admits(small, [unknown])


def test_peaks_come_from_existing_records():
    spec = RunSpec(**{**SMOKE, "device": "cuda"})
    records = [
        {"spec": spec.to_dict(), "resources": {"peak_gpu_reserved_bytes": 3 * GiB}},
        {"spec": spec.to_dict(), "resources": {"peak_gpu_reserved_bytes": 5 * GiB}},
        {"spec": RunSpec(**SMOKE).to_dict(), "resources": {"peak_process_rss_bytes": 10}},
    ]
    assert peaks_from_records(records) == {memory_key(spec): 5 * GiB}


def test_ray_asks_for_a_gpu_share_sized_from_the_measured_peak():
    spec = RunSpec(**{**SMOKE, "device": "cuda"})
    task = RunTask(resolve(spec))
    measured = RayExecutor(ExecutorOptions(device="cuda", peaks={memory_key(spec): 8 * GiB}))
    assert measured.gpu_fraction(task, 80 * GiB) == pytest.approx(0.11)  # (8 + 0.59) / 80, rounded up
    assert RayExecutor(ExecutorOptions(device="cuda")).gpu_fraction(task, 80 * GiB) == 1.0
    assert RayExecutor(ExecutorOptions()).gpu_fraction(task, None) == 0.0


def _check_grid(tmp_path, executor, inline_records):
    store = RecordStore(tmp_path / "runs")
    outcome = run_specs(grid(tmp_path), store, progress=False, executor=executor)
    assert {o.record["run_id"]: comparable(o.record) for o in outcome.outcomes} == inline_records
    assert {r["run_id"] for r in store} == set(inline_records), "finished runs land in the store"
    (failure,) = outcome.failures
    assert failure.task.spec.generator.name == "import:generic" and failure.attempts == ATTEMPTS
    assert "carry no class" in failure.error and "bad-tool" in failure.error and "\n" not in failure.error

    again = run_specs(grid(tmp_path)[:2], store, progress=False, executor=executor)
    assert again.skipped == 2 and again.done == 0


def test_inline_executor_retries_once_and_goes_on(tmp_path, inline_records):
    _check_grid(tmp_path, make_executor("inline", ExecutorOptions()), inline_records)


@pytest.mark.slow
def test_local_processes_give_the_inline_records(tmp_path, inline_records):
    _check_grid(tmp_path, make_executor("local", ExecutorOptions(jobs=2, threads=1)), inline_records)


@pytest.fixture
def local_ray():
    """A local Ray started by the test, CPU only; the executor joins it rather than starting its own."""
    ray = import_ray()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_tasks_give_the_inline_records(tmp_path, inline_records, local_ray):
    _check_grid(tmp_path, make_executor("ray", ExecutorOptions(threads=1)), inline_records)


def test_address_without_ray_is_one_clear_error(capsys):
    from bench.cli import main

    assert main(["protocol", "synthetic-ratio", "--executor", "local", "--address", "head:6379"]) == 2
    assert "--address is for --executor ray" in capsys.readouterr().err


@pytest.mark.slow
def test_sweep_runs_its_grid_on_packed_processes(tmp_path, capsys):
    from bench.cli import main

    grid_file = tmp_path / "grid.yaml"
    grid_file.write_text("protocol: synthetic-ratio\nsegmenters: [bisenetv2]\nratios: [0]\nseeds: [0, 1]\nschedule: smoke\n")
    assert main(["sweep", str(grid_file), "--executor", "local", "--jobs", "2", "--threads", "1"]) == 0
    assert "2 run(s) done" in capsys.readouterr().out
    assert main(["sweep", str(grid_file), "--executor", "local"]) == 0
    assert "0 run(s) done, 2 skipped" in capsys.readouterr().out


@pytest.mark.slow
def test_grid_benchmark_measures_sequential_and_packed(tmp_path):
    from bench.perf.grid import benchmark, markdown

    result = benchmark("bisenetv2", runs=1, pairs=3, size=32, work=tmp_path, with_ray=False)
    grid = result["grid"]
    assert set(grid["seconds"]) == {"sequential", "packed"} and all(s > 0 for s in grid["seconds"].values())
    assert result["loading"]["uncached_s"] > 0 and result["loading"]["cached_s"] > 0
    assert result["device_type"] == "cpu" and result["cores"] >= 1
    assert f"packed / sequential throughput: **{grid['packed_over_sequential']:.2f}x**" in markdown(result)


def test_an_interrupted_grid_keeps_finished_runs_and_resumes(tmp_path, inline_records):
    from bench.executors.inline import InlineExecutor

    class InterruptedAfterOne(InlineExecutor):
        """The inline executor, with Ctrl-C arriving once the first run has finished."""

        def run(self, tasks, progress):
            yield next(super().run(tasks, progress))
            raise KeyboardInterrupt

    store = RecordStore(tmp_path / "runs")
    specs = grid(tmp_path)[:2]
    with pytest.raises(KeyboardInterrupt):
        run_specs(specs, store, progress=False, executor=InterruptedAfterOne(ExecutorOptions()))
    (kept,) = list(store)
    resumed = run_specs(specs, store, progress=False)
    assert resumed.skipped == 1 and resumed.done == 1
    assert {o.record["run_id"] for o in resumed.outcomes} == set(inline_records)
    assert kept["run_id"] in inline_records


def test_inline_runs_leave_the_callers_thread_count_alone(tmp_path):
    import torch

    before = torch.get_num_threads()
    run_specs(grid(tmp_path)[2:], RecordStore(tmp_path / "runs"), progress=False,
              executor=make_executor("inline", ExecutorOptions(threads=before + 1)))
    assert torch.get_num_threads() == before


def _task(spec: RunSpec, fitting=None) -> RunTask:
    """A task for scheduling decisions only: its run carries the spec and fitting key, no data."""
    from types import SimpleNamespace

    return RunTask(SimpleNamespace(spec=spec, run_id=f"{spec.generator}-{spec.category}-{spec.seed}", fitting=fitting))


def test_runs_start_cell_major_so_an_interrupted_grid_leaves_whole_cells():
    specs = [RunSpec(generator=GeneratorSpec(g), ratio=1.0, seed=s, **SMOKE) for s in (1, 0) for g in ("defectgen", "perlin")]
    ordered = make_executor("local", ExecutorOptions()).order([_task(s) for s in specs])
    assert [(str(t.spec.generator), t.spec.seed) for t in ordered] == [
        ("defectgen", 0), ("defectgen", 1), ("perlin", 0), ("perlin", 1)]
    seed_major = RayExecutor(ExecutorOptions()).order([_task(s) for s in specs])  # Ray queues all at once
    assert [t.spec.seed for t in seed_major] == [0, 0, 1, 1]


def test_a_slot_skips_runs_waiting_on_a_fitting_under_way():
    from bench.executors.local import startable

    fitting = ("defectgen", "wood")
    shared = [_task(RunSpec(generator=GeneratorSpec("defectgen"), ratio=1.0, seed=s, **SMOKE), fitting) for s in range(3)]
    other = _task(RunSpec(generator=GeneratorSpec("perlin"), ratio=1.0, seed=0, **SMOKE))
    two = Admission(slots=2)
    assert startable([*shared, other], [], set(), two) == [shared[0], other]  # not the second seed of the fitting
    assert startable(shared[1:], [shared[0]], set(), two) == []  # the slot stays free rather than wait on the lock
    assert startable(shared[1:], [shared[0]], {fitting}, two) == [shared[1]]  # fitted and cached: seeds go in parallel
    assert startable([*shared[1:], other], [], set(), two) == [shared[1], other]  # nobody fits it now: one takes it up


def test_a_run_shares_a_fitting_only_with_a_generator_seed_and_a_learned_generator():
    def fitting(**kw):
        spec = RunSpec(**(SMOKE | dict(generator=GeneratorSpec("defectgen"), ratio=1.0, generator_seed=0) | kw))
        return resolve(spec).fitting

    assert fitting(seed=0) == fitting(seed=1) is not None
    assert fitting(seed=0) != fitting(category="fabric")
    assert fitting(generator_seed=None) is None  # each seed trains its own
    assert fitting(generator=GeneratorSpec("perlin")) is None  # nothing trained
    assert fitting(ratio=0.0) is None  # the real-only baseline samples nothing
