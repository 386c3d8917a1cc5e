"""The grid a protocol expands (generators x segmenters x categories x seeds x protocol values) and the registry."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Mapping

from bench.core.errors import BenchError
from bench.core.registry import Registry
from bench.core.specs import GeneratorSpec
from bench.spec import RunSpec


@dataclass(frozen=True)
class Grid:
    generators: tuple[str, ...] = ("copy-paste",)
    segmenters: tuple[str, ...] = ("segformer",)
    categories: tuple[str, ...] = ("wood",)
    seeds: tuple[int, ...] = (0, 1, 2)
    ratios: tuple[float, ...] = (0.0, 0.2, 0.5, 1.0, 2.0, 3.0)
    normal_ratios: tuple[float, ...] = (0.0, 0.2, 1.0, 2.0, 3.0)
    fill_to: int = 150
    n_generated: int = 50  # quality: images generated per point
    ic_lpips: str = "bench"  # quality: IC-LPIPS variant (bench.metrics.quality.IC_LPIPS_VARIANTS)
    lpips_region: str = "image"  # quality: LPIPS on whole images or only inside the defect region
    dataset: str = "toy"
    data_root: str | None = None
    split: str = "ds-5shot"
    schedule: str = "smoke"
    device: str = "cpu"
    pretrained: bool = False

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str, base: "Grid | None" = None) -> "Grid":
        """A grid from YAML or command-line values; unknown keys are an error naming ``where``."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise BenchError(f"unknown grid key(s) {', '.join(unknown)} in {where}", f"use: {', '.join(known)}")
        converted = {}
        for key, value in values.items():
            if value is None:
                continue
            converted[key] = _convert(key, value, known[key].type, where)
        return replace(base or cls(), **converted)

    def run_spec(self, generator: str, segmenter: str, category: str, seed: int, **values) -> RunSpec:
        return RunSpec(
            generator=GeneratorSpec(generator),
            segmenter=segmenter,
            dataset=self.dataset,
            category=category,
            split=self.split,
            schedule=self.schedule,
            seed=seed,
            device=self.device,
            pretrained=self.pretrained,
            **values,
        )

    def cells(self):
        """Every segmenter x category x seed, the part all run protocols share."""
        for segmenter in self.segmenters:
            for category in self.categories:
                for seed in self.seeds:
                    yield segmenter, category, seed

    def sweep(self, field: str, values, generators: tuple[str, ...] = ("none",)) -> list[RunSpec]:
        """Every generator x cell x value of one run-spec field: the grid of a protocol that varies one setting."""
        return [
            self.run_spec(generator, segmenter, category, seed, **{field: value})
            for generator in generators
            for segmenter, category, seed in self.cells()
            for value in values
        ]


def _split_list(value) -> list:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _convert(key: str, value, type_name: str, where: str):
    try:
        if type_name.startswith("tuple[str"):
            return tuple(str(v) for v in _split_list(value))
        if type_name.startswith("tuple[int"):
            return tuple(int(v) for v in _split_list(value))
        if type_name.startswith("tuple[float"):
            return tuple(float(v) for v in _split_list(value))
        if type_name == "int":
            return int(value)
        if type_name == "bool":
            if not isinstance(value, bool):
                raise ValueError(value)
            return value
        return str(value)
    except (TypeError, ValueError):
        raise BenchError(f"grid key '{key}' in {where} has a bad value {value!r}", f"expected {type_name}") from None


@dataclass(frozen=True)
class Protocol:
    name: str
    summary: str
    specs: Callable[[Grid], list[RunSpec]] | None = None  # run protocols: the grid's run specs
    defaults: Mapping[str, Any] = field(default_factory=dict)  # grid values this protocol changes
    execute: Callable[..., list[tuple[dict, bool]]] | None = None  # other protocols: run the grid, (record, skipped)

    def grid(self, values: Mapping[str, Any], where: str) -> Grid:
        return Grid.from_mapping(values, where, base=Grid.from_mapping(self.defaults, f"protocol {self.name}"))


PROTOCOLS: Registry[Protocol] = Registry("protocol", "bench.protocols", Protocol, discover="bench.protocols")

