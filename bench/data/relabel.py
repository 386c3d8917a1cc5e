"""Defects of one product given the class names of another (defect transfer, DCDGANc section 3.6): a
source class becomes the target class the map names, or the target class of the same name. The same
move merges every defect class into one (binary labels, the localization protocol)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.pairset import Pair, PairSet, write_pairset
from bench.core.paths import cache_dir


def parse_class_map(text: str) -> dict[str, str]:
    """``"hole=crack,scratch=rough"`` -> ``{"hole": "crack", "scratch": "rough"}``."""
    out = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise BenchError(f"class map entry '{item}' is not SOURCE=TARGET", "write e.g. hole=crack,scratch=rough")
        out[source.strip()] = target.strip()
    return out


def class_ids(source: Mapping[int, str], target: Mapping[int, str], class_map: Mapping[str, str], where: str) -> dict[int, int]:
    """Source class id -> target class id; a source class with no target is one error naming both maps."""
    by_name = {name: k for k, name in target.items()}
    unknown = sorted(set(class_map) - set(source.values()))
    if unknown:
        raise BenchError(f"{where}: class map names source class(es) {', '.join(unknown)} that do not exist",
                         f"source classes: {', '.join(v for k, v in sorted(source.items()) if k)}")
    out, missing = {0: 0}, []
    for k, name in source.items():
        if k == 0:
            continue
        wanted = class_map.get(name, name)
        if wanted not in by_name:
            missing.append(f"{name}->{wanted}")
        else:
            out[k] = by_name[wanted]
    if missing:
        raise BenchError(f"{where}: source class(es) {', '.join(missing)} have no class in the target's map",
                         f"map them with class_map SOURCE=TARGET onto: {', '.join(v for k, v in sorted(target.items()) if k)}")
    return out


def relabel(pairs: PairSet, target: Mapping[int, str], class_map: Mapping[str, str]) -> PairSet:
    """``pairs`` with masks in the target's class ids, cached beside the generated sets (once per set and map)."""
    ids = class_ids(pairs.classes, target, class_map, "transfer")
    lut = np.zeros(256, np.uint8)
    lut[255] = 255
    for k, v in ids.items():
        lut[k] = v
    key = sha256_text(canonical_json({"pairs": pairs.content_hash(), "target": {str(k): v for k, v in target.items()}, "map": dict(class_map)}))[:16]
    root = cache_dir() / "relabelled" / key
    if (root / "meta.json").is_file():
        return PairSet.open(root)
    moved = (Pair(i, pairs.image(i), lut[pairs.mask(i)], pairs.group(i)) for i in pairs.ids)
    return write_pairset(root, moved, target, {"relabelled": pairs.root.name, "class_map": dict(class_map)})


def merge_defects(pairs: PairSet, classes: Mapping[int, str]) -> PairSet:
    """``pairs`` with every defect class as class 1 of the two-class map ``classes`` (background, defect)."""
    merged = classes[1]
    return relabel(pairs, classes, {name: merged for k, name in pairs.classes.items() if k and name != merged})
