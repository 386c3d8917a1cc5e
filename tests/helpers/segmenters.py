"""A stand-in for segmenter training where a test is about what surrounds it (the runner, a generator's record)."""

from __future__ import annotations

import numpy as np

from segmenters.predict import Predictions
from segmenters.train import TrainResult


def perfect_segmenter(spec, train_sets, test, *args, **kwargs) -> TrainResult:
    """Stands in for ``segmenters.train.train_and_evaluate``: predicts the ground truth, trains nothing."""
    masks = np.stack([test.mask(i) for i in test.ids])
    return TrainResult(Predictions(test.ids, masks, (masks > 0).astype(np.float16)), (1.0, 0.5), 0.0, 0.0, num_params=1)
