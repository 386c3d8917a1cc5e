"""DCDGANc training (paper Table 1), cached and resumable.

Each step: the encoder maps real contents to (mu, log sigma^2) (KL loss), a reparameterized code
reconstructs them (L1, lambda_p), a code drawn from N(0, I) makes a free sample; E and G step on the
adversarial + reconstruction + KL loss, G additionally on the latent L1 loss (lambda_l) that asks the
encoder to recover the drawn code; then the critic steps on equation (6), the real term counted twice,
plus the WGAN-GP gradient penalty the paper adds "to stabilize training". ``log`` (default) is equation
(6) as written, a log loss on the critic's logits (E and G take its non-saturating form, -log D(fake));
``wasserstein`` is its Wasserstein form. Every random choice of step ``k`` is seeded by ``(seed, k)``, so
a run resumed from a checkpoint continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from bench.core.atomic import atomic_file
from bench.core.progress import progress as progress_bar
from generators.dcdganc.config import LossWeights, Profile
from generators.dcdganc.contents import Content
from generators.dcdganc.networks import DefectGenerator, Discriminator, Encoder

log = logging.getLogger("bench.generate.dcdganc")

CHECKPOINT = "checkpoint.pt"  # full training state (critic and optimizers too) after the last saved step
FINAL = "model.pt"  # encoder and generator after the last step, with the loss history: all sampling needs


@dataclass
class Trained:
    generator: DefectGenerator
    encoder: Encoder
    history: list[dict[str, float]]  # per step: d, g_adv, pixel, kl, latent, gp


def contents_tensor(contents: list[Content]) -> tuple[torch.Tensor, torch.Tensor]:
    """Images scaled to [-1, 1] (N x 3 x crop x crop) and their class indices."""
    images = np.stack([c.image for c in contents]).astype(np.float32) / 127.5 - 1.0
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.tensor([c.label for c in contents])


def augment(batch: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Rotations by 90 degrees and mirrors: defect contents have no preferred orientation."""
    out = []
    for image in batch:
        image = torch.rot90(image, int(rng.integers(4)), dims=(1, 2))
        out.append(image.flip(2) if rng.random() < 0.5 else image)
    return torch.stack(out)


def gradient_penalty(critic: Discriminator, real: torch.Tensor, fake: torch.Tensor, classes: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """WGAN-GP: (||grad D(x_hat)|| - 1)^2 at random points between real and fake images."""
    alpha = torch.rand(real.size(0), 1, 1, 1, generator=gen, device=real.device)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed, classes).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def save_atomic(state: dict, path: Path) -> None:
    with atomic_file(path) as tmp:
        torch.save(state, tmp)


def train(
    contents: list[Content],
    num_classes: int,
    profile: Profile,
    crop: int,
    weights: LossWeights,
    seed: int,
    device: torch.device,
    folder: Path,
    progress: bool = True,
    loss: str = "log",
) -> Trained:
    """Train (or load, or resume) the networks for these contents; ``folder`` holds the cached state."""
    folder.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):  # seeded initialization without touching the caller's RNG
        torch.manual_seed(seed)
        generator = DefectGenerator(profile, crop, num_classes).to(device)
        encoder = Encoder(profile).to(device)
        critic = Discriminator(profile, crop, num_classes).to(device)
    if (folder / FINAL).is_file():
        state = torch.load(folder / FINAL, map_location=device, weights_only=True)
        generator.load_state_dict(state["generator"])
        encoder.load_state_dict(state["encoder"])
        log.info("dcdganc model cache hit: %s", folder)
        return Trained(generator.eval(), encoder.eval(), state["history"])

    betas = (profile.beta1, profile.beta2)
    opt_g = torch.optim.Adam(generator.parameters(), lr=profile.lr, betas=betas)
    opt_e = torch.optim.Adam(encoder.parameters(), lr=profile.lr, betas=betas)
    opt_d = torch.optim.Adam(critic.parameters(), lr=profile.lr, betas=betas)
    modules = {"generator": generator, "encoder": encoder, "critic": critic, "opt_g": opt_g, "opt_e": opt_e, "opt_d": opt_d}
    history: list[dict[str, float]] = []
    start = 0
    if (folder / CHECKPOINT).is_file():
        state = torch.load(folder / CHECKPOINT, map_location=device, weights_only=True)
        for name, module in modules.items():
            module.load_state_dict(state[name])
        history, start = state["history"], state["step"]
        log.info("resuming dcdganc training at step %d from %s", start, folder)

    images, labels = contents_tensor(contents)
    steps = range(start, profile.iterations)
    for step in progress_bar(steps, desc="dcdganc", unit="step", leave=False, enabled=progress, initial=start, total=profile.iterations):
        history.append(_step(step, images, labels, num_classes, profile, weights, seed, device, generator, encoder, critic, opt_g, opt_e, opt_d,
                             ADVERSARIAL[loss]))
        done = step + 1
        if done % profile.checkpoint_every == 0 or done == profile.iterations:
            save_atomic({**{n: m.state_dict() for n, m in modules.items()}, "history": history, "step": done}, folder / CHECKPOINT)
    save_atomic(
        {"generator": generator.state_dict(), "encoder": encoder.state_dict(), "history": history, "weights": asdict(weights), "loss": loss},
        folder / FINAL,
    )
    return Trained(generator.eval(), encoder.eval(), history)


def _log_critic(real: torch.Tensor, fakes: tuple[torch.Tensor, ...], real_weight: float) -> torch.Tensor:
    """-(2 log D(I) + log(1 - D(I_r)) + log(1 - D(I_s))) with D = sigmoid of the critic's score: equation (6)."""
    return real_weight * F.softplus(-real).mean() + sum(F.softplus(f).mean() for f in fakes)


def _wasserstein_critic(real: torch.Tensor, fakes: tuple[torch.Tensor, ...], real_weight: float) -> torch.Tensor:
    return -real_weight * real.mean() + sum(f.mean() for f in fakes)


# loss name -> (critic loss from the real and fake scores, what E and G minimize from the fake scores)
ADVERSARIAL = {
    "log": (_log_critic, lambda fakes: sum(F.softplus(-f).mean() for f in fakes)),
    "wasserstein": (_wasserstein_critic, lambda fakes: -sum(f.mean() for f in fakes)),
}


def _step(step, images, labels, num_classes, profile, weights, seed, device, generator, encoder, critic, opt_g, opt_e, opt_d,
          adversarial) -> dict[str, float]:
    critic_loss, generator_loss = adversarial
    rng = np.random.default_rng([seed, step])
    gen = torch.Generator(device=device).manual_seed(int(rng.integers(2**62)))
    pick = rng.integers(len(images), size=profile.batch_size)
    real = augment(images[pick], rng).to(device)
    classes = F.one_hot(labels[pick], num_classes).float().to(device)
    z_shape = (profile.batch_size, profile.latent_dim)

    # encoder and generator: adversarial + lambda_p * L1 reconstruction + lambda_KL * KL
    opt_g.zero_grad(set_to_none=True)
    opt_e.zero_grad(set_to_none=True)
    mu, log_var = encoder(real)
    kl = 0.5 * torch.sum(log_var.exp() + mu**2 - log_var - 1, dim=1).mean()
    z_r = mu + torch.randn(z_shape, generator=gen, device=device) * torch.exp(0.5 * log_var)
    reconstructed = generator(z_r, classes)
    pixel = F.l1_loss(reconstructed, real)
    z_s = torch.randn(z_shape, generator=gen, device=device)
    sampled = generator(z_s, classes)
    g_adv = generator_loss((critic(reconstructed, classes), critic(sampled, classes)))
    (g_adv + weights.pixel * pixel + weights.kl * kl).backward(retain_graph=True)
    opt_e.step()
    # generator only: the encoder must recover the code a free sample was drawn from
    mu_s, _ = encoder(sampled)
    latent = F.l1_loss(mu_s, z_s)
    (weights.latent * latent).backward(inputs=list(generator.parameters()))
    opt_g.step()

    # critic: equation (6), the real term counted twice, plus the gradient penalty against both kinds of fake
    opt_d.zero_grad(set_to_none=True)
    fake_r, fake_s = reconstructed.detach(), sampled.detach()
    d_loss = critic_loss(critic(real, classes), (critic(fake_r, classes), critic(fake_s, classes)), weights.real)
    gp = gradient_penalty(critic, real, fake_r, classes, gen) + gradient_penalty(critic, real, fake_s, classes, gen)
    (d_loss + weights.gradient_penalty * gp).backward()
    opt_d.step()

    losses = {"d": d_loss.item(), "g_adv": g_adv.item(), "pixel": pixel.item(), "kl": kl.item(), "latent": latent.item(), "gp": gp.item()}
    if not all(math.isfinite(v) for v in losses.values()):
        raise FloatingPointError(f"dcdganc training diverged at step {step}: {losses}")
    return losses
