"""A generator's sample grid: generated images side by side with their masks laid over them, so a reader
sees what a generator makes and whether its defects sit on their masks."""

from __future__ import annotations

import numpy as np

from bench.core.pairset import PairSet

# One colour per defect class (class 1 first), distinct on grey textures; the list repeats past ten classes.
CLASS_COLOURS = np.array([(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
                          (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)], dtype=np.float32)
ALPHA = 0.45
TILE = 128
GAP = 4


def overlay(image: np.ndarray, mask: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """The image with each defect class tinted in its colour and outlined (4-neighbour boundary)."""
    out = image.astype(np.float32).copy()
    defect = mask > 0
    colours = CLASS_COLOURS[(mask.astype(np.int64) - 1) % len(CLASS_COLOURS)]
    out[defect] = (1 - alpha) * out[defect] + alpha * colours[defect]
    padded = np.pad(mask, 1, mode="edge")
    edge = defect & ((padded[:-2, 1:-1] != mask) | (padded[2:, 1:-1] != mask) | (padded[1:-1, :-2] != mask) | (padded[1:-1, 2:] != mask))
    out[edge] = colours[edge]
    return out.round().clip(0, 255).astype(np.uint8)


def _tile(array: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour resize to ``size`` x ``size`` (masks keep their class ids; no new colours)."""
    h, w = array.shape[:2]
    rows = np.arange(size) * h // size
    cols = np.arange(size) * w // size
    return array[rows][:, cols]


def sample_ids(pairs: PairSet, n: int) -> list[str]:
    """The first ``n`` ids holding a defect, in the set's order (a pure function of the set)."""
    chosen = [i for i in pairs.ids if pairs.mask(i).any()][:n]
    return chosen or list(pairs.ids[:n])


def sample_grid(pairs: PairSet, n: int = 8, tile: int = TILE) -> np.ndarray:
    """Two rows per column of samples: the generated image above, the same image with its mask laid over it below."""
    ids = sample_ids(pairs, n)
    if not ids:
        raise ValueError(f"pair set {pairs.root} is empty")
    width = len(ids) * tile + (len(ids) + 1) * GAP
    grid = np.full((2 * tile + 3 * GAP, width, 3), 255, dtype=np.uint8)
    for k, pair_id in enumerate(ids):
        image, mask = pairs.image(pair_id), pairs.mask(pair_id)
        x = GAP + k * (tile + GAP)
        grid[GAP:GAP + tile, x:x + tile] = _tile(image, tile)
        grid[2 * GAP + tile:2 * GAP + 2 * tile, x:x + tile] = _tile(overlay(image, mask), tile)
    return grid


def legend(classes: dict[int, str]) -> list[tuple[str, str]]:
    """(class name, CSS colour) of every defect class, for a caption."""
    return [(name, "#%02x%02x%02x" % tuple(int(v) for v in CLASS_COLOURS[(k - 1) % len(CLASS_COLOURS)]))
            for k, name in sorted(classes.items()) if k > 0]
