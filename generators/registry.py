"""The generator registry, and how a spec becomes a generator: its parameters checked against the declaration first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from bench.core.params import check_params, effective_params, task_params
from bench.core.registry import Registry
from bench.core.specs import GeneratorSpec, TaskRef
from generators.base import Generator

GENERATORS: Registry[type[Generator]] = Registry("generator", "bench.generators", Generator, classes=True, discover="generators")


def checked_params(spec: GeneratorSpec) -> dict:
    """The spec's parameters converted to their declared types; unknown names, wrong types and values out of
    range are one-line errors, before anything is fitted."""
    return check_params(f"generator '{spec.name}'", GENERATORS.get(spec.name).declared(), dict(spec.params))


@dataclass(frozen=True)
class Built:
    """A spec's generator as a run holds it: its parameters checked once, its backend constructed once from them
    (which runs the backend's own checks: a value it cannot use, an import's folder)."""

    generator: Generator
    params: dict  # the spec's parameters, converted to their declared types

    @property
    def effective(self) -> dict:
        """Every parameter the backend runs with: the spec's values (converted) and the defaults of the rest."""
        return effective_params(type(self.generator).declared(), self.params)


def built(spec: GeneratorSpec) -> Built:
    params = checked_params(spec)
    return Built(GENERATORS.get(spec.name)(**params), params)


def build(spec: GeneratorSpec) -> Generator:
    return built(spec).generator


def source_tasks(spec: GeneratorSpec) -> tuple[TaskRef, ...]:
    """The other tasks whose training pairs the spec's generator learns from (its ``Task`` parameters)."""
    return tuple(task_params(GENERATORS.get(spec.name).declared(), dict(spec.params)).values())


def cotrained_tasks(spec: GeneratorSpec, task: TaskRef, categories: Callable[[], Sequence[str]],
                    params: Mapping[str, Any] | None = None) -> tuple[TaskRef, ...]:
    """The products whose training pairs and normals one fitting of the spec's generator learns from with
    ``task`` (``Generator.cotrained_tasks``), ``task`` itself among them where there are any. ``params``: the
    spec's checked parameters where the caller holds them (a run's ``Built``), so they are not checked again."""
    return GENERATORS.get(spec.name).cotrained_tasks(checked_params(spec) if params is None else params, task, categories)


def transfer_method(spec: GeneratorSpec, params: Mapping[str, Any] | None = None) -> str:
    """How the spec's generator moves source defects onto a target product's pictures; empty: it cannot.
    ``params`` as for ``cotrained_tasks``."""
    return GENERATORS.get(spec.name).transfer_method(checked_params(spec) if params is None else params)
