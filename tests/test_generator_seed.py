"""A generator fitted once per task (``generator_seed``): runs of several seeds share its fitting, sample with
their own seeds, keep the run ids of runs fitted at their own seed, and wait for a fitting in progress."""

from __future__ import annotations

import threading
import time

import pytest

from bench.core.errors import BenchError
from bench.core.specs import GeneratorSpec
from bench.protocols.base import Grid
from bench.spec import NO_GENERATOR, RunSpec
from generators import build
from generators.synthesize import fit_lock, synthesize

COPY_PASTE = GeneratorSpec("copy-paste")


@pytest.fixture()
def task():
    from tests.helpers.toy_task import toy_task

    pool, split = toy_task()
    return pool.subset(split.train), pool.subset(split.normal_train)


def test_the_default_keeps_every_run_id_and_a_fixed_one_is_its_own_run():
    spec = RunSpec(generator=COPY_PASTE, ratio=1.0, seed=3)
    assert "generator_seed" not in spec.identity()
    fixed = RunSpec(generator=COPY_PASTE, ratio=1.0, seed=3, generator_seed=0)
    assert fixed.identity()["generator_seed"] == 0 and fixed.run_id("m") != spec.run_id("m")


def test_the_real_only_baseline_has_no_generator_seed():
    baseline = RunSpec(generator=GeneratorSpec("defectgen"), ratio=0.0, seed=2, generator_seed=0).normalized()
    assert baseline == RunSpec(generator=NO_GENERATOR, seed=2)


@pytest.mark.parametrize("value", [-1, 1.5, True])
def test_generator_seeds_are_whole_numbers(value):
    with pytest.raises(BenchError, match="--generator-seed must be a whole number >= 0"):
        RunSpec(generator=COPY_PASTE, ratio=1.0, generator_seed=value)


def test_a_grid_key_sets_it_on_every_run_and_refuses_bad_values():
    grid = Grid.from_mapping({"generators": "copy-paste", "seeds": "0,1", "ratios": "0,1", "generator_seed": 0}, "g.yaml")
    specs = grid.sweep("ratio", grid.ratios, grid.generators)
    assert {s.generator_seed for s in specs} == {0}
    assert {s.normalized().generator_seed for s in specs if s.ratio == 0} == {None}
    with pytest.raises(BenchError, match="grid key 'generator_seed' in g.yaml has a value out of range: -1"):
        Grid.from_mapping({"generator_seed": -1}, "g.yaml")
    with pytest.raises(BenchError, match="grid key 'generator_seed' in g.yaml has a bad value 'x'"):
        Grid.from_mapping({"generator_seed": "x"}, "g.yaml")


def test_the_generator_fits_with_the_fixed_seed_and_samples_with_the_runs(task, monkeypatch):
    from generators.copy_paste import CopyPaste

    fitted, sampled = [], []
    fit, sample = CopyPaste.fit, CopyPaste.sample
    monkeypatch.setattr(CopyPaste, "fit", lambda self, train, normals, seed: (fitted.append(seed), fit(self, train, normals, seed))[1])
    monkeypatch.setattr(CopyPaste, "sample", lambda self, n, seed: (sampled.append(seed), sample(self, n, seed))[1])
    train, normals = task
    once_1, _ = synthesize(COPY_PASTE, train, normals, 4, seed=1, fit_seed=0)
    once_2, _ = synthesize(COPY_PASTE, train, normals, 4, seed=2, fit_seed=0)
    assert (fitted, sampled) == ([0, 0], [1, 2])
    own, hit = synthesize(COPY_PASTE, train, normals, 4, seed=1)
    assert not hit and own.root != once_1.root != once_2.root, "a set fitted at another seed is cached apart"
    at_own, hit = synthesize(COPY_PASTE, train, normals, 4, seed=1, fit_seed=1)
    assert hit and at_own.root == own.root, "fitting at the run's own seed is the ordinary run"


def test_a_second_fitting_of_the_same_data_waits_for_the_first(task):
    train, normals = task
    generator = build(COPY_PASTE)
    entered = []
    with fit_lock(COPY_PASTE, generator, train, normals, 0):
        other = threading.Thread(target=lambda: fit_lock_enter(entered, generator, train, normals, 0))
        elsewhere = threading.Thread(target=lambda: fit_lock_enter(entered, generator, train, normals, 1))
        other.start(), elsewhere.start()
        elsewhere.join(10)
        time.sleep(0.3)
        assert entered == [1], "another fitting seed does not wait; the same one does"
    other.join(10)
    assert entered == [1, 0]


def fit_lock_enter(entered: list, generator, train, normals, seed: int) -> None:
    with fit_lock(COPY_PASTE, generator, train, normals, seed):
        entered.append(seed)


def test_the_label_says_the_generator_was_fitted_once():
    from bench.report.frames import fitting, generator_label

    assert generator_label("defectgen", {"steps": 50}, deviations=fitting(0)) == "defectgen(steps=50) [fitted once, seed 0]"
    assert fitting(None) == ()
