"""A trained segmenter's predictions on the test set: labels and defect probabilities, computed on the device."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from bench.core.pairset import PairSet
from segmenters.data import model_inputs


@dataclass(frozen=True)
class Predictions:
    """A trained segmenter's output on the test set, in test-set id order."""

    ids: tuple[str, ...]
    labels: np.ndarray  # N x H x W uint8: predicted class per pixel (argmax)
    defect_prob: np.ndarray  # N x H x W float16: 1 - p(background), the pixel's defect score


def _labels_and_defect_prob(samples, class_scores: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch's predicted labels (B x H x W uint8) and defect probabilities (float16), computed on the device."""
    labels = torch.stack([s.pred_sem_seg.data[0] for s in samples]).to(torch.uint8)
    scores = torch.stack([s.seg_logits.data for s in samples]).float()
    prob = scores / scores.sum(1, keepdim=True).clamp_min(1e-6) if class_scores else torch.softmax(scores, dim=1)
    return labels, (1 - prob[:, 0]).to(torch.float16)


@torch.no_grad()
def predict(model, test_set: PairSet, batch_size: int, device: torch.device, class_scores: bool = False) -> Predictions:
    """Labels and defect probabilities of the test set. ``class_scores``: the head outputs non-negative
    per-class scores rather than logits (Mask2Former: query class probabilities x mask probabilities),
    which are normalized to sum to one instead of going through a softmax. Each batch goes to the device
    as one tensor and comes back as one copy per output."""
    model.eval()
    ids = list(test_set.ids)
    labels, probs = [], []
    for start in range(0, len(ids), batch_size):
        images = np.stack([test_set.image(i) for i in ids[start : start + batch_size]])
        batch_labels, batch_probs = _labels_and_defect_prob(model.test_step(model_inputs(images, None, device)), class_scores)
        labels.append(batch_labels.cpu().numpy())
        probs.append(batch_probs.cpu().numpy())
    return Predictions(tuple(ids), np.concatenate(labels), np.concatenate(probs))
