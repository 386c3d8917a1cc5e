"""Executors: packing policy, retry-once, and the same records from the inline executor (in other processes:
test_executors_processes.py; the inline records are a session fixture, tests/conftest.py)."""

from __future__ import annotations

import pytest

from bench.core.specs import GeneratorSpec
from bench.executors.base import ExecutorOptions, RunTask
from bench.executors.packing import CUDA_CONTEXT_BYTES, Admission, memory_key, peaks_from_records
from bench.executors.ray_tasks import RayExecutor
from bench.protocols.execute import make_executor, run_specs
from bench.records import RecordStore
from bench.runner import resolve
from bench.spec import RunSpec
from tests.helpers.executors import SMOKE, check_grid, executor_grid

GiB = 2**30


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


def test_inline_executor_retries_once_and_goes_on(tmp_path, inline_records):
    check_grid(tmp_path, make_executor("inline", ExecutorOptions()), inline_records)


def test_address_without_ray_is_one_clear_error(capsys):
    from bench.cli import main

    assert main(["protocol", "synthetic-ratio", "--executor", "local", "--address", "head:6379"]) == 2
    assert "--address is for --executor ray" in capsys.readouterr().err


def test_an_interrupted_grid_keeps_finished_runs_and_resumes(tmp_path, inline_records):
    from bench.executors.inline import InlineExecutor

    class InterruptedAfterOne(InlineExecutor):
        """The inline executor, with Ctrl-C arriving once the first run has finished."""

        def run(self, tasks, progress):
            yield next(super().run(tasks, progress))
            raise KeyboardInterrupt

    store = RecordStore(tmp_path / "runs")
    specs = executor_grid(tmp_path)[:2]
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
    run_specs(executor_grid(tmp_path)[2:], RecordStore(tmp_path / "runs"), progress=False,
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
