"""Running a sampling plan with the trained denoisers, and decoding the result into pairs.

Each sample draws all of its noise from its own generator seeded by (seed, index), so a pair
depends on the seed and its index only, never on the batch it was sampled in.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import cv2
import numpy as np
import torch
from torch import nn

from bench.core.progress import progress as progress_bar
from generators.defectgen.diffusion import Update, estimate
from generators.defectgen.plan import Step


def sample_generators(seed: int, indices: Sequence[int]) -> list[torch.Generator]:
    states = [np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0] for index in indices]
    return [torch.Generator().manual_seed(int(state)) for state in states]


def _noise(generators: Sequence[torch.Generator], shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    return torch.stack([torch.randn(shape, generator=g) for g in generators]).to(device)


@torch.inference_mode()
def run_plan(
    models: Mapping[str, nn.Module],
    steps: Sequence[Step],
    alpha_bars: torch.Tensor,
    parameterization: str,
    update: Update,
    generators: Sequence[torch.Generator],
    shape: tuple[int, ...],
    device: torch.device,
    progress: bool = True,
) -> torch.Tensor:
    """Start from unit noise and apply every step with the model it names; returns x_0 (float32, CPU)."""
    x = _noise(generators, shape, device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    for s in progress_bar(steps, desc="denoising", unit="step", leave=False, enabled=progress):
        ab_from, ab_to = float(alpha_bars[s.t_from]), float(alpha_bars[s.t_to])
        t = torch.full((len(generators),), s.t_from, device=device)
        with autocast:
            prediction = models[s.model](x, t).float()
        x0, eps = estimate(prediction, x, ab_from, parameterization)
        noise = _noise(generators, shape, device) if update.noisy and s.t_to > 0 else torch.zeros_like(x)
        x = update.apply(x, x0, eps, ab_from, ab_to, s.t_from, noise)
    return x.cpu()


def decode(x: torch.Tensor, classes: Sequence[int], size: tuple[int, int], background: bool = True,
           onehot: tuple[float, float] = (0.0, 1.0)) -> list[tuple[np.ndarray, np.ndarray]]:
    """(image H x W x 3 uint8, mask H x W uint8) per sample. With a background channel the mask is the argmax over
    the known classes (the release); without one (the paper's n_defect channels) a pixel takes the defect class of
    its largest channel where that channel is past the middle of the one-hot's off and on values, else background."""
    height, width = size
    first = 0 if background else 1
    allowed = torch.full((x.shape[1] - 3,), float("-inf"))
    allowed[[c - first for c in classes if c >= first]] = 0.0
    scores = x[:, 3:] + allowed[None, :, None, None]
    masks = scores.argmax(1) + first
    if not background:
        masks = torch.where(scores.amax(1) > sum(onehot) / 2, masks, torch.zeros_like(masks))
    masks = masks.to(torch.uint8).numpy()
    images = ((x[:, :3].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return [
        (
            cv2.resize(np.ascontiguousarray(image), (width, height), interpolation=cv2.INTER_LINEAR),
            cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST),
        )
        for image, mask in zip(images, masks)
    ]
