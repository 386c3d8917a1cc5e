"""DefectDiffu over several products: what a default run records as departures from its sources, one model
over every product of a dataset (fitted once, sampled per product), eq. 12 zero-shot transfer, and the
transfer protocol refusing generators that cannot move defects onto another product's pictures."""

from __future__ import annotations

import numpy as np
import pytest

from bench import api
from bench.cli import main
from bench.core.errors import BenchError
from bench.core.specs import GeneratorSpec, TaskRef
from bench.runner import check_transfer, resolve
from bench.spec import RunSpec
from generators.defectdiffu import DefectDiffu
from generators.defectdiffu.config import GOOD
from generators.synthesize import fitted_state, synthesize

SMOKE = {"profile": "smoke", "steps": 4, "device": "cpu"}


@pytest.fixture
def spies(monkeypatch):
    """Every training's products and words, and every sampling's product and defect words, as the real code ran them."""
    from generators.defectdiffu import sampling, training

    seen = {"trained": [], "sampled": []}
    real_train, real_denoise = training.train_dit, sampling.denoise

    def train_dit(directory, model, data, *args, **kwargs):
        seen["trained"].append(set(zip(data.products, data.words)))
        return real_train(directory, model, data, *args, **kwargs)

    def denoise(model, vae, bank, guidance, reading, steps, defects, product, *args, **kwargs):
        seen["sampled"].append((product, tuple(defects)))
        return real_denoise(model, vae, bank, guidance, reading, steps, defects, product, *args, **kwargs)

    monkeypatch.setattr(training, "train_dit", train_dit)
    monkeypatch.setattr(sampling, "denoise", denoise)
    return seen


def test_the_default_profile_records_every_departure_from_its_sources():
    from tests.helpers.toy_task import toy_task

    pool, split = toy_task()
    assert DefectDiffu(device="cpu").deviations(pool.subset(split.train)) == (
        "per-product model", "64 px", "DiT 128 wide, 2+2+2 blocks, patch 4", "random-init DiT", "tiny fitted VAE",
        "tiny random text encoder", "2000 epochs, batch 8, lr 0.001", "weight decay 0", "50 steps", "empty mask below grey 0",
    )
    released = DefectDiffu(profile="toy", reading="released", names="original", device="cpu").deviations(pool.subset(split.train))
    assert "shuffled batches" in released and "50 steps" not in released and "original defect names" not in released


def test_one_model_over_every_product_fits_once_and_samples_each_product(spies):
    generator = GeneratorSpec.of("defectdiffu", **SMOKE, training="cross-product")
    runs = {c: resolve(RunSpec(generator=generator, ratio=0.2, category=c, schedule="smoke")) for c in ("wood", "fabric")}
    products = {TaskRef("toy", c, "ds-5shot") for c in ("wood", "fabric", "metal")}
    for run in runs.values():
        assert set(run.cotrained) == products and {ref for ref, _ in run.sources} == products
    assert runs["wood"].fitting == runs["fabric"].fitting is not None, "executors see one fitting"
    assert runs["wood"].run_id != runs["fabric"].run_id

    sets = {}
    for category, run in runs.items():
        backend = DefectDiffu(**SMOKE, training="cross-product")
        backend.use_sources(dict(run.sources))
        sets[category] = (backend.shared_fitting(run.data.train, run.data.normals, 0),
                          synthesize(generator, run.data.train, run.data.normals, 3, 0, sources=dict(run.sources))[0])
    assert sets["wood"][0] == sets["fabric"][0] != "", "both products' runs wait on one lock"
    assert len(spies["trained"]) == 1, "one training for the dataset"
    trained = spies["trained"][0]
    assert {p for p, _ in trained} == {"wood", "fabric", "metal"} and ("metal", "scratch") in trained and ("fabric", GOOD) in trained
    assert fitted_state(sets["wood"][1]) == fitted_state(sets["fabric"][1]), "both sets come from the same networks"
    assert [product for product, _ in spies["sampled"]] == ["wood", "fabric"], "each product samples under its own prompt"
    assert spies["sampled"][1][1] == ("hole", "stain", "thread")
    for category, (_, pairs) in sets.items():
        assert set(np.unique(np.stack([pairs.mask(i) for i in pairs.ids]))) <= set(pairs.classes), category

    alone = DefectDiffu(**SMOKE, training="cross-product")
    with pytest.raises(BenchError, match="training=cross-product learns every product of the dataset"):
        alone.fit(runs["wood"].data.train, runs["wood"].data.normals, 0)


def test_transfer_runs_eq_12_target_prompt_with_source_defects(spies, isolated_dirs):
    spec = RunSpec(generator=GeneratorSpec.of("defectdiffu", **SMOKE), ratio=0.2, category="fabric", split="zero-shot",
                   source="toy/wood", class_map="crack=thread", synthetic_only=True, schedule="smoke")
    outcome = api.run(spec, records=isolated_dirs / "results" / "runs", progress=False)
    record = outcome.record
    assert record["generator"]["resolved"]["transfer"].startswith("eq. 12")
    (trained,) = spies["trained"]
    assert {w for p, w in trained if p == "fabric"} == {GOOD}, "the target is learned from its normals alone"
    assert {w for p, w in trained if p == "wood"} == {"crack", "stain", "hole", GOOD}, "the source with its normals"
    (sampled,) = spies["sampled"]
    assert sampled == ("fabric", ("crack", "stain", "hole")), "eq. 12: c_T with the source's c_d"
    masks = record["generator"]["masks"]
    assert masks["pairs"] == record["data"]["n_synthetic"] == 3 and masks["share"] == 0.5


def test_transfer_refuses_a_whole_image_generator_before_any_work(capsys, isolated_dirs):
    args = ["protocol", "transfer", "--sources", "toy/wood", "--categories", "fabric", "--class-map", "crack=thread",
            "--seeds", "0", "--schedule", "smoke", "--device", "cpu", "--generators"]
    for generator in ("ddpm", "defectdiffu(reading=released)"):
        assert main([*args, generator]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and "cannot move defects onto another product's pictures" in err and "\n" not in err
    assert not (isolated_dirs / "cache" / "data").exists(), "no data loaded, nothing trained"
    for able in ("copy-paste", "poisson", "hmi", "dcdganc", "defectdiffu"):
        check_transfer(GeneratorSpec(able))
