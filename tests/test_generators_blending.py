"""DCDGANc's improved Poisson blending: background untouched, class kept, defect content preserved."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from generators.blending import improved_poisson_blend


def scene(seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:64, 0:64]
    base = np.stack([120 + 40 * np.sin(x / 5), 140 + 30 * np.cos(y / 7), 110 + 0 * x], axis=-1)
    base = (base + rng.normal(0, 3, base.shape)).clip(0, 255).astype(np.uint8)
    content = np.full((20, 20, 3), (200, 190, 180), np.uint8)
    content[6:14, 5:15] = (25, 20, 30)  # a dark defect on a light surround
    content_mask = np.zeros((20, 20), np.uint8)
    content_mask[6:14, 5:15] = 2
    return base, content, content_mask


def test_outside_the_refined_mask_is_the_background_and_the_class_is_kept():
    base, content, content_mask = scene()
    image, mask = improved_poisson_blend(base, content, content_mask, (30, 20), np.random.default_rng(0))
    assert set(np.unique(mask)) == {0, 2}
    assert np.array_equal(image[mask == 0], base[mask == 0])
    changed = (image != base).any(axis=2)
    assert changed[mask > 0].mean() > 0.9
    ys, xs = np.nonzero(mask)  # the refined mask stays within the defect grown by the 5 px band
    assert ys.min() >= 30 + 6 - 6 and ys.max() <= 30 + 13 + 6 and xs.min() >= 20 + 5 - 6 and xs.max() <= 20 + 14 + 6
    assert mask[30 + 6 : 30 + 14, 20 + 5 : 20 + 15].all(), "every original defect pixel stays labelled"


def test_keeps_defect_content_better_than_plain_poisson_blending():
    base, content, content_mask = scene()
    top, left = 30, 20
    image, _ = improved_poisson_blend(base, content, content_mask, (top, left), np.random.default_rng(0))
    # plain Poisson: clone the defect region straight into the background
    source = base.copy()
    source[top : top + 20, left : left + 20] = content
    region = np.zeros(base.shape[:2], np.uint8)
    region[top + 5 : top + 15, left + 4 : left + 16] = 255
    plain = cv2.seamlessClone(source, base, region, (left + 10, top + 10), cv2.NORMAL_CLONE)
    inside = np.zeros(base.shape[:2], bool)
    inside[top + 6 : top + 14, left + 5 : left + 15] = True
    target = source[inside].astype(float)
    error_improved = np.abs(image[inside].astype(float) - target).mean()
    error_plain = np.abs(plain[inside].astype(float) - target).mean()
    assert error_improved < 0.5 * error_plain, (error_improved, error_plain)


def test_random_position_is_seeded_and_inside_the_image():
    base, content, content_mask = scene()
    a = improved_poisson_blend(base, content, content_mask, None, np.random.default_rng(7))
    b = improved_poisson_blend(base, content, content_mask, None, np.random.default_rng(7))
    c = improved_poisson_blend(base, content, content_mask, None, np.random.default_rng(8))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], c[1])
    with pytest.raises(ValueError, match="does not fit"):
        improved_poisson_blend(base[:10, :10], content, content_mask, None, np.random.default_rng(0))
