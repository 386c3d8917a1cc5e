"""Segmenter specs: which MMSegmentation config, what it needs, and where its pretrained weights come from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.registry import Registry

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
    aliases: tuple[str, ...] = ()
    needs_ops: bool = False  # needs mmcv's compiled ops
    pretrained: PretrainedWeights | None = None
    notes: str = field(default="", compare=False)

    @property
    def config_path(self) -> Path:
        return CONFIG_DIR / self.config


SEGMENTERS: Registry[SegmenterSpec] = Registry("segmenter", "bench.segmenters")


def register(spec: SegmenterSpec) -> SegmenterSpec:
    SEGMENTERS.add(spec.name, spec, *spec.aliases)
    return spec


register(
    SegmenterSpec(
        name="segformer",
        title="SegFormer MiT-B0",
        config="segformer.py",
        aliases=("mit-b0", "m-b0"),
        pretrained=PretrainedWeights(
            "mit_b0_20220624-7e0fe6dd.pth",
            "https://mmassets.onedl.ai/mmsegmentation/v0.5/pretrain/segformer/mit_b0_20220624-7e0fe6dd.pth",
        ),
    )
)
