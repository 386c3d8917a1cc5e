"""The ``defectdiffu`` generator end to end on tiny random configs: fit, sample, seeds, the model cache,
weights from a local folder and the one-line errors when they are missing."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from bench.cli import main
from bench.core.errors import BenchError
from bench.core.pairset import PairSet, write_pairset
from bench.core.specs import GeneratorSpec
from bench.data import toy
from generators import GENERATORS, build
from generators.defectdiffu import DefectDiffu
from generators.defectdiffu import generator as generator_module
from generators.defectdiffu.config import PROFILES, prompts
from generators.defectdiffu.dit import DiT, DiTConfig, load_public_dit, read_checkpoint
from generators.defectdiffu.text import build_bank, embed
from generators.defectdiffu.training import Encoded, train_dit
from generators.defectdiffu.vae import pretrained_vae
from generators.diffusion_common import tiny_text_encoder, tiny_vae, word_tokenizer
from tests.helpers.dit import public_state_dict


@pytest.fixture
def toy_sets(tmp_path):
    """Three wood defects (two classes) and two normals, 64 px, as the runner passes them."""
    pairs = {p.id: p for p in toy.category_pairs("wood", toy.ToyConfig(defects_per_class=2, normals_train=2, normals_test=0))}
    pool = write_pairset(tmp_path / "pool", pairs.values(), toy.classes("wood"), {"dataset": "toy", "category": "wood"})
    return pool.subset(["crack_000", "crack_001", "stain_000"]), pool.subset(["good_train_000", "good_train_001"])


def test_fit_and_sample_are_seeded_and_masks_carry_the_prompt_class(toy_sets):
    train, normals = toy_sets
    gen = DefectDiffu(profile="smoke", steps=4, device="cpu")
    gen.fit(train, normals, seed=0)
    first = list(gen.sample(2, seed=0))
    again = list(gen.sample(2, seed=0))
    other = list(gen.sample(2, seed=1))
    assert [p.id for p in first] == ["defectdiffu_0_00000", "defectdiffu_0_00001"]
    for a, b in zip(first, again):
        assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert not np.array_equal(first[0].image, other[0].image)
    # pair i cycles through the trained defect types: crack (class 1), then stain (class 2)
    assert [gen.condition_of(i)[:2] for i in range(3)] == [(1, "crack"), (2, "stain"), (1, "crack")]
    for pair, class_id in zip(first, (1, 2)):
        assert pair.image.shape == (64, 64, 3) and pair.mask.shape == (64, 64)
        assert set(np.unique(pair.mask)) <= {0, class_id}


def test_a_second_fit_loads_the_cached_model_without_the_text_encoder(toy_sets, monkeypatch):
    train, normals = toy_sets
    gen = DefectDiffu(profile="smoke", steps=4, device="cpu")
    gen.fit(train, normals, seed=0)
    expected = list(gen.sample(1, seed=3))

    def forbidden(*args, **kwargs):
        raise AssertionError("the cached model must not embed or train again")

    monkeypatch.setattr("generators.defectdiffu.text.build_bank", forbidden)
    monkeypatch.setattr("generators.defectdiffu.training.train_dit", forbidden)
    again = DefectDiffu(profile="smoke", steps=4, device="cpu")
    again.fit(train, normals, seed=0)
    (pair,) = again.sample(1, seed=3)
    assert np.array_equal(pair.image, expected[0].image) and np.array_equal(pair.mask, expected[0].mask)


def test_released_reading_learns_sigma_and_samples_with_two_way_guidance(toy_sets):
    train, normals = toy_sets
    gen = DefectDiffu(profile="smoke", reading="released", steps=4, device="cpu")
    settings = gen.settings()
    assert settings["reading"]["name"] == "released" and settings["guidance"] == "cfg" and settings["variance"] == "learned_range"
    gen.fit(train, normals, seed=0)
    model = gen._state["model"]
    assert model.config.learn_sigma and model.config.context == "pooled" and model.config.out_channels == 8
    (pair,) = gen.sample(1, seed=0)
    assert set(np.unique(pair.mask)) <= {0, 1}


def test_resumed_training_equals_uninterrupted(tmp_path):
    texts = [t for word in ("crack", "good") for p in ("wood", None) for t in prompts(word, p)]
    tokenizer = word_tokenizer(texts, 8)
    bank = embed(texts, tokenizer, tiny_text_encoder(tokenizer, 8, seed=0), 8)
    config = DiTConfig(4, 2, 4, 16, 2, (1, 1, 1), bank.text_dim, bank.context_dim, "tokens", False, "tanh")
    g = torch.Generator().manual_seed(0)
    mask = (torch.rand(3, 1, 4, 4, generator=g) > 0.5).float()
    data = Encoded(torch.randn(3, 4, 4, 4, generator=g), torch.full((3, 4, 4, 4), 0.1), torch.randn(3, 4, 4, 4, generator=g),
                   torch.full((3, 4, 4, 4), 0.1), mask, mask[:, 0, ::2, ::2], ("crack", "crack", "good"), ("wood",) * 3)
    reading = generator_module.READINGS.get("paper")

    def run(directory, stops):
        torch.manual_seed(0)
        model = DiT(config)
        for stop in stops:
            train_dit(directory, model, data, bank, reading, stop, 2, 1e-3, 0.0, 1, seed=5, device=torch.device("cpu"))
        return model.state_dict()

    straight, resumed = run(tmp_path / "a", [4]), run(tmp_path / "b", [2, 4])
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key


def test_missing_weights_are_one_line_before_any_work(tmp_path, monkeypatch):
    with pytest.raises(BenchError, match="BENCH_WEIGHTS is not set") as err:
        DefectDiffu(profile="paper")
    assert "\n" not in str(err.value)
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path))
    with pytest.raises(BenchError) as err:
        build(GeneratorSpec.of("defectdiffu", profile="released"))
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "defectdiffu" / "DiT-XL-2-256x256.pt") in message
    assert "dl.fbaipublicfiles.com/DiT/models/DiT-XL-2-256x256.pt" in message
    with pytest.raises(BenchError, match="out of range"):
        build(GeneratorSpec.of("defectdiffu", profile="huge"))
    with pytest.raises(BenchError, match="scales"):
        DefectDiffu(scales=[])


def test_weights_load_from_a_local_folder(tmp_path, monkeypatch, capsys):
    """Tiny stand-ins saved in the layout of $BENCH_WEIGHTS/defectdiffu load back unchanged, offline."""
    root = tmp_path / "defectdiffu"
    vae = tiny_vae((8, 16), seed=1)
    vae.save_pretrained(root / "sd-vae-ft-mse")
    texts = [t for word in ("hole", "good") for p in ("metal", None) for t in prompts(word, p)]
    tokenizer = word_tokenizer(texts, 12)
    encoder = tiny_text_encoder(tokenizer, 16, seed=2)
    encoder.save_pretrained(root / "clip-text")
    tokenizer.save_pretrained(root / "clip-text")
    torch.save(public_state_dict(3), root / "DiT-XL-2-256x256.pt")
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path))

    profile = dataclasses.replace(PROFILES.get("smoke"), name="local", vae="sd-vae-ft-mse", text="clip-text", dit="DiT-XL-2-256x256.pt", max_tokens=12)
    generator_module.weights.require(profile.weights, profile.name)
    loaded = pretrained_vae(profile)
    for key, value in vae.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    bank, reference = build_bank(profile, texts, seed=0), embed(texts, tokenizer, encoder, 12)
    assert bank.texts == reference.texts
    torch.testing.assert_close(bank.pooled, reference.pooled)
    torch.testing.assert_close(bank.tokens, reference.tokens)
    model = DiT(DiTConfig(8, 2, 4, 16, 2, (1, 1, 1), bank.text_dim, bank.context_dim, "pooled", True, "tanh"))
    load_public_dit(model, read_checkpoint(root / "DiT-XL-2-256x256.pt"), "local")

    assert main(["weights", "check", "--json"]) == 0
    rows = {r["file"]: r for r in json.loads(capsys.readouterr().out) if r["kind"] == "generator"}
    assert rows["DiT-XL-2-256x256.pt"]["present"] and rows["sd-vae-ft-mse/config.json"]["present"]
    assert not rows["DiT-XL-2-512x512.pt"]["present"] and rows["DiT-XL-2-512x512.pt"]["used_by"] == "defectdiffu paper"
    assert main(["weights", "check"]) == 0
    text = capsys.readouterr().out
    assert "resnet18_v1c-b5776b93.pth" in text and "sd-vae-ft-mse/diffusion_pytorch_model.safetensors" in text


def test_focus_picks_the_defect_word():
    texts = ["a photo of metal contamination", "a photo of good", ""]
    tokenizer = word_tokenizer(texts, 8)
    bank = embed(texts, tokenizer, tiny_text_encoder(tokenizer, 8, seed=0), 8)
    ids = tokenizer(list(bank.texts), padding="max_length", max_length=8)["input_ids"]
    for text, row, focus in zip(bank.texts, ids, bank.focus):
        picked = [tokenizer.convert_ids_to_tokens(i) for i, w in zip(row, focus.tolist()) if w > 0]
        assert picked == ({"": ["<|endoftext|>"], "a photo of good": ["good"]}.get(text) or ["metal", "contamination"])
    torch.testing.assert_close(bank.pooled.norm(dim=1), torch.ones(3))


def test_bench_run_end_to_end_records_the_profile(capsys, isolated_dirs):
    args = ["run", "--generator", "defectdiffu", "--ratio", "1.0", "--dataset", "toy", "--category", "wood",
            "--schedule", "smoke", "--device", "cpu"]
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("done: ")
    (path,) = (isolated_dirs / "results" / "runs").glob("*.json")
    record = json.loads(path.read_text())
    assert record["spec"]["generator"] == {"name": "defectdiffu", "params": {"profile": "smoke"}}
    assert record["data"]["n_synthetic"] == 15
    (settings,) = (isolated_dirs / "cache" / "models" / "defectdiffu").glob("*/settings.json")
    saved = json.loads(settings.read_text())
    assert saved["profile"]["name"] == "smoke" and saved["reading"]["name"] == "paper" and saved["guidance"] == "double-free"
    assert set(GENERATORS.get("defectdiffu").declared()) <= set(saved)
    generated = PairSet.open(next((isolated_dirs / "cache" / "generated" / "defectdiffu").iterdir()))
    assert len(generated) == 15
