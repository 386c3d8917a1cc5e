"""A protocol's options, each declared once: its grid key (``fill_to`` in a grid file), its flag of
``bench protocol NAME`` (``--fill-to``, made from it by ``bench.cli.protocol``), its type, default, help and the
values it admits. Grid files and the command line are read through the same ``Option.value``, so a bad value
is the same one-line error wherever it was written."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from bench.core.errors import BenchError
from bench.core.params import OneOf, Range
from bench.core.specs import GeneratorSpec, generator_from_value, split_top_level


@dataclass(frozen=True)
class Option:
    name: str  # the grid key; the flag is --name with dashes
    type: type  # int, float, str or bool: of the value, or of each value of a list
    default: Any
    help: str  # one sentence, without the default (the command line adds it)
    many: bool = False  # a list of values: a YAML list, or repeated / comma-separated values on the command line
    admits: Range | OneOf | None = None  # what each value may be
    unset: str = ""  # what a None (or empty) default means, for the help: "by --size: 1,000 or 50"
    parse: Callable[[Any, str], Any] | None = None  # a value with a written form of its own (generator specs, picture sizes)
    off: str = ""  # a bool's flag for False (--from-scratch); default --no-NAME

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def off_flag(self) -> str:
        return self.off or f"--no-{self.name.replace('_', '-')}"

    def value(self, raw: Any, where: str) -> Any:
        """``raw`` as this option's value, from YAML, the command line or code: typed, finite, in range.
        ``None`` keeps an optional option unset."""
        if raw is None:
            return None
        if self.parse is not None:
            return self.parse(raw, f"grid key '{self.name}' in {where}:")
        items = _split_list(raw) if self.many else [raw]
        out = []
        for item in items:
            try:
                out.append(_scalar(item, self.type))
            except (TypeError, ValueError, OverflowError):
                raise BenchError(f"grid key '{self.name}' in {where} has a bad value {item!r}", f"expected {self.expected}") from None
            if self.admits is not None and not self.admits.admits(out[-1]):
                if isinstance(self.admits, OneOf):
                    raise BenchError(f"grid key '{self.name}' in {where} has a bad value {item!r}", f"choose one of: {_choices(self.admits)}")
                raise BenchError(f"grid key '{self.name}' in {where} has a value out of range: {out[-1]!r}", f"allowed: {self.admits}")
        if self.many and not out:
            raise BenchError(f"grid key '{self.name}' in {where} is empty", "give at least one value")
        return tuple(out) if self.many else out[0]

    @property
    def expected(self) -> str:
        return f"tuple[{self.type.__name__}, ...]" if self.many else self.type.__name__

    def shown(self, default: Any) -> str:
        """A default as the help says it."""
        if default is None or default == "" or default == ():
            return self.unset or "none"
        if isinstance(default, tuple):
            return ",".join(_written(v) for v in default)
        return _written(default)


def _written(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _choices(admits: OneOf) -> str:
    return ", ".join(map(str, admits.choices))


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


def _scalar(value, kind: type):
    if kind in (int, float):
        return _number(value, kind)
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(value)
        return value
    if isinstance(value, (dict, list, tuple)):
        raise ValueError(value)
    return str(value)


def generator_specs(value, where: str) -> tuple[GeneratorSpec, ...]:
    """Generator specs: a YAML list of written specs or ``{name, params}`` mappings, or one comma-separated string."""
    items = [value] if isinstance(value, Mapping) else _split_list(value)
    try:
        out = tuple(generator_from_value(item) for item in items)
    except BenchError as exc:
        raise BenchError(f"{where} {exc}") from None
    if not out:
        raise BenchError(f"{where.rstrip(':')} is empty", "give at least one value")
    return out
