"""Declared parameters: a backend's keyword arguments, their types, ranges and choices, checked before work.

A backend declares its parameters once, as the keyword arguments of its ``__init__`` with defaults and
type annotations; a range or a set of choices rides along in ``Annotated``::

    def __init__(self, max_defects: Annotated[int, Range(1, 64)] = 1, shapes: Annotated[str, OneOf("real", "hmi")] = "real"):

``Task`` marks a parameter that names another task's data (DCDGANc's transfer ``source``): whoever runs
the backend loads that task's training pairs and hands them over, so no backend reads a dataset itself.

``check_params`` validates user values against that declaration (unknown names, types, ranges) and
returns them converted, so a typo or a string where a number belongs is one line naming the parameter,
the value and what is allowed, before anything is trained or generated. ``effective_params`` is the
full setting a backend runs with: every declared parameter after defaults are applied.
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from bench.core.errors import BenchError
from bench.core.specs import TaskRef


@dataclass(frozen=True)
class Range:
    """Inclusive bounds by default; ``None`` leaves a side open."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def admits(self, value) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or not (value > self.high or (self.high_open and value == self.high))

    def __str__(self) -> str:
        left = "(" if self.low_open or self.low is None else "["
        right = ")" if self.high_open or self.high is None else "]"
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{left}{low}, {high}{right}"


@dataclass(frozen=True)
class OneOf:
    choices: tuple

    def __init__(self, *choices):
        object.__setattr__(self, "choices", tuple(choices))

    def admits(self, value) -> bool:
        return value in self.choices

    def __str__(self) -> str:
        return "one of " + ", ".join(map(str, self.choices))


@dataclass(frozen=True)
class Task:
    """A ``DATASET/CATEGORY[/SPLIT]`` value naming another task; the split defaults to ``default_split``."""

    default_split: str

    def admits(self, value) -> bool:
        parts = str(value).split("/")
        return len(parts) in (2, 3) and all(parts)

    def parse(self, value) -> TaskRef:
        if not self.admits(value):
            raise BenchError(f"{value!r} is not DATASET/CATEGORY[/SPLIT]", "pass e.g. toy/wood")
        dataset, category, *split = str(value).split("/")
        return TaskRef(dataset, category, split[0] if split else self.default_split)

    def __str__(self) -> str:
        return f"a task DATASET/CATEGORY[/SPLIT] (split {self.default_split} if left out)"


@dataclass(frozen=True)
class Declared:
    """One declared parameter: its name, default, base types (``None`` allowed or not) and constraints."""

    name: str
    default: Any
    types: tuple[type, ...]  # empty: anything goes (unannotated)
    optional: bool
    constraints: tuple = ()

    def describe(self) -> str:
        kind = "|".join(t.__name__ for t in self.types) or "any"
        extra = "".join(f", {c}" for c in self.constraints)
        return f"{self.name} ({kind}{' or null' if self.optional else ''}{extra}, default {self.default!r})"


def declared_class_params(cls: type) -> dict[str, Declared]:
    """The parameters of a class's ``__init__``; one that passes ``**kwargs`` on declares its base's as well,
    so shared parameters are declared once, in the base (the base's come first)."""
    inits = []
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            inits.append(klass.__init__)
            kinds = [p.kind for p in inspect.signature(klass.__init__).parameters.values()]
            if inspect.Parameter.VAR_KEYWORD not in kinds:
                break
    out: dict[str, Declared] = {}
    for init in reversed(inits):
        out.update(declared_params(init))
    return out


def declared_params(init: Callable) -> dict[str, Declared]:
    """The keyword parameters of ``init`` with their annotations resolved (``Annotated`` extras kept)."""
    hints = typing.get_type_hints(init, include_extras=True)
    out = {}
    for name, p in inspect.signature(init).parameters.items():
        if name == "self" or p.kind is not p.POSITIONAL_OR_KEYWORD:
            continue
        default = None if p.default is inspect.Parameter.empty else p.default
        out[name] = _declared(name, default, hints.get(name))
    return out


def _declared(name: str, default, hint) -> Declared:
    constraints: tuple = ()
    if typing.get_origin(hint) is typing.Annotated:
        hint, *extras = typing.get_args(hint)
        constraints = tuple(e for e in extras if isinstance(e, (Range, OneOf, Task)))
    if hint is None:
        return Declared(name, default, (), True, constraints)
    args = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    optional = type(None) in args or default is None
    bases = tuple(typing.get_origin(a) or a for a in args if a is not type(None))
    return Declared(name, default, tuple(b for b in bases if isinstance(b, type)), optional, constraints)


def _convert(d: Declared, value, owner: str):
    if value is None:
        if d.optional:
            return None
        raise BenchError(f"{owner}: parameter {d.name} cannot be null", f"expected {d.describe()}")
    if not d.types:
        return value
    for t in d.types:
        if t is bool:
            if isinstance(value, bool):
                return value
            continue
        if isinstance(value, bool):  # True is not a number here
            continue
        if t is float and isinstance(value, (int, float)):
            if not math.isfinite(value):
                raise BenchError(f"{owner}: parameter {d.name}={value!r} is not a finite number", f"expected {d.describe()}")
            return float(value)
        if t is int and isinstance(value, int):
            return value
        if t is int and isinstance(value, float) and value.is_integer() and float not in d.types:
            return int(value)
        if t in (tuple, list) and isinstance(value, (list, tuple)):
            return t(value)
        if t is str and isinstance(value, str):
            return value
    raise BenchError(f"{owner}: parameter {d.name}={value!r} has the wrong type", f"expected {d.describe()}")


def check_params(owner: str, declared: Mapping[str, Declared], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` converted to the declared types, each checked against its range and choices."""
    unknown = sorted(set(values) - set(declared))
    if unknown:
        listing = "; ".join(d.describe() for d in declared.values()) or "none"
        raise BenchError(f"{owner}: unknown parameter(s) {', '.join(unknown)}", f"its parameters: {listing}")
    out = {}
    for name, value in values.items():
        d = declared[name]
        converted = _convert(d, value, owner)
        if converted is not None:
            for constraint in d.constraints:
                if not constraint.admits(converted):
                    raise BenchError(f"{owner}: parameter {name}={value!r} is out of range", f"expected {d.describe()}")
        out[name] = converted
    return out


def task_params(declared: Mapping[str, Declared], values: Mapping[str, Any]) -> dict[str, TaskRef]:
    """The values of parameters marked ``Task``, parsed: the other tasks a backend learns from."""
    out = {}
    for name, value in values.items():
        marks = [c for c in declared[name].constraints if isinstance(c, Task)] if name in declared else []
        if marks and value is not None:
            out[name] = marks[0].parse(value)
    return out


def effective_params(declared: Mapping[str, Declared], values: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared parameter: the given value where there is one, else its default."""
    return {name: values.get(name, d.default) for name, d in declared.items()}
