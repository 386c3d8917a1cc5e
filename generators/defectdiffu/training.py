"""Training the DiT: the pictures encoded once, condition dropout, the loss of eq. 11, AdamW, bf16
autocast on CUDA, and atomic checkpoints that a rerun resumes.

Every iteration draws its batch, latent samples, timesteps, noise and dropout from a generator seeded
by (seed, iteration), and the learning rate is constant, so the weights after k iterations do not
depend on when training was interrupted: a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from bench.core.errors import BenchError
from bench.core.progress import progress as progress_bar
from generators.defectdiffu.config import GOOD, Reading, prompts
from generators.defectdiffu.dit import DiT
from generators.defectdiffu.losses import linear_betas, total_loss, vb_bits
from generators.defectdiffu.sampling import make_scheduler
from generators.defectdiffu.text import TextBank
from generators.defectdiffu.vae import encode, step_generator
from generators.diffusion_common import load_state, save_state

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class Item:
    """One training picture: RGB uint8, its defect pixels (bool), its prompt word (``good`` for normals) and
    the product it shows (its background prompt)."""

    image: np.ndarray
    defect_pixels: np.ndarray
    word: str
    product: str


def pictures(items: Sequence[Item], resolution: int) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Images in [-1, 1] and masks drawn as images (defect 1, elsewhere -1), N x 3 x R x R; binary masks N x R x R."""
    images, masks = [], []
    for item in items:
        images.append(cv2.resize(item.image, (resolution, resolution), interpolation=cv2.INTER_AREA))
        masks.append(cv2.resize(item.defect_pixels.astype(np.uint8), (resolution, resolution), interpolation=cv2.INTER_NEAREST))
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1
    binary = np.stack(masks).astype(np.float32)
    return x, torch.from_numpy(binary)[:, None].repeat(1, 3, 1, 1) * 2 - 1, binary


@dataclass(frozen=True)
class Encoded:
    """The training set in latent space, encoded once; a draw is mean + std * noise (the VAE's sample)."""

    latent_mean: torch.Tensor
    latent_std: torch.Tensor
    mask_mean: torch.Tensor
    mask_std: torch.Tensor
    latent_mask: torch.Tensor  # N x 1 x h x w, area-resized: the mask of eq. 10
    token_mask: torch.Tensor  # N x g x g, 1 where a token overlaps the defect: the mask of eq. 8
    words: tuple[str, ...]
    products: tuple[str, ...]


def encode_items(vae, items: Sequence[Item], resolution: int, patch: int, device: torch.device, sample: bool) -> Encoded:
    images, mask_images, binary = pictures(items, resolution)
    latent_mean, latent_std = encode(vae, images, device, sample)
    mask_mean, mask_std = encode(vae, mask_images, device, sample)
    side = latent_mean.shape[-1]
    latent = np.stack([cv2.resize(m, (side, side), interpolation=cv2.INTER_AREA) for m in binary])
    tokens = np.stack([cv2.resize(m, (side // patch, side // patch), interpolation=cv2.INTER_AREA) > 0 for m in binary])
    return Encoded(
        latent_mean, latent_std, mask_mean, mask_std,
        torch.from_numpy(latent)[:, None].float(), torch.from_numpy(tokens).float(), tuple(i.word for i in items),
        tuple(i.product for i in items),
    )


def drop_condition(reading: Reading, word: str, product: str | None, u: Sequence[float]) -> tuple[str, str | None]:
    """Condition dropout for one sample from three uniform draws ``u``.

    ``algorithm-1`` (paper, Alg. 1 as written): with p1 the product becomes null; for a defect image, with
    p2 the defect becomes good and, again with p1, the product null. ``released`` (train.py --free 1): a
    defect image's "defect product" becomes "good product" with p2; products are never dropped."""
    if reading.dropout == "released":
        return (GOOD if word != GOOD and u[1] < reading.p2 else word), product
    if u[0] < reading.p1:
        product = None
    if word != GOOD:
        if u[1] < reading.p2:
            word = GOOD
        if u[2] < reading.p1:
            product = None
    return word, product


def load_checkpoint(directory: Path) -> dict | None:
    path = directory / CHECKPOINT
    return load_state(path, "defectdiffu checkpoint", "delete it to train again", weights_only=False) if path.is_file() else None


def train_dit(
    directory: Path,
    model: DiT,
    data: Encoded,
    bank: TextBank,
    reading: Reading,
    iterations: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    checkpoint_every: int,
    seed: int,
    device: torch.device,
) -> list[float]:
    """Train ``model`` (already on ``device``) to ``iterations``, resuming from ``directory``; returns every loss."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay)
    losses: list[float] = []
    start = 0
    checkpoint = load_checkpoint(directory)
    if checkpoint is not None:
        if checkpoint["config"] != asdict(model.config):
            raise BenchError(f"defectdiffu checkpoint {directory / CHECKPOINT} belongs to another model", "delete it")
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        start, losses = checkpoint["step"], list(checkpoint["losses"])
    if start >= iterations:
        return losses

    step = TrainingStep(model, data, bank, reading, batch_size, seed, device)

    def save(done: int) -> None:
        state = {"config": asdict(model.config), "step": done, "losses": losses,
                 "model": model.state_dict(), "optimizer": optimizer.state_dict()}
        save_state(state, directory / CHECKPOINT)

    model.train()
    bar = progress_bar(range(start, iterations), initial=start, total=iterations, desc="defectdiffu dit", unit="it", leave=False)
    for iteration in bar:
        loss = step.loss(iteration)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        if (iteration + 1) % checkpoint_every == 0 or iteration + 1 == iterations:
            save(iteration + 1)
    return losses


class TrainingStep:
    """The loss of one iteration, from draws seeded by (seed, iteration): batch, latent samples, timesteps,
    noise and condition dropout. Each picture is conditioned on its own product."""

    def __init__(self, model: DiT, data: Encoded, bank: TextBank, reading: Reading, batch_size: int, seed: int, device: torch.device):
        self.model, self.data, self.bank, self.reading = model, data, bank, reading
        self.batch_size, self.seed, self.device = batch_size, seed, device
        self.scheduler = make_scheduler(model.config.learn_sigma)
        self.betas = linear_betas()
        self.autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")

    def loss(self, iteration: int) -> torch.Tensor:
        data, b, device = self.data, self.batch_size, self.device
        shape = (b, *data.latent_mean.shape[1:])
        g = step_generator(self.seed, 0, iteration)
        index = torch.randint(len(data.words), (b,), generator=g)
        x0 = data.latent_mean[index] + data.latent_std[index] * torch.randn(shape, generator=g)
        m0 = data.mask_mean[index] + data.mask_std[index] * torch.randn(shape, generator=g)
        t = torch.randint(0, self.scheduler.config.num_train_timesteps, (b,), generator=g)
        noise = torch.randn(shape, generator=g)
        draws = torch.rand((b, 3), generator=g).tolist()
        conditions = [drop_condition(self.reading, data.words[i], data.products[i], u) for i, u in zip(index.tolist(), draws)]
        cond = self.bank.conditions([prompts(word, p) for word, p in conditions], self.model.config.context == "tokens")
        x0, m0, t, noise = x0.to(device), m0.to(device), t.to(device), noise.to(device)
        x_t = self.scheduler.add_noise(x0, noise, t)
        with self.autocast:
            result = self.model(x_t, t, cond.to(device))
        out = result.out.float()
        channels = x0.shape[1]
        vb = vb_bits(x0, x_t, t, out[:, :channels], out[:, channels:], self.betas) if self.model.config.learn_sigma else None
        terms = total_loss(
            noise, out, result.mask.float(), m0, result.attention.float(), data.latent_mask[index].to(device),
            data.token_mask[index].to(device), self.reading.alpha, self.reading.map_reduce, vb,
        )
        return terms["loss"].mean()
