"""Mask alignment of generated sets (docs/metrics.md): a segmenter trained on a task's real training pairs
labels each set, ``bench.metrics.alignment`` scores the labels against the sets' masks.

It stands above the stages because it trains a segmenter on real data to judge a generator's output.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from bench.core.errors import BenchError
from bench.core.pairset import Pair, PairSet, write_pairset
from bench.metrics.alignment import ALIGNMENT_VARIANT, alignment_scores
from segmenters import SEGMENTERS
from segmenters.config import pretrained_path
from segmenters.schedules import Schedule


@dataclass(frozen=True)
class AlignmentSetup:
    """The segmenter that measures alignment and how it trains (all of it goes into the record)."""

    segmenter: str
    schedule: Schedule
    seed: int = 0
    device: str = "cpu"
    pretrained: bool = False

    def check(self) -> None:
        """Unknown segmenter or missing weight file: one error before any training."""
        spec = SEGMENTERS.get(self.segmenter)
        if self.pretrained and spec.pretrained is not None:
            pretrained_path(spec)

    def to_dict(self) -> dict:
        return {"segmenter": self.segmenter, "schedule": asdict(self.schedule), "seed": self.seed,
                "device": self.device, "pretrained": self.pretrained}


def predict_sets(setup: AlignmentSetup, train: PairSet, targets: Mapping[str, PairSet], progress: bool = False) -> dict[str, np.ndarray]:
    """Predicted labels (N x H x W) for every target set from one training of the setup's segmenter on ``train``.

    The one place this module meets the segmenters: the targets go to ``train_and_evaluate`` as one
    temporary test set, so a single training serves them all.
    """
    import torch  # deferred: listing a sanity report needs no torch

    from segmenters.train import train_and_evaluate  # deferred: training loads the model stack

    if not len(train):
        raise BenchError("no real training pairs to train the alignment segmenter on", "check the split")
    size = train.image(train.ids[0]).shape[:2]

    def renamed():
        for name, pairs in targets.items():
            for pair in pairs:
                if pair.image.shape[:2] != size:
                    raise BenchError(f"pair '{pair.id}' of the {name} set is {pair.image.shape[1]}x{pair.image.shape[0]}, "
                                     f"the training pairs are {size[1]}x{size[0]}", "alignment needs images of the training size")
                yield Pair(f"{name}-{pair.id}", pair.image, pair.mask)

    with tempfile.TemporaryDirectory(prefix="bench-alignment-") as tmp:
        combined = write_pairset(Path(tmp) / "targets", renamed(), train.classes, {"alignment": list(targets)})
        result = train_and_evaluate(SEGMENTERS.get(setup.segmenter), [train], combined, train.num_classes, setup.schedule,
                                    setup.seed, torch.device(setup.device), setup.pretrained, progress)
    by_id = dict(zip(result.predictions.ids, result.predictions.labels))
    return {name: np.stack([by_id[f"{name}-{i}"] for i in pairs.ids]) for name, pairs in targets.items()}


def alignment_of_sets(setup: AlignmentSetup, train: PairSet, targets: Mapping[str, PairSet], progress: bool = False) -> dict:
    """``alignment_scores`` of each target set, all measured by one segmenter trained on ``train``."""
    for name, pairs in targets.items():
        if pairs.classes != train.classes:
            raise BenchError(f"the {name} set has classes {pairs.classes}, the training pairs {train.classes}",
                             "generate from the same task's training pairs")
        if not len(pairs):
            raise BenchError(f"the {name} set has no pairs to align")
    predicted = predict_sets(setup, train, targets, progress)
    return {name: alignment_scores(np.stack([pairs.mask(i) for i in pairs.ids]), predicted[name], train.classes, pairs.ids)
            for name, pairs in targets.items()}


def mask_alignment(generated: PairSet, train: PairSet, setup: AlignmentSetup, reference: PairSet | None = None,
                   progress: bool = False) -> dict:
    """The alignment block of a generated set, with the same segmenter's score on real held-out pairs
    (``reference``) beside it when given."""
    targets = {"generated": generated, **({"reference": reference} if reference is not None else {})}
    return {**alignment_of_sets(setup, train, targets, progress), "setup": setup.to_dict(), "variant": ALIGNMENT_VARIANT}
