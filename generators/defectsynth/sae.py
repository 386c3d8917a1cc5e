"""Selective Attention Enhancement (paper III-D, eqs. 5-8, Algorithm 1) and the released code's variant.

Once per generated image a real defect of the class is aligned to the generated mask (eq. 5: the
translation and rotation with the largest mask overlap, eq. 6: the same transform applied to its latent).
At every denoising step a weight map compares the current latent with the aligned real one inside the
mask (eq. 7), and the UNet's cross-attention probabilities are multiplied by it per query position
(eq. 8), through an attention processor on every ``attn2`` layer of the UNet (the released code touches
the UNet's cross-attention only, not the ControlNet's).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Sequence

import cv2
import numpy as np
import torch
from torch.nn import functional as F

PAPER_ANGLES = tuple(range(0, 360, 30))  # the paper gives no search grid: every latent shift, 30-degree rotations
RELEASED_ANGLES = tuple(range(0, 360, 60))
RELEASED_SHIFTS_512 = (-8, -4, 0, 4, 8)  # pixels at 512 px (find_best_overlap)


@dataclass(frozen=True)
class Transform:
    """Rotate by ``angle`` degrees (counter-clockwise) about the centre, then shift by (dy, dx) pixels."""

    angle: float
    dy: float
    dx: float


def _rotate(x: torch.Tensor, angle: float, mode: str) -> torch.Tensor:
    """C x H x W rotated about its centre, zeros outside."""
    if angle % 360 == 0:
        return x
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    h, w = x.shape[-2:]
    # affine_grid maps output to input coordinates in [-1, 1]; counter-clockwise on screen (y down)
    theta = torch.tensor([[c, -s * h / w, 0.0], [s * w / h, c, 0.0]], dtype=x.dtype, device=x.device)
    grid = F.affine_grid(theta[None], [1, *x.shape], align_corners=False)
    return F.grid_sample(x[None], grid, mode=mode, padding_mode="zeros", align_corners=False)[0]


def _shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[..., yd, xd] = x[..., ys, xs]
    return out


def transform(x: torch.Tensor, t: Transform, mode: str = "bilinear") -> torch.Tensor:
    """Apply an integer-shift transform to a C x H x W tensor (latents bilinear, masks nearest)."""
    return _shift(_rotate(x, t.angle, mode), int(t.dy), int(t.dx))


def align(real: torch.Tensor, generated: torch.Tensor, angles: Sequence[float] = PAPER_ANGLES) -> Transform:
    """Eq. (5) over every integer shift and the given rotations: argmax of sum M_r' * M_g.

    Ties go to the smaller shift (|dy| + |dx|), then to the earlier angle, so an empty overlap keeps the
    identity. The overlap of every shift is one cross-correlation of the two masks."""
    h, w = generated.shape
    gen = generated.float()[None, None]
    best, best_key = Transform(0.0, 0, 0), -math.inf
    dy, dx = torch.meshgrid(torch.arange(-(h - 1), h), torch.arange(-(w - 1), w), indexing="ij")
    distance = (dy.abs() + dx.abs()).to(gen)
    for angle in angles:
        kernel = _rotate(real.float()[None], angle, "nearest")[None]
        overlap = F.conv2d(gen, kernel, padding=(h - 1, w - 1))[0, 0]  # [i, j]: real shifted by (i - h + 1, j - w + 1)
        key = overlap.round() * (2 * (h + w)) - distance
        index = int(torch.argmax(key))
        if key.reshape(-1)[index] > best_key:
            best_key = float(key.reshape(-1)[index])
            best = Transform(float(angle), int(dy.reshape(-1)[index]), int(dx.reshape(-1)[index]))
    return best


def _warp(image: np.ndarray, dx: float, dy: float, angle: float) -> np.ndarray:
    """The released order: translate, then rotate about the centre (cv2, bilinear, zero border)."""
    h, w = image.shape[:2]
    moved = cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h))
    return cv2.warpAffine(moved, cv2.getRotationMatrix2D((w // 2, h // 2), angle, 1.0), (w, h))


def align_released(real: np.ndarray, generated: np.ndarray) -> tuple[float, float, float]:
    """The released grid search (``find_best_overlap``) on image-size masks: (dx, dy, angle).

    Shifts of -8..8 px in 4 px steps at 512 px (scaled to the image size), 60-degree rotations; the first
    strictly larger overlap wins and no overlap at all keeps the identity."""
    scale = generated.shape[1] / 512
    best, best_area = (0.0, 0.0, 0.0), 0
    gen = generated > 0
    for dx in RELEASED_SHIFTS_512:
        for dy in RELEASED_SHIFTS_512:
            for angle in RELEASED_ANGLES:
                moved = _warp(real.astype(np.uint8), dx * scale, dy * scale, angle)
                area = int(np.count_nonzero((moved > 0) & gen))
                if area > best_area:
                    best, best_area = (dx * scale, dy * scale, float(angle)), area
    return best


def warp_released(image: np.ndarray, dx: float, dy: float, angle: float) -> np.ndarray:
    return _warp(image, dx, dy, angle)


def weights_paper(reference: torch.Tensor, latents: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. (7): w = ||M_g||_1 * Softmax(mean_c((M_g * (z'_r - z_t))^2)) + 1, the softmax over all positions.

    ``mask`` is B x 1 x h x w in {0, 1}; returns B x h x w."""
    difference = ((mask * (reference - latents)) ** 2).mean(dim=1)
    b, h, w = difference.shape
    probabilities = torch.softmax(difference.reshape(b, -1).double(), dim=1).reshape(b, h, w)
    return (mask.sum(dim=(1, 2, 3)).double()[:, None, None] * probabilities + 1).to(latents.dtype)


def weights_released(reference: torch.Tensor, latents: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The released ``weight_map2``: inside the mask 1 + the min-max normalised difference, 1 outside.

    Min and max are taken over the whole batch, as the released code does (its batch is one pair's copies)."""
    inside = (mask > 0.5).to(latents.dtype)
    difference = ((inside * (latents - reference)) ** 2).mean(dim=1)
    low, high = difference.min(), difference.max()
    normalised = torch.zeros_like(difference) if high == low else (difference - low) / (high - low)
    weights = inside[:, 0] * (normalised + inside[:, 0])
    return torch.where(weights == 0, torch.ones_like(weights), weights)


class SAEState:
    """The weight map of the current step, shared by every SAE processor of one UNet (None: no re-weighting)."""

    def __init__(self):
        self.weights: torch.Tensor | None = None


def _token_weights(weights: torch.Tensor, tokens: int, batch: int, heads: int) -> torch.Tensor:
    """B x h x w -> (batch * heads) x tokens x 1 at this layer's resolution (nearest, as released)."""
    b, h, w = weights.shape
    scale = math.sqrt(tokens / (h * w))
    size = (round(h * scale), round(w * scale))
    resized = F.interpolate(weights[:, None], size=size, mode="nearest")[:, 0].reshape(b, -1)
    resized = resized.repeat(batch // b, 1)  # classifier-free guidance stacks [unconditional, conditional]
    return resized.repeat_interleave(heads, dim=0)[:, :, None]


class SAEAttention:
    """Cross-attention whose softmax probabilities are multiplied by the SAE weight of each query (eq. 8)."""

    def __init__(self, state: SAEState):
        self.state = state

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, *args, **kwargs):
        batch, tokens, _ = hidden_states.shape
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        if attn.norm_cross and encoder_hidden_states is not None:
            context = attn.norm_encoder_hidden_states(context)
        mask = attn.prepare_attention_mask(attention_mask, context.shape[1], batch)
        query = attn.head_to_batch_dim(attn.to_q(hidden_states))
        key = attn.head_to_batch_dim(attn.to_k(context))
        value = attn.head_to_batch_dim(attn.to_v(context))
        probabilities = attn.get_attention_scores(query, key, mask)
        if self.state.weights is not None:
            probabilities = probabilities * _token_weights(self.state.weights, tokens, batch, attn.heads)
        out = attn.batch_to_head_dim(torch.bmm(probabilities, value))
        out = attn.to_out[1](attn.to_out[0](out))
        return out / attn.rescale_output_factor


@contextmanager
def enhanced(unet, state: SAEState) -> Iterator[None]:
    """SAE processors on the UNet's cross-attention layers for the duration of the block."""
    previous = unet.attn_processors
    unet.set_attn_processor({name: SAEAttention(state) if ".attn2." in name else p for name, p in previous.items()})
    try:
        yield
    finally:
        unet.set_attn_processor(previous)
