"""Training one denoiser: Adam (the paper) or AdamW (the release), EMA, bf16 autocast on CUDA, atomic checkpoints that a rerun resumes.

Every iteration draws its batch, timesteps and noise from a generator seeded by (seed, iteration)
and the learning rate is constant, so the weights after k iterations do not depend on when training
was interrupted or on the budget it was started with: a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import copy
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from bench.core.atomic import atomic_file
from bench.core.errors import BenchError
from bench.core.pairset import Pair
from bench.core.progress import progress
from generators.defectgen.config import OPTIMIZERS, TIMESTEPS, Profile, UNetShape
from generators.defectgen.diffusion import cosine_alpha_bars, training_loss
from generators.defectgen.unet import UNet, build_unet

CHECKPOINT = "checkpoint.pt"


def encode_pairs(pairs: Sequence[Pair], resolution: int, num_classes: int, onehot: tuple[float, float],
                 background: bool = True) -> torch.Tensor:
    """N x (3 + mask channels) x R x R: image in [-1, 1] and the one-hot mask with the reading's off / on values, over
    class ids 0..num_classes - 1 (``background``: the release's num_defect + 1 channels) or 1..num_classes - 1 (the
    paper's n_defect: a background pixel is off in every channel)."""
    off, on = onehot
    first = 0 if background else 1
    samples = []
    for pair in pairs:
        image = cv2.resize(pair.image, (resolution, resolution), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(pair.mask, (resolution, resolution), interpolation=cv2.INTER_NEAREST)
        channels = np.eye(num_classes, dtype=np.float32)[mask].transpose(2, 0, 1)[first:] * (on - off) + off
        samples.append(np.concatenate([image.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1, channels]))
    return torch.from_numpy(np.stack(samples))


def build_model(shape: UNetShape, in_channels: int, seed: int) -> UNet:
    """Initial weights from ``seed`` without touching the global random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_unet(shape, in_channels)


def _step_generator(seed: int, iteration: int) -> torch.Generator:
    state = np.random.SeedSequence([seed, iteration]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def _save_atomically(state: dict, path: Path) -> None:
    with atomic_file(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(directory: Path) -> dict | None:
    path = directory / CHECKPOINT
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a torn or foreign file: say which and how to recover
        raise BenchError(f"unreadable defectgen checkpoint {path} ({exc})", "delete it to train again") from None


def train_denoiser(
    directory: Path,
    shape: UNetShape,
    profile: Profile,
    data: torch.Tensor,
    parameterization: str,
    seed: int,
    device: torch.device,
    iterations: int | None = None,
    desc: str = "defectgen",
    ema_warmup: bool = True,
    weights: str = "ema",
    optimizer_name: str = "adamw",
) -> tuple[UNet, list[float]]:
    """Train to ``iterations`` (default: the profile's), resuming from ``directory``'s checkpoint.

    Returns the model sampling uses (``weights``: the EMA of the weights, or the raw weights) in eval mode on
    ``device``, and the loss of every iteration.
    """
    iterations = profile.iterations if iterations is None else iterations
    directory.mkdir(parents=True, exist_ok=True)
    config = {**asdict(shape), "in_channels": data.shape[1]}
    model = build_model(shape, data.shape[1], seed).to(device)
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = getattr(torch.optim, OPTIMIZERS[optimizer_name])(model.parameters(), lr=profile.lr, weight_decay=profile.weight_decay)
    losses: list[float] = []
    start = 0
    checkpoint = load_checkpoint(directory)
    if checkpoint is not None:
        if checkpoint["config"] != config:
            raise BenchError(f"defectgen checkpoint {directory / CHECKPOINT} belongs to another model", "delete it")
        model.load_state_dict(checkpoint["model"])
        ema.load_state_dict(checkpoint["ema"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        start, losses = checkpoint["step"], list(checkpoint["losses"])
    chosen = {"ema": ema, "raw": model}[weights]
    if start >= iterations:
        return chosen.eval(), losses

    alpha_bars = cosine_alpha_bars(TIMESTEPS)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")

    def save(step: int) -> None:
        state = {"config": config, "step": step, "losses": losses, "model": model.state_dict(),
                 "ema": ema.state_dict(), "optimizer": optimizer.state_dict()}
        _save_atomically(state, directory / CHECKPOINT)

    model.train()
    bar = progress(range(start, iterations), initial=start, total=iterations, desc=desc, unit="it", leave=False)
    for iteration in bar:
        generator = _step_generator(seed, iteration)
        index = torch.randint(len(data), (profile.batch_size,), generator=generator)
        t = torch.randint(1, TIMESTEPS + 1, (profile.batch_size,), generator=generator)
        noise = torch.randn((profile.batch_size, *data.shape[1:]), generator=generator)
        with autocast:
            loss = training_loss(model, data[index].to(device), t.to(device), noise.to(device), alpha_bars, parameterization)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        decay = min(profile.ema_decay, (1 + iteration) / (10 + iteration)) if ema_warmup else profile.ema_decay
        with torch.no_grad():
            for averaged, current in zip(ema.parameters(), model.parameters()):
                averaged.lerp_(current, 1 - decay)
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        if (iteration + 1) % profile.checkpoint_every == 0 or iteration + 1 == iterations:
            save(iteration + 1)
    return chosen.eval(), losses
