"""The training loop: explicit seed, data on the device, a few host numbers per step, poly learning-rate decay, and
losses read back every few dozen iterations (the divergence check and the progress bar)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from bench.core.errors import BenchError
from bench.core.progress import progress as progress_bar
from bench.core.streams import POOLED, named_seed
from segmenters.config import optim_config
from segmenters.data import BatchSampler, augment, batch_inputs, to_device
from segmenters.model import build_model, seed_everything
from segmenters.registry import SegmenterSpec
from segmenters.schedules import Schedule

LOG_INTERVAL = 50  # iterations between loss read-backs (divergence check, progress bar): each one waits for the GPU


def _read_losses(pending: list[torch.Tensor], first_iteration: int, name: str) -> list[float]:
    """Per-iteration loss tensors as floats in one device-to-host copy; a non-finite one means divergence."""
    values = torch.stack(pending).float().cpu().tolist()
    for offset, loss in enumerate(values):
        if not np.isfinite(loss):
            raise BenchError(
                f"training of '{name}' diverged (loss {loss}) at iteration {first_iteration + offset}", "lower the learning rate"
            )
    return values


@dataclass(frozen=True)
class TrainingSeeds:
    """The seeds of a training run's random streams. A run takes every one from its seed (``of``), so the runs of
    one seed start from the same weights and see the same real batches; the variance benchmark
    (``bench.perf.variance``) moves one stream at a time."""

    init: int  # torch's global generator as the model is built: the initial weights
    batches: int  # the real pairs of each batch, their crops and flips (``BatchSampler``)
    added: int  # the added pairs in their batch slots, their crops and flips (paired batches)
    dropout: int | None = None  # torch's global generator once the model is built (dropout, drop path); None: it
    # runs on from the initialisation, as in every run, and is drawn the same way whatever the pairs

    @classmethod
    def of(cls, seed: int) -> "TrainingSeeds":
        return cls(seed, seed, seed)


@dataclass(frozen=True)
class TrainedModel:
    model: torch.nn.Module
    losses: tuple[float, ...]  # training loss per iteration
    seconds: float  # the training loop, model building excluded
    precision: str


def train_model(
    spec: SegmenterSpec,
    cfg,
    images: np.ndarray,
    masks: np.ndarray,
    schedule: Schedule,
    seed: int,
    device: torch.device,
    progress: bool = True,
    on_step: Callable[[int], None] | None = None,
    fp32: bool = False,
    added: int = 0,
    batches: str = POOLED,
    seeds: TrainingSeeds | None = None,
) -> TrainedModel:
    """Build the model of ``cfg`` and train it for ``schedule`` on N x H x W x 3 images and N x H x W masks, of
    which the last ``added`` are pairs a run adds to the real ones, drawn into batches as ``batches`` says.

    The data moves to the device once; each iteration only draws a few numbers on the host, so the loop
    never waits for the GPU except every ``LOG_INTERVAL`` iterations, when the losses are read back.
    ``on_step(iteration)`` runs after every optimizer step (the speed benchmark times with it); ``fp32``
    turns bf16 autocast off on CUDA. ``seeds``: the seed of each stream [default: all ``seed``].
    """
    from segmenters.precision import build_optimizer  # deferred: mmengine loads when a model trains, not on import

    seeds = seeds or TrainingSeeds.of(seed)
    seed_everything(seeds.init)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input sizes: pick the fastest kernels once
    model = build_model(cfg, device, channels_last=spec.channels_last)
    if seeds.dropout is not None:
        torch.manual_seed(named_seed(seeds.dropout, "dropout"))
    optim_cfg, precision = optim_config(cfg, schedule, device, fp32)
    optim_wrapper = build_optimizer(model, optim_cfg, device)
    base_lrs = [g["lr"] for g in optim_wrapper.optimizer.param_groups]
    image_tensor, mask_tensor = to_device(images, masks, device)

    sampler = BatchSampler(batches, len(images) - added, added, schedule.batch_size, images.shape[1:3], schedule.crop_size,
                           seeds.batches, seeds.added)
    losses: list[float] = []
    pending: list[torch.Tensor] = []
    model.train()
    start = time.perf_counter()
    bar = progress_bar(range(schedule.iters), desc=f"train {spec.name}", unit="it", enabled=progress, leave=False)
    for it in bar:
        for group, base in zip(optim_wrapper.optimizer.param_groups, base_lrs):  # poly decay, power 1
            group["lr"] = base * (1 - it / schedule.iters)
        log_vars = model.train_step(batch_inputs(*augment(image_tensor, mask_tensor, sampler.draw(it))), optim_wrapper)
        pending.append(log_vars["loss"].detach())
        if on_step is not None:
            on_step(it)
        if len(pending) == LOG_INTERVAL or it == schedule.iters - 1:
            losses += _read_losses(pending, it + 1 - len(pending), spec.name)
            pending.clear()
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    return TrainedModel(model, tuple(losses), time.perf_counter() - start, precision)
