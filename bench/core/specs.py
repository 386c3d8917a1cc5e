"""Value objects that name a piece of work: a generator with its parameters, a task's data."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text

BASE_VERSION = "1"  # a generator backend's first version, and the version of every record from before versions


@dataclass(frozen=True)
class GeneratorSpec:
    """A generator name plus its parameters; its canonical JSON keys caches and run ids."""

    name: str
    params: tuple[tuple[str, Any], ...] = field(default=())

    @classmethod
    def of(cls, name: str, **params: Any) -> "GeneratorSpec":
        return cls(name, tuple(sorted(params.items())))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "GeneratorSpec":
        return cls.of(d["name"], **d.get("params", {}))

    def to_dict(self) -> dict:
        return {"name": self.name, "params": dict(self.params)}

    def hash(self) -> str:
        return sha256_text(canonical_json(self.to_dict()))

    def __str__(self) -> str:
        if not self.params:
            return self.name
        return self.name + "(" + ",".join(f"{k}={v}" for k, v in self.params) + ")"


_OPEN, _CLOSE = "([{", ")]}"


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """``"a,b(x=1,y=2),c"`` -> ``["a", "b(x=1,y=2)", "c"]``: separators inside brackets do not split."""
    parts, depth, current = [], 0, []
    for char in text:
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(0, depth - 1)
        if char == sep and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


_SPEC = re.compile(r"^\s*([^()\s,=]+)\s*(?:\((.*)\))?\s*$", re.S)
SPEC_SYNTAX = "NAME or NAME(key=value,...), values as JSON where they parse (e.g. defectgen(u=100,receptive_field=large))"


def param_value(text: str) -> Any:
    """A parameter value as written: JSON where it parses (numbers, booleans, null, lists), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_generator(text: str) -> GeneratorSpec:
    """``"name"`` or ``"name(key=value,...)"``: the one written form of a generator spec, on the command
    line and in grid files; separators inside brackets stay in the value (``shape=[1,2]``)."""
    found = _SPEC.match(text)
    if found is None:
        raise BenchError(f"{text!r} is not a generator spec", f"write {SPEC_SYNTAX}")
    name, body = found.group(1), found.group(2)
    params: dict[str, Any] = {}
    for item in split_top_level(body or ""):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BenchError(f"generator spec {text!r}: {item!r} is not key=value", f"write {SPEC_SYNTAX}")
        if key in params:
            raise BenchError(f"generator spec {text!r} sets {key} twice", "give each parameter once")
        params[key] = param_value(value.strip())
    return GeneratorSpec.of(name, **params)


def generator_from_value(value: Any) -> GeneratorSpec:
    """A generator spec from a grid file: the written form, or a mapping ``{name: x, params: {...}}``."""
    if isinstance(value, GeneratorSpec):
        return value
    if isinstance(value, str):
        return parse_generator(value)
    if isinstance(value, Mapping):
        extra = sorted(set(value) - {"name", "params"})
        params = value.get("params") or {}
        if extra or not isinstance(value.get("name"), str) or not isinstance(params, Mapping):
            raise BenchError(f"{dict(value)!r} is not a generator spec", "write {name: NAME, params: {key: value}} or " + SPEC_SYNTAX)
        return GeneratorSpec.of(value["name"], **{str(k): v for k, v in params.items()})
    raise BenchError(f"{value!r} is not a generator spec", f"write {SPEC_SYNTAX}")
# A task's picture size: every picture and mask of its category is brought to it when the pool is imported.
IMAGE_SIZE_FORM = "S (a square S x S) or WxH, e.g. 256 or 384x160"
IMAGE_SIDES = (8, 8192)  # pixels: below, nothing is left to segment; above, a typo (2560000)
_SIZE = re.compile(r"^\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*$")


def parse_image_size(value: Any, where: str = "--image-size") -> str:
    """The canonical ``WxH`` of a picture size written ``S`` or ``WxH`` (an int from a grid file too); ``""``
    for none. One canonical form, so ``256`` and ``256x256`` are one task and one run id."""
    if value is None or value == "":
        return ""
    found = _SIZE.match(str(value)) if not isinstance(value, bool) else None
    if found is None:
        raise BenchError(f"{where} {value!r} is not a picture size", f"write {IMAGE_SIZE_FORM}")
    width = int(found.group(1))
    height = int(found.group(2) or width)
    low, high = IMAGE_SIDES
    if not (low <= width <= high and low <= height <= high):
        raise BenchError(f"{where} {value!r}: each side must be {low} to {high} pixels", f"write {IMAGE_SIZE_FORM}")
    return f"{width}x{height}"


def image_size_pixels(size: str) -> tuple[int, int]:
    """(width, height) of a canonical ``WxH`` size."""
    width, height = parse_image_size(size).split("x")
    return int(width), int(height)


@dataclass(frozen=True)
class TaskRef:
    """One task's data by name: a category of a dataset under a split preset, at a picture size (``WxH``;
    empty: the release's own size, which must then be one size)."""

    dataset: str
    category: str
    split: str
    image_size: str = ""

    def __str__(self) -> str:
        return f"{self.dataset}/{self.category}/{self.split}" + (f"@{self.image_size}" if self.image_size else "")
