"""Training, caching, resuming and sampling of the Defect-Gen denoisers on toy data, on CPU at smoke size."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from bench.core.errors import BenchError
from bench.core.pairset import check_pair
from bench.core.paths import cache_dir
from bench.core.specs import GeneratorSpec
from generators import build
from generators.defectgen.config import PROFILES, UNetShape
from generators.defectgen.diffusion import UPDATES, cosine_alpha_bars
from generators.defectgen.plan import large_only, plan
from generators.defectgen.sampling import run_plan, sample_generators
from generators.defectgen.training import CHECKPOINT, build_model, encode_pairs, load_checkpoint, train_denoiser
from generators.synthesize import synthesize
from tests.helpers.determinism import IMAGE_ATOL, LATENT_ATOL, assert_same_mask, assert_same_picture, mean_abs_difference
from tests.helpers.segmenters import perfect_segmenter

FAST = {"profile": "smoke", "sampler": "fast", "steps": 8}
TINY = UNetShape("guided", (8, 16))


def checkpoints():
    paths = (cache_dir() / "models" / "defectgen").glob(f"*/{CHECKPOINT}")
    return {p.parent.name.split("-")[0]: load_checkpoint(p.parent) for p in paths}


def test_smoke_training_lowers_the_loss_samples_valid_pairs_and_is_cached(toy_metal):
    _, train, normals = toy_metal
    generator = build(GeneratorSpec.of("defectgen", **FAST))
    generator.fit(train, normals, seed=0)
    trained = checkpoints()
    assert set(trained) == {"large", "small"}
    for role, checkpoint in trained.items():
        losses = checkpoint["losses"]
        assert checkpoint["step"] == len(losses) == PROFILES.get("smoke").iterations
        assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), f"{role} denoiser did not learn: {losses}"

    pairs = list(generator.sample(5, seed=1))
    assert [p.id for p in pairs] == [f"defectgen_1_{i:05d}" for i in range(5)]
    size = train.image(train.ids[0]).shape
    for pair in pairs:
        assert pair.image.shape == size and pair.mask.shape == size[:2]
        check_pair(pair.id, pair.image, pair.mask, train.classes)
    assert len({p.image.tobytes() for p in pairs}) == 5

    # fitting again with the same config, data and seed trains nothing; ddpm reuses the large denoiser
    mtimes = {p: p.stat().st_mtime_ns for p in (cache_dir() / "models" / "defectgen").glob(f"*/{CHECKPOINT}")}
    build(GeneratorSpec.of("defectgen", **FAST)).fit(train, normals, seed=0)
    build(GeneratorSpec.of("ddpm", **FAST)).fit(train, normals, seed=0)
    assert {p: p.stat().st_mtime_ns for p in (cache_dir() / "models" / "defectgen").glob(f"*/{CHECKPOINT}")} == mtimes


def test_the_paper_reading_fits_and_samples_over_the_defect_channels_only(toy_metal):
    """n_total = n_defect + 3: no background channel in training or sampling, valid pairs out."""
    _, train, normals = toy_metal
    generator = build(GeneratorSpec.of("ddpm", reading="paper", **FAST))
    generator.fit(train, normals, seed=0)
    assert generator.trained_modules()["large"].in_channels == 3 + len(train.defect_classes)
    for pair in generator.sample(2, seed=0):
        check_pair(pair.id, pair.image, pair.mask, train.classes)


def test_a_pair_depends_on_its_seed_and_index_only(toy_metal):
    """Batch composition changes only the last bits of the convolutions (CPU-dependent), never the pair:
    the same seed and index give the same picture within the determinism contract's tolerance."""
    _, train, normals = toy_metal
    generator = build(GeneratorSpec.of("ddpm", **FAST))
    generator.fit(train, normals, seed=0)
    four, two = list(generator.sample(4, seed=3)), list(generator.sample(2, seed=3))  # a batch of four, a batch of two
    for batched, alone in zip(four[:2], two):
        assert batched.id == alone.id
        assert_same_picture(batched.image, alone.image)
        assert_same_mask(batched.mask, alone.mask)
    other = list(generator.sample(2, seed=4))
    assert mean_abs_difference(other[0].image, two[0].image) > 2 * IMAGE_ATOL


def test_ancestral_noise_is_per_sample_too():
    """The full sampler draws fresh noise at every step; it must still come from each sample's own generator."""
    # the tables layout: the guided one starts with a zeroed output, which would predict x0 = 0 for any noise
    models = {"large": build_model(UNetShape("tables", (8, 16)), 5, seed=0).eval()}
    steps = plan(large_only(1000), stride=1)[-10:]  # the last ten steps of a full chain: 10 -> 0
    alpha_bars = cosine_alpha_bars(1000)
    shape = (5, 16, 16)

    def draws(n, seed):  # the random numbers themselves: bit-identical on every machine
        return torch.stack([torch.randn(shape, generator=g) for g in sample_generators(seed, range(n))])

    def run(n, seed):
        generators = sample_generators(seed, range(n))
        return run_plan(models, steps, alpha_bars, "x0", UPDATES["ancestral"], generators, shape, torch.device("cpu"), progress=False)

    assert torch.equal(draws(4, 3)[:2], draws(2, 3))
    four, two = run(4, 3), run(2, 3)
    torch.testing.assert_close(four[:2], two, rtol=0, atol=LATENT_ATOL)
    assert (run(2, 4) - two).abs().max() > 100 * LATENT_ATOL
    assert (four[0] - four[1]).abs().max() > 100 * LATENT_ATOL


@pytest.mark.parametrize("parameterization", ["x0", "eps"])
def test_resumed_training_continues_from_the_saved_step(toy_metal, tmp_path, parameterization):
    _, train, _ = toy_metal
    profile = replace(PROFILES.get("smoke"), resolution=16, batch_size=2, checkpoint_every=3)
    config = TINY
    data = encode_pairs(list(train), profile.resolution, train.num_classes, (0.0, 1.0))
    cpu = torch.device("cpu")

    straight, straight_losses = train_denoiser(tmp_path / "straight", config, profile, data, parameterization, 7, cpu, iterations=6)

    # a run stopped after its checkpoint at step 3; mark the saved losses to see that they are kept, not recomputed
    train_denoiser(tmp_path / "resumed", config, profile, data, parameterization, 7, cpu, iterations=3)
    saved = torch.load(tmp_path / "resumed" / CHECKPOINT, weights_only=False)
    assert saved["step"] == 3
    saved["losses"] = [-1.0, -2.0, -3.0]
    torch.save(saved, tmp_path / "resumed" / CHECKPOINT)
    resumed, resumed_losses = train_denoiser(tmp_path / "resumed", config, profile, data, parameterization, 7, cpu, iterations=6)

    assert resumed_losses[:3] == [-1.0, -2.0, -3.0] and resumed_losses[3:] == straight_losses[3:]
    final = load_checkpoint(tmp_path / "resumed")
    assert final["step"] == 6
    for name, tensor in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], tensor, rtol=0, atol=0, msg=name)
        # what training hands to sampling is the EMA of the weights, not the last weights
        torch.testing.assert_close(final["ema"][name], tensor, rtol=0, atol=0, msg=name)
    assert any(not torch.equal(final["model"][name], final["ema"][name]) for name in final["model"])
    # the released reading samples the raw weights (inference.py loads ckpt['model'])
    raw, _ = train_denoiser(tmp_path / "resumed", config, profile, data, parameterization, 7, cpu, iterations=6, weights="raw")
    for name, tensor in raw.state_dict().items():
        torch.testing.assert_close(tensor, final["model"][name], rtol=0, atol=0, msg=name)


def test_synthesize_writes_a_valid_pair_set(toy_metal):
    _, train, normals = toy_metal
    spec = GeneratorSpec.of("defectgen", u=200, mode="released", receptive_field="small", **FAST)
    generated, hit = synthesize(spec, train, normals, n=3, seed=0)
    assert not hit and len(generated) == 3 and generated.classes == train.classes
    generated.validate()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"profile": "huge"}, "unknown defectgen profile 'huge'"),
        ({"profile": "smoke", "batch_size": 0}, "batch_size"),
        ({"receptive_field": "tiny"}, "receptive_field='tiny' is out of range"),
        ({"u": 2000}, "u=2000"),
        ({"sampler": "ddim"}, "unknown defectgen sampler 'ddim'"),
        ({"reading": "folklore"}, "unknown defectgen reading 'folklore'"),
        ({"mode": "sideways"}, "unknown defectgen mode 'sideways'"),
    ],
)
def test_bad_parameters_are_one_line_user_errors(params, message):
    with pytest.raises(BenchError, match=message):
        build(GeneratorSpec.of("defectgen", **params))


@pytest.mark.parametrize("name", ["defectgen", "ddpm"])
def test_schedules_map_to_the_cpu_toy_profile_and_the_release(name):
    from bench.runner import effective_spec
    from bench.spec import RunSpec

    def profile(schedule):
        return dict(effective_spec(RunSpec(generator=GeneratorSpec(name), ratio=1.0, schedule=schedule)).generator.params)["profile"]

    assert (profile("short"), profile("paper"), profile("smoke")) == ("toy", "released", "smoke")


def test_settings_report_what_each_profile_and_reading_resolve():
    released = build(GeneratorSpec.of("defectgen", profile="released")).settings()
    assert released["reading"]["name"] == "released" and released["onehot"] == [0.0, 1.0]
    assert (released["sampling"]["update"], released["sampling"]["weights"]) == ("cold", "raw")
    assert released["denoisers"]["large"]["widths"] == (128, 128, 256, 256, 512, 512)
    assert released["denoisers"]["small"]["widths"] == (192, 384, 768)
    assert (released["training"]["iterations"], released["training"]["batch_size"]) == (150_001, 2)
    assert released["training"]["optimizer"].startswith("AdamW") and released["training"]["pictures_per_type"] == {"large": 5, "small": 50}
    assert released["hand_over"]["mode"] == "released" and released["receptive_field"]["name"] == "small"
    # inference.sh's --step_inference 400: the large model denoises T - u .. 0, the small one restarts at u
    assert released["hand_over"]["u"] == 400 and released["sampling"]["calls"] == {"large": 600, "small": 400}

    paper = build(GeneratorSpec.of("defectgen", profile="paper")).settings()
    assert paper["onehot"] == [0.0, 1.0] and not paper["reading"]["background"] and "1..max" in paper["in_channels"]
    assert paper["sampling"]["update"] == "ancestral" and paper["sampling"]["weights"] == "ema"
    assert paper["training"]["optimizer"].startswith("Adam,") and paper["training"]["pictures_per_type"] == {"large": "all", "small": "all"}
    assert paper["receptive_field"] == {"name": "medium", "downsamplings": 3, "fields": {"small": 2, "medium": 3, "large": 4}}
    assert paper["hand_over"]["u"] == 50 and paper["sampling"]["calls"] == {"large": 50, "small": 950}
    assert paper["denoisers"]["large"]["attention"] == () and not paper["denoisers"]["large"]["middle_block"]

    # a reading is independent of the profile: the paper reading on the released networks
    mixed = build(GeneratorSpec.of("defectgen", profile="released", reading="paper")).settings()
    assert mixed["reading"]["name"] == "paper" and mixed["denoisers"]["large"]["widths"][0] == 128

    ddpm = build(GeneratorSpec.of("ddpm", profile="toy", sampler="fast", steps=25)).settings()
    assert set(ddpm["denoisers"]) == {"large"} and ddpm["sampling"]["steps"] == 25 and ddpm["sampling"]["update"] == "ddim"
    assert ddpm["training"]["pictures_per_type"] == {"large": 5}


def test_each_denoiser_trains_on_the_first_pictures_of_every_type():
    from generators.defectgen.generator import first_per_type
    from tests.helpers.pairs import make_pair

    pairs = [make_pair(f"{g}_{i}", group=g) for g in ("crack", "hole") for i in range(7)]
    assert [p.id for p in first_per_type(pairs, 5)] == [f"{g}_{i}" for g in ("crack", "hole") for i in range(5)]
    assert first_per_type(pairs, 50) == first_per_type(pairs, None) == pairs


def test_default_profiles_name_every_departure_from_their_reading(tmp_path):
    """``bench run``'s toy profile and the constructor's released one against the release, the paper profile against
    the paper: nothing left on 256 px data with the release's 50 pictures per type (the paper's 5)."""
    from tests.helpers.pairs import pair_set

    toy_data = pair_set(tmp_path / "toy", {"crack": 5, "hole": 5}, size=64)
    release_data = pair_set(tmp_path / "release", {"crack": 50, "hole": 52}, size=256)
    paper_data = pair_set(tmp_path / "paper", {"crack": 5, "hole": 5}, size=256)

    assert build(GeneratorSpec("defectgen")).deviations(release_data) == ()
    assert build(GeneratorSpec("ddpm")).deviations(release_data) == ()
    assert build(GeneratorSpec.of("defectgen", profile="paper")).deviations(paper_data) == ()
    assert build(GeneratorSpec.of("ddpm", profile="paper")).deviations(paper_data) == ()
    assert build(GeneratorSpec("defectgen")).deviations(toy_data) == (
        "small denoiser on at most 5 pictures per type (release: 50)", "resized 256 px <-> 64x64")

    toy = ("toy profile: 64 px, its own denoisers, 400 iterations at batch 8, lr 0.002 "
           "(release: 256 px, 150,001 at batch 2, lr 0.0001)")
    assert build(GeneratorSpec.of("defectgen", profile="toy", sampler="fast", steps=50)).deviations(toy_data) == (
        toy, "fast sampler (DDIM at stride 20: 30 large + 20 small steps)", "small denoiser on at most 5 pictures per type (release: 50)")
    assert build(GeneratorSpec.of("ddpm", profile="toy", sampler="fast", steps=50)).deviations(toy_data) == (
        toy, "fast sampler (DDIM at stride 20: 50 large steps)")


def test_deviations_name_the_chain_the_batch_the_objective_and_the_resize(toy_metal):
    _, train, _ = toy_metal  # toy images are 64 px, five pictures per type
    deviations = build(GeneratorSpec.of("defectgen", profile="released", sampler="fast", steps=25, batch_size=4, u=50,
                                        parameterization="eps", receptive_field="medium")).deviations(train)
    assert deviations == ("training batch 4 (release: 2)", "u = 50 (release: 400)", "receptive field medium (release: small)",
                          "fast sampler (DDIM at stride 40: 24 large + 2 small steps)", "eps-prediction (release: x0)",
                          "small denoiser on at most 5 pictures per type (release: 50)", "resized 256 px <-> 64x64")
    # the paper: its hand-over readings (Table 12's numbers, its caption) are the paper's, the release's restart is not;
    # Table 12's large field has 6 DownSampleBlocks, deeper than the paper's own large model
    caption = build(GeneratorSpec.of("defectgen", profile="paper", mode="caption")).deviations(train)
    assert caption == ("resized 256 px <-> 64x64",)
    restart = build(GeneratorSpec.of("defectgen", profile="paper", mode="released", receptive_field="large")).deviations(train)
    assert restart[:3] == ("hand-over mode=released (paper: mode=paper)", "receptive field large (paper: medium)",
                           "large receptive field of 4 DownSampleBlocks (paper: 6)")

    from bench.report.frames import generator_label

    assert generator_label("ddpm", {"profile": "toy"}, "2", ["training batch 4"]) == "ddpm(profile=toy)@2 [training batch 4]"


def test_the_paper_reading_trains_with_adam_the_release_with_adamw(toy_metal, tmp_path):
    """The same start, data and batches: Adam's coupled weight decay and AdamW's decoupled one part ways."""
    _, train, _ = toy_metal
    profile = replace(PROFILES.get("smoke"), resolution=16, batch_size=2)
    data = encode_pairs(list(train), profile.resolution, train.num_classes, (0.0, 1.0))
    cpu = torch.device("cpu")
    runs = {name: train_denoiser(tmp_path / name, TINY, profile, data, "x0", 7, cpu, iterations=3, optimizer_name=name)[0]
            for name in ("adam", "adamw")}
    assert any(not torch.equal(a, b) for a, b in zip(runs["adam"].state_dict().values(), runs["adamw"].state_dict().values()))


def test_a_run_records_every_effective_setting(toy_metal, isolated_dirs, monkeypatch):
    import bench.runner as runner
    from bench import api
    from bench.spec import RunSpec

    monkeypatch.setattr(runner, "train_and_evaluate", perfect_segmenter)
    spec = RunSpec(generator=GeneratorSpec.of("defectgen", sampler="fast", steps=8), ratio=0.2, category="metal", schedule="smoke")
    record = api.run(spec, records=isolated_dirs / "runs", progress=False).record
    facts = record["generator"]
    assert facts["params"]["profile"] == "smoke" and facts["effective"]["u"] is None
    resolved = facts["resolved"]
    generator = build(GeneratorSpec.of("defectgen", profile="smoke", sampler="fast", steps=8))
    assert resolved["hand_over"]["u"] == 400
    assert resolved == {**generator.settings(), "deviations": list(generator.deviations(toy_metal.train))}
    assert "fast sampler (DDIM at stride 125: 5 large + 4 small steps)" in resolved["deviations"]
    for key in ("denoisers", "onehot", "training", "sampling", "hand_over", "receptive_field", "reading"):
        assert key in resolved
