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
    monkeypatch.setattr(ToyDataset, "categories", counting_calls(calls, "load", ToyDataset.categories))
    monkeypatch.setattr(splits_module, "compute_split", counting_calls(calls, "split", splits_module.compute_split))
    monkeypatch.setattr(runner, "check_spec", counting_calls(calls, "check", runner.check_spec))
    monkeypatch.setattr(RunSpec, "normalized", counting_calls(calls, "normalized", RunSpec.normalized))
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
    assert counted["normalized"] == len(specs), "each grid point made effective once"


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


@pytest.fixture
def constructions(monkeypatch):
    """Per generator name, how often a backend was constructed and its parameters validated through the
    registry: two backends registered for the test, the real copy-paste and import:generic under names of their
    own, count their constructions; the registry's check of declared parameters counts validations."""
    import generators.registry as registry
    from generators import GENERATORS
    from generators.copy_paste import CopyPaste
    from generators.imports.generic import GenericImport

    calls: Counter = Counter()

    def counted(base, name):
        def __init__(self, **params):
            calls[f"built {name}"] += 1
            base.__init__(self, **params)

        return type(base.__name__, (base,), {"name": name, "__init__": __init__})

    GENERATORS.names()  # discovery first, so the test's entries are not overwritten by it
    for base, name in ((CopyPaste, "counted-copy-paste"), (GenericImport, "import:counted")):
        monkeypatch.setitem(GENERATORS._entries, name, counted(base, name))
    check = registry.check_params

    def validating(owner, declared, values):
        calls[f"validated {owner.split(chr(39))[1]}"] += 1
        return check(owner, declared, values)

    monkeypatch.setattr(registry, "check_params", validating)
    monkeypatch.setattr(runner, "load_rules", counting_calls(calls, "rules", runner.load_rules))
    monkeypatch.setattr(runner, "train_and_evaluate", perfect_segmenter)
    return calls


def counting_calls(calls: Counter, key: str, function):
    def wrapper(*args, **kwargs):
        calls[key] += 1
        return function(*args, **kwargs)

    return wrapper


def test_a_run_builds_its_generator_once_and_validates_its_parameters_once(constructions, isolated_dirs):
    spec = RunSpec(generator=GeneratorSpec.of("counted-copy-paste", max_defects=2), ratio=0.5, category="metal", schedule="smoke")
    outcome = api.run(spec, records=isolated_dirs / "runs", progress=False)
    assert outcome.record["data"]["n_synthetic"] == 8 and outcome.record["generator"]["effective"] == {"max_defects": 2}
    assert dict(constructions) == {"built counted-copy-paste": 1, "validated counted-copy-paste": 1, "rules": 1}


def test_an_import_run_builds_its_generator_once(constructions, isolated_dirs):
    from tests.helpers.imports import tool_output

    tool = tool_output(isolated_dirs / "tool", n=8)
    spec = RunSpec(generator=GeneratorSpec.of("import:counted", path=str(tool), defect_class="scratch"), ratio=0.5, category="metal", schedule="smoke")
    outcome = api.run(spec, records=isolated_dirs / "runs", progress=False)
    assert outcome.record["data"]["import_training"] == {"trained_on": None, "known_from": "unknown"}
    assert outcome.record["data"]["n_synthetic"] == 8 and not outcome.record["generator"]["cache_hit"]
    assert dict(constructions) == {"built import:counted": 1, "validated import:counted": 1, "rules": 1}


def test_a_grid_builds_each_runs_generator_once(constructions, isolated_dirs):
    from bench.protocols.execute import run_specs

    specs = [RunSpec(generator=GeneratorSpec("counted-copy-paste"), ratio=r, category="metal", seed=s, schedule="smoke")
             for r in (0.0, 0.5) for s in (0, 1)]
    assert run_specs(specs, RecordStore(isolated_dirs / "runs"), progress=False).done == 4
    assert constructions["built counted-copy-paste"] == constructions["validated counted-copy-paste"] == 2, "ratio 0 builds none"
