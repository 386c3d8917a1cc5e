"""The project's one JSON writer: NaN and inf become null, keys are sorted, files are written atomically."""

from __future__ import annotations

import json
import math
from pathlib import Path

from bench.core.atomic import write_text_atomic


def json_safe(value):
    """NaN/inf are not JSON: an undefined metric is stored as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def dumps(obj, indent: int = 2) -> str:
    return json.dumps(json_safe(obj), indent=indent, sort_keys=True, allow_nan=False)


def write_json_atomic(path: Path, obj, indent: int = 2) -> None:
    write_text_atomic(path, dumps(obj, indent) + "\n")
