"""The generator registry, and how a spec becomes a generator: its parameters checked against the declaration first."""

from __future__ import annotations

from dataclasses import dataclass

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
    effective: dict  # every parameter it runs with: the spec's values (converted) and the defaults of the rest


def built(spec: GeneratorSpec) -> Built:
    params = checked_params(spec)
    backend = GENERATORS.get(spec.name)
    return Built(backend(**params), effective_params(backend.declared(), params))


def build(spec: GeneratorSpec) -> Generator:
    return built(spec).generator


def source_tasks(spec: GeneratorSpec) -> tuple[TaskRef, ...]:
    """The other tasks whose training pairs the spec's generator learns from (its ``Task`` parameters)."""
    return tuple(task_params(GENERATORS.get(spec.name).declared(), dict(spec.params)).values())
