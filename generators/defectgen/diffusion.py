"""Gaussian diffusion over image + one-hot mask: the cosine schedule, the training loss and one sampling step.

Timesteps run 1..T (``alpha_bars[0] = 1`` is clean data). One update rule serves every sampler: the
DDIM step with noise scale ``eta``; with eta = 1 between neighbouring timesteps it is exactly the
DDPM ancestral step, with eta = 0 over strided timesteps it is deterministic DDIM.
"""

from __future__ import annotations

import math

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


def predict_x0(prediction: torch.Tensor, x_t: torch.Tensor, alpha_bar: float, parameterization: str) -> torch.Tensor:
    """The model's estimate of clean data, clipped to the data range [-1, 1]."""
    if parameterization == "eps":
        prediction = (x_t - math.sqrt(1 - alpha_bar) * prediction) / math.sqrt(alpha_bar)
    return prediction.clamp(-1, 1)


def step(
    x_t: torch.Tensor, x0: torch.Tensor, alpha_bar_from: float, alpha_bar_to: float, eta: float, noise: torch.Tensor
) -> torch.Tensor:
    """x_{t_to} from x_{t_from} and the clean estimate x0 (DDIM, Song et al. 2021, eq. 12)."""
    eps = (x_t - math.sqrt(alpha_bar_from) * x0) / math.sqrt(1 - alpha_bar_from)
    sigma = eta * math.sqrt((1 - alpha_bar_to) / (1 - alpha_bar_from) * (1 - alpha_bar_from / alpha_bar_to))
    direction = math.sqrt(max(1 - alpha_bar_to - sigma**2, 0.0))
    return math.sqrt(alpha_bar_to) * x0 + direction * eps + sigma * noise
