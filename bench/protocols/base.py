"""A protocol as one unit, and the registry.

A ``Protocol`` owns what is its own: its options beyond the common ones (``options``: each a grid key and a
flag of ``bench protocol NAME``), how its grid expands (``specs`` into run specs, or ``jobs`` for a protocol
that records something other than a segmenter run, with its record ``kind``), what the command prints of
each record (``row``) and its table forms (``tables``). Adding one is one module that registers it, in
``bench/protocols/`` or in a plugin; nothing else in bench names it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.params import OneOf, Range
from bench.core.registry import Registry
from bench.core.specs import GeneratorSpec, TaskRef, parse_image_size
from bench.core.streams import BATCHES
from bench.protocols.options import Option, generator_specs
from bench.records import RUNS, RecordKind
from bench.spec import ASKED_BATCHES, DEFAULT_SCHEDULE, MAX_RATIO, NO_GENERATOR, RunSpec, check_ratio

if TYPE_CHECKING:  # the report's tables load pandas, the executors and task data numpy; declaring a protocol needs neither
    import pandas as pd

    from bench.data.tasks import Tasks
    from bench.executors.base import Job
    from bench.report.tables import Reading, Table


def _image_size(value, where: str) -> str:
    return parse_image_size(value, where)


# The options every protocol has: what it trains and tests on, where and how. A protocol's own come after.
COMMON: tuple[Option, ...] = (
    Option("generators", GeneratorSpec, (GeneratorSpec("copy-paste"),), "Generator specs, NAME or NAME(key=value,...).", many=True,
           parse=generator_specs),
    Option("segmenters", str, ("segformer",), "Segmenters.", many=True),
    Option("categories", str, ("wood",), "Categories.", many=True),
    Option("seeds", int, (0, 1, 2, 3, 4), "Seeds; at least 3 for a verdict, 5 give it power.", many=True, admits=Range(0)),
    Option("ratios", float, (0.0, 0.2, 0.5, 1.0, 2.0, 3.0), "Synthetic pairs per real training pair, a point each.", many=True,
           admits=Range(0)),
    Option("dataset", str, "toy", "Dataset adapter."),
    Option("data_root", str, None, "Root of the dataset release on disk.", unset="none: embedded data"),
    Option("split", str, "ds-5shot", "Split preset."),
    Option("image_size", str, "", "The tasks' picture size, S (square) or WxH: every picture and mask resized to it at import; "
           "needed when a release's pictures differ in size.", unset="the release's own", parse=_image_size),
    Option("schedule", str, DEFAULT_SCHEDULE, "Training schedule."),
    Option("device", str, "auto", "Where to train.", admits=OneOf("auto", "cpu", "cuda")),
    Option("pretrained", bool, False, "Start from local ImageNet weights.", off="--from-scratch"),
    Option("max_ratio", float, MAX_RATIO, "Refuse synthetic ratios above this (a typo such as 1e9).", admits=Range(0)),
    Option("generator_seed", int, None, "Fit every generator once per task with this seed; the run seeds then vary sampling "
           "and the segmenter.", admits=Range(0), unset="the run's seed"),
    Option("batches", str, ASKED_BATCHES, "How training batches draw real and added pairs (docs/protocols.md).",
           admits=OneOf(*BATCHES)),
)

# Shared by the protocols that generate the papers' counts of pictures (classification, localization
# --synthetic-only, quality): "paper" those counts, "small" a CPU check.
SIZE = Option("size", str, None, "The papers' counts of generated pictures, or small ones for a CPU.", admits=OneOf("paper", "small"),
              unset="paper at --schedule paper, else small")


def resolved_size(grid: "Grid") -> str:
    """The size a grid's counts follow: as given, else the papers' at the paper schedule, small elsewhere."""
    return grid.size or ("paper" if grid.schedule == "paper" else "small")


class Grid:
    """A protocol's grid: a checked value for each of its options, read as attributes (``grid.seeds``)."""

    def __init__(self, options: Mapping[str, Option], values: Mapping[str, Any]):
        object.__setattr__(self, "_options", dict(options))
        object.__setattr__(self, "_values", dict(values))

    @classmethod
    def of(cls, options: Iterable[Option], values: Mapping[str, Any], where: str, base: "Grid | None" = None) -> "Grid":
        """A grid from YAML, command-line or code values over ``base`` (every option's default if None); a key the
        protocol does not have is an error naming ``where``."""
        known = {o.name: o for o in options}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise BenchError(f"unknown grid key(s) {', '.join(unknown)} in {where}", f"use: {', '.join(known)}")
        merged = dict(base._values) if base is not None else {name: o.default for name, o in known.items()}
        merged.update({key: known[key].value(raw, where) for key, raw in values.items() if raw is not None})
        for ratio in merged.get("ratios", ()):
            check_ratio(ratio, merged.get("max_ratio", MAX_RATIO), f"grid key 'ratios' in {where}:")
        return cls(known, merged)

    def replace(self, **values) -> "Grid":
        return Grid.of(self._options.values(), values, "code", base=self)

    def values(self) -> dict[str, Any]:
        return dict(self._values)

    def __getattr__(self, name: str):
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        raise AttributeError(f"this grid has no option {name!r}")

    def __setattr__(self, name, value):
        raise AttributeError("a grid is frozen: use grid.replace(...)")

    def __eq__(self, other) -> bool:
        return isinstance(other, Grid) and self._values == other._values

    def __hash__(self) -> int:
        return hash(canonical_json({k: str(v) for k, v in self._values.items()}))

    def __repr__(self) -> str:
        return "Grid(" + ", ".join(f"{k}={v!r}" for k, v in self._values.items()) + ")"

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

    def cells(self) -> Iterator[tuple[str, str, int]]:
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


@dataclass(frozen=True)
class Form:
    """A table form: the tables it makes (``tables``, from a ``bench.report.tables.Reading`` of the records of the
    protocols that list it) and where they stand in a report (``place``, lower first; the shared run tables hold
    0 to 9 and the benign one 80). A form that compares settings with the real-only baseline names which of its
    protocols' settings it compares (``compares``): they are one family, Holm-corrected together. A form that
    also reads the records of other protocols' kinds, where a folder holds them, names those kinds (``reads``)."""

    name: str
    tables: Callable[["Reading"], list["Table"]]
    place: int = 100
    compares: Callable[["pd.DataFrame"], "pd.Series"] | None = None
    reads: tuple[str, ...] = ()


@dataclass(frozen=True)
class Protocol:
    name: str
    summary: str
    specs: Callable[[Grid], list[RunSpec]] | None = None  # a protocol of segmenter runs: its grid's run specs
    options: tuple[Option, ...] = ()  # its own grid keys and flags, after the common ones (COMMON)
    defaults: Mapping[str, Any] = field(default_factory=dict)  # values of its options other than their defaults
    tables: tuple[Form, ...] = ()  # its table forms (forms shared with other protocols make one set of tables)
    kind: RecordKind = RUNS  # what it records: runs, or a kind of its own
    jobs: Callable[[Grid, "Tasks"], list["Job"]] | None = None  # a protocol of its own kind: its grid's jobs, settled
    row: Callable[[dict], dict] | None = None  # of its own kind: what the command prints of a record
    check: Callable[[Grid], None] | None = None  # what its grid may not hold, checked when planned (before any data is read)
    aliases: tuple[str, ...] = ()  # other names it answers to (the paper's, say)

    def __post_init__(self):
        if (self.specs is None) == (self.jobs is None) or (self.specs is None) == (self.kind is RUNS):
            raise TypeError(f"protocol {self.name}: give specs (segmenter runs) or jobs with a record kind of its own")
        names = [o.name for o in self.grid_options]
        clash = sorted({n for n in names if names.count(n) > 1} | {n for n in names if hasattr(Grid, n)})
        if clash:
            raise TypeError(f"protocol {self.name}: option(s) {', '.join(clash)} declared twice or named like a grid method")

    @property
    def grid_options(self) -> tuple[Option, ...]:
        return COMMON + self.options

    def grid(self, values: Mapping[str, Any], where: str) -> Grid:
        """Its grid: ``values`` over its defaults over its options' own."""
        return Grid.of(self.grid_options, values, where, base=Grid.of(self.grid_options, self.defaults, f"protocol {self.name}"))


PROTOCOLS: Registry[Protocol] = Registry("protocol", "bench.protocols", Protocol, discover="bench.protocols")
