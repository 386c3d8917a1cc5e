"""DCDGANc's improved Poisson blending: put defect content onto a normal image without losing the defect.

Plain Poisson blending lets the background bleed into the defect; plain alpha compositing leaves a cut
edge. DCDGANc (section 3.3) combines them:

1. a boundary band around the defect mask, from the distance transform, is alpha-composited from the
   content onto the background, so the Poisson boundary condition already carries defect colours;
2. the defect region is seamlessly cloned (``cv2.seamlessClone``) into that composite;
3. the mask is refined to the pixels the blend actually changed (closed, holes filled, limited to the
   defect plus its band), and every pixel outside the refined mask is restored from the background, so
   the returned mask marks exactly the changed pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

BAND_PX = 5  # DCDGANc: "we select 5 pixels at the boundary of the distance transformed mask"
CHANGE_TOLERANCE = 2  # grey levels (max over channels) below which a pixel counts as unchanged


def improved_poisson_blend(
    base: np.ndarray,
    content: np.ndarray,
    content_mask: np.ndarray,
    position: tuple[int, int] | None,
    rng: np.random.Generator,
    band: int = BAND_PX,
) -> tuple[np.ndarray, np.ndarray]:
    """Blend ``content`` (h x w x 3) where ``content_mask`` (h x w class ids) is set into ``base`` (H x W x 3).

    ``position`` is the (top, left) of the content in the base; ``None`` draws one from ``rng`` such
    that the defect and its band lie inside the image. Returns the blended image and the refined class
    mask (H x W, 0 outside the blended defect); pixels where the mask is 0 equal ``base``.
    """
    H, W = base.shape[:2]
    h, w = content_mask.shape
    if h > H or w > W:
        raise ValueError(f"content {w}x{h} does not fit into a {W}x{H} image")
    if position is None:
        position = _random_position(rng, (H, W), (h, w), band)
    top, left = position

    # Full-size canvases, so cloning is an identity placement and the band may reach past the patch.
    defect = np.zeros((H, W), np.uint8)
    defect[top : top + h, left : left + w] = content_mask
    inside = defect > 0
    if not inside.any():
        raise ValueError("content mask is empty")
    source = base.copy()
    source[top : top + h, left : left + w] = content

    # 1. alpha ramp from 1 at the mask edge to 0 at `band` pixels out (distance transform of the outside)
    distance = cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 5)
    alpha = np.clip(1.0 - distance / float(band + 1), 0.0, 1.0)
    alpha[~_within_patch((H, W), top, left, h, w)] = 0.0  # the content only exists inside its patch
    alpha3 = alpha[..., None]
    composite = (alpha3 * source + (1.0 - alpha3) * base).round().astype(np.uint8)

    # 2. seamless cloning of the defect region, its boundary condition taken from the composite
    clone_region = cv2.dilate(inside.astype(np.uint8), np.ones((3, 3), np.uint8)) * 255
    clone_region[[0, -1], :] = 0  # OpenCV clears the outer ring itself; do it here so the bbox below is its bbox
    clone_region[:, [0, -1]] = 0
    blended = composite
    if clone_region.any():
        x, y, bw, bh = cv2.boundingRect(clone_region)
        center = (x + bw // 2, y + bh // 2)  # identity placement: OpenCV puts the bbox at center - size // 2
        blended = cv2.seamlessClone(source, composite, clone_region, center, cv2.NORMAL_CLONE)

    # 3. refinement: what changed, near the defect, as solid regions; everything else is the background
    reach = alpha > 0
    changed = (np.abs(blended.astype(np.int16) - base.astype(np.int16)).max(axis=2) > CHANGE_TOLERANCE) & reach
    refined = cv2.morphologyEx(changed.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)) > 0
    refined = _fill_holes(refined) & reach
    if not refined.any():  # content indistinguishable from the background: keep the hard paste
        refined = inside
        blended = np.where(inside[..., None], source, base)
    labels = _nearest_labels(defect, refined)
    image = np.where(refined[..., None], blended, base).astype(np.uint8)
    return image, labels


def _random_position(rng: np.random.Generator, size: tuple[int, int], patch: tuple[int, int], band: int) -> tuple[int, int]:
    (H, W), (h, w) = size, patch
    margin_y = min(band + 1, (H - h) // 2)
    margin_x = min(band + 1, (W - w) // 2)
    top = int(rng.integers(margin_y, H - h - margin_y + 1))
    left = int(rng.integers(margin_x, W - w - margin_x + 1))
    return top, left


def _within_patch(size: tuple[int, int], top: int, left: int, h: int, w: int) -> np.ndarray:
    region = np.zeros(size, bool)
    region[top : top + h, left : left + w] = True
    return region


def _fill_holes(region: np.ndarray) -> np.ndarray:
    """Fill background pockets enclosed by the region (flood fill from the border)."""
    padded = np.pad(region.astype(np.uint8), 1)
    flood = padded.copy()
    mask = np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8)
    cv2.floodFill(flood, mask, (0, 0), 1)
    holes = flood[1:-1, 1:-1] == 0
    return region | holes


def _nearest_labels(defect: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Class ids for ``region``: the defect's own id inside it, the nearest defect pixel's id in the band."""
    out = np.zeros_like(defect)
    _, nearest = cv2.distanceTransformWithLabels(
        (defect == 0).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    ys, xs = np.nonzero(defect)
    # DIST_LABEL_PIXEL numbers the zero pixels of its input (our defect pixels) 1.. in raster order
    by_label = np.zeros(len(ys) + 1, np.uint8)
    by_label[1:] = defect[ys, xs]
    out[region] = by_label[nearest[region]]
    return out
