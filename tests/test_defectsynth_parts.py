"""DefectSynth's pieces against the paper's equations on hand-built cases: SAE (eqs. 5-8), SFF (eq. 9), HMI's
tau switch and frames, the released background steps, slerp and the word tokenizer."""

from __future__ import annotations

import math
from itertools import islice

import numpy as np
import pytest
import torch
from skimage.exposure import match_histograms

from bench.core.pairset import Pair
from generators.defectsynth.background import dilate, dilation_radius, keep_background, match_histogram
from generators.defectsynth.latent_hmi import slerp
from generators.defectsynth.sae import (
    SAEAttention,
    SAEState,
    Transform,
    align,
    align_released,
    enhanced,
    transform,
    warp_released,
    weights_paper,
    weights_released,
)
from generators.defectsynth.sff import fuse
from generators.diffusion_common import load_tokenizer, word_tokenizer
from generators.hmi import HMIMaskSource, frame_alphas, largest_region, released_cleanup


def test_alignment_finds_the_shift_and_rotation_with_the_largest_overlap():
    real = torch.zeros(16, 16, dtype=torch.bool)
    real[4:6, 3:11] = True  # a horizontal bar
    generated = torch.zeros(16, 16, dtype=torch.bool)
    generated[5:13, 9:11] = True  # the same bar turned upright, elsewhere
    found = align(real, generated)
    assert found.angle in (90.0, 270.0)
    moved = transform(real.float()[None], found, mode="nearest")[0] > 0.5
    assert (moved & generated).sum() == generated.sum()  # eq. (5) reaches full overlap
    # the argmax is right: no candidate of the search overlaps more
    best = (moved & generated).sum()
    for angle in range(0, 360, 30):
        for dy in range(-15, 16):
            for dx in range(-15, 16):
                other = transform(real.float()[None], Transform(angle, dy, dx), mode="nearest")[0] > 0.5
                assert (other & generated).sum() <= best


def test_alignment_keeps_the_identity_without_overlap_and_prefers_small_shifts():
    empty = torch.zeros(8, 8, dtype=torch.bool)
    assert align(empty, empty) == Transform(0.0, 0, 0)
    dot = empty.clone()
    dot[3, 3] = True
    assert align(dot, dot) == Transform(0.0, 0, 0)


def test_paper_weight_map_is_equation_7():
    g = torch.Generator().manual_seed(0)
    reference, latents = torch.randn(2, 4, 3, 5, generator=g), torch.randn(2, 4, 3, 5, generator=g)
    mask = (torch.rand(2, 1, 3, 5, generator=g) > 0.5).float()
    weights = weights_paper(reference, latents, mask)
    for b in range(2):  # slow and obvious: Softmax over all h * w positions, times ||M_g||_1, plus one
        d = [[sum((mask[b, 0, i, j] * (reference[b, c, i, j] - latents[b, c, i, j])) ** 2 for c in range(4)) / 4
              for j in range(5)] for i in range(3)]
        z = sum(math.exp(v) for row in d for v in row)
        for i in range(3):
            for j in range(5):
                expected = float(mask[b].sum()) * math.exp(d[i][j]) / z + 1
                assert weights[b, i, j].item() == pytest.approx(expected, rel=1e-5)


def test_released_weight_map_is_one_plus_the_min_max_difference_inside_the_mask():
    latents = torch.zeros(1, 2, 2, 2)
    reference = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]], [[0.0, 1.0], [2.0, 3.0]]]])
    mask = torch.tensor([[[[1.0, 1.0], [1.0, 0.0]]]])
    weights = weights_released(reference, latents, mask)
    # squared differences inside: 0, 1, 4 (3 is outside: 0); min 0, max 4
    assert torch.allclose(weights[0], torch.tensor([[1.0, 1.25], [2.0, 1.0]]))


def test_sae_processor_multiplies_the_cross_attention_probabilities_per_query():
    from diffusers.models.attention_processor import Attention

    torch.manual_seed(0)
    attn = Attention(query_dim=8, cross_attention_dim=6, heads=2, dim_head=4).eval()
    hidden = torch.randn(2, 16, 8)  # 4 x 4 query positions
    context = torch.randn(2, 3, 6)
    state = SAEState()
    state.weights = 1 + torch.rand(2, 2, 2)  # a coarser map: nearest-resized to 4 x 4
    with torch.no_grad():
        out = SAEAttention(state)(attn, hidden, encoder_hidden_states=context)
        q, k, v = (attn.to_q(hidden), attn.to_k(context), attn.to_v(context))
        expected = torch.zeros(2, 16, 8)
        for b in range(2):
            w = state.weights[b].repeat_interleave(2, 0).repeat_interleave(2, 1).reshape(16, 1)
            heads = []
            for h in range(2):
                qh, kh, vh = (x[b, :, h * 4 : (h + 1) * 4] for x in (q, k, v))
                heads.append(w * torch.softmax(qh @ kh.T / 2.0, dim=-1) @ vh)  # eq. (8), d = 4
            expected[b] = attn.to_out[0](torch.cat(heads, dim=1))
    assert torch.allclose(out, expected, atol=1e-6)
    state.weights = None
    with torch.no_grad():
        assert torch.allclose(SAEAttention(state)(attn, hidden, encoder_hidden_states=context), attn(hidden, context), atol=1e-6)


def test_sae_processors_sit_on_the_unets_cross_attention_only_and_come_off_again():
    from generators.defectsynth.models import tiny_unet

    unet = tiny_unet((8, 16), 8, 16)
    before = dict(unet.attn_processors)
    with enhanced(unet, SAEState()):
        during = unet.attn_processors
        assert {n for n, p in during.items() if isinstance(p, SAEAttention)} == {n for n in during if ".attn2." in n}
    assert all(type(unet.attn_processors[n]) is type(p) for n, p in before.items())


def test_released_alignment_is_the_grid_search_of_the_released_code():
    real = np.zeros((512, 512), np.uint8)
    real[100:140, 200:210] = 1
    generated = np.zeros((512, 512), bool)
    generated[108:148, 204:214] = True  # the bar moved by (+4, +8): on the grid
    dx, dy, angle = align_released(real, generated)
    assert (dx, dy, angle) == (4.0, 8.0, 0.0)
    assert (warp_released(real, dx, dy, angle) > 0).sum() == generated.sum()
    assert align_released(real, np.zeros((512, 512), bool)) == (0.0, 0.0, 0.0)


def slow_sff(latents, chosen, weight, similarity, region=None):
    """Eq. (9) written out: every drawn point of base i becomes w_i f + sum_j w_j r_j(nearest)."""
    b, c, h, w = latents.shape
    flat = latents.reshape(b, c, h * w)
    out = flat.clone()
    for i in range(b):
        for p in chosen[i]:
            value = weight * flat[i][:, p]
            for j in range(b):
                if j == i:
                    continue
                scores = []
                for q in range(h * w):
                    f, r = flat[i][:, p], flat[j][:, q]
                    if similarity == "cosine":
                        f, r = f / f.norm(), r / r.norm()
                    scores.append(float(f @ r))
                value = value + (1 - weight) / (b - 1) * flat[j][:, int(np.argmax(scores))]
            out[i][:, p] = value
    out = out.reshape(b, c, h, w)
    return out if region is None else out * region + latents * (1 - region)


@pytest.mark.parametrize("similarity", ["dot", "cosine"])
def test_sff_is_equation_9_with_the_drawn_points(similarity):
    latents = torch.randn(3, 4, 3, 3, generator=torch.Generator().manual_seed(1))
    points = int(0.3 * 9)
    replay = torch.Generator().manual_seed(5)
    chosen = [torch.randperm(9, generator=replay)[:points].tolist() for _ in range(3)]
    fused = fuse(latents, 0.3, 0.6, similarity, torch.Generator().manual_seed(5))
    assert torch.allclose(fused, slow_sff(latents, chosen, 0.6, similarity), atol=1e-6)
    region = torch.zeros(3, 1, 3, 3)
    region[:, :, 1:, 1:] = 1
    inside = fuse(latents, 0.3, 0.6, similarity, torch.Generator().manual_seed(5), region)
    assert torch.allclose(inside, slow_sff(latents, chosen, 0.6, similarity, region), atol=1e-6)
    assert torch.equal(inside[:, :, 0], latents[:, :, 0])  # outside the region nothing moves


def test_sff_is_seeded():
    latents = torch.randn(2, 4, 6, 6, generator=torch.Generator().manual_seed(0))
    a = fuse(latents, 0.2, 0.7, "cosine", torch.Generator().manual_seed(3))
    assert torch.equal(a, fuse(latents, 0.2, 0.7, "cosine", torch.Generator().manual_seed(3)))
    assert not torch.equal(a, fuse(latents, 0.2, 0.7, "cosine", torch.Generator().manual_seed(4)))
    assert torch.equal(fuse(latents[:1], 0.2, 0.7, "dot", torch.Generator()), latents[:1])  # nothing to fuse with


def pair(pair_id, class_id, mask):
    return Pair(pair_id, np.zeros((*mask.shape, 3), np.uint8), (mask * class_id).astype(np.uint8))


class RecordingMorph:
    """A latent branch that says it was used: a full square per frame."""

    def __init__(self):
        self.calls = 0

    def frames(self, first, second, alphas):
        self.calls += 1
        return [np.ones_like(first) for _ in alphas]


def test_the_latent_branch_serves_the_classes_at_or_above_tau():
    small = np.zeros((20, 20), bool)
    small[5, 5:10] = True  # area 5 / 400 = 0.0125
    large = np.zeros((20, 20), bool)
    large[2:12, 2:12] = True  # area 100 / 400 = 0.25
    train = [pair("s0", 1, small), pair("s1", 1, np.roll(small, 3)), pair("l0", 2, large), pair("l1", 2, np.roll(large, 2))]
    morph = RecordingMorph()
    source = HMIMaskSource(train, branch="hybrid", tau=0.25, latent=morph)
    assert source.area_ratio(2) == pytest.approx(0.25)
    assert source.branch_of(1) == "image" and source.branch_of(2) == "latent"  # >= tau switches
    assert HMIMaskSource(train, branch="hybrid", tau=0.2501, latent=morph).branch_of(2) == "image"
    drawn = list(islice(source.stream(seed=0, frames=3), 12))
    assert [m.class_id for m in drawn] == [1, 2] * 6  # the classes take turns
    assert all(m.shape.all() for m in drawn if m.class_id == 2) and morph.calls == 2
    assert not any(m.shape.all() for m in drawn if m.class_id == 1)
    again = list(islice(HMIMaskSource(train, branch="hybrid", tau=0.25, latent=RecordingMorph()).stream(0, 3), 12))
    assert all(np.array_equal(a.shape, b.shape) and a.alpha == b.alpha for a, b in zip(drawn, again))


def test_frame_weights_follow_the_paper_or_the_released_code():
    assert frame_alphas(4, released=False, branch="image") == [0.2, 0.4, 0.6, 0.8]  # strictly intermediate
    assert frame_alphas(4, released=True, branch="latent") == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert frame_alphas(4, released=True, branch="image") == pytest.approx([1 / 3, 2 / 3])


def test_released_cleanup_and_area_filter():
    speck = np.zeros((40, 40), bool)
    speck[10, 10] = True
    assert not released_cleanup(speck).any()  # blur, threshold and opening remove a lone point
    bar = np.zeros((40, 40), bool)
    bar[20, 5:35] = True
    cleaned = released_cleanup(bar)
    assert cleaned[19:22, 10:30].all() and largest_region(cleaned) == cleaned.sum()  # a line thickens into one region
    assert largest_region(np.zeros((4, 4), bool)) == 0


def test_background_blend_keeps_the_noised_normal_outside_the_dilated_mask():
    mask = torch.zeros(1, 1, 8, 8)
    mask[0, 0, 3:5, 3:5] = 1
    latents, background = torch.ones(1, 4, 8, 8), torch.full((1, 4, 8, 8), -1.0)
    out = keep_background(latents, background, mask, radius=1)
    grown = dilate(mask, 1)[0, 0] > 0
    assert grown.sum() == 16 and torch.all(out[0][:, grown] == 1) and torch.all(out[0][:, ~grown] == -1)
    # the released radii at SD's 64 x 64 latent: (t + 100) * 16 // 1000 for 50 steps, * 8 otherwise
    assert dilation_radius(981, 50, 64) == 17 and dilation_radius(1, 50, 64) == 1 and dilation_radius(951, 20, 64) == 8
    assert dilation_radius(981, 50, 32) == 8


def test_histogram_matching_agrees_with_scikit_image_where_the_histograms_are_full():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (2, 64, 64, 3)).astype(np.uint8)
    reference = np.clip(rng.normal(90, 40, (64, 64, 3)), 0, 255).astype(np.uint8)
    reference.reshape(-1)[:256] = np.arange(256)  # every level present
    ours = match_histogram(image, reference)
    theirs = match_histograms(image.reshape(128, 64, 3).astype(float), reference.astype(float)).reshape(image.shape)
    assert np.abs(ours.astype(float) - theirs).max() <= 1.5  # interpolation and uint8 truncation
    assert np.array_equal(match_histogram(image, reference, alpha=0.0), image)


def test_slerp_runs_on_the_great_circle():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(4, 8, 8, generator=g), torch.randn(4, 8, 8, generator=g)
    a, b = a / a.norm(), b / b.norm()
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-6) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    middle = slerp(a, b, 0.5)
    angle = lambda x, y: torch.arccos((x * y).sum() / (x.norm() * y.norm()))
    assert angle(a, middle).item() == pytest.approx(angle(middle, b).item(), rel=1e-4)


def test_word_tokenizer_is_deterministic_pads_like_clip_and_round_trips(tmp_path):
    texts = ["a wood with crack defects", "a wood"]
    tok = word_tokenizer(texts, 12)
    assert tok.get_vocab() == word_tokenizer(list(reversed(texts)), 12).get_vocab(), "the vocabulary is the sorted words"
    ids = tok(["a wood with crack defects, best quality"], padding="max_length", max_length=12, truncation=True).input_ids[0]
    assert ids[0] == tok.bos_token_id and len(ids) == 12 and tok.eos_token_id in ids
    assert tok.unk_token_id in ids  # "best" is not in the vocabulary
    assert ids[ids.index(tok.eos_token_id) + 1 :] == [tok.pad_token_id] * (11 - ids.index(tok.eos_token_id))
    tok.save_pretrained(tmp_path)
    assert load_tokenizer(tmp_path)(["a wood"]).input_ids == tok(["a wood"]).input_ids
