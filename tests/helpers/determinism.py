"""The determinism contract's tolerances (docs/design.md, "Determinism"), said once for every test.

Random draws are bit-identical everywhere; float results computed in a different batch, with other
thread counts or on another CPU agree within these bounds, never necessarily bit for bit.
"""

from __future__ import annotations

import numpy as np

LATENT_ATOL = 1e-3  # network outputs in [-1, 1] (denoiser samples, generator contents before quantization)
IMAGE_ATOL = 2  # grey levels of a decoded uint8 picture: last-bit differences flip the rounding
MASK_FLIPS = 0.01  # fraction of mask pixels whose argmax may flip where classes nearly tie


def assert_same_picture(a: np.ndarray, b: np.ndarray) -> None:
    """Two uint8 pictures equal up to rounding flips."""
    assert a.shape == b.shape
    assert np.abs(a.astype(int) - b.astype(int)).max() <= IMAGE_ATOL


def assert_same_mask(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    assert (a != b).mean() <= MASK_FLIPS


def mean_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(float) - b.astype(float)).mean())
