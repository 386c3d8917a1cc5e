"""Users' own predictions and ground truth from folders, for ``bench metrics``: the same metrics as runs.

Ground truth is a pair set (``meta.json`` + ``masks/``) or a folder of single-channel class-index PNGs.
A prediction is ``<id>.png`` (class-index mask) or ``<id>.npy``: an H x W array of class ids, or a
C x H x W array of per-class probabilities (argmax gives the labels, 1 - p(background) the defect score).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.core.errors import BenchError
from bench.core.images import read_mask_pixels
from bench.core.pairset import PairSet


@dataclass(frozen=True)
class LoadedPredictions:
    ids: tuple[str, ...]
    gt: np.ndarray  # N x H x W uint8
    labels: np.ndarray  # N x H x W uint8
    defect_prob: np.ndarray  # N x H x W float
    classes: dict[int, str]


def read_ground_truth(root: Path) -> tuple[dict[str, np.ndarray], dict[int, str] | None]:
    """Masks by id, and the class map when ``root`` is a pair set."""
    root = Path(root)
    if not root.is_dir():
        raise BenchError(f"ground-truth folder {root} does not exist", "pass --gt a pair set or a folder of mask PNGs")
    if (root / "meta.json").is_file():
        pairs = PairSet.open(root)
        return {i: pairs.mask(i) for i in pairs.ids}, pairs.classes
    files = sorted(root.glob("*.png"))
    if not files:
        raise BenchError(f"no mask PNGs in {root}", "pass --gt a pair set or a folder of <id>.png class-index masks")
    return {p.stem: single_channel(p, "ground-truth mask", "import the release with `bench data import` and pass the pair set "
                                   "(its masks are class-index masks), or write class ids (0 = background) in one channel")
            for p in files}, None


WRITE_LABELS = ("write the predicted class id of every pixel (0 = background) into a single-channel PNG, e.g. "
                "PIL.Image.fromarray(labels.astype(numpy.uint8)).save(path), or save the H x W ids or C x H x W "
                "probabilities as <id>.npy")


def single_channel(path: Path, what: str, fix: str) -> np.ndarray:
    """A single-channel class-index PNG; a colour file is refused with ``fix``."""
    pixels = read_mask_pixels(path)
    if pixels.ndim != 2:
        raise BenchError(f"{what} {path} is a colour image, not a single-channel mask of class ids", fix)
    return pixels


def read_prediction(root: Path, pair_id: str, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(labels, defect probability) of one prediction file."""
    npy, png = root / f"{pair_id}.npy", root / f"{pair_id}.png"
    if npy.is_file():
        array = np.load(npy)
        if array.ndim == 3:
            labels, prob = array.argmax(0).astype(np.uint8), 1.0 - array[0].astype(np.float64)
        elif array.ndim == 2:
            labels = array.astype(np.uint8)
            prob = (labels > 0).astype(np.float64)
        else:
            raise BenchError(f"prediction {npy} has shape {array.shape}", "save H x W class ids or C x H x W probabilities")
    elif png.is_file():
        labels = single_channel(png, "prediction", "a prediction must be a class-index mask: " + WRITE_LABELS)
        prob = (labels > 0).astype(np.float64)
    else:
        raise BenchError(f"no prediction for '{pair_id}' in {root}", f"write {pair_id}.png or {pair_id}.npy there")
    if labels.shape != shape:
        raise BenchError(f"prediction for '{pair_id}' in {root} is {labels.shape}, ground truth is {shape}", "predict at mask size")
    return labels, prob


def load_predictions(pred_dir: Path, gt_dir: Path, num_classes: int | None = None) -> LoadedPredictions:
    """Every ground-truth id with its prediction; the class map from the pair set or ``class_<k>`` names."""
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise BenchError(f"prediction folder {pred_dir} does not exist", "pass --pred a folder of <id>.png or <id>.npy")
    masks, classes = read_ground_truth(Path(gt_dir))
    ids = tuple(sorted(masks))
    loaded = [read_prediction(pred_dir, i, masks[i].shape) for i in ids]
    if classes is None and num_classes is not None:
        classes = {0: "background", **{k: f"class_{k}" for k in range(1, max(num_classes, 2))}}
    if classes is not None:
        n = max(classes) + 1
        pair_set = (Path(gt_dir) / "meta.json").is_file()
        for i, (labels, _) in zip(ids, loaded):
            check_ids(masks[i], n, Path(gt_dir) / "masks" / f"{i}.png" if pair_set else Path(gt_dir) / f"{i}.png", "ground truth")
            check_ids(labels, n, pred_dir / f"{i}.npy" if (pred_dir / f"{i}.npy").is_file() else pred_dir / f"{i}.png", "prediction")
    gt = np.stack([masks[i] for i in ids])
    labels = np.stack([lab for lab, _ in loaded])
    if classes is None:
        valid = gt[gt != 255]
        n = int(max(valid.max(initial=0), labels.max(initial=0))) + 1
        classes = {0: "background", **{k: f"class_{k}" for k in range(1, max(n, 2))}}
    return LoadedPredictions(ids, gt, labels, np.stack([p for _, p in loaded]), classes)


def check_ids(labels: np.ndarray, n: int, path: Path, what: str) -> None:
    """Class ids of one file within 0..n-1 (255 in ground truth: ignored pixels), else an error naming the file."""
    values = np.unique(labels)
    bad = [int(v) for v in values if v >= n and not (what == "ground truth" and v == 255)]
    if bad:
        fix = ("the ground truth has classes 0.." + str(n - 1) + ": predict only those ids" if what == "prediction"
               else "pass --num-classes with the number of classes, background included")
        raise BenchError(f"{what} {path} has class id{'s' if len(bad) > 1 else ''} {bad[:5]} outside 0..{n - 1}", fix)
