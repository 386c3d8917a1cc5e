"""Whether an imported set could have seen the test images: its pairs and the images its tool was trained
on, against the run's test split, by content hash (the same decoded pixels) and by near-duplicate distance
(the memorization measure of generators/sanity.py: l1 on 64 x 64 thumbnails below its threshold). Published
releases were trained on images that some splits put into test (AnomalyDiffusion's loader takes index
n//3 of every defect type, the first test image of ``third``); a run that scores such an import would
measure memory, not generation, so any overlap is an error before training."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from bench.core.errors import BenchError
from bench.core.hashing import image_hash
from bench.core.images import read_rgb
from bench.core.pairset import PairSet
from generators.sanity import MEMORIZATION_THRESHOLD, MEMORIZATION_VARIANT, thumbnail

LISTED = 5  # files named in the error; the count covers the rest


@dataclass(frozen=True)
class Leak:
    name: str  # the imported or training file
    test_id: str  # the test image it matches
    how: str  # "same pixels" or "near-duplicate (distance d)"


def read_list(path: Path) -> list[tuple[str, np.ndarray]]:
    """A user's list of the images a tool was trained on: one path per line, relative to the list's folder."""
    if not path.is_file():
        raise BenchError(f"training list {path} not found", "pass trained_on=FILE with one image path per line, or split:PRESET")
    out = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        image = path.parent / line if not Path(line).is_absolute() else Path(line)
        if not image.is_file():
            raise BenchError(f"training list {path}: {image} does not exist", "list existing image files, one per line")
        out.append((str(image), read_rgb(image)))
    return out


def find_leaks(candidates: Iterable[tuple[str, np.ndarray]], test: PairSet, threshold: float = MEMORIZATION_THRESHOLD) -> list[Leak]:
    """Every candidate image equal to, or a near-duplicate of, a test image."""
    test_ids = list(test.ids)
    if not test_ids:
        return []
    images = [test.image(i) for i in test_ids]
    hashes = {image_hash(im): i for im, i in zip(images, test_ids)}
    thumbs = np.stack([thumbnail(im) for im in images])
    leaks = []
    for name, image in candidates:
        twin = hashes.get(image_hash(image))
        if twin is not None:
            leaks.append(Leak(name, twin, "same pixels"))
            continue
        distances = np.abs(thumbs - thumbnail(image)).mean(axis=1)
        nearest = int(distances.argmin())
        if distances[nearest] < threshold:
            leaks.append(Leak(name, test_ids[nearest], f"near-duplicate, distance {distances[nearest]:.4f}"))
    return leaks


def refuse_leaks(generator: str, leaks: list[Leak], n_test: int) -> None:
    if not leaks:
        return
    shown = "; ".join(f"{Path(l.name).name} = test '{l.test_id}' ({l.how})" for l in leaks[:LISTED])
    more = f" (and {len(leaks) - LISTED} more)" if len(leaks) > LISTED else ""
    tested = len({l.test_id for l in leaks})
    raise BenchError(
        f"{generator}: this import was trained on or reproduces {tested} of your {n_test} test images: {shown}{more}",
        "use a split whose test part the tool never saw (e.g. the tool's own training split as train), or import outputs "
        f"of a tool trained without them; compared by pixel hash and {MEMORIZATION_VARIANT} < {MEMORIZATION_THRESHOLD}",
    )
