"""The generator interface (DESIGN.md section 5): ``fit`` on few-shot real pairs, ``sample`` new pairs."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator, Mapping, Sequence

from bench.core.errors import BenchError
from bench.core.params import Declared, declared_class_params
from bench.core.specs import BASE_VERSION, TaskRef

if TYPE_CHECKING:  # annotations only: the registry (`bench --help`, `bench generators list`) loads without numpy
    from bench.core.pairset import Pair, PairSet


class Generator(ABC):
    """A backend. Subclasses take their parameters as keyword arguments with defaults."""

    name: ClassVar[str]  # said once: the registry files the class under it
    aliases: ClassVar[tuple[str, ...]] = ()
    kind: ClassVar[str]  # "baseline", "learned" or "import"
    needs_training: ClassVar[bool] = False
    needs_weights: ClassVar[bool] = False
    # Bump when what the backend generates changes for the same parameters and seed (a new algorithm, a
    # fixed bug, a changed default): the version joins the generation cache key and the run id, so sets
    # and records of the old code are never served for the new one.
    version: ClassVar[str] = BASE_VERSION
    # A learned backend given no ``profile`` trains at the run's schedule; where its profile for a schedule
    # is named otherwise (the CPU-sized ``toy`` profile for the ``short`` schedule), it says so here.
    schedule_profiles: ClassVar[Mapping[str, str]] = {}
    # How the backend puts the defects of its training pairs onto pictures of another product when handed that
    # product's normals (the ``transfer`` protocol: the source's training pairs, the target's normals), in a few
    # words; empty where it cannot (a whole-image generator reproduces its training product), and ``transfer``
    # refuses it before any work.
    transfers: ClassVar[str] = ""

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        """Learn from the few-shot training pairs (and defect-free normals); a no-op for most baselines."""

    def trained_modules(self) -> Mapping[str, Any]:
        """The torch modules the last ``fit`` trained or loaded, by name; none for a generator that learns
        nothing. Their digest (``generators.state.state_digest``) goes into the generated set and the run
        record, so runs said to share one fitting can be checked to."""
        return {}

    def use_sources(self, sources: Mapping[TaskRef, PairSet]) -> None:
        """Receive the training pairs of the tasks its ``Task`` parameters name (DCDGANc's transfer source) and
        the training pairs and normals of the products it is co-trained with (``cotrained_tasks``), before
        ``settings``, ``fingerprint`` and ``fit``; the caller loads them, a generator never reads a dataset."""

    @classmethod
    def transfer_method(cls, params: Mapping[str, Any]) -> str:
        """``transfers`` for these (checked) parameters: a backend whose way of transferring depends on a
        parameter says so here; empty: it cannot transfer."""
        return cls.transfers

    @classmethod
    def cotrained_tasks(cls, params: Mapping[str, Any], task: TaskRef, categories: Callable[[], Sequence[str]]) -> tuple[TaskRef, ...]:
        """The products one fitting of these (checked) parameters learns from when it fits ``task``, given the
        categories of its dataset (listed when called): none for a backend that learns from the task's pairs
        alone, every category for one model over all products of a dataset. The caller loads their training pairs and normals and hands
        them over with ``use_sources``; runs of each of those products then share the fitting."""
        return ()

    def shared_fitting(self, train: PairSet, normals: PairSet | None, seed: int) -> str:
        """An identity of the fitting when runs of other tasks share it (a model over several products), so
        that parallel runs of those tasks wait for one training instead of each training it; empty: the
        fitting is of (train, normals, seed) alone."""
        return ""

    def fingerprint(self) -> str:
        """Identity of outside inputs the parameters only point at (e.g. an import directory's files).

        It joins the generation cache key, so changed files on disk are not served from a stale cache."""
        return ""

    @abstractmethod
    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        """Yield ``n`` new pairs, a pure function of the fitted state and ``seed``."""

    @classmethod
    def describe(cls) -> dict:
        return {
            "name": cls.name,
            "kind": cls.kind,
            "version": cls.version,
            "needs_training": cls.needs_training,
            "needs_weights": cls.needs_weights,
            "transfers": cls.transfers,
            "summary": (inspect.getdoc(cls) or "").splitlines()[0] if inspect.getdoc(cls) else "",
            "params": {name: d.default for name, d in cls.declared().items()},
            "param_types": {name: d.describe() for name, d in cls.declared().items()},
        }

    def settings(self) -> dict:
        """What the backend resolves beyond its declared parameters (a profile's sizes, a reading's choices),
        recorded with every run; empty when the parameters say everything."""
        return {}

    def deviations(self, train: PairSet) -> tuple[str, ...]:
        """How this run departs from every published reading of the method (its paper and its released code),
        a few words each, for these training pairs; recorded with the settings and shown in table labels."""
        return ()

    @classmethod
    def expected_weights(cls) -> list[dict]:
        """What the backend's pretrained profiles read under ``$BENCH_WEIGHTS``, one row per file or folder
        (``file``, ``present``, ``used_by``, ``path``, ``source``) for ``bench weights check``; none by default."""
        return []

    @classmethod
    def declared(cls) -> dict[str, Declared]:
        """The parameters this backend takes: its ``__init__`` keywords (and its base's, passed on as
        ``**kwargs``), types, ranges and defaults."""
        return declared_class_params(cls)


def resolve_class(classes: dict[int, str], wanted: int | str | None, generator: str) -> int:
    """The class id a generator labels its defects with: a class name or id, default the first defect class."""
    defect = {k: v for k, v in classes.items() if k != 0}
    if not defect:
        raise BenchError(f"generator '{generator}' needs a task with defect classes; the class map has none")
    if wanted is None:
        return min(defect)
    for class_id, class_name in defect.items():
        if wanted == class_name or str(wanted) == str(class_id):
            return class_id
    choices = ", ".join(f"{k}={v}" for k, v in sorted(defect.items()))
    raise BenchError(
        f"generator '{generator}': defect_class {wanted!r} is not a defect class of this task",
        f"pass one of: {choices}",
    )


def defect_pairs(train: PairSet, generator: str) -> list[Pair]:
    """The training pairs that carry a defect; generators that copy real defects need at least one."""
    pairs = [p for p in train if p.mask.any()]
    if not pairs:
        raise BenchError(f"generator '{generator}' needs training pairs with defects; {train.root} has none")
    return pairs


def backgrounds(train: PairSet, normals: PairSet | None) -> list[Pair]:
    """Images to composite onto: the defect-free normals, or the training images (labels kept) without them."""
    return list(normals) if normals is not None and len(normals) else list(train)

