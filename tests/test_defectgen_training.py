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
from bench.data.base import load_pool
from bench.data.splits import make_split
from generators import build
from generators.defectgen.config import PROFILES, small_unet
from generators.defectgen.diffusion import cosine_alpha_bars
from generators.defectgen.plan import large_only, plan
from generators.defectgen.sampling import run_plan, sample_generators
from generators.defectgen.training import CHECKPOINT, build_model, encode_pairs, load_checkpoint, train_denoiser
from generators.synthesize import synthesize
from tests.helpers.determinism import IMAGE_ATOL, LATENT_ATOL, assert_same_mask, assert_same_picture, mean_abs_difference

FAST = {"profile": "smoke", "sampler": "fast", "steps": 8}


@pytest.fixture(scope="module")
def task():
    pool = load_pool("toy", "metal")
    split = make_split(pool, "ds-5shot")
    return pool.subset(split.train), pool.subset(split.normal_train)


def checkpoints():
    paths = (cache_dir() / "models" / "defectgen").glob(f"*/{CHECKPOINT}")
    return {p.parent.name.split("-")[0]: load_checkpoint(p.parent) for p in paths}


def test_smoke_training_lowers_the_loss_samples_valid_pairs_and_is_cached(task):
    train, normals = task
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


def test_a_pair_depends_on_its_seed_and_index_only(task):
    """Batch composition changes only the last bits of the convolutions (CPU-dependent), never the pair:
    the same seed and index give the same picture within the determinism contract's tolerance."""
    train, normals = task
    generator = build(GeneratorSpec.of("ddpm", **FAST))
    generator.fit(train, normals, seed=0)
    four, two = list(generator.sample(4, seed=3)), list(generator.sample(2, seed=3))  # a batch of four, a batch of two
    for batched, alone in zip(four[:2], two):
        assert batched.id == alone.id
        assert_same_picture(batched.image, alone.image)
        assert_same_mask(batched.mask, alone.mask)
    other = list(generator.sample(2, seed=4))
    assert mean_abs_difference(other[0].image, two[0].image) > 4 * IMAGE_ATOL


def test_ancestral_noise_is_per_sample_too():
    """The full sampler draws fresh noise at every step; it must still come from each sample's own generator."""
    config = small_unet(replace(PROFILES.get("smoke"), base_channels=8, max_channels=16), 2, "small")
    models = {"large": build_model(config, seed=0).eval()}
    steps = plan(large_only(1000), stride=1)[-10:]  # the last ten steps of a full chain: 10 -> 0
    alpha_bars = cosine_alpha_bars(1000)
    shape = (5, 16, 16)

    def draws(n, seed):  # the random numbers themselves: bit-identical on every machine
        return torch.stack([torch.randn(shape, generator=g) for g in sample_generators(seed, range(n))])

    def run(n, seed):
        generators = sample_generators(seed, range(n))
        return run_plan(models, steps, alpha_bars, "x0", 1.0, generators, shape, torch.device("cpu"), progress=False)

    assert torch.equal(draws(4, 3)[:2], draws(2, 3))
    four, two = run(4, 3), run(2, 3)
    torch.testing.assert_close(four[:2], two, rtol=0, atol=LATENT_ATOL)
    assert (run(2, 4) - two).abs().max() > 100 * LATENT_ATOL
    assert (four[0] - four[1]).abs().max() > 100 * LATENT_ATOL


@pytest.mark.parametrize("parameterization", ["x0", "eps"])
def test_resumed_training_continues_from_the_saved_step(task, tmp_path, parameterization):
    train, _ = task
    profile = replace(PROFILES.get("smoke"), resolution=16, batch_size=2, base_channels=8, max_channels=16, checkpoint_every=3)
    config = small_unet(profile, train.num_classes, "small")
    data = encode_pairs(list(train), profile.resolution, train.num_classes)
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


def test_synthesize_writes_a_valid_pair_set(task):
    train, normals = task
    spec = GeneratorSpec.of("defectgen", u=200, mode="released", receptive_field="small", **FAST)
    generated, hit = synthesize(spec, train, normals, n=3, seed=0)
    assert not hit and len(generated) == 3 and generated.classes == train.classes
    generated.validate()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"profile": "huge"}, "unknown defectgen profile 'huge'"),
        ({"profile": "smoke", "receptive_field": "large"}, "cannot be halved 6 times"),
        ({"receptive_field": "tiny"}, "unknown defectgen receptive_field 'tiny'"),
        ({"u": 2000}, "u=2000"),
        ({"sampler": "ddim"}, "unknown defectgen sampler 'ddim'"),
        ({"parameterization": "v"}, "unknown defectgen parameterization 'v'"),
    ],
)
def test_bad_parameters_are_one_line_user_errors(params, message):
    with pytest.raises(BenchError, match=message):
        build(GeneratorSpec.of("defectgen", **params))
