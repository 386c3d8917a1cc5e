"""Segmenter specs: which MMSegmentation config, what it needs, and where its pretrained weights come from.

Each spec registers itself in ``SEGMENTERS`` from the module that declares it (the paper's eight in
``segmenters/baselines.py``); the registry finds every registering module of this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.core.registry import Registry

CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass(frozen=True)
class PretrainedWeights:
    """An ImageNet backbone checkpoint, loaded from ``$BENCH_WEIGHTS/checkpoints/<file>``, never downloaded."""

    file: str
    source: str  # where a user can get the file


@dataclass(frozen=True)
class SegmenterSpec:
    name: str
    title: str  # the model as the Defect Spectrum paper names it
    config: str  # file under segmenters/configs
    abbreviation: str  # the column name in Defect Spectrum Table 2/3
    aliases: tuple[str, ...] = ()
    needs_ops: bool = False  # needs mmcv's compiled ops
    channels_last: bool = False  # a convolutional network that runs faster in channels_last on CUDA
    class_scores: bool = False  # the head predicts non-negative class scores, not logits (Mask2Former)
    pretrained: PretrainedWeights | None = None  # None: no ImageNet backbone exists, trained from scratch
    paper_ms: float | None = None  # Table 2: inference ms per image on an RTX 3090
    column: int | None = None  # its column in Defect Spectrum Table 2; None: a segmenter the paper does not have
    notes: str = field(default="", compare=False)

    @property
    def config_path(self) -> Path:
        """``config`` is a file under segmenters/configs, or an absolute path (a plugin's own config)."""
        return CONFIG_DIR / self.config


SEGMENTERS: Registry[SegmenterSpec] = Registry("segmenter", "bench.segmenters", SegmenterSpec, discover="segmenters")


def table_order(names) -> list[str]:
    """Segmenters in the column order of Defect Spectrum Table 2, then those the paper does not have, by name."""
    def key(name: str):
        column = SEGMENTERS.get(name).column
        return (column is None, column or 0, name)

    return sorted(names, key=key)


def expected_weights() -> dict[str, tuple[PretrainedWeights, list[str]]]:
    """Every pretrained file some segmenter expects, with the segmenters that use it."""
    files: dict[str, tuple[PretrainedWeights, list[str]]] = {}
    for name in SEGMENTERS.names():
        weights = SEGMENTERS.get(name).pretrained
        if weights is not None:
            files.setdefault(weights.file, (weights, []))[1].append(name)
    return dict(sorted(files.items()))
