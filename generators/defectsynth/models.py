"""The frozen Stable Diffusion parts (VAE, UNet, CLIP text encoder, tokenizer, schedule) and the ControlNet.

Real weights come only from a local diffusers-format folder, $BENCH_WEIGHTS/stable-diffusion-v1-5, read
with ``local_files_only`` in offline mode. The tiny stand-in of the ``smoke`` and ``toy`` profiles is
written in the same layout into bench's model cache, so one loader serves both.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from generators.diffusion_common import load_tokenizer, offline, tiny_text_encoder, tiny_vae, word_tokenizer

offline()  # before the first import of the hub libraries

import numpy as np
import torch
from diffusers import AutoencoderKL, ControlNetModel, DDIMInverseScheduler, DDIMScheduler, UNet2DConditionModel
from transformers import CLIPTextModel

from bench.core.atomic import write_text_atomic
from generators.defectsynth.config import BETA_SCHEDULES, TIMESTEPS, Scale

LOCAL = dict(local_files_only=True, low_cpu_mem_usage=False)  # diffusers: this folder only; no `accelerate` needed
CONDITIONING_CHANNELS = (16, 32, 96, 256)  # ControlNet's hint encoder; one stride-2 step per entry after the first
SD_SCHEDULE = {  # Stable Diffusion 1.5's training schedule (its scheduler_config.json), as DDIM
    "num_train_timesteps": TIMESTEPS,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "set_alpha_to_one": False,
    "steps_offset": 1,
    "clip_sample": False,
    "prediction_type": "epsilon",
}


@dataclass
class Parts:
    """The frozen networks of one Stable Diffusion (or stand-in) folder, in eval mode on one device."""

    vae: AutoencoderKL
    unet: UNet2DConditionModel
    text_encoder: CLIPTextModel
    tokenizer: object  # CLIPTokenizer, or the word-level stand-in
    schedule: dict  # scheduler config of the folder

    @property
    def factor(self) -> int:
        """Pixels per latent pixel along one side."""
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def device(self) -> torch.device:
        return self.unet.device

    def to(self, device: torch.device) -> "Parts":
        for module in (self.vae, self.unet, self.text_encoder):
            module.to(device).eval().requires_grad_(False)
        return self

    def scheduler(self, beta_schedule: str, inverse: bool = False):
        """DDIM (or its inversion) over the folder's betas, with the reading's beta schedule."""
        cls = DDIMInverseScheduler if inverse else DDIMScheduler
        known = set(SD_SCHEDULE) | {"trained_betas", "timestep_spacing", "rescale_betas_zero_snr"}
        config = {k: v for k, v in self.schedule.items() if k in known}
        config.update(beta_schedule=BETA_SCHEDULES[beta_schedule], clip_sample=False, set_alpha_to_one=False)
        return cls.from_config(config)

    @torch.no_grad()
    def encode_text(self, prompts: Sequence[str]) -> torch.Tensor:
        length = self.tokenizer.model_max_length
        ids = self.tokenizer(list(prompts), padding="max_length", max_length=length, truncation=True, return_tensors="pt")
        return self.text_encoder(ids.input_ids.to(self.device))[0]

    def to_pixels(self, images: np.ndarray, vae_input: str = "signed") -> torch.Tensor:
        """N x H x W x 3 uint8 -> N x 3 x H x W in [-1, 1] ("signed") or in [0, 1] ("unit")."""
        x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().to(self.device) / 255.0
        return x * 2 - 1 if vae_input == "signed" else x

    @torch.no_grad()
    def posterior(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of the VAE's latent, in scaled (diffusion) units."""
        dist = self.vae.encode(pixels).latent_dist
        s = self.vae.config.scaling_factor
        return dist.mean * s, dist.std * s

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """Scaled latents -> N x H x W x 3 uint8 (decoder output read as [-1, 1], as both codes do)."""
        x = self.vae.decode(latents / self.vae.config.scaling_factor).sample
        return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def load_parts(folder: Path, device: torch.device) -> Parts:
    """Every frozen part from a diffusers-format folder, never from the network."""
    schedule = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
    parts = Parts(
        vae=AutoencoderKL.from_pretrained(folder, subfolder="vae", **LOCAL),
        unet=UNet2DConditionModel.from_pretrained(folder, subfolder="unet", **LOCAL),
        text_encoder=CLIPTextModel.from_pretrained(folder, subfolder="text_encoder", local_files_only=True),
        tokenizer=load_tokenizer(folder / "tokenizer"),
        schedule=schedule,
    )
    return parts.to(device)


def save_parts(parts: Parts, folder: Path) -> None:
    """The diffusers layout ``load_parts`` reads (the folder is the caller's to make atomic)."""
    parts.vae.save_pretrained(folder / "vae")
    parts.unet.save_pretrained(folder / "unet")
    parts.text_encoder.save_pretrained(folder / "text_encoder")
    parts.tokenizer.save_pretrained(folder / "tokenizer")
    write_text_atomic(folder / "scheduler" / "scheduler_config.json", json.dumps({"_class_name": "DDIMScheduler", **parts.schedule}))


def tiny_unet(channels: Sequence[int], sample_size: int, cross_attention_dim: int) -> UNet2DConditionModel:
    """SD's layout in miniature, with cross-attention in the middle block and at every level but the finest.

    SD 1.5 attends at its three finer levels; here the finest level has none, because self-attention over
    its tokens would cost a CPU more than the whole rest of the network."""
    levels = len(channels)
    return UNet2DConditionModel(
        sample_size=sample_size,
        in_channels=4,
        out_channels=4,
        block_out_channels=tuple(channels),
        layers_per_block=1,
        down_block_types=("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (levels - 1),
        up_block_types=("CrossAttnUpBlock2D",) * (levels - 1) + ("UpBlock2D",),
        cross_attention_dim=cross_attention_dim,
        attention_head_dim=2,
        norm_num_groups=min(8, min(channels)),
    )


def standin_parts(scale: Scale, prompts: Sequence[str], seed: int) -> Parts:
    """Random tiny networks for a ``random``-weights profile; the tokenizer's words come from ``prompts``."""
    tokenizer = word_tokenizer(prompts, scale.text_length)
    latent = scale.resolution // 2 ** (len(scale.vae_channels) - 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        vae = tiny_vae(scale.vae_channels, sample_size=scale.resolution)
        unet = tiny_unet(scale.unet_channels, latent, scale.text_width)
        text_encoder = tiny_text_encoder(tokenizer, scale.text_width, projection=False)
    return Parts(vae, unet, text_encoder, tokenizer, dict(SD_SCHEDULE))


def new_controlnet(unet: UNet2DConditionModel, factor: int, seed: int) -> ControlNetModel:
    """``ControlNetModel.from_unet``: the UNet's encoder copied, zero convolutions, a hint encoder down to the latent."""
    stages = int(math.log2(factor)) + 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=CONDITIONING_CHANNELS[:stages])
