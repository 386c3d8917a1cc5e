"""The background steps: the released code's latent blending and histogram matching; the paper reading's
own blending (``sampling.py``) uses ``keep_background`` with no dilation.

Blending (``ddim_wm2.py``): before every denoising step the latent outside a dilated copy of the mask is
replaced by the normal image's latent noised to the current timestep; the dilation radius shrinks with t,
``(t + 100) * k // 1000`` latent pixels at SD's 64 x 64 latent (k = 16 for 50 steps, else 8), scaled
here to other latent sizes. Histogram matching (``hist_matching``): the decoded pictures' grey levels,
all channels pooled, are mapped through the normal image's cumulative histogram.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

SD_LATENT = 64  # the latent width the released radii are written for


def dilation_radius(t: int, steps: int, latent_width: int) -> int:
    per_thousand = 16 if steps == 50 else 8
    return int((int(t) + 100) * per_thousand // 1000 * latent_width / SD_LATENT)


def dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Grey dilation of a B x 1 x h x w mask by a (2r + 1) square (the released ``Dilation2d``)."""
    return mask if radius <= 0 else F.max_pool2d(mask, 2 * radius + 1, stride=1, padding=radius)


def keep_background(latents: torch.Tensor, noised_background: torch.Tensor, mask: torch.Tensor, radius: int) -> torch.Tensor:
    grown = dilate(mask, radius)
    return latents * grown + noised_background * (1 - grown)


def match_histogram(images: np.ndarray, reference: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Grey-level histogram matching of uint8 ``images`` to ``reference`` (all pixels and channels pooled).

    Each level of ``images`` goes to the reference level at the same cumulative frequency (one bin per
    level, linear between levels; the released code's 256 bins are 255/256 wide), blended with the
    original by ``alpha`` and truncated to uint8 as there."""
    bins = np.arange(256)
    source_cdf = np.cumsum(np.bincount(images.ravel(), minlength=256)) / images.size
    reference_cdf = np.cumsum(np.bincount(reference.ravel(), minlength=256)) / reference.size
    matched = np.interp(np.interp(images.ravel(), bins, source_cdf), reference_cdf, bins)
    out = alpha * matched + (1 - alpha) * images.ravel()
    return out.reshape(images.shape).astype(np.uint8)
