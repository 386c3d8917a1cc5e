"""The training loop: device-side crops and flips follow the sampling rules, losses are read back in chunks
yet stay one per iteration and seeded, divergence is caught, and the harness-vs-MMSegmentation benchmark runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bench.core.errors import BenchError
from bench.perf.train_step import main as train_step_main
from segmenters import SEGMENTERS, Schedule
from segmenters import loop as loop_module
from segmenters.config import load_config
from segmenters.data import BatchDraw, BatchSampler, added_slots, augment, draw_batch
from segmenters.loop import TrainingSeeds, train_model

CPU = torch.device("cpu")


def _coordinate_images(n: int, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose channels hold (image index, row, column) and masks holding row * width + column."""
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    images = torch.stack([torch.stack([torch.full_like(rows, i), rows, cols]) for i in range(n)])
    return images, (rows * width + cols).expand(n, height, width).clone()


def test_crops_are_windows_of_the_drawn_image_and_flips_reverse_them():
    images, masks = _coordinate_images(5, 16, 20)
    rng = np.random.default_rng(0)
    for _ in range(20):
        draw = draw_batch(rng, 5, 4, (16, 20), crop=8)
        out, out_masks = augment(images, masks, draw)
        assert out.shape == (4, 3, 8, 8) and out_masks.shape == (4, 8, 8)
        for b in range(4):
            rows = torch.arange(draw.top[b], draw.top[b] + 8)
            cols = torch.arange(draw.left[b], draw.left[b] + 8)
            rows = rows.flip(0) if draw.vflip[b] else rows
            cols = cols.flip(0) if draw.hflip[b] else cols
            assert (out[b, 0] == draw.index[b]).all()
            assert torch.equal(out[b, 1], rows[:, None].expand(8, 8))
            assert torch.equal(out[b, 2], cols[None, :].expand(8, 8))
            assert torch.equal(out_masks[b], rows[:, None] * 20 + cols[None, :])


def test_augment_matches_torch_flip_on_whole_images():
    images, masks = _coordinate_images(3, 6, 7)
    no_offset = np.zeros(3, int)
    draw = BatchDraw(np.array([2, 0, 1]), no_offset, no_offset, np.array([True, False, True]), np.array([False, True, True]), (6, 7))
    out, out_masks = augment(images, masks, draw)
    assert torch.equal(out[0], images[2].flip(-1)) and torch.equal(out[1], images[0].flip(-2))
    assert torch.equal(out[2], images[1].flip(-1, -2)) and torch.equal(out_masks[2], masks[1].flip(-1, -2))


def test_sampling_rules():
    rng = np.random.default_rng(1)
    whole = draw_batch(rng, 10, 4, (16, 20), crop=16)  # one side not larger than the crop: whole images
    assert whole.size == (16, 20) and not whole.top.any() and not whole.left.any()
    assert all(len(set(draw_batch(rng, 4, 4, (8, 8), None).index)) == 4 for _ in range(20))  # no replacement
    assert any(len(set(draw_batch(rng, 2, 4, (8, 8), None).index)) < 4 for _ in range(5))  # fewer images than the batch
    flips = np.concatenate([draw_batch(rng, 10, 4, (8, 8), None).hflip for _ in range(200)])
    assert 0.4 < flips.mean() < 0.6


def _tiny_task() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(80, 120, (3, 32, 32, 3), dtype=np.uint8)
    masks = np.zeros((3, 32, 32), np.uint8)
    masks[:, 4:12, 6:20] = 1
    images[:, 4:12, 6:20] = 250
    masks[:, -2:] = 255  # ignored pixels
    return images, masks


def _train(schedule: Schedule, seed: int):
    spec = SEGMENTERS.get("segformer")
    cfg = load_config(spec, 2, schedule, pretrained=False, input_size=32)
    return train_model(spec, cfg, *_tiny_task(), schedule, seed, CPU, progress=False)


def test_losses_are_one_per_iteration_read_in_chunks_and_seeded(monkeypatch):
    monkeypatch.setattr(loop_module, "LOG_INTERVAL", 2)  # read-backs at iterations 2, 4 and the end
    schedule = Schedule("tiny", iters=5, batch_size=2, crop_size=None)
    runs = [_train(schedule, seed).losses for seed in (3, 3, 4)]
    assert len(runs[0]) == 5 and all(isinstance(v, float) and np.isfinite(v) for v in runs[0])
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_divergence_names_the_segmenter_and_the_iteration():
    # An infinite learning rate turns every weight into inf or NaN at the first step: iteration 1 diverges,
    # found when the losses are read back at the end, and reported at the iteration where it happened.
    with pytest.raises(BenchError, match=r"training of 'segformer' diverged \(loss nan\) at iteration 1"):
        _train(Schedule("inf", iters=3, batch_size=2, crop_size=None, lr_scale=float("inf")), seed=0)


def test_train_step_benchmark_writes_both_throughputs_and_the_ratio(tmp_path):
    args = ["--segmenters", "segformer", "--size", "64", "--iters", "2", "--warmup", "1", "--workers", "0", "--device", "cpu"]
    train_step_main.main([*args, "--out", str(tmp_path)], standalone_mode=False)
    result = json.loads((tmp_path / "train_step.json").read_text())
    (row,) = result["rows"]
    assert row["name"] == "segformer" and row["input_size"] == 64
    assert row["harness"]["seconds"] > 0 and row["mmseg"]["seconds"] > 0
    assert result["device"] and result["threads"] == 1 and result["timed"] and result["batch_size"] == 4
    assert f"| segformer | fp32 | {row['harness']['it_s']:.3g} |" in (tmp_path / "train_step.md").read_text()
    assert f"| {row['ratio']:.2f}x |" in (tmp_path / "train_step.md").read_text()


def test_bf16_training_autocasts_without_a_loss_scaler():
    """The harness's bf16 path: forward in bf16, no GradScaler (whose overflow check syncs every step)."""
    from segmenters.precision import AutocastOptimWrapper, build_optimizer

    model = torch.nn.Linear(4, 2)
    cfg = dict(type="AmpOptimWrapper", dtype="bfloat16", optimizer=dict(type="AdamW", lr=1e-2), clip_grad=None)
    wrapper = build_optimizer(model, cfg, torch.device("cpu"))
    assert isinstance(wrapper, AutocastOptimWrapper) and not hasattr(wrapper, "loss_scaler")
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.randn(3, 4))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().pow(2).mean())
    assert model.weight.dtype == torch.float32 and not torch.equal(model.weight, before)

    fp32 = build_optimizer(model, dict(type="OptimWrapper", optimizer=dict(type="AdamW", lr=1e-2)), torch.device("cpu"))
    assert type(fp32).__name__ == "OptimWrapper"


# --- common random numbers: the runs of one seed share their streams ---------------------------------


def test_paired_batches_keep_the_real_stream_and_give_added_pairs_their_proportional_slots():
    real, added, batch = 6, 3, 4
    baseline = BatchSampler("paired", real, 0, batch, (16, 20), 8, real_seed=5, added_seed=5)
    paired = BatchSampler("paired", real, added, batch, (16, 20), 8, real_seed=5, added_seed=5)
    today = np.random.default_rng(5)
    slots = []
    for it in range(60):
        alone, mixed = baseline.draw(it), paired.draw(it)
        old = draw_batch(today, real, batch, (16, 20), 8)  # the loop's draws before streams were named
        assert all(np.array_equal(getattr(alone, f), getattr(old, f)) for f in ("index", "top", "left", "hflip", "vflip"))
        k = added_slots(it, batch, real, added)
        keep = batch - k
        for f in ("index", "top", "left", "hflip", "vflip"):  # the real stream's prefix, the same pairs, crops and flips
            assert np.array_equal(getattr(mixed, f)[:keep], getattr(alone, f)[:keep])
        assert (mixed.index[:keep] < real).all() and (mixed.index[keep:] >= real).all()
        slots.append(k)
    assert set(slots) <= {1, 2} and sum(slots) == 60 * batch * added // (real + added)  # a third of the slots, every batch near it


def test_pooled_batches_draw_every_slot_from_all_pairs_as_before():
    pooled = BatchSampler("pooled", 6, 3, 4, (8, 8), None, real_seed=2, added_seed=2)
    today = np.random.default_rng(2)
    for it in range(10):
        assert np.array_equal(pooled.draw(it).index, draw_batch(today, 9, 4, (8, 8), None).index)
    no_real = BatchSampler("paired", 0, 5, 4, (8, 8), None, real_seed=2, added_seed=2)  # nothing to pair: one pool
    assert no_real.draw(0).index.max() < 5


def _train_capturing(monkeypatch, images, masks, added: int, batches: str, seeds=None):
    """Train 3 tiny iterations; the model's weights as built and torch's generator state at the end."""
    built = {}
    original = loop_module.build_model

    def capture(*args, **kwargs):
        model = original(*args, **kwargs)
        built["weights"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return model

    monkeypatch.setattr(loop_module, "build_model", capture)
    spec = SEGMENTERS.get("segformer")
    schedule = Schedule("tiny", iters=3, batch_size=2, crop_size=None)
    cfg = load_config(spec, 2, schedule, pretrained=False, input_size=32)
    trained = train_model(spec, cfg, images, masks, schedule, 7, CPU, progress=False, added=added, batches=batches, seeds=seeds)
    return built["weights"], torch.random.get_rng_state(), trained.losses


def test_runs_of_one_seed_start_from_the_same_weights_and_draw_torch_alike_whatever_their_pairs(monkeypatch):
    images, masks = _tiny_task()
    more = np.concatenate([images, images[:2, ::-1]]), np.concatenate([masks, masks[:2, ::-1]])
    base_w, base_rng, base_losses = _train_capturing(monkeypatch, images, masks, 0, "paired")
    pooled_w, _, pooled_losses = _train_capturing(monkeypatch, images, masks, 0, "pooled")
    set_w, set_rng, set_losses = _train_capturing(monkeypatch, *more, 2, "paired")
    assert base_losses == pooled_losses, "with nothing to pair, paired batches are the pooled ones: the baseline is unchanged"
    assert all(torch.equal(base_w[k], set_w[k]) for k in base_w), "the same initial weights"
    assert torch.equal(base_rng, set_rng), "dropout and drop path drew the same numbers"
    assert base_losses != set_losses
    moved_w, _, moved_losses = _train_capturing(monkeypatch, images, masks, 0, "paired", TrainingSeeds(7, 7, 7, dropout=3))
    assert all(torch.equal(base_w[k], moved_w[k]) for k in base_w) and moved_losses != base_losses  # one stream moved alone
