"""DefectSynth's Hybrid Mask Interpolation (HMI) as a mask source, and a generator that composites its masks.

HMI (DefectSynth, section III-C) makes new defect shapes between two real masks of one class. The image
branch works here: the white-pixel coordinates of both masks are brought to equal length by linear
resampling, averaged with weight alpha, and gaps between consecutive interpolated points wider than a
small threshold are filled with points sampled along the connecting segment, so the shape stays
connected. The latent branch (VAE + DDIM inversion + slerp) needs a diffusion model; a mask source takes
one as a ``LatentMorph`` (``generators/defectsynth`` provides it) and then switches per class: classes
whose mean mask area ratio is at least ``tau`` use the latent branch, smaller ones the image branch.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Annotated, Iterable, Iterator, Protocol, Sequence

import cv2
import numpy as np

from bench.core.errors import BenchError
from bench.core.pairset import Pair, PairSet
from bench.core.params import Range
from generators import GENERATORS
from generators.base import Generator, backgrounds

GAP_PX = 1.5  # consecutive points farther apart than this (more than one 8-neighbour step) get filled
TAU = 0.053  # paper III-C: mean mask area ratio from which a class uses the latent branch
BRANCHES = ("image", "latent", "hybrid")
POSTPROCESSING = ("none", "released")
MAX_AREA_GROWTH = 2.0  # released filter: an image-branch frame's largest region may be at most 2x the sources'
EMPTY_GROUPS = 100  # source pairs in a row without one non-empty frame before a stream gives up


def _resample(points: np.ndarray, length: int) -> np.ndarray:
    """Linearly resample an ordered (N, 2) point sequence to ``length`` points."""
    if len(points) == length:
        return points.astype(np.float64)
    source = np.linspace(0, len(points) - 1, length)
    return np.stack([np.interp(source, np.arange(len(points)), points[:, d]) for d in range(2)], axis=1)


def interpolate_masks(mask_a: np.ndarray, mask_b: np.ndarray, alpha: float, gap: float = GAP_PX) -> np.ndarray:
    """The boolean mask ``alpha`` of the way from ``mask_a`` (alpha 0) to ``mask_b`` (alpha 1), gaps filled."""
    a, b = np.argwhere(mask_a), np.argwhere(mask_b)  # white pixels in raster order
    if not len(a) or not len(b):
        raise ValueError("HMI needs two non-empty masks")
    length = max(len(a), len(b))
    points = (1 - alpha) * _resample(a, length) + alpha * _resample(b, length)
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    filled = [points]
    for i in np.nonzero(steps > gap)[0]:
        count = int(np.ceil(steps[i])) + 1  # about one point per pixel along the segment
        t = np.linspace(0, 1, count)[:, None]
        filled.append(points[i] + t * (points[i + 1] - points[i]))
    coords = np.rint(np.concatenate(filled)).astype(int)
    H, W = mask_a.shape
    coords[:, 0] = coords[:, 0].clip(0, H - 1)
    coords[:, 1] = coords[:, 1].clip(0, W - 1)
    out = np.zeros((H, W), bool)
    out[coords[:, 0], coords[:, 1]] = True
    return out


def released_cleanup(mask: np.ndarray) -> np.ndarray:
    """The released code's smoothing of an interpolated mask (``create_mask_from_coords``): 5x5 dilation,
    closing twice, opening, 5x5 Gaussian blur and threshold, opening, closing, with a 5x5 ellipse."""
    ellipse = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    out = cv2.dilate(mask.astype(np.uint8) * 255, np.ones((5, 5), np.uint8))
    out = cv2.morphologyEx(out, cv2.MORPH_CLOSE, ellipse, iterations=2)
    out = cv2.morphologyEx(out, cv2.MORPH_OPEN, ellipse)
    out = (cv2.GaussianBlur(out, (5, 5), 0) > 127).astype(np.uint8) * 255
    out = cv2.morphologyEx(out, cv2.MORPH_OPEN, ellipse)
    return cv2.morphologyEx(out, cv2.MORPH_CLOSE, ellipse) > 127


def largest_region(mask: np.ndarray) -> int:
    """Pixels of the largest 8-connected region (0 for an empty mask)."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return int(np.bincount(labels.ravel())[1:].max()) if count > 1 else 0


def frame_alphas(frames: int, released: bool, branch: str) -> list[float]:
    """Interpolation weights of one source pair's frames.

    The paper makes ``frames`` intermediate masks per pair, so the weights lie strictly between 0 and 1;
    the released code spaces ``frames`` weights over [0, 1] and keeps the two ends only in the latent
    branch (where they are reconstructions, not copies, of the sources)."""
    if not released:
        return [(k + 1) / (frames + 1) for k in range(frames)]
    alphas = np.linspace(0, 1, frames).tolist()
    return alphas if branch == "latent" else alphas[1:-1]


class LatentMorph(Protocol):
    """The latent branch: masks between two boolean masks, one per interpolation weight."""

    def frames(self, first: np.ndarray, second: np.ndarray, alphas: Sequence[float]) -> list[np.ndarray]: ...


def nearest_defect_colours(pair: Pair, shape_mask: np.ndarray) -> np.ndarray:
    """For each pixel of ``shape_mask``, the colour of the nearest defect pixel of ``pair`` (H x W x 3)."""
    _, nearest = cv2.distanceTransformWithLabels(
        (pair.mask == 0).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    ys, xs = np.nonzero(pair.mask)  # label k is the k-th defect pixel in raster order
    colours = np.zeros_like(pair.image)
    labels = nearest[shape_mask] - 1
    colours[shape_mask] = pair.image[ys[labels], xs[labels]]
    return colours


@dataclass(frozen=True)
class InterpolatedMask:
    """One HMI draw: the new shape, its class, the two real sources and how far it is between them."""

    class_id: int
    shape: np.ndarray  # H x W bool
    first: Pair
    second: Pair
    alpha: float

    def appearance(self) -> np.ndarray:
        """Colours for the shape: each source's nearest defect colour, mixed with the shape's own weight."""
        a = self.alpha
        mixed = (1 - a) * nearest_defect_colours(self.first, self.shape) + a * nearest_defect_colours(self.second, self.shape)
        return mixed.round().astype(np.uint8)


class HMIMaskSource:
    """New defect masks per class from pairs of real masks of that class: the mask source for compositing.

    ``draw`` gives one image-branch mask at a random weight (what ``hmi`` and ``poisson shapes=hmi`` use);
    ``stream`` gives DefectSynth's frames: per source pair ``frames`` masks along the interpolation, from
    the branch the class's mean area ratio selects."""

    def __init__(
        self,
        train: Iterable[Pair],
        gap: float = GAP_PX,
        branch: str = "image",
        tau: float = TAU,
        latent: LatentMorph | None = None,
        postprocessing: str = "none",
    ):
        by_class: dict[int, list[Pair]] = defaultdict(list)
        for pair in train:
            for class_id in np.unique(pair.mask[pair.mask > 0]).tolist():
                # one class per source, so that two masks of the same class are interpolated
                only = np.where(pair.mask == class_id, class_id, 0).astype(np.uint8)
                by_class[class_id].append(Pair(pair.id, pair.image, only))
        if branch not in BRANCHES or postprocessing not in POSTPROCESSING:
            raise BenchError(f"unknown HMI branch {branch!r} or post-processing {postprocessing!r}",
                             f"choose a branch of {', '.join(BRANCHES)} and post-processing of {', '.join(POSTPROCESSING)}")
        if branch != "image" and latent is None:
            raise BenchError(f"HMI branch {branch!r} needs a latent model", "use branch=image without one")
        self.by_class = dict(sorted(by_class.items()))
        self.gap = gap
        self.branch = branch
        self.tau = tau
        self.latent = latent
        self.postprocessing = postprocessing

    def area_ratio(self, class_id: int) -> float:
        """Mean fraction of the image a mask of this class covers (paper III-C, A-bar)."""
        return float(np.mean([(p.mask > 0).mean() for p in self.by_class[class_id]]))

    def branch_of(self, class_id: int) -> str:
        if self.branch != "hybrid":
            return self.branch
        return "latent" if self.area_ratio(class_id) >= self.tau else "image"

    def _sources(self, rng: np.random.Generator, class_id: int | None = None) -> tuple[int, Pair, Pair]:
        if class_id is None:
            class_ids = list(self.by_class)
            class_id = class_ids[rng.integers(len(class_ids))]
        sources = self.by_class[class_id]
        first, second = (sources[i] for i in rng.choice(len(sources), 2, replace=len(sources) < 2))
        if first.mask.shape != second.mask.shape:
            raise BenchError(
                f"hmi needs masks of one size; {first.id} and {second.id} differ",
                "resize the category's images to one size at import",
            )
        return class_id, first, second

    def draw(self, rng: np.random.Generator) -> InterpolatedMask:
        class_id, first, second = self._sources(rng)
        alpha = float(rng.uniform(0, 1))
        return InterpolatedMask(class_id, interpolate_masks(first.mask > 0, second.mask > 0, alpha, self.gap), first, second, alpha)

    def pair_frames(self, rng: np.random.Generator, frames: int, class_id: int) -> list[InterpolatedMask]:
        """The non-empty frames between one randomly drawn source pair of the class."""
        class_id, first, second = self._sources(rng, class_id)
        branch = self.branch_of(class_id)
        released = self.postprocessing == "released"
        alphas = frame_alphas(frames, released, branch)
        a, b = first.mask > 0, second.mask > 0
        if branch == "latent":
            shapes = self.latent.frames(a, b, alphas)
        else:
            shapes = [interpolate_masks(a, b, alpha, self.gap) for alpha in alphas]
            if released:
                shapes = [released_cleanup(m) for m in shapes]
                limit = MAX_AREA_GROWTH * max(largest_region(released_cleanup(a)), largest_region(released_cleanup(b)))
                shapes = [m if largest_region(m) <= limit else np.zeros_like(m) for m in shapes]
        return [InterpolatedMask(class_id, m, first, second, float(t)) for m, t in zip(shapes, alphas) if m.any()]

    def _class_stream(self, seed: int, frames: int, class_id: int) -> Iterator[InterpolatedMask]:
        group, empty = 0, 0
        while True:
            drawn = self.pair_frames(np.random.default_rng([seed, class_id, group]), frames, class_id)
            empty = 0 if drawn else empty + 1
            if empty == EMPTY_GROUPS:
                raise BenchError(
                    f"HMI made no non-empty mask of class {class_id} from {EMPTY_GROUPS} source pairs in a row",
                    "check the training masks of that class",
                )
            yield from drawn
            group += 1

    def stream(self, seed: int, frames: int) -> Iterator[InterpolatedMask]:
        """The classes take turns; each walks its own source pairs, ``frames`` masks per pair (fewer where
        frames come out empty). The k-th mask depends on ``seed`` and k only, and every class gets its share."""
        streams = [self._class_stream(seed, frames, class_id) for class_id in self.by_class]
        while True:
            for stream in streams:
                yield next(stream)


@GENERATORS.register
class HybridMaskInterpolation(Generator):
    """DefectSynth's image-space mask interpolation between two real masks of a class, composited onto normals."""

    name = "hmi"
    kind = "baseline"
    transfers = "masks interpolated from the source's, filled with its defect colours, composited onto the target's normals"

    def __init__(self, gap: Annotated[float, Range(1, 1024)] = GAP_PX):
        self.gap = gap
        self._masks: HMIMaskSource | None = None
        self._bases: list[Pair] = []

    def deviations(self, train: PairSet) -> tuple[str, ...]:
        """Where it departs from DefectSynth's HMI, the same for every task (a label that differed by category would
        part its categories' rows): image space for every class, colours instead of a model's painting."""
        return (f"image-space interpolation only (DefectSynth: its latent branch for classes of mean area {TAU} or more)",
                "shapes filled with the sources' nearest defect colours (DefectSynth: painted by its diffusion model)")

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        self._masks = HMIMaskSource(train, self.gap)
        if not self._masks.by_class:
            raise BenchError(f"generator 'hmi' needs training pairs with defects; {train.root} has none")
        self._bases = backgrounds(train, normals)

    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        for index in range(n):
            rng = np.random.default_rng([seed, index])
            drawn = self._masks.draw(rng)
            base = self._bases[rng.integers(len(self._bases))]
            if drawn.shape.shape != base.mask.shape:
                raise BenchError(
                    f"hmi needs images of one size; {drawn.first.id} and background {base.id} differ",
                    "resize the category's images to one size at import",
                )
            candidate, shape = drawn.appearance(), drawn.shape
            changed = shape & (candidate != base.image).any(axis=2)
            if not changed.any():
                candidate, changed = 255 - base.image, shape
            image, mask = base.image.copy(), base.mask.copy()
            image[changed] = candidate[changed]
            mask[changed] = drawn.class_id
            yield Pair(f"hmi_{seed}_{index:05d}", image, mask, group="synthetic")
