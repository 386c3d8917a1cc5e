"""Similarity-Based Feature Fusion (paper III-E, eq. 9): local features swapped between the images of a batch.

A pure function of the final latents and a seeded generator. For each image i of the batch (the base), a
share ``rate`` of its latent positions is drawn; for every other image j each drawn feature finds its most
similar position in j (dot product in the paper, cosine in the released code), and the drawn features
become ``w_i * f + sum_j w_j * r_j``. The paper's weights sum to one: the base keeps ``weight`` and the
references share the rest; the released code gives each reference ``1 - weight``, which is the same for
its batch of two. Every base is fused from the original batch, not from images already fused.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def fuse(
    latents: torch.Tensor,
    rate: float,
    weight: float,
    similarity: str,
    generator: torch.Generator,
    region: torch.Tensor | None = None,
) -> torch.Tensor:
    """B x C x H x W -> fused latents; ``region`` (B x 1 x H x W in [0, 1]) keeps the result inside it only."""
    b, c, h, w = latents.shape
    if b < 2:
        return latents.clone()
    flat = latents.reshape(b, c, h * w)
    keys = F.normalize(flat, dim=1) if similarity == "cosine" else flat
    points = max(1, int(rate * h * w))
    ref_weight = (1 - weight) / (b - 1)
    fused = flat.clone()
    for i in range(b):
        chosen = torch.randperm(h * w, generator=generator)[:points].to(latents.device)
        mixed = weight * flat[i][:, chosen]
        for j in range(b):
            if j != i:
                nearest = torch.argmax(keys[i][:, chosen].T @ keys[j], dim=1)  # first maximum on ties
                mixed = mixed + ref_weight * flat[j][:, nearest]
        fused[i][:, chosen] = mixed
    out = fused.reshape(b, c, h, w)
    return out if region is None else out * region + latents * (1 - region)
