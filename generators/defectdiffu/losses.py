"""DefectDiffu's objective: the adaptive attention-enhanced loss (eqs. 7-11) and, in the released
reading, DiT's variational-bound term for the learned variance. Plain functions of tensors.

Shapes: noise and latents B x C x h x w; ``latent_mask`` B x 1 x h x w (the real mask at latent size,
soft at its edges); ``attention`` B x M x g x g (each defect block's map, heads averaged) and
``token_mask`` B x g x g (1 where a token touches the defect).
"""

from __future__ import annotations

import math

import torch

from generators.defectdiffu.config import BETA_END, BETA_START, LAMBDA, R_RANGE, TIMESTEPS


def mean_flat(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).mean(1)


def attention_map(attention: torch.Tensor, reduce: str) -> torch.Tensor:
    """Eq. 7: the defect blocks' maps averaged ("mean", the paper) or summed ("sum", the released code)."""
    return attention.mean(1) if reduce == "mean" else attention.sum(1)


def attention_ratio(attention: torch.Tensor, token_mask: torch.Tensor, alpha: float) -> torch.Tensor:
    """Eq. 8: attention outside the defect over attention on it (+ alpha), per sample."""
    outside = (attention * (1 - token_mask)).flatten(1).sum(1)
    inside = (attention * token_mask).flatten(1).sum(1)
    return outside / (inside + alpha)


def clamp_ratio(ratio: torch.Tensor) -> torch.Tensor:
    """Eq. 9: R = 8 above 8, 2 below 2, the ratio itself in between."""
    return ratio.clamp(*R_RANGE)


def defect_loss(noise: torch.Tensor, predicted: torch.Tensor, latent_mask: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Eq. 10: R ||mask * eps_hat - mask * eps||^2, a mean over elements like the noise loss."""
    return r * mean_flat((latent_mask * predicted - latent_mask * noise) ** 2)


def linear_betas() -> torch.Tensor:
    """DiT's linear schedule in float64."""
    return torch.linspace(BETA_START, BETA_END, TIMESTEPS, dtype=torch.float64)


def _normal_kl(mean1, logvar1, mean2, logvar2):
    return 0.5 * (-1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2) + (mean1 - mean2) ** 2 * torch.exp(-logvar2))


def _approx_normal_cdf(x):
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def discretized_gaussian_log_likelihood(x, mean, log_scale):
    """Log-likelihood of data in [-1, 1] under a Gaussian discretised to 256 bins (DDPM's decoder term)."""
    centered = x - mean
    inv_std = torch.exp(-log_scale)
    cdf_plus = _approx_normal_cdf(inv_std * (centered + 1.0 / 255.0))
    cdf_min = _approx_normal_cdf(inv_std * (centered - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    log_delta = torch.log((cdf_plus - cdf_min).clamp(min=1e-12))
    return torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_one_minus_cdf_min, log_delta))


def vb_bits(x0, x_t, t, noise_hat, variance_values, betas: torch.Tensor) -> torch.Tensor:
    """DiT's learned-sigma term: KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)) in bits per dimension, the
    decoder NLL at t = 0. The predicted noise is detached, so only the variance learns from it."""
    betas = betas.to(x0.device)
    alphas_cumprod = torch.cumprod(1 - betas, 0)
    prev = torch.cat([alphas_cumprod.new_ones(1), alphas_cumprod[:-1]])
    posterior_var = betas * (1 - prev) / (1 - alphas_cumprod)
    posterior_log_var = torch.log(torch.cat([posterior_var[1:2], posterior_var[1:]]))

    def at(values):
        return values[t].float().view(-1, 1, 1, 1)

    coef_x0 = at(betas * prev.sqrt() / (1 - alphas_cumprod))
    coef_xt = at((1 - prev) * (1 - betas).sqrt() / (1 - alphas_cumprod))
    true_mean = coef_x0 * x0 + coef_xt * x_t
    x0_hat = (x_t - at((1 - alphas_cumprod).sqrt()) * noise_hat.detach()) / at(alphas_cumprod.sqrt())
    model_mean = coef_x0 * x0_hat + coef_xt * x_t
    fraction = (variance_values + 1) / 2
    model_log_var = fraction * at(torch.log(betas)) + (1 - fraction) * at(posterior_log_var)
    kl = mean_flat(_normal_kl(true_mean, at(posterior_log_var), model_mean, model_log_var)) / math.log(2.0)
    nll = -mean_flat(discretized_gaussian_log_likelihood(x0, model_mean, 0.5 * model_log_var)) / math.log(2.0)
    return torch.where(t == 0, nll, kl)


def total_loss(
    noise: torch.Tensor,
    output: torch.Tensor,
    mask_pred: torch.Tensor,
    mask_target: torch.Tensor,
    attention: torch.Tensor,
    latent_mask: torch.Tensor,
    token_mask: torch.Tensor,
    alpha: float,
    reduce: str,
    vb: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Eq. 11 per sample: ||eps - eps_hat||^2 + R ||mask (eps_hat - eps)||^2 + lambda loss_m (+ the VB term).

    ``output`` holds the predicted noise in its first C channels (the variance values after them)."""
    predicted = output[:, : noise.shape[1]]
    r = clamp_ratio(attention_ratio(attention_map(attention, reduce), token_mask, alpha))
    terms = {
        "mse": mean_flat((noise - predicted) ** 2),
        "defect": defect_loss(noise, predicted, latent_mask, r),
        "mask": mean_flat((mask_pred - mask_target) ** 2),
        "ratio": r.detach(),
    }
    terms["loss"] = terms["mse"] + terms["defect"] + LAMBDA * terms["mask"]
    if vb is not None:
        terms["vb"] = vb
        terms["loss"] = terms["loss"] + vb
    return terms
