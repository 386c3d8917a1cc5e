"""A generator fitted once per task (``generator_seed``): runs of several seeds share its fitting, sample with
their own seeds, keep the run ids of runs fitted at their own seed, and wait for a fitting in progress."""

from __future__ import annotations

import threading
import time

import pytest

from bench.core.errors import BenchError
from bench.core.specs import GeneratorSpec
from bench.protocols import PROTOCOLS
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
    protocol = PROTOCOLS.get("synthetic-ratio")
    grid = protocol.grid({"generators": "copy-paste", "seeds": "0,1", "ratios": "0,1", "generator_seed": 0}, "g.yaml")
    specs = grid.sweep("ratio", grid.ratios, grid.generators)
    assert {s.generator_seed for s in specs} == {0}
    assert {s.normalized().generator_seed for s in specs if s.ratio == 0} == {None}
    with pytest.raises(BenchError, match="grid key 'generator_seed' in g.yaml has a value out of range: -1"):
        protocol.grid({"generator_seed": -1}, "g.yaml")
    with pytest.raises(BenchError, match="grid key 'generator_seed' in g.yaml has a bad value 'x'"):
        protocol.grid({"generator_seed": "x"}, "g.yaml")


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


def slow_digest(modules) -> str:
    """The digest the obvious way: every state-dict entry, sorted, as raw bytes through NumPy."""
    import hashlib

    import numpy as np

    h = hashlib.sha256()
    for name in sorted(modules):
        for key, value in sorted(modules[name].state_dict().items()):
            h.update(f"{name}.{key}:{value.dtype}:{tuple(value.shape)};".encode())
            h.update(np.ascontiguousarray(value.detach().numpy()).tobytes())
    return h.hexdigest()[:16]


def test_the_fitted_state_digest_names_exactly_one_fitting():
    import torch

    from generators.state import state_digest

    def net(seed):
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))

    a, b, other = net(0), net(0), net(1)
    assert state_digest({"unet": a}) == state_digest({"unet": b}) == slow_digest({"unet": a})
    assert state_digest({"unet": a}) != state_digest({"unet": other})
    with torch.no_grad():
        b[0].weight[0, 0, 0, 0] = torch.nextafter(b[0].weight[0, 0, 0, 0], torch.tensor(1.0))  # one bit
    assert state_digest({"unet": a}) != state_digest({"unet": b})
    assert state_digest({"unet": a}) != state_digest({"other": a}), "names count"
    assert state_digest({"half": a.to(torch.bfloat16)}) and state_digest({}) is None


def test_a_learned_generator_records_its_fitting_and_the_report_flags_a_refit(task, isolated_dirs):
    from bench import api
    from bench.records import RunRecord
    from bench.report.frames import records_frame
    from bench.report.tables import run_table
    from generators.synthesize import fitted_state

    train, normals = task
    dcdganc = GeneratorSpec.of("dcdganc", profile="smoke")
    first, _ = synthesize(dcdganc, train, normals, 2, seed=1, fit_seed=0)
    second, hit = synthesize(dcdganc, train, normals, 2, seed=2, fit_seed=0)
    assert not hit and fitted_state(first) == fitted_state(second) is not None, "one fitting, two sampling seeds"
    assert fitted_state(synthesize(COPY_PASTE, train, normals, 2, seed=1)[0]) is None, "nothing learned, no digest"

    outcomes = [api.run(RunSpec(generator=dcdganc, ratio=0.2, seed=s, generator_seed=0, schedule="smoke", segmenter="segformer"),
                        records=isolated_dirs / "results" / "runs", progress=False) for s in (0, 1, 2)]
    records = [o.record for o in outcomes]
    assert len({r["generator"]["fitted_state"] for r in records}) == 1, "three seeds, one fitting"
    table = run_table(records_frame(RunRecord.from_dict(r) for r in records))
    assert "fittings" not in table.caption + table.frame.to_string()

    records[2] = {**records[2], "generator": {**records[2]["generator"], "fitted_state": "0123456789abcdef"}}  # refitted elsewhere
    table = run_table(records_frame(RunRecord.from_dict(r) for r in records))
    assert "fitted once but its seeds come from 2 fittings" in table.frame.to_string()
    assert ("1 setting(s) labelled fitted once hold seeds from different fittings (dcdganc(profile=smoke)@2 [fitted once, seed 0; "
            "raw mask by threshold (paper: watershed); smoke profile: ") in table.caption
