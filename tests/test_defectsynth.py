"""The ``defectsynth`` generator on CPU with tiny random networks: ControlNet training and resuming, seeded
sampling, both readings, the generation cache, weights from a local folder, and the one-line errors."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from bench.cli import main
from bench.core.errors import BenchError
from bench.core.pairset import Pair, check_pair, write_pairset
from bench.core.paths import cache_dir
from bench.core.specs import GeneratorSpec
from generators import build
from generators.defectsynth.config import PROFILES, Reading
from generators.synthesize import synthesize
from tests.helpers.determinism import assert_same_mask, assert_same_picture

SMOKE = {"profile": "smoke", "steps": 4}
CLASSES = {1: "crack", 2: "stain"}


def _picture(rng: np.random.Generator, size: int) -> np.ndarray:
    grain = (np.sin(np.arange(size) / 2.0)[:, None] * 40 + 120).astype(np.float32)
    image = np.repeat(grain[..., None], 3, axis=2) + rng.normal(0, 4, (size, size, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    """32 px 'wood': three thin cracks (small masks), three stains (above tau), three normals."""
    rng = np.random.default_rng(0)
    pairs, normals = [], []
    for i in range(3):
        crack = np.zeros((32, 32), np.uint8)
        cv2.line(crack, (4 + i, 6), (24, 20 + i), 1, 1)
        stain = np.zeros((32, 32), np.uint8)
        cv2.circle(stain, (12 + 2 * i, 14), 6, 2, -1)
        for name, mask in (("crack", crack), ("stain", stain)):
            image = _picture(rng, 32)
            image[mask > 0] //= 3
            pairs.append(Pair(f"{name}_{i}", image, mask, name))
        normals.append(Pair(f"good_{i}", _picture(rng, 32), np.zeros((32, 32), np.uint8), "good"))
    root = tmp_path_factory.mktemp("defectsynth")
    source = {"dataset": "test", "category": "wood"}
    return write_pairset(root / "train", pairs, CLASSES, source), write_pairset(root / "normals", normals, CLASSES, source)


def trained(folder: str) -> list[Path]:
    return sorted((cache_dir() / "models" / "defectsynth").glob(f"{folder}-*/model/losses.json"))


def test_controlnet_training_for_a_few_steps_resumes_to_the_same_weights(task, monkeypatch):
    from generators.defectsynth import training
    from generators.defectsynth.models import standin_parts

    train, _ = task
    scale, _ = PROFILES.get("smoke")
    parts = standin_parts(scale, ["a wood with crack defects", "a wood with stain defects"], seed=0).to(torch.device("cpu"))
    data = training.examples(list(train), {1: "a wood with crack defects", 2: "a wood with stain defects"})
    net, losses = training.train_controlnet(cache_dir() / "whole", parts, data, scale, "cosine", seed=3)
    assert len(losses) == training.iterations_for(len(data), scale) == 3 and all(np.isfinite(losses))

    original = training.batch_indices

    def interrupted(count, batch, seed, iteration):
        if iteration == 2:
            raise KeyboardInterrupt
        return original(count, batch, seed, iteration)

    short = type(scale)(**{**{f.name: getattr(scale, f.name) for f in fields(scale)}, "checkpoint_every": 1})
    monkeypatch.setattr(training, "batch_indices", interrupted)
    with pytest.raises(KeyboardInterrupt):
        training.train_controlnet(cache_dir() / "resumed", parts, data, short, "cosine", seed=3)
    assert torch.load(cache_dir() / "resumed" / training.CHECKPOINT, weights_only=False)["step"] == 2
    monkeypatch.setattr(training, "batch_indices", original)
    resumed, resumed_losses = training.train_controlnet(cache_dir() / "resumed", parts, data, short, "cosine", seed=3)
    assert resumed_losses == losses
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), resumed.state_dict().values()))
    assert not (cache_dir() / "resumed" / training.CHECKPOINT).exists()  # the finished network replaces it


def away_from(mask: np.ndarray, margin: int = 4) -> np.ndarray:
    """Pixels more than ``margin`` px from a mask (the decoder's reach across its edge left out)."""
    return cv2.dilate((mask > 0).astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)) == 0


def test_two_pairs_in_four_steps_are_valid_seeded_and_come_back_from_the_cache(task):
    train, normals = task
    generator = build(GeneratorSpec.of("defectsynth", **SMOKE))
    generator.fit(train, normals, seed=0)
    assert len(trained("controlnet")) == 1 and len(list((cache_dir() / "models" / "defectsynth").glob("standin-*/sd"))) == 1
    first = list(generator.sample(2, seed=0))
    assert [p.id for p in first] == ["defectsynth_0_00000", "defectsynth_0_00001"]
    parts = generator._fitted[0].parts
    rendered = [parts.decode(parts.posterior(parts.to_pixels(p.image[None]))[0])[0].astype(float) for p in normals]
    for pair in first:
        check_pair(pair.id, pair.image, pair.mask, {0: "background", **CLASSES})
        assert pair.image.shape == (32, 32, 3) and pair.mask.any()
    # the paper reading generated onto one of the normals: away from the defect (the crack's mask; the
    # untrained latent HMI's stain may cover the picture) it is that normal as the VAE draws it
    away = away_from(first[0].mask)
    assert int(first[0].mask.max()) == 1 and away.mean() > 0.3
    assert min(np.abs(first[0].image - r)[away].mean() for r in rendered) < 2
    assert {int(p.mask.max()) for p in first} == {1, 2}  # the classes take turns
    again = list(generator.sample(2, seed=0))
    assert all(np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask) for a, b in zip(first, again))
    other = list(generator.sample(2, seed=1))
    assert not all(np.array_equal(a.image, b.image) for a, b in zip(first, other))
    # a pair does not depend on how many are drawn (within float rounding of another batch size)
    three = list(generator.sample(3, seed=0))
    for a, b in zip(first, three):
        assert_same_picture(a.image, b.image)
        assert_same_mask(a.mask, b.mask)
    # a new instance loads the trained networks instead of training again
    reloaded = build(GeneratorSpec.of("defectsynth", **SMOKE))
    reloaded.fit(train, normals, seed=0)
    assert len(trained("controlnet")) == 1
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, reloaded.sample(2, seed=0)))


def test_the_paper_reading_keeps_the_normal_latent_outside_the_mask_and_generates_inside():
    """Random tiny networks, no training: after denoising and SFF the latent outside the generated mask is
    the normal picture's own (the pixel-level check is in the fitted test above); whole-picture generation
    (blend=off) keeps nothing of it, and both draw something else inside the mask."""
    from generators.defectsynth.config import READINGS
    from generators.defectsynth.models import new_controlnet, standin_parts
    from generators.defectsynth.sampling import Condition, Sampler, latent_masks

    scale, _ = PROFILES.get("smoke")
    prompt = "a wood with stain defects"
    parts = standin_parts(scale, [prompt], seed=0).to(torch.device("cpu"))
    controlnet = new_controlnet(parts.unet, parts.factor, seed=0)
    normal = _picture(np.random.default_rng(1), 32)
    shapes = [np.zeros((32, 32), bool), np.zeros((32, 32), bool)]
    shapes[0][6:14, 5:15], shapes[1][18:27, 16:26] = True, True
    reference = Pair("stain_0", normal // 3, shapes[0].astype(np.uint8), "stain")
    conditions = [Condition(s, normal, reference, prompt, (0, k, 0)) for k, s in enumerate(shapes)]
    normal_latent = parts.posterior(parts.to_pixels(normal[None]))[0]
    region = latent_masks(shapes, 32, 32 // parts.factor, torch.device("cpu"))
    for blend in ("paper", "off"):
        sampler = Sampler(parts, controlnet, replace(READINGS.get("paper"), steps=3, blend=blend), 32)
        difference = (sampler.latents(conditions, 2, [(0, 0, 2)]) - normal_latent).abs().amax(dim=1, keepdim=True)
        kept = difference[region == 0].max() < 1e-5  # equal up to the float rounding of another batch
        assert kept == (blend == "paper")
        assert all(difference[k][region[k] == 1].mean() > 0.1 for k in range(2))


def test_the_released_reading_runs_with_every_released_step(task):
    train, normals = task
    generator = build(GeneratorSpec.of("defectsynth", profile="smoke", reading="released", steps=3))
    reading = generator.reading
    assert (reading.blend, reading.sae, reading.sff, reading.sff_keep, reading.hist_match) == ("released", "released", "cosine", "first", 1.0)
    generator.fit(train, normals, seed=0)
    pairs = list(generator.sample(2, seed=0))
    assert len(pairs) == 2 and all(p.image.shape == (32, 32, 3) for p in pairs)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(pairs, generator.sample(2, seed=0)))


def test_effective_settings_name_every_field_after_profile_reading_and_overrides():
    generator = build(GeneratorSpec.of("defectsynth", profile="toy", steps=7, sae="off", reading="released"))
    settings = generator.settings()
    assert set(settings["reading"]) == {f.name for f in fields(Reading)}
    assert settings["reading"]["steps"] == 7 and settings["reading"]["sae"] == "off"
    assert settings["reading"]["blend"] == "released" and settings["scale"]["resolution"] == 64
    assert build(GeneratorSpec.of("defectsynth", profile="toy")).settings()["reading"]["beta_schedule"] == "cosine"
    assert generator.fingerprint() != build(GeneratorSpec.of("defectsynth", profile="toy", reading="released")).fingerprint()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"sae": "loud"}, "parameter sae='loud' is out of range"),
        ({"profile": "huge"}, "parameter profile='huge' is out of range"),
        ({"profile": "toy", "resolution": 60}, "resolution 60 px does not fit the networks; use a multiple of 8"),
        ({"prompt": "a {thing}"}, "may use only {category} and {defect}"),
    ],
)
def test_bad_parameters_are_one_line_before_anything_runs(params, message):
    with pytest.raises(BenchError, match=message) as error:
        build(GeneratorSpec.of("defectsynth", **params))
    assert "\n" not in str(error.value)


def test_missing_weights_are_one_line_naming_what_is_missing_before_training(task, monkeypatch, tmp_path):
    train, normals = task
    spec = GeneratorSpec.of("defectsynth", profile="paper")
    for setup, expected in [
        (lambda: None, "BENCH_WEIGHTS is not set"),
        (lambda: monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path)), f"folder {tmp_path / 'stable-diffusion-v1-5'} does not exist"),
        (lambda: (tmp_path / "stable-diffusion-v1-5").mkdir(), "stable-diffusion-v1-5/unet/config.json is missing"),
    ]:
        setup()
        with pytest.raises(BenchError, match=expected) as error:
            synthesize(spec, train, normals, 2, 0)
        assert "\n" not in str(error.value) and "bench weights check" in str(error.value)
    assert not (cache_dir() / "models").exists()


def write_sd_folder(root: Path) -> Path:
    """A tiny SD 1.5 look-alike in diffusers layout, with a real (byte-level, merge-free) CLIP tokenizer."""
    from transformers import CLIPTokenizer

    from generators.defectsynth.models import Parts, save_parts, standin_parts
    from generators.diffusion_common import tiny_text_encoder

    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]  # GPT-2's byte-to-character table
    unprintable = iter(range(256, 512))
    characters = [chr(b) if b in printable else chr(next(unprintable)) for b in range(256)]
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for token in characters + [c + "</w>" for c in characters]:
        vocab.setdefault(token, len(vocab))
    files = root / "tokenizer-files"  # the layout of SD 1.5's own tokenizer folder
    files.mkdir(parents=True)
    (files / "vocab.json").write_text(json.dumps(vocab))
    (files / "merges.txt").write_text("#version: 0.2\n")
    (files / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 48}))
    tokenizer = CLIPTokenizer.from_pretrained(files, local_files_only=True)
    scale, _ = PROFILES.get("smoke")
    scale = type(scale)(**{**{f.name: getattr(scale, f.name) for f in fields(scale)}, "text_length": 48})
    random = standin_parts(scale, [], seed=5)
    parts = Parts(random.vae, random.unet, tiny_text_encoder(tokenizer, 16, seed=0, projection=False), tokenizer, random.schedule)
    folder = root / "stable-diffusion-v1-5"
    save_parts(parts, folder)
    return folder


def test_weights_load_from_a_local_folder_and_the_controlnet_from_the_cache(task, monkeypatch, tmp_path, capsys):
    train, normals = task
    folder = write_sd_folder(tmp_path)
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path))
    spec = GeneratorSpec.of("defectsynth", profile="short", resolution=32, epochs=1, steps=2)
    generator = build(spec)
    generator.fit(train, normals, seed=0)
    sampler = generator._fitted[0]
    from diffusers import UNet2DConditionModel

    saved = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", local_files_only=True, low_cpu_mem_usage=False)
    assert all(torch.equal(a, b) for a, b in zip(saved.state_dict().values(), sampler.parts.unet.state_dict().values()))
    assert type(sampler.parts.tokenizer).__name__ == "CLIPTokenizer"
    pair = next(generator.sample(1, seed=0))
    assert pair.image.shape == (32, 32, 3)

    def no_training(*args, **kwargs):
        raise AssertionError("the cached ControlNet should have been loaded")

    monkeypatch.setattr(torch.optim, "AdamW", no_training)
    again = build(spec)
    again.fit(train, normals, seed=0)
    assert np.array_equal(next(again.sample(1, seed=0)).image, pair.image)

    assert main(["weights", "check"]) == 0
    out = capsys.readouterr().out
    assert "stable-diffusion-v1-5" in out and "defectsynth" in out


def test_generated_sets_are_cached_by_the_effective_settings(task):
    train, normals = task
    spec = GeneratorSpec.of("defectsynth", **SMOKE)
    first, hit = synthesize(spec, train, normals, 2, 0)
    assert not hit and len(first) == 2
    again, hit = synthesize(spec, train, normals, 2, 0)
    assert hit and again.root == first.root
    other, hit = synthesize(GeneratorSpec.of("defectsynth", **SMOKE, sff="off"), train, normals, 2, 0)
    assert not hit and other.root != first.root


def test_the_benchmark_reports_training_time_and_pairs_per_second_in_table_iv_form(monkeypatch):
    from bench.perf.defectsynth import benchmark, markdown

    result = benchmark("smoke", "toy", None, "wood", "hole", "ds-5shot", 2, "cpu", 0)
    assert result["data"]["train_pairs"] == 5 and result["pairs"] == 2
    assert result["training_h"]["stage1"] is None and result["training_h"]["stage2"] > 0 and result["pairs_per_s"] > 0
    assert result["settings"]["profile"] == "smoke" and set(result["contrast"]["real_train"]) == {"3"}
    table = markdown(result)
    assert "| bench `defectsynth` (this run) | - |" in table and "| DefectSynth, Table IV" in table
    assert not (cache_dir() / "models").exists()  # it trained in a cache of its own


def test_deviations_name_every_departure_from_the_published_readings(task, tmp_path):
    """The default profile (``paper``) departs from nothing on 512 px pictures but the resize on smaller
    ones; the toy profile names its stand-in and budget; overrides and the released reading's gaps show."""
    from bench.runner import resolved_settings

    train, _ = task
    big = write_pairset(tmp_path / "big", [Pair(p.id, cv2.resize(p.image, (512, 512)), cv2.resize(p.mask, (512, 512),
                        interpolation=cv2.INTER_NEAREST), p.group) for p in train], CLASSES, {})
    assert build(GeneratorSpec("defectsynth")).deviations(big) == ()
    assert build(GeneratorSpec("defectsynth")).deviations(train) == ("512 px output resized to 32x32",)
    assert build(GeneratorSpec.of("defectsynth", profile="toy")).deviations(train) == (
        "tiny stand-in for SD 1.5, pretrained on the split", "64 px, not 512", "250 ControlNet epochs, not 2000",
        "ControlNet batch 4, not 2", "lr 0.002, not 1e-05", "64 px output resized to 32x32")
    assert build(GeneratorSpec.of("defectsynth", beta_schedule="scaled-linear", blend="off")).deviations(big) == (
        "beta_schedule scaled-linear, not the paper reading's cosine", "blend off, not the paper reading's paper")
    released = build(GeneratorSpec.of("defectsynth", profile="released")).deviations(big)
    assert released == ("one ControlNet per category on the split's training pairs, not one on every MVTec defect image",
                        "SAE reference drawn at random, not the mask's own source image", "latent HMI sampled by DDIM, not PNDM")
    settings = resolved_settings(build(GeneratorSpec.of("defectsynth", profile="toy")), train)
    assert settings["deviations"][0] == "tiny stand-in for SD 1.5, pretrained on the split" and settings["reading"]["blend"] == "paper"
