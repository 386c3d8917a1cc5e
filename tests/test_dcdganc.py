"""DCDGANc: content extraction, networks, smoke training, class control, blending and an end-to-end run."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from bench.core.errors import BenchError
from bench.core.pairset import Pair, PairSet, write_pairset
from bench.core.specs import GeneratorSpec, TaskRef
from generators import GENERATORS, build
from generators.dcdganc.config import PROFILES, LossWeights, class_constant
from generators.dcdganc.contents import cut_contents, sample_crops
from generators.dcdganc.networks import DefectGenerator
from generators.dcdganc.segment import content_mask, watershed_mask
from generators.dcdganc.training import ADVERSARIAL, CHECKPOINT, FINAL, train
from generators.dcdganc.transfer import SOURCE, parse_class_map, target_classes
from tests.helpers.determinism import assert_same_picture

CLASSES = {0: "background", 1: "spot", 2: "scratch"}
SIZE = 32


def _surface(rng: np.random.Generator) -> np.ndarray:
    """A mid-grey textured product surface."""
    return (110 + rng.normal(0, 8, (SIZE, SIZE, 3))).clip(0, 255).astype(np.uint8)


def _defect_pair(index: int) -> Pair:
    rng = np.random.default_rng(index)
    image, mask = _surface(rng), np.zeros((SIZE, SIZE), np.uint8)
    y, x = rng.integers(4, SIZE - 12, 2)
    if index % 2:  # class 1: a bright round spot
        yy, xx = np.mgrid[:SIZE, :SIZE]
        spot = (yy - y - 4) ** 2 + (xx - x - 4) ** 2 <= 12
        image[spot], mask[spot] = (230, 220, 90), 1
    else:  # class 2: a dark straight scratch
        image[y : y + 2, x : x + 10], mask[y : y + 2, x : x + 10] = (40, 30, 30), 2
    return Pair(f"defect_{index:02d}", image, mask, "spot" if index % 2 else "scratch")



@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A smoke-profile DCDGANc fitted on eight tiny defect pairs, with one normal image as the only background."""
    root = tmp_path_factory.mktemp("dcdganc")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCH_CACHE", str(root / "cache"))
        train_set = write_pairset(root / "train", [_defect_pair(i) for i in range(8)], CLASSES, {"test": "dcdganc"})
        normal = Pair("normal", _surface(np.random.default_rng(99)), np.zeros((SIZE, SIZE), np.uint8), "good")
        normals = write_pairset(root / "normals", [normal], CLASSES, {"test": "dcdganc"})
        generator = build(GeneratorSpec.of("dcdganc", profile="smoke", device="cpu"))
        generator.fit(train_set, normals, seed=0)
        yield generator, train_set, normals, root / "cache"


def test_registered_and_light():
    cls = GENERATORS.get("dcdganc")
    assert cls.kind == "learned" and cls.needs_training
    assert cls.describe()["params"]["profile"] == "paper"


def test_bad_parameters_are_one_line_errors():
    for params in ({"profile": "huge"}, {"crop": 10}, {"alpha": 2}, {"interpolate_to": "spot"}, {"source": "toy"}, {"position": "a,b"},
                   {"loss": "hinge"}, {"contents": "tiles"}, {"raw_mask": "otsu"}, {"class_counts": "hole=0"},
                   {"class_counts": "hole"}, {"class_counts": "hole=3", "defect_class": "hole"}):
        with pytest.raises(BenchError) as info:
            build(GeneratorSpec.of("dcdganc", **params))
        assert "\n" not in str(info.value)


def test_contents_are_defects_on_black_centred_in_the_crop():
    pair = _defect_pair(1)
    (content,) = cut_contents([pair], {1: 0, 2: 1}, crop=16)
    assert content.label == 0 and content.image.shape == (16, 16, 3)
    inside = content.image.max(axis=2) > 0
    assert inside.sum() == (pair.mask == 1).sum()  # the whole spot, nothing of the surface
    assert np.all(content.image[inside] == (230, 220, 90))
    ys, xs = np.nonzero(inside)
    assert abs((ys.min() + ys.max()) / 2 - 7.5) <= 1 and abs((xs.min() + xs.max()) / 2 - 7.5) <= 1

    big = Pair("big", np.full((SIZE, SIZE, 3), 200, np.uint8), np.ones((SIZE, SIZE), np.uint8))
    (scaled,) = cut_contents([big], {1: 0}, crop=16)
    assert scaled.image.min() > 0, "a defect larger than the crop is scaled down to fill it, not cut"
    assert cut_contents([pair], {2: 0}, crop=16) == []  # classes outside the index are left out


def test_crops_are_native_scale_windows_around_each_classes_defects():
    pairs = [_defect_pair(i) for i in range(6)]
    crops = sample_crops(pairs, {1: 0, 2: 1}, crop=16, per_class=50, seed=3)
    assert [c.label for c in crops] == [0] * 50 + [1] * 50
    def stacked(contents):
        return np.stack([c.image for c in contents])

    assert np.array_equal(stacked(crops), stacked(sample_crops(pairs, {1: 0, 2: 1}, crop=16, per_class=50, seed=3)))  # seeded
    assert not np.array_equal(stacked(crops), stacked(sample_crops(pairs, {1: 0, 2: 1}, crop=16, per_class=50, seed=4)))
    by_id = {p.id: p for p in pairs}
    for content in crops:
        shown = content.image.max(axis=2) > 0
        assert shown.any() and content.image.shape == (16, 16, 3)
        # native scale: every shown pixel is a real pixel of its pair's defect, never resampled
        colours = {tuple(c) for c in content.image[shown]}
        real = by_id[content.source]
        assert colours <= {tuple(c) for c in real.image[real.mask == (1 if content.label == 0 else 2)]}
    # windows sit at random offsets: the defect is not always centred
    centres = {tuple(np.argwhere(c.image.max(axis=2) > 0).mean(axis=0).round()) for c in crops[:50]}
    assert len(centres) > 10
    assert sample_crops(pairs, {3: 0}, crop=16, per_class=5, seed=0) == []  # a class without regions gives nothing


def test_watershed_mask_finds_the_same_defect_on_black():
    content = np.zeros((16, 16, 3), np.uint8)
    content[3:12, 4:10] = (90, 80, 70)
    content[3, 4:10] = (20, 18, 16)  # a dim rim between the sure background and the sure defect joins the defect
    content[0, 15] = 8  # faint noise on the background stays background
    expected = np.zeros((16, 16), bool)
    expected[3:12, 4:10] = True
    assert np.array_equal(watershed_mask(content), expected)
    assert not watershed_mask(np.zeros((8, 8, 3), np.uint8)).any()


def test_log_loss_is_equation_6_and_wasserstein_its_named_option():
    real, fake_r, fake_s = torch.tensor([0.3, -1.2]), torch.tensor([0.5, 2.0]), torch.tensor([-0.7, 0.1])
    d = torch.sigmoid
    eq6 = 2 * torch.log(d(real)).mean() + torch.log(1 - d(fake_r)).mean() + torch.log(1 - d(fake_s)).mean()
    critic, generator = ADVERSARIAL["log"]
    torch.testing.assert_close(critic(real, (fake_r, fake_s), 2.0), -eq6)  # the critic maximizes eq. (6)
    torch.testing.assert_close(generator((fake_r, fake_s)), -(torch.log(d(fake_r)).mean() + torch.log(d(fake_s)).mean()))
    w_critic, w_generator = ADVERSARIAL["wasserstein"]
    torch.testing.assert_close(w_critic(real, (fake_r, fake_s), 2.0), -2 * real.mean() + fake_r.mean() + fake_s.mean())
    torch.testing.assert_close(w_generator((fake_r, fake_s)), -(fake_r.mean() + fake_s.mean()))


def test_defaults_follow_the_paper_and_settings_say_so():
    settings = build(GeneratorSpec.of("dcdganc")).settings()
    assert settings["loss"]["adversarial"] == "log" and settings["contents"]["mode"] == "crops"
    assert settings["contents"]["per_class"] == 1000 and settings["crop"] == 256 and settings["contents"]["scale"] == "native"
    # 500 passes over about 1 000 contents of each of 5 classes at batch 20
    assert settings["training"]["iterations"] == 500 * 5 * 1000 // 20 and settings["training"]["batch_size"] == 20
    assert settings["raw_mask"]["method"] == "threshold"
    assert build(GeneratorSpec.of("dcdganc", loss="wasserstein", raw_mask="watershed")).settings()["raw_mask"]["method"] == "watershed"
    from bench.runner import effective_spec
    from bench.spec import RunSpec

    spec = effective_spec(RunSpec(generator=GeneratorSpec("dcdganc"), ratio=1.0, schedule="short"))
    assert dict(spec.generator.params)["profile"] == "toy"


def test_default_profiles_name_every_departure_from_the_paper(tmp_path):
    """The paper profile (the default) and the toy one `bench run` trains: the raw mask the paper does not use, and
    the budget: the paper's 500 'iterations' as read, against the release's 400 epochs, or the toy's own."""
    from tests.helpers.pairs import pair_set

    train = pair_set(tmp_path / "train", {"spot": 3, "scratch": 3})
    budget = ("125,000 steps at batch 20: the paper's 500 'iterations' read as epochs over 5 classes of about 1,000 contents "
              "(release: 400 epochs)")
    assert build(GeneratorSpec("dcdganc")).deviations(train) == ("raw mask by threshold (paper: watershed)", budget)
    assert build(GeneratorSpec.of("dcdganc", raw_mask="watershed", grayscale=True)).deviations(train) == (budget,)
    assert build(GeneratorSpec.of("dcdganc", profile="toy")).deviations(train) == (
        "raw mask by threshold (paper: watershed)",
        "toy profile: 32 px contents, 200 per class, its own networks, 1,200 steps at batch 8 "
        "(paper: 256 px, about 1,000 per class, 500 epochs at batch 20)")
    assert build(GeneratorSpec.of("dcdganc", raw_mask="watershed", crop=128, loss="wasserstein", contents="regions",
                                  band=3)).deviations(train)[1:] == (
        "contents at 128 px (paper profile: 256)", "wasserstein adversarial loss (paper: eq. 6, log)",
        "one content per defect region, scaled to fit (paper: constructed native-scale crops)", "blending band 3 px (paper: 5)")


def test_content_mask_separates_dark_defects_from_the_black_background():
    content = np.zeros((16, 16, 3), np.uint8)
    content[3:12, 4:10] = (30, 25, 20)  # a dark hole, still above pure black
    content[6:8, 6:8] = 0  # a black pocket inside the defect is part of it
    content[0, 15] = 200  # a speck
    mask = content_mask(content)
    expected = np.zeros((16, 16), bool)
    expected[3:12, 4:10] = True
    assert np.array_equal(mask, expected)


def test_class_constant_map_follows_equation_1():
    assert [class_constant(n, 4) for n in range(4)] == [-1.0, -0.5, 0.0, 0.5]
    net = DefectGenerator(PROFILES.get("smoke"), 16, num_classes=4)
    one_hot = torch.eye(4)[[2]]
    assert torch.all(net.constant_map(one_hot) == 0.0)
    halfway = 0.5 * torch.eye(4)[[1]] + 0.5 * torch.eye(4)[[3]]
    assert torch.allclose(net.constant_map(halfway), torch.tensor(0.0))
    assert net(torch.zeros(1, net.latent_dim), one_hot).shape == (1, 3, 16, 16)


def test_smoke_training_losses_are_finite_and_the_generator_learns(fitted):
    generator, *_ = fitted
    history = generator._trained.history
    assert len(history) == PROFILES.get("smoke").iterations
    assert all(math.isfinite(v) for step in history for v in step.values())
    assert {"d", "g_adv", "pixel", "kl", "latent", "gp"} <= set(history[0])
    assert history[0]["g_adv"] != history[-1]["g_adv"]
    assert history[0]["pixel"] != history[-1]["pixel"]


def test_training_is_cached_by_data_and_seed(fitted, monkeypatch):
    generator, train_set, normals, cache = fitted
    monkeypatch.setenv("BENCH_CACHE", str(cache))
    (model,) = list((cache / "models" / "dcdganc").iterdir())
    assert (model / FINAL).is_file() and (model / CHECKPOINT).is_file()
    again = build(GeneratorSpec.of("dcdganc", profile="smoke", device="cpu"))
    again.fit(train_set, normals, seed=0)
    assert again._trained.history == generator._trained.history
    for a, b in zip(again._trained.generator.parameters(), generator._trained.generator.parameters()):
        assert torch.equal(a, b)
    assert len(list((cache / "models" / "dcdganc").iterdir())) == 1


@pytest.mark.parametrize("loss", ["log", "wasserstein"])
def test_resumed_training_matches_an_uninterrupted_run(tmp_path, loss):
    contents = cut_contents([_defect_pair(i) for i in range(4)], {1: 0, 2: 1}, crop=16)
    smoke = PROFILES.get("smoke")
    full, half = replace(smoke, iterations=4, checkpoint_every=2), replace(smoke, iterations=2, checkpoint_every=2)
    cpu, weights = torch.device("cpu"), LossWeights()
    straight = train(contents, 2, full, 16, weights, 5, cpu, tmp_path / "straight", progress=False, loss=loss)
    train(contents, 2, half, 16, weights, 5, cpu, tmp_path / "resumed", progress=False, loss=loss)
    (tmp_path / "resumed" / FINAL).unlink()  # as if the run had stopped right after its step-2 checkpoint
    resumed = train(contents, 2, full, 16, weights, 5, cpu, tmp_path / "resumed", progress=False, loss=loss)
    assert resumed.history == straight.history
    for a, b in zip(resumed.generator.parameters(), straight.generator.parameters()):
        assert torch.equal(a, b)


def test_noise_diversifies_and_class_controls_the_content(fitted):
    generator, *_ = fitted
    spot, scratch = np.eye(2, dtype=np.float32)
    a, b = generator.contents(spot, [1, 2])
    assert not np.array_equal(a, b), "different noise, same class: different contents"
    (c,) = generator.contents(scratch, [1])
    assert not np.array_equal(a, c), "same noise, other class: a different content"
    # a pure function of the noise seed: alone or in a batch of two, the same content within the contract's tolerance
    assert_same_picture(generator.contents(spot, [1])[0], a)


def _refit(fitted, monkeypatch, **params):
    """Another parameter set over the same trained networks (a model cache hit: sampling options are not in its key)."""
    _, train_set, normals, cache = fitted
    monkeypatch.setenv("BENCH_CACHE", str(cache))
    generator = build(GeneratorSpec.of("dcdganc", profile="smoke", device="cpu", **params))
    generator.fit(train_set, normals, seed=0)
    return generator


def test_class_interpolation_runs_from_c1_to_c2(fitted, monkeypatch):
    generator, *_ = fitted
    spot, scratch = generator.contents(np.eye(2, dtype=np.float32)[0], [7])[0], generator.contents(np.eye(2, dtype=np.float32)[1], [7])[0]
    rng = np.random.default_rng(0)
    outputs = {}
    for alpha in (0.0, 0.3, 1.0):
        g = _refit(fitted, monkeypatch, defect_class="spot", interpolate_to="scratch", alpha=alpha)
        weights = g.class_weights(rng)
        assert np.allclose(weights, [1 - alpha, alpha])
        outputs[alpha] = g.contents(weights, [7])[0]
    assert np.array_equal(outputs[0.0], spot) and np.array_equal(outputs[1.0], scratch)
    assert not np.array_equal(outputs[0.3], spot) and not np.array_equal(outputs[0.3], scratch)


def test_blended_pairs_keep_the_background_and_the_mask_covers_the_defect(fitted):
    generator, _, normals, _ = fitted
    background = normals.image("normal")
    pairs = list(generator.sample(4, seed=3))
    assert [p.id for p in pairs] == [f"dcdganc_3_{i:05d}" for i in range(4)]
    for pair in pairs:
        assert pair.image.shape == (SIZE, SIZE, 3) and pair.mask.shape == (SIZE, SIZE) and pair.mask.dtype == np.uint8
        outside = pair.mask == 0
        assert outside.any() and pair.mask.any()
        assert np.array_equal(pair.image[outside], background[outside]), "pixels outside the mask are the normal's"
        changed = np.any(pair.image != background, axis=2)
        assert changed.any() and np.all(pair.mask[changed] > 0), "every blended pixel is labelled"
        assert set(np.unique(pair.mask)) <= {0, 1, 2}
    again = list(generator.sample(4, seed=3))
    assert all(np.array_equal(p.image, q.image) and np.array_equal(p.mask, q.mask) for p, q in zip(pairs, again))


def test_class_counts_fix_each_class_share_and_grayscale_greys_the_content(fitted, monkeypatch):
    """Table 7's transfer sets: a given count per class (scaled to the pairs asked for, spread over the set), and
    Fig. 10's grayscale step before the raw mask is cut and the content blended."""
    from generators.dcdganc.generator import interleaved

    assert interleaved({"hole": 418, "scratch": 913}, 1331).count("hole") == 418
    assert interleaved({"hole": 1, "scratch": 3}, 8) == ["scratch", "hole", "scratch", "scratch"] * 2
    counted = _refit(fitted, monkeypatch, class_counts="spot=1+scratch=3", grayscale=True)
    classes = [int(pair.mask.max()) for pair in counted.sample(4, seed=0)]
    assert sorted(classes) == [1, 2, 2, 2]
    content, defect = counted.raw_content(np.eye(2, dtype=np.float32)[0], np.random.default_rng(0), "test")
    assert defect.any() and np.array_equal(content[..., 0], content[..., 1]) and np.array_equal(content[..., 1], content[..., 2])
    with pytest.raises(BenchError, match="class_counts names hole"):
        _refit(fitted, monkeypatch, class_counts="hole=2")


def test_chosen_class_and_position(fitted, monkeypatch):
    chosen = _refit(fitted, monkeypatch, defect_class="scratch", position="2,3")
    for pair in chosen.sample(2, seed=0):
        assert set(np.unique(pair.mask)) == {0, 2}
        ys, xs = np.nonzero(pair.mask)
        assert 2 <= ys.min() <= 8 and 3 <= xs.min() <= 9


def test_transfer_class_mapping():
    assert parse_class_map("hole=crack, scratch=rough") == parse_class_map("hole=crack+scratch=rough") == {"hole": "crack", "scratch": "rough"}
    assert target_classes({3: "hole"}, {0: "background", 1: "crack"}, {"hole": "crack", "color": "-"}, None) == [1]
    assert SOURCE.parse("toy/wood") == TaskRef("toy", "wood", "ds-5shot") and SOURCE.parse("toy/wood/half").split == "half"
    learned, task = {1: "crack", 3: "hole"}, {0: "background", 1: "hole", 2: "stain", 3: "thread"}
    assert target_classes(learned, task, {"crack": "thread"}, None) == [3, 1]
    with pytest.raises(BenchError, match="class_map"):
        target_classes(learned, task, {}, TaskRef("toy", "wood", "ds-5shot"))
    with pytest.raises(BenchError, match="not classes of the contents"):
        target_classes(learned, task, {"scratch": "hole"}, None)


def test_a_class_mapped_to_a_dash_is_not_learned(fitted, monkeypatch):
    """The paper transfers wood's hole and scratch only: a source class mapped to ``-`` gets no contents and no
    class of the GAN; a name that is no class of the contents is an error."""
    scratch_only = _refit(fitted, monkeypatch, class_map="spot=-")
    assert scratch_only._learned == {2: "scratch"} and scratch_only._labels == [2]
    assert {int(pair.mask.max()) for pair in scratch_only.sample(2, seed=0)} == {2}
    with pytest.raises(BenchError, match="class_map names stain"):
        _refit(fitted, monkeypatch, class_map="stain=-")


def test_run_end_to_end_and_transfer_between_products(capsys, isolated_dirs):
    from bench.cli import main
    from bench.records import RecordStore

    common = ["--dataset", "toy", "--category", "fabric", "--schedule", "smoke", "--device", "cpu"]
    params = ["--gen-param", "profile=smoke", "--gen-param", "source=toy/wood", "--gen-param", "class_map=crack=thread"]
    assert main(["run", "--generator", "dcdganc", "--ratio", "1.0", *params, *common]) == 0
    assert capsys.readouterr().out.startswith("done: ")
    (record,) = list(RecordStore(isolated_dirs / "results" / "runs"))
    assert record["spec"]["generator"]["name"] == "dcdganc"
    assert record["data"]["n_synthetic"] == record["data"]["n_train_real"] > 0
    (meta,) = list((isolated_dirs / "cache" / "generated").rglob("meta.json"))
    synthetic = PairSet.open(meta.parent)
    labels = set().union(*(np.unique(p.mask).tolist() for p in synthetic))
    assert labels <= {0, 1, 2, 3} and labels - {0}, "wood defects labelled in fabric's class map"


def test_generate_takes_the_schedule_like_run(capsys, isolated_dirs):
    import json

    from bench.cli import main

    out = isolated_dirs / "set"
    args = ["generate", "--generator", "dcdganc", "--n", "2", "--out", str(out), "--category", "wood", "--schedule", "smoke", "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["generator"]["params"]["profile"] == "smoke" and summary["n"] == 2
    from bench.runner import scheduled

    assert dict(scheduled(GeneratorSpec("dcdganc"), "short").params) == {"profile": "toy"}
    assert dict(scheduled(GeneratorSpec.of("dcdganc", profile="smoke"), "paper").params) == {"profile": "smoke"}
    assert scheduled(GeneratorSpec("copy-paste"), "paper") == GeneratorSpec("copy-paste")
