"""Weight files the quality metrics read, made here with random initialisation: torch-fidelity's Inception v3 and
LPIPS's AlexNet backbone, in the layout ``$BENCH_WEIGHTS`` holds (``bench.metrics.quality``)."""

from __future__ import annotations

from pathlib import Path

import torch


def random_inception(path: Path) -> None:
    """torch-fidelity's Inception v3 with random weights, saved in the layout it loads."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class Unloaded(FeatureExtractorInceptionV3):
        def load_state_dict(self, state_dict, strict=True, assign=False):
            return super().load_state_dict(state_dict, strict=False)

    empty = path.with_name("empty.pth")
    torch.save({}, empty)
    torch.manual_seed(0)
    torch.save(Unloaded("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty)).state_dict(), path)


def random_quality_weights(root: Path) -> Path:
    """``root/checkpoints`` with a random Inception v3 and a random AlexNet: every file the quality protocol reads."""
    import torchvision

    from bench.metrics import quality as q

    (root / "checkpoints").mkdir(parents=True, exist_ok=True)
    random_inception(root / "checkpoints" / q.INCEPTION_FILE)
    torch.manual_seed(1)
    torch.save(torchvision.models.alexnet().state_dict(), root / "checkpoints" / q.BACKBONE_FILES["alex"])
    return root
