"""Training: the ControlNet on frozen SD parts, and (for random-weights profiles) the stand-in VAE and UNet first.

One resumable loop serves all three networks: AdamW on the network's own parameters (the frozen parts never
reach the optimizer), an atomic checkpoint every ``checkpoint_every`` iterations that a rerun continues from,
and the finished network saved in diffusers format. Every iteration draws its batch (an epoch-wise
shuffle, as a shuffling data loader), timesteps and noise from generators seeded by (seed, epoch) and
(seed, iteration), so the weights after k iterations do not depend on interruptions.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from bench.core.atomic import atomic_dir, atomic_file
from bench.core.pairset import Pair
from bench.core.progress import progress as progress_bar
from generators.defectsynth.config import TIMESTEPS, Scale
from generators.defectsynth.models import LOCAL, Parts, new_controlnet, save_parts, standin_parts
from generators.diffusion_common import read_checkpoint

CHECKPOINT = "checkpoint.pt"
FINAL = "model"  # subfolder holding the finished network (diffusers layout) and its losses
LOGVAR_INIT = -8.0  # stand-in VAE: start with a near-deterministic posterior so early sampling noise does not drown it
KL_WEIGHT = 1e-6  # SD's autoencoder weighs its KL term this lightly
PROMPT_DROPOUT = 0.1  # stand-in UNet: share of empty prompts, as SD's own training


def generator(*key: int) -> torch.Generator:
    state = np.random.SeedSequence(list(key)).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def batch_indices(count: int, batch: int, seed: int, iteration: int) -> torch.Tensor:
    """The examples of one iteration: epochs walk a fresh seeded permutation; the last batch may be short."""
    per_epoch = math.ceil(count / batch)
    epoch, position = divmod(iteration, per_epoch)
    order = torch.randperm(count, generator=generator(seed, 1, epoch))
    return order[position * batch : (position + 1) * batch]


def iterations_for(count: int, scale: Scale) -> int:
    return scale.epochs * math.ceil(count / scale.batch_size)


def resize(images: np.ndarray, resolution: int, interpolation: int) -> np.ndarray:
    return np.stack([cv2.resize(im, (resolution, resolution), interpolation=interpolation) for im in images])


def control_images(masks: Sequence[np.ndarray], resolution: int) -> np.ndarray:
    """Boolean masks -> N x R x R x 3 uint8 hints (0/255, linear resize like the released loader)."""
    hints = [np.repeat((m.astype(np.uint8) * 255)[..., None], 3, axis=2) for m in masks]
    return resize(np.stack(hints), resolution, cv2.INTER_LINEAR)


def hint_tensor(hints: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(hints).permute(0, 3, 1, 2).float().to(device) / 255.0


@dataclass(frozen=True)
class Example:
    """One (pair, class) of the fine-tuning set: the image, that class's mask, its prompt."""

    image: np.ndarray
    mask: np.ndarray  # H x W bool
    prompt: str


def examples(pairs: Sequence[Pair], prompts: dict[int, str]) -> list[Example]:
    out = []
    for pair in pairs:
        for class_id in np.unique(pair.mask[pair.mask > 0]).tolist():
            out.append(Example(pair.image, pair.mask == class_id, prompts[class_id]))
    return out


def train_network(
    directory: Path,
    network: torch.nn.Module,
    iterations: int,
    loss_of: Callable[[int], torch.Tensor],
    lr: float,
    checkpoint_every: int,
    desc: str,
) -> tuple[torch.nn.Module, list[float]]:
    """Train ``network`` to ``iterations`` (resuming a checkpoint in ``directory``), or load it when done.

    ``loss_of(iteration)`` computes one iteration's loss from its own seeded draws. Returns the network in
    eval mode without gradients, and the loss of every iteration."""
    final = directory / FINAL
    if (final / "losses.json").is_file():
        trained = type(network).from_pretrained(final, **LOCAL).to(network.device)
        return trained.eval().requires_grad_(False), json.loads((final / "losses.json").read_text())
    directory.mkdir(parents=True, exist_ok=True)
    network.train().requires_grad_(True)
    optimizer = torch.optim.AdamW(network.parameters(), lr=lr)  # torch's default weight decay 0.01, as released
    start, losses = 0, []
    checkpoint = read_checkpoint(directory / CHECKPOINT, "defectsynth")
    if checkpoint is not None:
        network.load_state_dict(checkpoint["network"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        start, losses = checkpoint["step"], list(checkpoint["losses"])

    def save(step: int) -> None:
        state = {"step": step, "losses": losses, "network": network.state_dict(), "optimizer": optimizer.state_dict()}
        with atomic_file(directory / CHECKPOINT) as tmp:
            torch.save(state, tmp)

    bar = progress_bar(range(start, iterations), initial=start, total=iterations, desc=desc, unit="it", leave=False)
    for iteration in bar:
        loss = loss_of(iteration)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        if (iteration + 1) % checkpoint_every == 0 and iteration + 1 < iterations:
            save(iteration + 1)
    network.eval().requires_grad_(False)
    with atomic_dir(final) as tmp:
        network.save_pretrained(tmp)
        (tmp / "losses.json").write_text(json.dumps(losses))
    (directory / CHECKPOINT).unlink(missing_ok=True)
    return network, losses


def sample_latents(mean: torch.Tensor, std: torch.Tensor, index: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """A draw from the VAE posterior of the chosen examples (the released loop samples it every step)."""
    eps = torch.randn(mean[index].shape, generator=g).to(mean.device)
    return mean[index] + std[index] * eps


def diffusion_loss(
    predict: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
    latents: torch.Tensor,
    texts: torch.Tensor,
    scheduler,
    g: torch.Generator,
) -> torch.Tensor:
    """The standard denoising loss: MSE between the noise and its prediction at a uniform t in [0, T)."""
    t = torch.randint(0, TIMESTEPS, (len(latents),), generator=g).to(latents.device)
    noise = torch.randn(latents.shape, generator=g).to(latents.device)
    noisy = scheduler.add_noise(latents, noise, t)
    return F.mse_loss(predict(noisy, t, texts).float(), noise)


def train_controlnet(
    directory: Path,
    parts: Parts,
    data: Sequence[Example],
    scale: Scale,
    beta_schedule: str,
    seed: int,
) -> tuple[torch.nn.Module, list[float]]:
    """Fine-tune a ControlNet copied from the frozen UNet on (mask, prompt) -> image, SD parts frozen."""
    device = parts.device
    controlnet = new_controlnet(parts.unet, parts.factor, seed).to(device)
    mean, std = parts.posterior(parts.to_pixels(resize(np.stack([e.image for e in data]), scale.resolution, cv2.INTER_AREA)))
    hints = hint_tensor(control_images([e.mask for e in data], scale.resolution), device)
    prompts = sorted({e.prompt for e in data})
    embedded = dict(zip(prompts, parts.encode_text(prompts)))
    texts = torch.stack([embedded[e.prompt] for e in data])
    scheduler = parts.scheduler(beta_schedule)

    def predict(noisy, t, text, index):
        down, middle = controlnet(noisy, t, encoder_hidden_states=text, controlnet_cond=hints[index], return_dict=False)
        return parts.unet(
            noisy, t, encoder_hidden_states=text, down_block_additional_residuals=down, mid_block_additional_residual=middle
        ).sample

    def loss_of(iteration: int) -> torch.Tensor:
        index = batch_indices(len(data), scale.batch_size, seed, iteration)
        g = generator(seed, 2, iteration)
        latents = sample_latents(mean, std, index, g)
        return diffusion_loss(lambda x, t, c: predict(x, t, c, index), latents, texts[index], scheduler, g)

    iterations = iterations_for(len(data), scale)
    return train_network(directory, controlnet, iterations, loss_of, scale.lr, scale.checkpoint_every, "defectsynth controlnet")


@dataclass(frozen=True)
class StandInData:
    """What the tiny stand-in learns as its 'pretraining': normals, defect images and masks as pictures."""

    images: np.ndarray  # N x R x R x 3 uint8
    prompts: tuple[str, ...]


def standin_data(normals: Sequence[Pair], data: Sequence[Example], normal_prompt: str, resolution: int) -> StandInData:
    pictures = [p.image for p in normals] + [e.image for e in data]
    masks = control_images([e.mask for e in data], resolution)
    images = np.concatenate([resize(np.stack(pictures), resolution, cv2.INTER_AREA), masks])
    prompts = (normal_prompt,) * len(normals) + tuple(e.prompt for e in data) + ("",) * len(data)
    return StandInData(images, prompts)


def train_standin(
    directory: Path, scale: Scale, data: StandInData, vocabulary: Sequence[str], beta_schedule: str, device: torch.device
) -> Path:
    """Pretrain the stand-in's VAE, then its text-conditioned UNet, and write an SD-layout folder of all parts.

    It plays the part of the released Stable Diffusion weights, so it is trained once per data (seed 0),
    whatever the run's seed, just as SD's weights are the same for every run. Its UNet learns under the
    reading's beta schedule, so each reading meets a prior trained the way it assumes."""
    folder = directory / "sd"
    if (folder / "scheduler" / "scheduler_config.json").is_file():
        return folder
    parts = standin_parts(scale, vocabulary, seed=0)
    vae = parts.vae.to(device)
    with torch.no_grad():
        vae.quant_conv.bias[vae.config.latent_channels :] = LOGVAR_INIT
    pixels = parts.to_pixels(data.images).to(device)

    def vae_loss(iteration: int) -> torch.Tensor:
        g = generator(0, 3, iteration)
        index = torch.randint(len(pixels), (scale.standin_batch,), generator=g)
        posterior = vae.encode(pixels[index]).latent_dist
        z = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=g).to(device)
        return F.l1_loss(vae.decode(z).sample, pixels[index]) + KL_WEIGHT * posterior.kl().mean()

    vae, _ = train_network(directory / "vae", vae, scale.standin_iterations, vae_loss, scale.standin_lr, scale.checkpoint_every, "defectsynth stand-in vae")
    with torch.no_grad():
        spread = vae.encode(pixels).latent_dist.mean.std().item()
    vae.register_to_config(scaling_factor=1.0 / spread)  # unit-variance latents, as SD's 0.18215 was chosen
    parts.vae = vae
    parts.to(device)
    mean, std = parts.posterior(pixels)
    prompts = sorted(set(data.prompts))
    embedded = dict(zip(prompts, parts.encode_text(prompts)))
    texts = torch.stack([embedded[p] for p in data.prompts])
    empty = parts.encode_text([""])[0]
    unet = parts.unet
    scheduler = parts.scheduler(beta_schedule)

    def unet_loss(iteration: int) -> torch.Tensor:
        g = generator(0, 4, iteration)
        index = torch.randint(len(pixels), (scale.standin_batch,), generator=g)
        dropped = torch.rand(len(index), generator=g) < PROMPT_DROPOUT
        text = torch.where(dropped[:, None, None].to(device), empty, texts[index])
        return diffusion_loss(lambda x, t, c: unet(x, t, encoder_hidden_states=c).sample, sample_latents(mean, std, index, g), text, scheduler, g)

    parts.unet, _ = train_network(directory / "unet", unet, scale.standin_iterations, unet_loss, scale.standin_lr, scale.checkpoint_every, "defectsynth stand-in unet")
    with atomic_dir(folder) as tmp:
        save_parts(parts, tmp)
    return folder
