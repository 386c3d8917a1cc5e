"""Defects of one product given the class names of another (defect transfer, DCDGANc section 3.6): a
source class becomes the target class the map names, or the target class of the same name, or is left out
(``SRC=-``: wood's color, liquid and combined in the paper's wood -> tile). A transfer learns from the
source pictures of the types it moves and is tested on the target pictures of the types they move onto
(``within``), each scored alone too (``by_class``). The same move merges every defect class into one
(binary labels, the localization protocol)."""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.pairset import Pair, PairSet, write_pairset
from bench.core.paths import cache_dir

NOT_TRANSFERRED = "-"  # the class-map target of a source class a transfer leaves out
IGNORE = 255  # the masks' ignore label


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
    """Source class id -> target class id of every class the transfer moves (not those mapped to ``-``); a source
    class with no target, or a map that moves nothing, is one error naming both maps."""
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
        if wanted == NOT_TRANSFERRED:
            continue
        if wanted not in by_name:
            missing.append(f"{name}->{wanted}")
        else:
            out[k] = by_name[wanted]
    if missing:
        raise BenchError(f"{where}: source class(es) {', '.join(missing)} have no class in the target's map",
                         f"map them with class_map SOURCE=TARGET onto: {', '.join(v for k, v in sorted(target.items()) if k)}, "
                         f"or leave them out with SOURCE={NOT_TRANSFERRED}")
    if len(out) == 1:
        raise BenchError(f"{where}: the class map leaves every source class out", "move at least one, SOURCE=TARGET")
    return out


def untested(ids: Mapping[int, int], target: Mapping[int, str]) -> tuple[str, ...]:
    """The target's defect classes no source class moves onto: a transfer does not test them."""
    return tuple(name for k, name in sorted(target.items()) if k and k not in set(ids.values()))


def within(pairs: PairSet, classes: Iterable[int]) -> PairSet:
    """The pairs whose defect pixels all belong to ``classes`` (defect-free pairs kept); ``pairs`` itself when
    that is all of them."""
    keep = {0, IGNORE, *classes}
    ids = [i for i in pairs.ids if set(np.unique(pairs.mask(i)).tolist()) <= keep]
    return pairs if len(ids) == len(pairs) else pairs.subset(ids)


def by_class(pairs: PairSet, classes: Mapping[int, str]) -> dict[str, tuple[str, ...]]:
    """Class name -> the ids of the pairs holding a pixel of it, for each of ``classes``."""
    present = {i: set(np.unique(pairs.mask(i)).tolist()) for i in pairs.ids}
    return {name: tuple(i for i in pairs.ids if k in present[i]) for k, name in sorted(classes.items())}


def relabel(pairs: PairSet, target: Mapping[int, str], class_map: Mapping[str, str]) -> PairSet:
    """``pairs`` with masks in the target's class ids, cached beside the generated sets (once per set and map)."""
    ids = class_ids(pairs.classes, target, class_map, "transfer")
    left_out = sorted(set(pairs.classes) - set(ids))
    if left_out and any(np.isin(pairs.mask(i), left_out).any() for i in pairs.ids):
        raise BenchError(f"transfer: {pairs.root} holds class(es) {', '.join(pairs.classes[k] for k in left_out)} that the class map "
                         "leaves out", "a transfer's generator learns only from pictures of the types it moves")
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
