"""Stage 2 at inference: ControlNet-guided DDIM from the normal picture, the HMI mask and the prompt, with
SAE, SFF and the reading's way of keeping the normal picture outside the mask.

Every image draws its starting noise, and per step its background noise (released) and DDIM variance
noise, from its own generator seeded by (seed, pair, copy), so an image never depends on the batch it was
denoised in beyond float rounding. SFF and the released SAE normalisation work within one SFF group.

The paper feeds a defect-free picture in at inference (abstract, III-B, Fig. 2) without saying how;
``blend="paper"`` reads it as latent blending along DDIM's deterministic path: the picture's latent z_y is
noised with the image's own starting noise eps, sqrt(a_t) z_y + sqrt(1 - a_t) eps, which is where the
latent starts and what it holds outside the mask before every step, and after the last step (and SFF)
the latent outside the mask is z_y itself, so the decoded picture is the normal one around the defect.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from bench.core.pairset import Pair
from generators.defectsynth.background import dilate, dilation_radius, keep_background, match_histogram
from generators.defectsynth.config import Reading
from generators.defectsynth.models import Parts
from generators.defectsynth.sae import SAEState, align, align_released, enhanced, transform, warp_released, weights_paper, weights_released
from generators.defectsynth.sff import fuse
from generators.defectsynth.training import control_images, generator, hint_tensor, resize


@dataclass(frozen=True)
class Condition:
    """What one generated image is made from."""

    shape: np.ndarray  # H x W bool, the HMI mask at the pair's size
    background: np.ndarray  # the normal image, H x W x 3 uint8
    reference: Pair  # a real defect of the class (SAE), its mask holding that class only
    prompt: str
    seed: tuple[int, ...]  # of this image's noise generator


def latent_masks(shapes: Sequence[np.ndarray], resolution: int, latent: int, device: torch.device) -> torch.Tensor:
    """B x 1 x h x w soft masks: the binary mask at the working size, bilinear to the latent (released)."""
    full = np.stack([cv2.resize(s.astype(np.float32), (resolution, resolution), interpolation=cv2.INTER_NEAREST) for s in shapes])
    return F.interpolate(torch.from_numpy(full)[:, None].to(device), size=(latent, latent), mode="bilinear", align_corners=False)


def _upsampled(mask: torch.Tensor, resolution: int) -> np.ndarray:
    return cv2.resize(mask.float().cpu().numpy(), (resolution, resolution), interpolation=cv2.INTER_NEAREST) > 0.5


class Sampler:
    """The frozen parts, the fine-tuned ControlNet and one reading, ready to denoise batches of conditions."""

    def __init__(self, parts: Parts, controlnet, reading: Reading, resolution: int):
        self.parts, self.controlnet, self.reading, self.resolution = parts, controlnet, reading, resolution
        self.latent = resolution // parts.factor
        self.state = SAEState()
        self._texts: dict[str, torch.Tensor] = {}

    def text(self, prompts: Sequence[str]) -> torch.Tensor:
        missing = sorted({p for p in prompts if p not in self._texts})
        if missing:
            self._texts.update(zip(missing, self.parts.encode_text(missing)))
        return torch.stack([self._texts[p] for p in prompts])

    def _latents(self, images: np.ndarray) -> torch.Tensor:
        """Posterior means of images entering the VAE the reading's way (released: in [0, 1])."""
        pixels = self.parts.to_pixels(resize(images, self.resolution, cv2.INTER_AREA), self.reading.vae_input)
        return self.parts.posterior(pixels)[0]

    def references(self, conditions: Sequence[Condition], masks: torch.Tensor, first_t: int) -> torch.Tensor:
        """Algorithm 1, step 1: each condition's real latent aligned once to its generated mask."""
        refs = [c.reference for c in conditions]
        latents = self._latents(np.stack([r.image for r in refs]))
        real_masks = latent_masks([r.mask > 0 for r in refs], self.resolution, self.latent, self.parts.device) > 0.5
        out = []
        for i, condition in enumerate(conditions):
            if self.reading.align == "paper":
                t = align(real_masks[i, 0], masks[i, 0] > 0.5)
                out.append(transform(latents[i], t))
                continue
            # released: image-size masks (the generated one dilated as at the first step), image-space warp
            grown = dilate(masks[i : i + 1], dilation_radius(first_t, self.reading.steps, self.latent))[0, 0] > 0.5
            dx, dy, angle = align_released(_upsampled(real_masks[i, 0], self.resolution), _upsampled(grown, self.resolution))
            decoded = self.parts.decode(latents[i : i + 1])[0]
            out.append(self._latents(warp_released(decoded, dx, dy, angle)[None])[0])
        return torch.stack(out)

    def _noise(self, generators: Sequence[torch.Generator]) -> torch.Tensor:
        shape = (self.parts.unet.config.in_channels, self.latent, self.latent)
        return torch.stack([torch.randn(shape, generator=g) for g in generators]).to(self.parts.device)

    def _predict(self, x: torch.Tensor, t, text: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
        guidance = self.reading.guidance
        if guidance > 1:
            empty = self.text([""]).expand(len(x), -1, -1)
            x, text, hints = torch.cat([x, x]), torch.cat([empty, text]), torch.cat([hints, hints])
        down, middle = self.controlnet(x, t, encoder_hidden_states=text, controlnet_cond=hints, return_dict=False)
        eps = self.parts.unet(
            x, t, encoder_hidden_states=text, down_block_additional_residuals=down, mid_block_additional_residual=middle
        ).sample
        if guidance > 1:
            unconditional, conditional = eps.chunk(2)
            eps = unconditional + guidance * (conditional - unconditional)
        return eps

    def _weights(self, refs: torch.Tensor, x: torch.Tensor, inside: torch.Tensor, group: int) -> torch.Tensor:
        if self.reading.sae == "paper":
            return weights_paper(refs, x, inside)
        chunks = zip(refs.split(group), x.split(group), inside.split(group))
        return torch.cat([weights_released(r, z, m) for r, z, m in chunks])

    def normal_latents(self, conditions: Sequence[Condition]) -> torch.Tensor | None:
        """z_y of each condition's normal picture, or None where the reading generates the whole picture."""
        if self.reading.blend == "off":
            return None
        with torch.inference_mode():
            return self._latents(np.stack([c.background for c in conditions]))

    @torch.inference_mode()
    def denoise(self, conditions: Sequence[Condition], group: int, background: torch.Tensor | None = None) -> torch.Tensor:
        """Final latents (B x 4 x h x w) of a batch made of whole SFF groups of ``group`` images; ``background``
        (``normal_latents``) is what the reading's blending keeps outside the masks."""
        reading, device = self.reading, self.parts.device
        scheduler = self.parts.scheduler(reading.beta_schedule)
        scheduler.set_timesteps(reading.steps, device=device)
        generators = [generator(*c.seed) for c in conditions]
        masks = latent_masks([c.shape for c in conditions], self.resolution, self.latent, device)
        inside = (masks > 0.5).to(masks.dtype)
        hints = hint_tensor(control_images([c.shape for c in conditions], self.resolution), device)
        text = self.text([c.prompt + reading.prompt_suffix for c in conditions])
        refs = self.references(conditions, masks, int(scheduler.timesteps[0])) if reading.sae != "off" else None
        x = eps = self._noise(generators)
        if background is not None and reading.blend == "paper":
            x = scheduler.add_noise(background, eps, scheduler.timesteps[:1])
        self.state.weights = None
        with enhanced(self.parts.unet, self.state) if refs is not None else nullcontext():
            for t in scheduler.timesteps:
                if background is not None and reading.blend == "paper":  # the normal latent on DDIM's deterministic path
                    x = keep_background(x, scheduler.add_noise(background, eps, t.reshape(1)), masks, 0)
                elif background is not None:  # released: freshly noised, outside a mask dilated by t
                    noised = scheduler.add_noise(background, self._noise(generators), t.reshape(1))
                    x = keep_background(x, noised, masks, dilation_radius(int(t), reading.steps, self.latent))
                if refs is not None:
                    self.state.weights = self._weights(refs, x, inside, group)
                eps = self._predict(x, t, text, hints)
                variance = self._noise(generators) if reading.eta > 0 else None
                x = scheduler.step(eps, t, x, eta=reading.eta, variance_noise=variance).prev_sample
        self.state.weights = None
        return x

    def images(self, conditions: Sequence[Condition], group: int, sff_seeds: Sequence[tuple[int, ...]]) -> np.ndarray:
        """Denoise, fuse within each group (SFF), keep the normal latent outside the masks (paper), decode:
        N x R x R x 3 uint8 at the working resolution."""
        return self.parts.decode(self.latents(conditions, group, sff_seeds))

    @torch.inference_mode()
    def latents(self, conditions: Sequence[Condition], group: int, sff_seeds: Sequence[tuple[int, ...]]) -> torch.Tensor:
        """The latents ``images`` decodes."""
        background = self.normal_latents(conditions)
        latents = self.denoise(conditions, group, background)
        reading = self.reading
        region = latent_masks([c.shape for c in conditions], self.resolution, self.latent, latents.device)
        if reading.sff != "off":
            fused = []
            for k, seed in enumerate(sff_seeds):
                part = slice(k * group, (k + 1) * group)
                keep = region[part] if reading.sff_region == "mask" else None
                fused.append(fuse(latents[part], reading.sff_rate, reading.sff_weight, reading.sff, generator(*seed), keep))
            latents = torch.cat(fused)
        if reading.blend == "paper":
            latents = keep_background(latents, background, region, 0)
        return latents


def finish(images: np.ndarray, background: np.ndarray, alpha: float, size: tuple[int, int]) -> np.ndarray:
    """Histogram-match one pair's copies jointly to its normal image (released), keep the first, resize."""
    if alpha > 0:
        reference = np.repeat(cv2.resize(background, images.shape[1:3][::-1], interpolation=cv2.INTER_AREA)[None], len(images), 0)
        images = match_histogram(images, reference, alpha)
    height, width = size
    shrink = width < images.shape[2]
    return cv2.resize(images[0], (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
