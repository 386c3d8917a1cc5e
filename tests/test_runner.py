"""The runner resolves a spec once (effective spec, data, run id) and hands what it settled down whole."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

import bench.data.splits as splits_module
import bench.runner as runner
from bench import api
from bench.core.errors import BenchError
from bench.core.pairset import PairSet
from bench.core.specs import GeneratorSpec, TaskRef
from bench.data.adapters.toy import ToyDataset
from bench.records import RecordStore
from bench.runner import resolve
from bench.spec import RunSpec
from generators.synthesize import synthesize
from tests.helpers.segmenters import perfect_segmenter


@pytest.fixture
def counted(monkeypatch):
    """Counts of pool loads (adapter lookups of categories), splits, spec checks and normalizations."""
    calls: Counter = Counter()

    def counting(key, function):
        def wrapper(*args, **kwargs):
            calls[key] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(ToyDataset, "categories", counting("load", ToyDataset.categories))
    monkeypatch.setattr(splits_module, "compute_split", counting("split", splits_module.compute_split))
    monkeypatch.setattr(runner, "check_spec", counting("check", runner.check_spec))
    monkeypatch.setattr(RunSpec, "normalized", counting("normalized", RunSpec.normalized))
    monkeypatch.setattr(runner, "train_and_evaluate", perfect_segmenter)
    return calls


def test_one_run_loads_and_splits_its_pool_once(counted, isolated_dirs):
    store = RecordStore(isolated_dirs / "runs")
    spec = RunSpec(generator=GeneratorSpec("copy-paste"), ratio=0.5, category="metal", schedule="smoke")
    outcome = api.run(spec, records=store.root, progress=False)
    assert not outcome.skipped and outcome.record["data"]["n_synthetic"] == 8
    assert outcome.record["metrics"]["mIoU"] == 1.0, "the stand-in segmenter's predictions reach the record"
    assert dict(counted) == {"load": 1, "split": 1, "check": 1, "normalized": 1}

    counted.clear()
    again = api.run(spec, records=store.root, progress=False)
    assert again.skipped and again.record["run_id"] == outcome.record["run_id"]
    assert dict(counted) == {"load": 1, "split": 1, "check": 1, "normalized": 1}


def test_a_grid_loads_each_category_once(counted, isolated_dirs):
    from bench.protocols.execute import run_specs

    specs = [RunSpec(generator=GeneratorSpec("copy-paste"), ratio=r, category=c, seed=s, schedule="smoke")
             for c in ("wood", "metal") for r in (0.0, 0.5) for s in (0, 1)]
    outcome = run_specs(specs, RecordStore(isolated_dirs / "runs"), progress=False)
    assert outcome.done == 8
    assert counted["load"] == 2 and counted["split"] == 2 and counted["check"] == 8


def test_the_transfer_source_is_loaded_by_the_runner_and_handed_to_the_generator(isolated_dirs):
    spec = RunSpec(generator=GeneratorSpec.of("dcdganc", source="toy/wood"), ratio=1.0, category="fabric", schedule="smoke")
    run = resolve(spec)
    assert dict(run.spec.generator.params) == {"source": "toy/wood", "profile": "smoke"}
    ((task, pairs),) = run.sources
    assert task == TaskRef("toy", "wood", "ds-5shot") and set(pairs.classes.values()) == {"background", "crack", "stain", "hole"}
    assert len(pairs) == 15 and run.data.pool.root != pairs.root
    with pytest.raises(BenchError, match="learns from toy/wood/ds-5shot, which was not loaded"):
        synthesize(run.spec.generator, run.data.train, run.data.normals, 2, 0)


def test_a_worker_that_cannot_see_the_drivers_pool_resolves_the_spec_again(counted, tmp_path):
    """A Ray node without the driver's cache: the task's pool folder is not there, the worker imports the
    pool itself and must reach the same run id."""
    from bench.executors.base import RunTask, compute

    run = resolve(RunSpec(category="metal", schedule="smoke"))
    elsewhere = replace(run, data=replace(run.data, pool=PairSet(tmp_path / "not-on-this-node", run.data.pool.meta)))
    assert run.on_disk() and not elsewhere.on_disk()
    assert compute(RunTask(run))["run_id"] == run.run_id and counted["load"] == 1
    assert compute(RunTask(elsewhere))["run_id"] == run.run_id and counted["load"] == 2
