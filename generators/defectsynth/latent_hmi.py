"""HMI's latent branch (paper III-C, eq. 4): VAE, DDIM inversion, slerp, DDIM sampling, threshold.

Both masks are drawn as white-on-black pictures, encoded by the frozen VAE and inverted to noise with
DDIM under an empty prompt; the noises are interpolated by slerp and denoised again by the frozen UNet,
and the decoded pictures are thresholded into masks. The released code runs this through DiffMorpher,
which also interpolates the up-blocks' self-attention between the two ends for the first 60 % of the
steps (``attention_mix``) and removes white specks under 50 px (at 512 px) from the intermediate frames.
It runs under the schedule the frozen UNet was trained with (SD's scaled-linear for the real weights),
as the UNet is the pretrained one, not the fine-tuned model.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
import torch

from generators.defectsynth.config import HMI_PROMPT
from generators.defectsynth.models import Parts
from generators.defectsynth.training import control_images

SPECK_PX_512 = 50  # released remove_small_white_spots area, at 512 px
GREY = np.array([0.299, 0.587, 0.114])  # PIL's convert("L")


def slerp(first: torch.Tensor, second: torch.Tensor, alpha: float) -> torch.Tensor:
    """Spherical interpolation of two noise tensors, treated as single vectors (float64 inside)."""
    a, b = first.double(), second.double()
    cosine = (torch.sum(a * b) / (torch.linalg.norm(a) * torch.linalg.norm(b))).clamp(-1 + 1e-7, 1 - 1e-7)
    theta = torch.arccos(cosine)
    mixed = (torch.sin((1 - alpha) * theta) * a + torch.sin(alpha * theta) * b) / torch.sin(theta)
    return mixed.to(first.dtype)


class AttentionMix:
    """DiffMorpher's self-attention interpolation: the ends' self-attention inputs are stored per call;
    intermediate frames attend to (1 - alpha) * first + alpha * second for their first ``limit`` calls."""

    def __init__(self, base, maps: list, limit: int):
        self.base, self.maps, self.limit = base, maps, limit
        self.alphas: torch.Tensor | None = None  # None: store; else one weight per batch element
        self.calls = 0

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, **kwargs):
        if encoder_hidden_states is None:
            if self.alphas is None:
                self.maps.append(hidden_states.detach())
            elif self.calls < self.limit:
                first, second = self.maps[self.calls][0:1], self.maps[self.calls][1:2]
                a = self.alphas[:, None, None].to(hidden_states)
                encoder_hidden_states = (1 - a) * first + a * second
            self.calls += 1
        return self.base(attn, hidden_states, encoder_hidden_states=encoder_hidden_states, attention_mask=attention_mask, **kwargs)


class LatentMasks:
    """The latent branch as an ``HMIMaskSource`` latent morph."""

    def __init__(
        self, parts: Parts, schedule: str, steps: int, threshold: int, attention_mix: float, resolution: int, released: bool
    ):
        self.parts, self.schedule, self.steps, self.threshold = parts, schedule, steps, threshold
        self.attention_mix, self.resolution, self.released = attention_mix, resolution, released
        self.text = parts.encode_text([HMI_PROMPT])

    @torch.inference_mode()
    def _run(self, latents: torch.Tensor, inverse: bool) -> torch.Tensor:
        scheduler = self.parts.scheduler(self.schedule, inverse=inverse)
        scheduler.set_timesteps(self.steps)
        text = self.text.expand(len(latents), -1, -1)
        for t in scheduler.timesteps:
            eps = self.parts.unet(latents, t, encoder_hidden_states=text).sample
            latents = scheduler.step(eps, t, latents).prev_sample
        return latents

    def _sample(self, noise: torch.Tensor, mixes: list[AttentionMix], alphas: torch.Tensor | None) -> torch.Tensor:
        for mix in mixes:
            mix.alphas, mix.calls = alphas, 0
        return self._run(noise, inverse=False)

    def _masks(self, latents: torch.Tensor, size: tuple[int, int], clean: bool) -> list[np.ndarray]:
        grey = self.parts.decode(latents) @ GREY
        out = []
        for picture in grey:
            mask = (picture > self.threshold).astype(np.uint8)
            if clean:
                count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
                small = SPECK_PX_512 * (self.resolution / 512) ** 2
                mask[np.isin(labels, [k for k in range(1, count) if stats[k, cv2.CC_STAT_AREA] < small])] = 0
            out.append(cv2.resize(mask, size[::-1], interpolation=cv2.INTER_NEAREST) > 0)
        return out

    def frames(self, first: np.ndarray, second: np.ndarray, alphas: Sequence[float]) -> list[np.ndarray]:
        pixels = self.parts.to_pixels(control_images([first, second], self.resolution))
        ends = self._run(self.parts.posterior(pixels)[0], inverse=True)
        size = first.shape
        if not self.attention_mix:
            noise = torch.stack([slerp(ends[0], ends[1], a) for a in alphas])
            return self._masks(self._sample(noise, [], None), size, clean=self.released)
        unet = self.parts.unet
        previous = unet.attn_processors
        maps: dict[str, list] = {}
        limit = round(self.attention_mix * self.steps)
        mixes = {
            name: AttentionMix(p, maps.setdefault(name, []), limit) if name.startswith("up") and ".attn1." in name else p
            for name, p in previous.items()
        }
        unet.set_attn_processor(mixes)
        try:
            active = [m for m in mixes.values() if isinstance(m, AttentionMix)]
            end_masks = self._masks(self._sample(ends, active, None), size, clean=False)
            middle = [a for a in alphas if 0 < a < 1]
            noise = torch.stack([slerp(ends[0], ends[1], a) for a in middle]) if middle else None
            mid_masks = self._masks(self._sample(noise, active, torch.tensor(middle)), size, self.released) if middle else []
        finally:
            unet.set_attn_processor(previous)
        mid = iter(mid_masks)
        return [end_masks[0] if a <= 0 else end_masks[1] if a >= 1 else next(mid) for a in alphas]
