"""Sampling: ancestral DDPM steps with guidance, and the mask read-out.

The chain is diffusers' ``DDPMScheduler`` with DiT's linear schedule and ``linspace`` spacing, which
picks the same timesteps as DiT's respacing (50 steps: 999, 979, ..., 20, 0) and the same learned-range
variance. Every guidance branch of a batch runs in one forward pass. Each pair draws its noise from its
own generator seeded by (seed, index), so a pair depends on the seed and its index only.

The mask is the mask head's output averaged over the steps with t < 100 (paper: "the last 100
timesteps" of a 1000-step chain; released: the last 5 of 50 steps, t = 82 ... 0), decoded by the
VAE, turned grey and binarised with the released code's iterative threshold; a map in which no pixel
reaches ``MASK_FLOOR`` marks nothing (``binarize``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from bench.core.progress import progress as progress_bar
from generators.defectdiffu.config import BETA_END, BETA_START, GOOD, MASK_BELOW, MASK_FLOOR, TIMESTEPS, Reading, prompts
from generators.defectdiffu.dit import Conditions, DiT
from generators.defectdiffu.guidance import Guidance, guide
from generators.defectdiffu.text import TextBank
from generators.defectdiffu.vae import decode, step_generator
from generators.diffusion_common import offline


def make_scheduler(learn_sigma: bool):
    offline()
    from diffusers import DDPMScheduler

    return DDPMScheduler(
        num_train_timesteps=TIMESTEPS,
        beta_start=BETA_START,
        beta_end=BETA_END,
        beta_schedule="linear",
        variance_type="learned_range" if learn_sigma else "fixed_large",
        clip_sample=False,
        prediction_type="epsilon",
        timestep_spacing="linspace",
    )


def sample_generators(seed: int, indices: Sequence[int]) -> list[torch.Generator]:
    return [step_generator(seed, 2, index) for index in indices]


def branch_conditions(bank: TextBank, guidance: Guidance, defects: Sequence[str], product: str | None, tokens: bool):
    """Conditions of every branch for every sample, branch-major (branch 0's B samples first)."""
    parts = []
    for use_defect, use_product in guidance.branches:
        triples = [prompts(d if use_defect else GOOD, product if use_product else None) for d in defects]
        parts.append(bank.conditions(triples, tokens))
    return Conditions.cat(parts)


@torch.inference_mode()
def denoise(
    model: DiT,
    vae,
    bank: TextBank,
    guidance: Guidance,
    reading: Reading,
    steps: int,
    defects: Sequence[str],
    product: str | None,
    scales: torch.Tensor,
    w_p: float,
    generators: list[torch.Generator],
    device: torch.device,
    progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, decoded masks), both B x 3 x R x R in about [-1, 1] on the CPU."""
    config = model.config
    scheduler = make_scheduler(config.learn_sigma)  # switches the hub libraries offline before importing diffusers
    from diffusers.utils.torch_utils import randn_tensor

    scheduler.set_timesteps(steps)
    batch, branches = len(defects), len(guidance.branches)
    shape = (batch, config.in_channels, config.input_size, config.input_size)
    x = randn_tensor(shape, generator=generators, device=device)
    cond = branch_conditions(bank, guidance, defects, product, config.context == "tokens").to(device)
    scale = scales.to(device=device, dtype=torch.float32)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    masks, count = None, 0
    for t in progress_bar(scheduler.timesteps, desc="defectdiffu sampling", unit="step", leave=False, enabled=progress):
        timestep = torch.full((batch * branches,), int(t), device=device)
        with autocast:
            result = model(x.repeat(branches, 1, 1, 1), timestep, cond)
        out = result.out.float().view(branches, batch, *result.out.shape[1:])
        model_output = guide(guidance, out, scale, w_p, reading.guided_channels)
        x = scheduler.step(model_output, t, x, generator=generators).prev_sample
        if int(t) < MASK_BELOW:
            mask = result.mask.float().view(branches, batch, *result.mask.shape[1:])[0]
            mask = decode(vae, mask) if reading.mask_average == "decoded" else mask
            masks = mask if masks is None else masks + mask
            count += 1
    masks = masks / count
    if reading.mask_average == "latent":
        masks = decode(vae, masks)
    return decode(vae, x).cpu(), masks.cpu()


def gray(images: torch.Tensor) -> np.ndarray:
    """B x 3 x H x W -> B x H x W with the ITU-R 601 weights, as the released read-out."""
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (images.float() * weights).sum(1).numpy()


def iterative_threshold(values: np.ndarray, tolerance: float = 1e-4) -> float:
    """The released code's iterative (isodata) threshold: start at the mean, move to the midpoint of the
    two class means until it settles."""
    values = values.astype(np.float64).ravel()
    threshold, previous = values.mean(), None
    while previous is None or abs(threshold - previous) > tolerance:
        previous = threshold
        upper, lower = values[values >= threshold], values[values < threshold]
        threshold = ((upper.mean() if upper.size else 0.0) + (lower.mean() if lower.size else 0.0)) / 2
    return float(threshold)


def binarize(masks: torch.Tensor, floor: float = MASK_FLOOR) -> np.ndarray:
    """Decoded masks -> B x H x W bool: grey value at or above its own iterative threshold, in a map whose
    brightest pixel reaches ``floor``. The iterative threshold splits every map in two, so a map that reads
    background everywhere (a pair whose defect did not appear) would mark its brighter bulk, nearly the whole
    picture; such a map, and a constant one, is empty (the released code would mark every pixel)."""
    out = []
    for g in gray(masks):
        out.append(np.zeros(g.shape, bool) if np.ptp(g) < 1e-6 or g.max() < floor else g >= iterative_threshold(g))
    return np.stack(out)
