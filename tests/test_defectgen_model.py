"""The denoisers follow the released configs and the paper's Tables 8-11; the update rules match DDPM's
posterior and the released ``ColdDiffusion.p_sample``."""

from __future__ import annotations

import math

import pytest
import torch

from generators.defectgen.config import PROFILES, small_shape
from generators.defectgen.diffusion import UPDATES, cosine_alpha_bars, estimate, step
from generators.defectgen.training import encode_pairs
from generators.defectgen.unet import Attention, GuidedUNet, Resample, TablesUNet, UNet, build_unet

PAPER, RELEASED = PROFILES.get("paper"), PROFILES.get("released")


def build_on_meta(shape, in_channels) -> UNet:
    with torch.device("meta"):
        return build_unet(shape, in_channels)


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def downsampling_widths(model: UNet) -> list[tuple[int, int]]:
    return [(d.conv.in_channels, d.conv.out_channels) for d in model.modules() if isinstance(d, Resample) and d.how != "up"]


def test_released_large_model_is_large_recep_yml():
    """config/large_recep.yml: 128 channels x (1, 1, 2, 2, 4, 4), 5 strided downsamples, attention at 1/8, 1/16,
    1/32 with 16-channel heads, scale-shift norm, 9 input channels (3 image + 6 mask)."""
    model = build_on_meta(RELEASED.large, 9)
    assert isinstance(model, GuidedUNet)
    assert downsampling_widths(model) == [(128, 128), (128, 128), (256, 256), (256, 256), (512, 512)]
    assert all(d.how == "strided" for d in model.modules() if isinstance(d, Resample) and d.how != "up")
    assert {a.heads for a in model.modules() if isinstance(a, Attention)} == {256 // 16, 512 // 16}
    assert count(model) == 125_385_481


def test_released_small_model_is_small_recep_yml():
    """config/small_recep.yml: 192 channels x (1, 2, 4), 2 downsamples, no attention, 6 input channels."""
    model = build_on_meta(small_shape(RELEASED, "small"), 6)
    assert downsampling_widths(model) == [(192, 192), (384, 384)]
    assert model.middle is None and not any(isinstance(m, Attention) for m in model.modules())
    assert count(model) == 98_213_382


@pytest.mark.parametrize("name", ["released", "paper", "toy", "short", "smoke"])
def test_receptive_fields_never_go_deeper_than_the_profiles_large_model(name):
    profile = PROFILES.get(name)
    depths = [small_shape(profile, field).downsamplings for field, _ in profile.fields]
    assert depths == sorted(depths) and depths[-1] <= profile.large.downsamplings
    assert [f for f, _ in profile.fields] == ["small", "medium", "large"]


def test_paper_large_model_follows_table_10():
    """Table 10 as listed: four DownSampleBlocks and four UpSampleBlocks, no attention and no middle block (the
    release's large model has both; the paper's tables name neither)."""
    model = build_on_meta(PAPER.large, 9)
    assert isinstance(model, TablesUNet)
    # four DownSampleBlocks, 256 -> 16 px, each doubling the width: 96 -> 1536
    assert downsampling_widths(model) == [(96, 192), (192, 384), (384, 768), (768, 1536)]
    assert model.middle is None
    assert not any(isinstance(m, Attention) for m in model.modules())
    assert count(model) == 168_783_081


@pytest.mark.parametrize(
    "field, widths, params",
    [
        ("small", [(96, 192), (192, 384)], 10_507_497),  # Table 11: two DownSampleBlocks
        ("medium", [(96, 192), (192, 384), (384, 768)], 42_523_881),  # the paper's default
        ("large", [(96, 192), (192, 384), (384, 768), (768, 1536)], 168_783_081),  # capped at the large model's depth
    ],
)
def test_paper_small_model_follows_table_11_at_each_receptive_field(field, widths, params):
    model = build_on_meta(small_shape(PAPER, field), 9)
    assert downsampling_widths(model) == widths
    assert model.middle is None
    assert not any(isinstance(m, Attention) for m in model.modules())
    assert count(model) == params


@pytest.mark.parametrize("role", ["large", "small"])
def test_each_downsampling_halves_the_resolution_and_the_output_keeps_the_input_shape(role):
    smoke = PROFILES.get("smoke")
    shape = smoke.large if role == "large" else small_shape(smoke, "medium")
    model = build_unet(shape, 5)
    sizes = []
    for module in model.modules():
        if isinstance(module, Resample) and module.how != "up":
            module.register_forward_hook(lambda _m, _i, out: sizes.append(out.shape[-1]))
    x = torch.randn(2, 5, 32, 32)
    with torch.no_grad():
        out = model(x, torch.tensor([1, 1000]))
    assert sizes == [32 // 2**k for k in range(1, shape.downsamplings + 1)]
    assert out.shape == x.shape


def test_guided_output_starts_at_zero_like_the_release():
    """zero_module on the output convolution: an untrained released denoiser predicts x0 = 0."""
    model = build_unet(PROFILES.get("smoke").large, 5)
    with torch.no_grad():
        assert model(torch.randn(1, 5, 32, 32), torch.tensor([10])).abs().max() == 0


def test_mask_channels_follow_the_reading_and_decode_back():
    """The release: {0, 1} over class ids 0..K (num_defect + 1 channels, ``scatter_``); the paper: {0, 1} over the K
    defect classes only (n_total = n_defect + 3), a background pixel off everywhere. Both decode to the mask."""
    import numpy as np

    from bench.core.pairset import Pair
    from generators.defectgen.config import READINGS
    from generators.defectgen.sampling import decode

    mask = np.array([[0, 1], [2, 0]], dtype=np.uint8)
    pair = Pair("p", np.zeros((2, 2, 3), np.uint8), mask)
    for name, channels in (("released", 3), ("paper", 2)):
        reading = READINGS.get(name)
        x = encode_pairs([pair], 2, 3, reading.onehot, reading.background)
        assert x.shape == (1, 3 + channels, 2, 2) and set(x[0, 3:].unique().tolist()) == {0.0, 1.0}
        assert x[0, 3:].sum(0).tolist() == ([[1, 1], [1, 1]] if reading.background else [[0, 1], [1, 0]])
        ((_, decoded),) = decode(x, [0, 1, 2], (2, 2), reading.background, reading.onehot)
        np.testing.assert_array_equal(decoded, mask)
    # without a background channel a pixel is a defect only where its largest channel passes the midpoint
    def pixel(class_1: float, class_2: float) -> int:
        x = torch.tensor([0.0, 0.0, 0.0, class_1, class_2]).reshape(1, 5, 1, 1)
        return int(decode(x, [0, 1, 2], (1, 1), False)[0][1].item())

    assert (pixel(0.4, 0.2), pixel(0.3, 0.7), pixel(0.6, 0.55)) == (0, 2, 1)


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
    got = UPDATES["ancestral"].apply(x_t, x0, None, float(alpha_bars[t]), float(alpha_bars[t - 1]), t, noise)
    torch.testing.assert_close(got, mean + std * noise)


def released_p_sample(x_t, x0_raw, alphas_cumprod, index):
    """ColdDiffusion.p_sample written out with the release's 0-based index (alphas_cumprod[i] is bench's
    timestep i + 1): eps from the unclipped x0, then x_t - q(x0, i) + q(x0, i - 1), each q skipped at its edge."""
    ab = alphas_cumprod[index]
    eps = (x_t - ab.sqrt() * x0_raw) / (1 - ab).sqrt()
    x0 = x0_raw.clamp(-1, 1)
    x_hat = x0 if index == 1 else ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    x_prev = x0 if index == 0 else alphas_cumprod[index - 1].sqrt() * x0 + (1 - alphas_cumprod[index - 1]).sqrt() * eps
    return x_t - x_hat + x_prev


@pytest.mark.parametrize("t", [1, 2, 3, 400, 1000])
def test_cold_update_is_the_released_p_sample(t):
    alpha_bars = cosine_alpha_bars(1000).double()
    g = torch.Generator().manual_seed(t)
    x_t, prediction = (torch.randn(3, 6, 4, 4, generator=g, dtype=torch.float64) * 1.5 for _ in range(2))
    x0, eps = estimate(prediction, x_t, float(alpha_bars[t]), "x0")
    got = UPDATES["cold"].apply(x_t, x0, eps, float(alpha_bars[t]), float(alpha_bars[t - 1]), t, None)
    torch.testing.assert_close(got, released_p_sample(x_t, prediction, alpha_bars[1:], t - 1))
    assert not UPDATES["cold"].noisy and UPDATES["ancestral"].noisy


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
    got_x0, got_eps = estimate(eps, x_t, ab, "eps")
    torch.testing.assert_close(got_x0, x0, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(estimate(x0, x_t, ab, "x0")[1], eps, atol=1e-4, rtol=1e-4)
    # with eta = 0 and the true clean data the deterministic step lands on the same trajectory
    ab_to = float(alpha_bars[100])
    torch.testing.assert_close(
        step(x_t, x0, ab, ab_to, 0.0, torch.zeros_like(x0)), math.sqrt(ab_to) * x0 + math.sqrt(1 - ab_to) * eps
    )
