"""Gaussian diffusion over image + one-hot mask: the cosine schedule, the training loss and the update rules.

Timesteps run 1..T (``alpha_bars[0] = 1`` is clean data). Three update rules map x_{t_from} to x_{t_to}:
``ancestral`` (the DDIM step with eta = 1, which between neighbouring timesteps is exactly DDPM's posterior
step), ``ddim`` (eta = 0, deterministic, for strided chains) and ``cold``, the released code's
``ColdDiffusion.p_sample``: x_t - q(x0, t_from) + q(x0, t_to) with the noise implied by the unclipped
prediction, which adds no fresh noise (docs/defectgen.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F


def cosine_alpha_bars(timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Cumulative signal fractions alpha_bar_0..alpha_bar_T of Nichol & Dhariwal's cosine schedule (float64)."""

    def f(t: float) -> float:
        return math.cos((t / timesteps + s) / (1 + s) * math.pi / 2) ** 2

    betas = torch.tensor([min(1 - f(t) / f(t - 1), max_beta) for t in range(1, timesteps + 1)], dtype=torch.float64)
    return torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - betas, 0)])


def _at(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.to(like.device)[t].to(like.dtype).reshape(-1, *([1] * (like.ndim - 1)))


def training_loss(
    model: nn.Module, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, alpha_bars: torch.Tensor, parameterization: str
) -> torch.Tensor:
    """Plain MSE on the predicted x0 (the released code's objective) or on the predicted noise."""
    ab = _at(alpha_bars, t, x0)
    x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
    target = x0 if parameterization == "x0" else noise
    return F.mse_loss(model(x_t, t).float(), target)


def estimate(prediction: torch.Tensor, x_t: torch.Tensor, alpha_bar: float, parameterization: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(x0 clipped to [-1, 1], the noise the raw prediction implies before clipping)."""
    a, b = math.sqrt(alpha_bar), math.sqrt(1 - alpha_bar)
    if parameterization == "eps":
        return ((x_t - b * prediction) / a).clamp(-1, 1), prediction
    return prediction.clamp(-1, 1), (x_t - a * prediction) / b


def step(
    x_t: torch.Tensor, x0: torch.Tensor, alpha_bar_from: float, alpha_bar_to: float, eta: float, noise: torch.Tensor
) -> torch.Tensor:
    """x_{t_to} from x_{t_from} and the clean estimate x0 (DDIM, Song et al. 2021, eq. 12)."""
    eps = (x_t - math.sqrt(alpha_bar_from) * x0) / math.sqrt(1 - alpha_bar_from)
    sigma = eta * math.sqrt((1 - alpha_bar_to) / (1 - alpha_bar_from) * (1 - alpha_bar_from / alpha_bar_to))
    direction = math.sqrt(max(1 - alpha_bar_to - sigma**2, 0.0))
    return math.sqrt(alpha_bar_to) * x0 + direction * eps + sigma * noise


def cold_step(
    x_t: torch.Tensor, x0: torch.Tensor, eps: torch.Tensor, alpha_bar_from: float, alpha_bar_to: float, t_from: int
) -> torch.Tensor:
    """The released update: x_t - q(x0, t_from, eps) + q(x0, t_from - 1, eps), deterministic. Where the release's
    0-based index is 1 (t_from = 2 here) it skips the first q_sample and subtracts x0 itself; kept as shipped."""
    here = x0 if t_from == 2 else math.sqrt(alpha_bar_from) * x0 + math.sqrt(1 - alpha_bar_from) * eps
    return x_t - here + math.sqrt(alpha_bar_to) * x0 + math.sqrt(1 - alpha_bar_to) * eps


@dataclass(frozen=True)
class Update:
    """One update rule: whether it draws fresh noise, and the step from (x_t, x0, eps, alpha_bars, t, noise)."""

    noisy: bool
    apply: Callable[..., torch.Tensor]


UPDATES: dict[str, Update] = {
    "ancestral": Update(True, lambda x, x0, eps, a, b, t, noise: step(x, x0, a, b, 1.0, noise)),
    "ddim": Update(False, lambda x, x0, eps, a, b, t, noise: step(x, x0, a, b, 0.0, noise)),
    "cold": Update(False, lambda x, x0, eps, a, b, t, noise: cold_step(x, x0, eps, a, b, t)),
}
