"""From a generated defect content to a labelled pair: raw mask, patch, improved Poisson blend, refined mask.

``generators.blending.improved_poisson_blend`` fades the content into the background over a band
outside the defect. A generated content is black outside its defect, and fading black in would leave a
dark ring, so the patch's surroundings are first filled outward from the defect (OpenCV's Telea
inpainting): the band then fades the defect's own colours into the background, as the paper intends.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from generators.blending import improved_poisson_blend


@dataclass(frozen=True)
class Patch:
    """A content ready to blend: ``image`` (h x w x 3) and ``labels`` (h x w class ids, 0 = not defect)."""

    image: np.ndarray
    labels: np.ndarray


def content_patch(content: np.ndarray, defect: np.ndarray, class_id: int, margin: int) -> Patch:
    """The defect's bounding box plus ``margin`` pixels, surroundings filled with defect colours."""
    ys, xs = np.nonzero(defect)
    pad = ((margin, margin), (margin, margin))
    image = np.pad(content, (*pad, (0, 0)))
    inside = np.pad(defect, pad)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1 + 2 * margin, xs.min(), xs.max() + 1 + 2 * margin
    image, inside = image[y0:y1, x0:x1], inside[y0:y1, x0:x1]
    outside = (~inside).astype(np.uint8)
    filled = cv2.inpaint(np.ascontiguousarray(image), outside, max(3, margin), cv2.INPAINT_TELEA) if outside.any() else image
    return Patch(np.where(inside[..., None], image, filled).astype(np.uint8), (inside * class_id).astype(np.uint8))


def fit_into(patch: Patch, size: tuple[int, int]) -> Patch:
    """Scale the patch down (never up) so that it fits an H x W image."""
    h, w = patch.labels.shape
    scale = min(1.0, size[0] / h, size[1] / w)
    if scale >= 1.0:
        return patch
    dsize = (max(1, int(w * scale)), max(1, int(h * scale)))
    labels = cv2.resize(patch.labels, dsize, interpolation=cv2.INTER_NEAREST)
    if not labels.any():  # a sliver that vanished when shrunk: keep its centre pixel
        labels[labels.shape[0] // 2, labels.shape[1] // 2] = patch.labels.max()
    return Patch(cv2.resize(patch.image, dsize, interpolation=cv2.INTER_AREA), labels)


def place(size: tuple[int, int], patch_size: tuple[int, int], position) -> tuple[int, int] | None:
    """A requested (top, left) moved inward so the patch lies inside the image; None stays random."""
    if position is None:
        return None
    top, left = (int(v) for v in position)
    return max(0, min(top, size[0] - patch_size[0])), max(0, min(left, size[1] - patch_size[1]))


def blend(base_image: np.ndarray, base_mask: np.ndarray, patch: Patch, position, rng: np.random.Generator, band: int) -> tuple[np.ndarray, np.ndarray]:
    """Improved Poisson blend of ``patch`` into the base; the base's own labels are kept outside the defect."""
    patch = fit_into(patch, base_mask.shape)
    where = place(base_mask.shape, patch.labels.shape, position)
    image, labels = improved_poisson_blend(base_image, patch.image, patch.labels, where, rng, band)
    return image, np.where(labels > 0, labels, base_mask).astype(np.uint8)
