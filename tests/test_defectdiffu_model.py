"""DefectDiffu's parts against hand-built cases and independent references: the public DiT checkpoint
layout, the adaptive attention loss (eqs. 7-11), the VB term, double-free guidance, condition dropout,
the mask threshold and the prompts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bench.core.errors import BenchError
from generators.defectdiffu.config import GOOD, READINGS, prompt_names, prompts
from generators.defectdiffu.dit import Conditions, DiT, DiTConfig, load_public_dit, read_checkpoint
from generators.defectdiffu.guidance import GUIDANCES, double_free, guide
from generators.defectdiffu.losses import attention_map, attention_ratio, clamp_ratio, linear_betas, total_loss, vb_bits
from generators.defectdiffu.sampling import binarize, iterative_threshold
from generators.defectdiffu.training import drop_condition
from tests.helpers.dit import HEADS, PATCH, SIDE, C, D, public_state_dict


def tiny_config(**changes) -> DiTConfig:
    base = dict(input_size=SIDE, patch_size=PATCH, in_channels=C, hidden_size=D, num_heads=HEADS, blocks=(1, 1, 1),
                text_dim=12, context_dim=10, context="pooled", learn_sigma=True, gelu="tanh")
    return DiTConfig(**{**base, **changes})


def reference_dit(state: dict, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor, depth: int) -> torch.Tensor:
    """DiT's forward pass written out from its state dict (class embedding replaced by ``y``)."""

    def linear(h, name):
        return h @ state[f"{name}.weight"].T + state[f"{name}.bias"]

    def norm(h):
        return torch.nn.functional.layer_norm(h, (D,), eps=1e-6)

    b = x.shape[0]
    h = torch.nn.functional.conv2d(x, state["x_embedder.proj.weight"], state["x_embedder.proj.bias"], stride=PATCH)
    h = h.flatten(2).transpose(1, 2) + state["pos_embed"]
    half = 128
    freqs = torch.exp(-math.log(10000) * torch.arange(half) / half)
    args = t.float()[:, None] * freqs
    temb = linear(torch.nn.functional.silu(linear(torch.cat([args.cos(), args.sin()], 1), "t_embedder.mlp.0")), "t_embedder.mlp.2")
    c = temb + y
    for i in range(depth):
        p = f"blocks.{i}"
        mod = linear(torch.nn.functional.silu(c), f"{p}.adaLN_modulation.1").chunk(6, 1)
        a = norm(h) * (1 + mod[1][:, None]) + mod[0][:, None]
        qkv = linear(a, f"{p}.attn.qkv")
        q, k, v = (qkv[..., j * D : (j + 1) * D].reshape(b, -1, HEADS, D // HEADS).transpose(1, 2) for j in range(3))
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D // HEADS), -1)
        h = h + mod[2][:, None] * linear((w @ v).transpose(1, 2).reshape(b, -1, D), f"{p}.attn.proj")
        m = norm(h) * (1 + mod[4][:, None]) + mod[3][:, None]
        m = linear(torch.nn.functional.gelu(linear(m, f"{p}.mlp.fc1"), approximate="tanh"), f"{p}.mlp.fc2")
        h = h + mod[5][:, None] * m
    shift, scale = linear(torch.nn.functional.silu(c), "final_layer.adaLN_modulation.1").chunk(2, 1)
    out = linear(norm(h) * (1 + scale[:, None]) + shift[:, None], "final_layer.linear")
    g = SIDE // PATCH
    out = out.reshape(b, g, g, PATCH, PATCH, 2 * C).permute(0, 5, 1, 3, 2, 4)
    return out.reshape(b, 2 * C, SIDE, SIDE)


def conditions(batch: int, config: DiTConfig, same: bool = False) -> Conditions:
    g = torch.Generator().manual_seed(1)
    pooled = torch.randn(batch, config.text_dim, generator=g)
    vectors = [pooled] * 3 if same else [torch.randn(batch, config.text_dim, generator=g) for _ in range(3)]
    focus = torch.zeros(batch, 5)
    focus[:, 3] = 1
    return Conditions(*vectors, torch.randn(batch, 5, config.context_dim, generator=g), focus)


def test_public_dit_checkpoint_loads_and_the_blocks_compute_dit(tmp_path):
    depth = 3
    state = public_state_dict(depth)
    path = tmp_path / "DiT-tiny.pt"
    torch.save(state, path)
    model = DiT(tiny_config())
    load_public_dit(model, read_checkpoint(path), str(path))
    own = model.state_dict()
    for key, value in state.items():
        if key != "y_embedder.embedding_table.weight":
            assert torch.equal(own[key], value), key
    # With the cross-attention's values zeroed, the model is DiT itself with the text vector as class embedding.
    for cross in model.cross_defect:
        torch.nn.init.zeros_(cross.cross_attention.to_v.weight)
        torch.nn.init.zeros_(cross.cross_attention.to_v.bias)
    x = torch.randn(2, C, SIDE, SIDE, generator=torch.Generator().manual_seed(2))
    t = torch.tensor([3, 700])
    cond = conditions(2, model.config, same=True)
    with torch.no_grad():
        ours = model(x, t, cond).out
        expected = reference_dit(state, x, t, model.y_embedders(cond.product), depth)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-4)


def test_fixed_variance_model_keeps_the_noise_rows_and_a_wrong_depth_is_one_line(tmp_path):
    state = public_state_dict(3)
    model = DiT(tiny_config(learn_sigma=False))
    load_public_dit(model, dict(state), "ckpt")
    rows = state["final_layer.linear.weight"].reshape(PATCH * PATCH, 2 * C, D)[:, :C].reshape(-1, D)
    assert torch.equal(model.final_layer.linear.weight, rows)
    assert model(torch.zeros(1, C, SIDE, SIDE), torch.tensor([5]), conditions(1, model.config)).out.shape == (1, C, SIDE, SIDE)
    with pytest.raises(BenchError, match="does not fit this model") as err:
        load_public_dit(DiT(tiny_config(blocks=(1, 1, 0))), dict(state), "DiT-XL-2-256x256.pt")
    assert "\n" not in str(err.value)
    path = tmp_path / "torn.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(BenchError, match="unreadable DiT checkpoint"):
        read_checkpoint(path)


@pytest.mark.parametrize("context", ["pooled", "tokens"])
def test_defect_blocks_attention_maps(context):
    config = tiny_config(context=context, blocks=(1, 2, 1))
    model = DiT(config)
    out = model(torch.randn(3, C, SIDE, SIDE), torch.tensor([1, 2, 3]), conditions(3, config))
    grid = SIDE // PATCH
    assert out.attention.shape == (3, 2, grid, grid) and out.mask.shape == (3, C, SIDE, SIDE)
    sums = out.attention.sum((-2, -1))
    if context == "pooled":  # released: softmax over the positions, so each head's map sums to 1
        torch.testing.assert_close(sums, torch.ones_like(sums))
    else:  # paper: softmax over the tokens, the map is the share on the defect word at every position
        assert bool(((out.attention >= 0) & (out.attention <= 1)).all()) and not torch.allclose(sums, torch.ones_like(sums))


def test_adaptive_attention_loss_equals_eqs_7_to_11():
    attention = torch.tensor([[[[0.1, 0.2], [0.3, 0.4]], [[0.3, 0.2], [0.1, 0.0]]]])  # B=1, M=2 blocks, 2 x 2 tokens
    token_mask = torch.tensor([[[0.0, 1.0], [0.0, 0.0]]])
    # eq. 7 (paper: mean over blocks) -> 0.2 everywhere; eq. 8: 0.6 / (0.2 + 0.001)
    assert attention_ratio(attention_map(attention, "mean"), token_mask, 1e-3).item() == pytest.approx(0.6 / 0.201)
    # released: the blocks' maps summed, alpha 1e-4 -> 1.2 / (0.4 + 1e-4)
    assert attention_ratio(attention_map(attention, "sum"), token_mask, 1e-4).item() == pytest.approx(1.2 / 0.4001)
    assert clamp_ratio(torch.tensor([0.5, 2.0, 3.3, 8.0, 50.0])).tolist() == pytest.approx([2.0, 2.0, 3.3, 8.0, 8.0])

    noise = torch.tensor([1.0, -1.0, 0.5, 0.0]).view(1, 1, 2, 2)
    output = torch.tensor([0.0, -1.0, 1.5, 2.0, 9.0, 9.0, 9.0, 9.0]).view(1, 2, 2, 2)  # noise channel, then variance
    latent_mask = torch.tensor([1.0, 0.0, 0.5, 0.0]).view(1, 1, 2, 2)
    mask_pred, mask_target = torch.tensor([0.5, 1.0]).view(1, 2, 1, 1), torch.tensor([1.5, 1.0]).view(1, 2, 1, 1)
    terms = total_loss(noise, output, mask_pred, mask_target, attention, latent_mask, token_mask, 1e-3, "mean", vb=torch.tensor([0.25]))
    mse = (1 + 0 + 1 + 4) / 4
    r = 0.6 / 0.201
    defect = r * (1 + 0 + 0.25 + 0) / 4  # eq. 10: (mask * eps_hat - mask * eps)^2 averaged
    mask = (1 + 0) / 2  # eq. 6
    assert terms["mse"].item() == pytest.approx(mse)
    assert terms["defect"].item() == pytest.approx(defect)
    assert terms["mask"].item() == pytest.approx(mask)
    assert terms["loss"].item() == pytest.approx(mse + defect + 0.2 * mask + 0.25)  # eq. 11 with lambda 0.2, + VB


def test_vb_term_is_the_gaussian_kl_in_bits():
    betas = linear_betas()
    abar = torch.cumprod(1 - betas, 0)
    g = torch.Generator().manual_seed(0)
    x0, xt, eps = (torch.randn(2, 4, 3, 3, generator=g, dtype=torch.float64) for _ in range(3))
    v = torch.rand(2, 4, 3, 3, generator=g, dtype=torch.float64) * 2 - 1
    t = torch.tensor([10, 500])
    got = vb_bits(x0, xt, t, eps, v, betas)
    for i, step in enumerate(t.tolist()):
        a_t, a_prev, beta = abar[step], abar[step - 1], betas[step]
        mean_q = a_prev.sqrt() * beta / (1 - a_t) * x0[i] + (1 - beta).sqrt() * (1 - a_prev) / (1 - a_t) * xt[i]
        var_q = beta * (1 - a_prev) / (1 - a_t)
        x0_hat = (xt[i] - (1 - a_t).sqrt() * eps[i]) / a_t.sqrt()
        mean_p = a_prev.sqrt() * beta / (1 - a_t) * x0_hat + (1 - beta).sqrt() * (1 - a_prev) / (1 - a_t) * xt[i]
        var_p = torch.exp((v[i] + 1) / 2 * beta.log() + (1 - v[i]) / 2 * var_q.log())
        kl = torch.distributions.kl_divergence(torch.distributions.Normal(mean_q, var_q.sqrt()), torch.distributions.Normal(mean_p, var_p.sqrt()))
        assert got[i].item() == pytest.approx(kl.mean().item() / math.log(2), rel=1e-4)
    # t = 0: the discretised decoder likelihood, approximately the probability of the 2/255 bin
    x0 = torch.full((1, 1, 1, 1), 0.3, dtype=torch.float64)
    nll = vb_bits(x0, x0, torch.tensor([0]), torch.zeros_like(x0), torch.zeros_like(x0), betas)
    a1 = abar[0]
    std = math.sqrt(math.exp(0.5 * (math.log(betas[0]) + math.log(betas[1] * (1 - a1) / (1 - abar[1])))))
    mean = (x0 - math.sqrt(1 - a1) * 0) / math.sqrt(a1) * 1.0  # posterior mean at t = 0 is x0_hat
    normal = torch.distributions.Normal(mean.item(), std)
    p = normal.cdf(torch.tensor(0.3 + 1 / 255)) - normal.cdf(torch.tensor(0.3 - 1 / 255))
    assert nll.item() == pytest.approx(-math.log(p.item()) / math.log(2), rel=1e-2)


def test_double_free_guidance_equals_eq_4():
    eps_dn, eps_gp, eps_gn = torch.full((1, 4, 2, 2), 1.0), torch.full((1, 4, 2, 2), 2.0), torch.full((1, 4, 2, 2), 0.5)
    assert double_free(eps_dn, eps_gp, eps_gn, 2.0, 3.0).unique().tolist() == [0.5 + 2.0 * 1.5 + 3.0 * 0.5]
    # guide(): the branches stacked as double-free orders them, per-sample w_d, all channels or the first three
    out = torch.stack([torch.cat([eps_dn, eps_dn]), torch.cat([eps_gp, eps_gp]), torch.cat([eps_gn, eps_gn])])
    out[0, :, 3] = 7.0  # branch 0's fourth channel
    w_d = torch.tensor([3.0, 0.0])
    guided = guide(GUIDANCES.get("double-free"), out, w_d, 2.0, channels=4)
    assert guided[1, :3].unique().tolist() == [0.5 + 2.0 * 1.5]
    assert guided[0, 3].unique().tolist() == [0.5 + 2.0 * 1.5 + 3.0 * 6.5]
    three = guide(GUIDANCES.get("double-free"), out, w_d, 2.0, channels=3)
    assert three[:, 3].unique().tolist() == [7.0] and three[0, :3].unique().tolist() == [5.0]
    cfg = guide(GUIDANCES.get("cfg"), torch.stack([torch.full((1, 8, 1, 1), 3.0), torch.full((1, 8, 1, 1), 1.0)]), torch.tensor([2.5]), 1.0, 3)
    assert cfg[0, :3].flatten().tolist() == [1.0 + 2.5 * 2.0] * 3 and cfg[0, 3:].flatten().tolist() == [3.0] * 5


def test_branches_evaluate_the_conditions_of_eq_4_and_test_py():
    assert GUIDANCES.get("double-free").branches == ((True, False), (False, True), (False, False))  # (c_d, 0), (c_g, c_p), (c_g, 0)
    assert GUIDANCES.get("cfg").branches == ((True, True), (False, True))  # "defect product" vs "good product"
    assert prompts("crack", "wood") == ("a photo of wood", "a photo of crack", "a photo of crack wood")
    assert prompts(GOOD, None) == ("", "a photo of good", "a photo of good")


def test_condition_dropout_follows_algorithm_1_and_the_released_train_py():
    paper, released = READINGS.get("paper"), READINGS.get("released")
    assert drop_condition(paper, "crack", "wood", [0.5, 0.5, 0.5]) == ("crack", "wood")
    assert drop_condition(paper, "crack", "wood", [0.1, 0.5, 0.5]) == ("crack", None)  # line 1
    assert drop_condition(paper, "crack", "wood", [0.5, 0.1, 0.5]) == (GOOD, "wood")  # line 3
    assert drop_condition(paper, "crack", "wood", [0.5, 0.5, 0.1]) == ("crack", None)  # line 4
    assert drop_condition(paper, GOOD, "wood", [0.5, 0.1, 0.1]) == (GOOD, "wood")  # lines 2-4 skip normals
    assert drop_condition(released, "crack", "wood", [0.1, 0.1, 0.1]) == (GOOD, "wood")
    assert drop_condition(released, "crack", "wood", [0.1, 0.5, 0.1]) == ("crack", "wood")
    rng = np.random.default_rng(0)
    dropped = [drop_condition(paper, "crack", "wood", rng.random(3))[1] is None for _ in range(20000)]
    assert np.mean(dropped) == pytest.approx(1 - 0.8**2, abs=0.01), "lines 1 and 4 both drop the product"


def test_iterative_threshold_matches_isodata():
    from skimage.filters import threshold_isodata

    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(-0.8, 0.1, 3000), rng.normal(0.6, 0.2, 500)])
    ours, reference = iterative_threshold(values), threshold_isodata(values, nbins=1024)
    assert abs(ours - reference) < 4 * np.ptp(values) / 1024
    masks = torch.from_numpy(np.stack([values.reshape(50, 70)] * 3)[None]).float()
    assert np.array_equal(binarize(masks)[0], values.reshape(50, 70) >= reference)
    assert not binarize(torch.zeros(1, 3, 4, 4)).any(), "a constant map marks nothing"



def test_a_map_that_reads_background_everywhere_gives_an_empty_mask_not_a_whole_picture():
    """The toy failure: a map near -1 with a few darker pixels, where the iterative threshold alone marks the bulk."""
    rng = np.random.default_rng(1)
    background = rng.normal(-1.05, 0.02, (32, 32))
    background[rng.random((32, 32)) < 0.03] = -1.3
    masks = torch.from_numpy(np.stack([background] * 3)[None]).float()
    assert (background >= iterative_threshold(background)).mean() > 0.9, "the threshold alone marks nearly everything"
    assert not binarize(masks).any()
    assert binarize(masks, floor=-2.0).mean() > 0.9, "below the floor only the gate differs"
    defect = background.copy()
    defect[10:14, 10:16] = 0.8
    marked = binarize(torch.from_numpy(np.stack([defect] * 3)[None]).float())[0]
    assert np.array_equal(marked, defect >= iterative_threshold(defect)) and marked.sum() == 24


def test_unified_names_keep_one_class_per_prompt():
    assert prompt_names({1: "scratch_neck", 2: "poke", 3: "crack"}, "unified") == {1: "scratch", 2: "hole", 3: "crack"}
    # screw: scratch_head and scratch_neck would share "scratch", so both keep their own names
    assert prompt_names({1: "scratch_head", 2: "scratch_neck", 3: "thread_top"}, "unified") == {
        1: "scratch_head", 2: "scratch_neck", 3: "thread"}
    assert prompt_names({1: "poke"}, "original") == {1: "poke"}
