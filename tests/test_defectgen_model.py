"""The denoisers follow the paper's Tables 8-11, and the diffusion step matches DDPM's posterior."""

from __future__ import annotations

import math

import pytest
import torch

from generators.defectgen.config import PROFILES, large_unet, small_unet
from generators.defectgen.diffusion import cosine_alpha_bars, predict_x0, step
from generators.defectgen.unet import Attention, Downsample, UNet

PAPER = PROFILES.get("paper")
NUM_CLASSES = 6  # five defect types + background: the released configs' 9 input channels



def build_on_meta(config) -> UNet:
    with torch.device("meta"):
        return UNet(config)


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def pooling_widths(model: UNet) -> list[tuple[int, int]]:
    return [(d.conv.in_channels, d.conv.out_channels) for d in model.modules() if isinstance(d, Downsample)]


def test_paper_large_model_follows_table_10():
    config = large_unet(PAPER, NUM_CLASSES)
    model = build_on_meta(config)
    assert config.in_channels == 9
    # four DownSampleBlocks, 256 -> 16 px, each doubling the width: 96 -> 1536
    assert pooling_widths(model) == [(96, 192), (192, 384), (384, 768), (768, 1536)]
    assert model.middle is not None
    assert any(isinstance(m, Attention) for m in model.modules())
    assert count(model) == 302_160_105


@pytest.mark.parametrize(
    "field, widths, params",
    [
        ("small", [(96, 192), (192, 384)], 10_507_497),  # Table 11: two DownSampleBlocks
        ("medium", [(96, 192), (192, 384), (384, 768)], 42_523_881),  # the paper's default
        ("large", [(96, 192), (192, 384), (384, 768), (768, 1536), (1536, 1536), (1536, 1536)], 612_432_105),
    ],
)
def test_paper_small_model_follows_table_11_at_each_receptive_field(field, widths, params):
    model = build_on_meta(small_unet(PAPER, NUM_CLASSES, field))
    assert pooling_widths(model) == widths
    assert model.middle is None
    assert not any(isinstance(m, Attention) for m in model.modules())
    assert count(model) == params


def test_each_downsampling_halves_the_resolution_and_the_output_keeps_the_input_shape():
    config = small_unet(PROFILES.get("smoke"), 3, "medium")
    model = UNet(config)
    shapes = []
    for module in model.modules():
        if isinstance(module, Downsample):
            module.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape[1:])))
    x = torch.randn(2, config.in_channels, 32, 32)
    with torch.no_grad():
        out = model(x, torch.tensor([1, 1000]))
    assert shapes == [(32, 16, 16), (64, 8, 8), (64, 4, 4)]  # smoke widths cap at 64
    assert out.shape == x.shape


def ddpm_posterior(alpha_bars: torch.Tensor, t: int, x_t: torch.Tensor, x0: torch.Tensor):
    """Ho et al. 2020, eq. 6-7: mean and standard deviation of q(x_{t-1} | x_t, x_0), from the betas."""
    ab_t, ab_prev = float(alpha_bars[t]), float(alpha_bars[t - 1])
    beta = 1 - ab_t / ab_prev
    mean = (math.sqrt(ab_prev) * beta / (1 - ab_t)) * x0 + (math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab_t)) * x_t
    return mean, math.sqrt(beta * (1 - ab_prev) / (1 - ab_t))


@pytest.mark.parametrize("t", [2, 50, 500, 999, 1000])
def test_full_sampler_step_is_the_ddpm_ancestral_step(t):
    alpha_bars = cosine_alpha_bars(1000)
    g = torch.Generator().manual_seed(t)
    x_t, x0, noise = (torch.randn(4, 7, 8, 8, generator=g, dtype=torch.float64) for _ in range(3))
    mean, std = ddpm_posterior(alpha_bars, t, x_t, x0)
    got = step(x_t, x0, float(alpha_bars[t]), float(alpha_bars[t - 1]), 1.0, noise)
    torch.testing.assert_close(got, mean + std * noise)


def test_cosine_schedule_and_eps_parameterization():
    alpha_bars = cosine_alpha_bars(1000)
    f = lambda t: math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    assert alpha_bars[0] == 1 and bool((alpha_bars[1:] < alpha_bars[:-1]).all())
    assert float(alpha_bars[500]) == pytest.approx(f(500) / f(0), rel=1e-9)
    assert float(alpha_bars[1000]) < 1e-6
    x0 = torch.rand(2, 5, 4, 4) * 2 - 1
    eps = torch.randn_like(x0)
    ab = float(alpha_bars[300])
    x_t = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps
    torch.testing.assert_close(predict_x0(eps, x_t, ab, "eps"), x0, atol=1e-5, rtol=1e-5)
    # with eta = 0 and the true clean data the deterministic step lands on the same trajectory
    ab_to = float(alpha_bars[100])
    torch.testing.assert_close(
        step(x_t, x0, ab, ab_to, 0.0, torch.zeros_like(x0)), math.sqrt(ab_to) * x0 + math.sqrt(1 - ab_to) * eps
    )
