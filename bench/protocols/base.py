"""The grid a protocol expands (generators x segmenters x categories x seeds x protocol values) and the registry."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Callable, Mapping

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.params import Range
from bench.core.progress import progress as progress_bar
from bench.core.registry import Registry
from bench.core.specs import GeneratorSpec, TaskRef, generator_from_value, parse_image_size, split_top_level
from bench.core.streams import BATCHES
from bench.spec import ASKED_BATCHES, DEFAULT_SCHEDULE, MAX_RATIO, NO_GENERATOR, RunSpec, check_ratio


@dataclass(frozen=True)
class Grid:
    generators: tuple[GeneratorSpec, ...] = (GeneratorSpec("copy-paste"),)  # written NAME(key=value,...) or {name, params}
    segmenters: tuple[str, ...] = ("segformer",)
    categories: tuple[str, ...] = ("wood",)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # 3 is the fewest that give a verdict; 5 give it power
    ratios: tuple[float, ...] = (0.0, 0.2, 0.5, 1.0, 2.0, 3.0)
    normal_ratios: tuple[float, ...] = (0.0, 0.2, 1.0, 2.0, 3.0)
    fill_to: int = 150
    n_generated: int | None = None  # quality: images generated per point; None: the size's (paper 1,000, small 50)
    ic_lpips: str = "bench"  # quality: IC-LPIPS variant (bench.metrics.quality.IC_LPIPS_VARIANTS)
    lpips: str = "diversity"  # quality: LPIPS within the generated set or generated vs real (bench.metrics.quality.LPIPS_VARIANTS)
    # classification, localization with synthetic_only, quality: "paper" (the papers' counts of generated pictures)
    # or "small" (a CPU check); None: paper at the paper schedule, small at any other
    size: str | None = None
    lpips_region: str = "image"  # quality: LPIPS on whole images or only inside the defect region
    alignment: bool = True  # quality: mask alignment, measured by the first segmenter trained on the real training pairs
    dataset: str = "toy"
    data_root: str | None = None
    split: str = "ds-5shot"
    image_size: str = ""  # the task's picture size, S or WxH (RunSpec.image_size); empty: the release's own size
    schedule: str = DEFAULT_SCHEDULE
    device: str = "auto"
    pretrained: bool = False
    max_ratio: float = MAX_RATIO  # ratios above it are refused as typos unless raised here or by --max-ratio
    sources: tuple[str, ...] = ()  # transfer: DATASET/CATEGORY[/SPLIT] tasks whose defects move onto each category
    class_map: str = ""  # transfer: SOURCE=TARGET class names where they differ
    generator_seed: int | None = None  # fit every generator once per task with this seed (RunSpec.generator_seed)
    synthetic_only: bool = False  # localization: the U-Net trains on the generated pairs alone (DefectSynth's reading)
    original_root: str | None = None  # annotations: the MVTec AD release whose masks DS-MVTec re-annotates (default: data_root)
    batches: str = ASKED_BATCHES  # how training batches draw real and added pairs (RunSpec.batches)

    def __post_init__(self):
        # written specs ("defectgen(u=100)") are accepted where a grid is built in code, too
        object.__setattr__(self, "generators", tuple(generator_from_value(g) for g in self.generators))

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
            convert = {"generators": _generators, "image_size": _image_size}.get(key, _convert)
            converted[key] = convert(key, value, known[key].type, where)
        grid = replace(base or cls(), **converted)
        for key, allowed in CHOICES.items():
            if getattr(grid, key) is not None and getattr(grid, key) not in allowed:
                raise BenchError(f"grid key '{key}' in {where} has a bad value {getattr(grid, key)!r}", f"choose one of: {', '.join(allowed)}")
        if grid.batches not in BATCHES:
            raise BenchError(f"grid key 'batches' in {where} has a bad value {grid.batches!r}", f"use one of: {', '.join(BATCHES)}")
        for ratio in grid.ratios:
            check_ratio(ratio, grid.max_ratio, f"grid key 'ratios' in {where}:")
        return grid

    def resolved_size(self) -> str:
        """The size the protocols' counts follow: as given, else the papers' at the paper schedule, small elsewhere."""
        return self.size or ("paper" if self.schedule == "paper" else "small")

    def run_spec(self, generator: GeneratorSpec, segmenter: str, category: str, seed: int, **values) -> RunSpec:
        return RunSpec(
            generator=generator,
            segmenter=segmenter,
            dataset=self.dataset,
            category=category,
            split=self.split,
            schedule=self.schedule,
            seed=seed,
            device=self.device,
            pretrained=self.pretrained,
            generator_seed=self.generator_seed,
            image_size=self.image_size,
            batches=self.batches,
            **values,
        )

    def task(self, dataset: str, category: str, split: str) -> TaskRef:
        """A task of this grid's picture size."""
        return TaskRef(dataset, category, split, self.image_size)

    def cells(self):
        """Every segmenter x category x seed, the part all run protocols share."""
        for segmenter in self.segmenters:
            for category in self.categories:
                for seed in self.seeds:
                    yield segmenter, category, seed

    def sweep(self, field: str, values, generators: tuple[GeneratorSpec, ...] = (NO_GENERATOR,)) -> list[RunSpec]:
        """Every generator x cell x value of one run-spec field: the grid of a protocol that varies one setting."""
        return [
            self.run_spec(generator, segmenter, category, seed, **{field: value})
            for generator in generators
            for segmenter, category, seed in self.cells()
            for value in values
        ]


ADDED_LATER = ("image_size",)  # point fields hashed only where they differ from their default, so older ids hold


class Point:
    """A point of a protocol that writes its own records (a frozen dataclass subclass): its fields and its
    task's manifest hash make the run id, so a rerun finds the record and skips the point."""

    def run_id(self, manifest_hash: str) -> str:
        spec = {k: v for k, v in asdict(self).items() if not (k in ADDED_LATER and v == "")}
        return sha256_text(canonical_json({"spec": spec, "data": manifest_hash}))[:16]


def stored(points, store, tasks, data_root, force: bool, desc: str, progress: bool, point_of=lambda item: item):
    """The loop of the protocols that write their own records (efficiency, classification): each item with its
    task's data, its run id and its stored record, None when it is to be computed (always, with ``force``)."""
    for item in progress_bar(points, desc=desc, unit="point", enabled=progress):
        point = point_of(item)
        data = tasks.load(TaskRef(point.dataset, point.category, point.split, getattr(point, "image_size", "")), data_root)
        run_id = point.run_id(data.manifest_hash)
        yield item, data, run_id, None if force else store.get(run_id)


# What each named grid key admits.
SIZES = ("paper", "small")
CHOICES = {"size": SIZES}
# What each numeric grid key admits (every element of a list key).
RANGES = {
    "seeds": Range(0),
    "ratios": Range(0),
    "normal_ratios": Range(0),
    "fill_to": Range(0),
    "n_generated": Range(1),
    "max_ratio": Range(0),
    "generator_seed": Range(0),
}


def _split_list(value) -> list:
    if isinstance(value, str):
        return split_top_level(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _number(value, kind: type):
    """``value`` as ``kind``: whole numbers only for int (1.7 is not a seed), finite numbers only."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, str):
        value = float(value) if kind is float else int(value)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(value)
    if kind is int:
        if float(value) != int(value):
            raise ValueError(value)
        return int(value)
    return float(value)


def _scalar(value, type_name: str):
    if type_name in ("int", "float"):
        return _number(value, int if type_name == "int" else float)
    if type_name == "bool":
        if not isinstance(value, bool):
            raise ValueError(value)
        return value
    if isinstance(value, (dict, list, tuple)):
        raise ValueError(value)
    return str(value)


def _generators(key: str, value, type_name: str, where: str) -> tuple[GeneratorSpec, ...]:
    """Generator specs: a YAML list of written specs or ``{name, params}`` mappings, or one comma-separated string."""
    items = [value] if isinstance(value, Mapping) else _split_list(value)
    try:
        out = tuple(generator_from_value(item) for item in items)
    except BenchError as exc:
        raise BenchError(f"grid key '{key}' in {where}: {exc}") from None
    if not out:
        raise BenchError(f"grid key '{key}' in {where} is empty", "give at least one value")
    return out


def _image_size(key: str, value, type_name: str, where: str) -> str:
    return parse_image_size(value, f"grid key '{key}' in {where}:")


def _convert(key: str, value, type_name: str, where: str):
    type_name = type_name.removesuffix(" | None")  # None values were dropped by the caller
    element = type_name[len("tuple["):].split(",")[0] if type_name.startswith("tuple[") else None
    items = _split_list(value) if element else [value]
    out = []
    for item in items:
        try:
            out.append(_scalar(item, element or ("str" if type_name.startswith("str") else type_name)))
        except (TypeError, ValueError, OverflowError):
            raise BenchError(f"grid key '{key}' in {where} has a bad value {item!r}", f"expected {type_name}") from None
    out = tuple(out) if element else out[0]
    if isinstance(out, tuple) and not out:
        raise BenchError(f"grid key '{key}' in {where} is empty", "give at least one value")
    allowed = RANGES.get(key)
    for item in out if isinstance(out, tuple) else (out,):
        if allowed is not None and not allowed.admits(item):
            raise BenchError(f"grid key '{key}' in {where} has a value out of range: {item!r}", f"allowed: {allowed}")
    return out


@dataclass(frozen=True)
class Protocol:
    name: str
    summary: str
    specs: Callable[[Grid], list[RunSpec]] | None = None  # run protocols: the grid's run specs
    defaults: Mapping[str, Any] = field(default_factory=dict)  # grid values this protocol changes
    execute: Callable[..., list[tuple[dict, bool]]] | None = None  # other protocols: run the grid, (record, skipped)
    row: Callable[[dict], dict] | None = None  # other protocols: what the command prints of a record
    aliases: tuple[str, ...] = ()  # other names it answers to (the paper's, say)

    def grid(self, values: Mapping[str, Any], where: str) -> Grid:
        return Grid.from_mapping(values, where, base=Grid.from_mapping(self.defaults, f"protocol {self.name}"))


PROTOCOLS: Registry[Protocol] = Registry("protocol", "bench.protocols", Protocol, discover="bench.protocols")

