"""The image autoencoder: Stable Diffusion's VAE from ``$BENCH_WEIGHTS``, or for the self-contained
profiles a tiny ``AutoencoderKL`` fitted here to the training images and masks.

A random VAE decodes nothing recognisable, so the tiny one is first fitted to what the DiT will see:
the training images and the masks drawn as images, in random crops of half the side (it is
convolutional, and crops cost a quarter of the pixels). It is fitted as a plain autoencoder, decoding
the posterior mean with an MSE loss, and its latent is that mean: after 300 steps of the VAE's own
objective (reconstruction of a draw plus a small KL term) the posterior's spread on the toy data was
still 0.65 of the spread of the latents themselves, so a draw would be nearly as much noise as picture.
With SD's pretrained VAE the latents are drawn from the posterior, as in the released code. The latent
scale is set like SD's 0.18215: one over the standard deviation of the latents of what it was fitted to.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from bench.core.atomic import atomic_dir
from bench.core.progress import progress as progress_bar
from generators.defectdiffu import weights
from generators.defectdiffu.config import LATENT_CHANNELS, Profile
from generators.diffusion_common import load_local, offline, tiny_vae


def step_generator(seed: int, *keys: int) -> torch.Generator:
    """A CPU generator seeded by (seed, keys): draws that do not depend on what ran before."""
    state = np.random.SeedSequence([seed, *keys]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def load_vae(folder: Path):
    offline()
    from diffusers import AutoencoderKL

    # low_cpu_mem_usage would need the accelerate package, which bench does not install
    return load_local(AutoencoderKL.from_pretrained, folder, "VAE", low_cpu_mem_usage=False).eval().requires_grad_(False)


def pretrained_vae(profile: Profile):
    return load_vae(weights.root() / profile.vae)


def fit_tiny_vae(profile: Profile, images: torch.Tensor, seed: int, device: torch.device, directory: Path):
    """Fit a tiny VAE to ``images`` (N x 3 x R x R in [-1, 1]) and save it as a diffusers folder at ``directory``.

    A finished folder is loaded instead of fitted again."""
    if (directory / "config.json").is_file():
        return load_vae(directory)
    vae = tiny_vae(profile.vae_channels, LATENT_CHANNELS, seed).to(device).train()
    optimizer = torch.optim.AdamW(vae.parameters(), lr=profile.vae_lr, weight_decay=0.0)
    side = images.shape[-1]
    crop = max(side // 2, 2 ** len(profile.vae_channels))
    bar = progress_bar(range(profile.vae_steps), desc="defectdiffu vae", unit="it", leave=False)
    for iteration in bar:
        generator = step_generator(seed, 1, iteration)
        index = torch.randint(len(images), (profile.batch_size,), generator=generator)
        top, left = torch.randint(side - crop + 1, (2,), generator=generator).tolist()
        x = images[index, :, top : top + crop, left : left + crop].to(device)
        loss = torch.mean((vae.decode(vae.encode(x).latent_dist.mean).sample - x) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")
    vae.eval().requires_grad_(False)
    with torch.no_grad():
        means = torch.cat([vae.encode(x.to(device)).latent_dist.mean for x in images.split(16)])
    vae.register_to_config(scaling_factor=float(1.0 / means.std()))
    with atomic_dir(directory) as tmp:
        vae.to("cpu").save_pretrained(tmp, safe_serialization=True)
    return vae


@torch.no_grad()
def encode(vae, x: torch.Tensor, device: torch.device, sample: bool = True, batch: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled latent mean and standard deviation of ``x`` (CPU), so a latent draw is mean + std * noise;
    ``sample=False`` (the tiny VAE) gives a zero spread: the latent is the mean."""
    scale = vae.config.scaling_factor
    means, stds = [], []
    for chunk in x.split(batch):
        posterior = vae.encode(chunk.to(device)).latent_dist
        means.append(posterior.mean.float().cpu() * scale)
        stds.append(posterior.std.float().cpu() * scale * float(sample))
    return torch.cat(means), torch.cat(stds)


@torch.no_grad()
def decode(vae, z: torch.Tensor) -> torch.Tensor:
    return vae.decode(z / vae.config.scaling_factor).sample.float()
