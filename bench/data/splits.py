"""Split presets: fixed, recorded choices of train / val / test ids from a category pool.

Every split is a pure function of the pool (sorted ids, groups, origins) and its preset name, so it is
the same on every machine; its manifest (ids + content hashes) is written beside the pool and hashed
into every run record. A preset name is ``<rule>[:<parameter>][+val:<fraction>]``:

* ``ds-5shot``: the first 5 ids (sorted) of every defect type train, the rest test (Defect Spectrum);
* ``third``: the first floor(n/3) ids of every defect type train, the rest test (AnomalyDiffusion,
  SeaS, DefectSynth localization). AnomalyDiffusion's training loader also takes index n//3, which is
  the first test image; bench does not;
* ``half``: the first floor(n/2) ids train, the rest test (DefectDiffu);
* ``ratio:R``: the first floor(R x n) ids train, 0 < R < 1, computed exactly (``ratio:0.3`` of 10 is 3);
* ``random:K``: partition K (0, 1, 2, ...) of DefectSynth's classification protocol: a seeded
  shuffle (seed K) of every defect type's ids, the first floor(n/3) of them train, the rest test;
  partitions of different K are independent draws, the same K is the same partition everywhere;
* ``release``: the release's own train/test split of the defect images (VISION, DAGM, Cotton
  pre-splits, KSDD2, VisA ``split_csv`` 1cls/2cls: the pair's origin); a dataset whose defect images
  all sit in one part has no such split and is refused;
* ``all``: every defect image trains and none tests (DefectSynth's generative training set): for
  fitting generators (``bench generate``, imports' provenance), not for scoring a run;
* ``zero-shot``: no defect image trains, every one tests (DCDGANc's transfer: "all the real tile images
  are used as the test set");
* ``+val:F`` on any of them moves the last floor(F x k) of the k training ids of every defect type
  into validation. Validation comes out of train, never out of test.
* ``+crop:S[+stride:T]`` after any of them trains and tests on S x S windows of the split's pictures
  (``bench.data.crops``: windows holding a defect every T pixels, T = S unless given; DCDGANc's 256 px
  crops). The split is made on the pictures, so crops of one picture stay on its side.

Normals go by the release's own split (train normals train, test normals test), or half and half
by sorted id when the release has none.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from math import floor
from pathlib import Path
from typing import Callable

import numpy as np

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.jsonfile import write_json_atomic
from bench.core.pairset import NORMAL_GROUP, PairSet
from bench.core.registry import Registry


@dataclass(frozen=True)
class Split:
    preset: str
    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]
    normal_train: tuple[str, ...]
    normal_test: tuple[str, ...]

    def parts(self) -> dict[str, tuple[str, ...]]:
        return {
            "train": self.train,
            "val": self.val,
            "test": self.test,
            "normal_train": self.normal_train,
            "normal_test": self.normal_test,
        }

    def manifest(self, pool: PairSet) -> dict:
        return {
            "preset": self.preset,
            "pool": pool.content_hash(),
            "parts": {name: {i: pool.hash(i) for i in ids} for name, ids in self.parts().items()},
        }

    def manifest_hash(self, pool: PairSet) -> str:
        return sha256_text(canonical_json(self.manifest(pool)))


def _fraction_parameter(value: Fraction) -> bool:
    return 0 < value < 1


def _sorted_order(ids: list[str], _: Fraction | None) -> list[str]:
    return ids


@dataclass(frozen=True)
class SplitRule:
    """How many of a defect type's n images train, taken from the front of ``order`` (sorted ids by
    default); the rest test. ``by_origin`` rules follow the release's own train/test origin instead."""

    train_count: Callable[[int, Fraction | None], int]
    takes_parameter: bool = False
    parameter_hint: str = ""
    admits: Callable[[Fraction], bool] = _fraction_parameter
    order: Callable[[list[str], Fraction | None], list[str]] = _sorted_order
    by_origin: bool = False


SPLITS: Registry[SplitRule] = Registry("split preset", "bench.splits", SplitRule)


def _five_shot(n: int, _: Fraction | None) -> int:
    return min(5, n - 1) if n > 1 else n


def _ratio(n: int, r: Fraction | None) -> int:
    return floor(r * n)


SPLITS.add("ds-5shot", SplitRule(_five_shot))
SPLITS.add("third", SplitRule(lambda n, _: n // 3))
SPLITS.add("half", SplitRule(lambda n, _: n // 2))
SPLITS.add("ratio", SplitRule(_ratio, takes_parameter=True, parameter_hint="a fraction 0 < R < 1, e.g. ratio:0.3"))


def _shuffled(ids: list[str], partition: Fraction | None) -> list[str]:
    """A seeded permutation of the sorted ids: the partition number and the ids seed it, nothing else."""
    seed = int(sha256_text(canonical_json({"partition": int(partition or 0), "ids": ids}))[:16], 16)
    return [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]


SPLITS.add("random", SplitRule(lambda n, _: n // 3, takes_parameter=True, parameter_hint="a partition number K >= 0, e.g. random:0",
                               admits=lambda k: k >= 0 and k.denominator == 1, order=_shuffled))
SPLITS.add("release", SplitRule(lambda n, _: 0, by_origin=True))
SPLITS.add("all", SplitRule(lambda n, _: n))
SPLITS.add("zero-shot", SplitRule(lambda n, _: 0))
SPLITS.add("third-inclusive", SplitRule(lambda n, _: min(n, n // 3 + 1)))  # AnomalyDiffusion's loader: index n//3 too

_PRESET = re.compile(r"^(?P<rule>[A-Za-z0-9_.-]+)(?::(?P<param>[^+]+))?(?:\+val:(?P<val>[^+]+))?"
                     r"(?:\+crop:(?P<crop>[^+]+)(?:\+stride:(?P<stride>[^+]+))?)?$")
FORM = "RULE[:PARAM][+val:F][+crop:S[+stride:T]]"


@dataclass(frozen=True)
class Preset:
    rule: str
    parameter: Fraction | None
    val_fraction: Fraction
    crop: int = 0  # window side of the crop view, 0: whole pictures
    stride: int = 0  # step between a defect picture's windows

    @classmethod
    def parse(cls, text: str) -> "Preset":
        match = _PRESET.match(text.strip())
        if not match:
            raise BenchError(f"split preset '{text}' is not of the form {FORM}",
                             "e.g. third, ratio:0.3, half+val:0.2, ratio:0.65+crop:256+stride:128")
        rule = SPLITS.get(match["rule"])
        param = _fraction(match["param"], text) if match["param"] is not None else None
        if rule.takes_parameter and (param is None or not rule.admits(param)):
            raise BenchError(f"split preset '{text}' needs {rule.parameter_hint}")
        if not rule.takes_parameter and param is not None:
            raise BenchError(f"split preset '{match['rule']}' takes no parameter, got '{text}'", f"use '{match['rule']}'")
        val = _fraction(match["val"], text) if match["val"] is not None else Fraction(0)
        if not 0 <= val < 1:
            raise BenchError(f"split preset '{text}': the validation fraction must be in [0, 1)")
        crop = _pixels(match["crop"], text, "crop") if match["crop"] is not None else 0
        stride = _pixels(match["stride"], text, "stride") if match["stride"] is not None else crop
        if stride > crop:
            raise BenchError(f"split preset '{text}': the stride {stride} is larger than the crop {crop}",
                             "windows would skip pixels; use a stride of at most the crop size")
        return cls(SPLITS.canonical(match["rule"]), param, val, crop, stride)


def _pixels(text: str, preset: str, what: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise BenchError(f"split preset '{preset}': {what} '{text}' is not a whole number of pixels >= 1", "write e.g. +crop:256+stride:128")
    return int(text)


def _fraction(text: str, preset: str) -> Fraction:
    try:
        return Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise BenchError(f"split preset '{preset}': '{text}' is not a number", "write e.g. 0.3 or 1/3") from None


def defects_by_group(pool: PairSet) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for pair_id in sorted(pool.ids):
        group = pool.group(pair_id)
        if group != NORMAL_GROUP:
            groups[group].append(pair_id)
    return dict(groups)


def normals_by_origin(pool: PairSet) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Release train normals for training, release test normals for testing; without origins, half each."""
    normals = sorted(i for i in pool.ids if pool.group(i) == NORMAL_GROUP)
    train = [i for i in normals if pool.origin(i) == "train"]
    test = [i for i in normals if pool.origin(i) == "test"]
    if not train and not test:
        half = len(normals) // 2
        train, test = normals[:half], normals[half:]
    return tuple(train), tuple(test)


def compute_split(pool: PairSet, preset: str) -> Split:
    """The split a preset name defines on this pool (pure: no files written)."""
    parsed = Preset.parse(preset)
    rule = SPLITS.get(parsed.rule)
    train: list[str] = []
    val: list[str] = []
    test: list[str] = []
    groups = defects_by_group(pool)
    if not groups:
        raise BenchError(f"{describe_pool(pool)} has no defect images, only normals", "check the category's masks (all background?)")
    if rule.by_origin:
        check_release_split(pool, groups)
    for _, ids in sorted(groups.items()):
        if rule.by_origin:
            ids = [i for i in ids if pool.origin(i) == "train"] + [i for i in ids if pool.origin(i) != "train"]
            k = sum(pool.origin(i) == "train" for i in ids)
        else:
            ids = rule.order(ids, parsed.parameter)
            k = rule.train_count(len(ids), parsed.parameter)
        n_val = floor(parsed.val_fraction * k)
        train += ids[: k - n_val]
        val += ids[k - n_val : k]
        test += ids[k:]
    normal_train, normal_test = normals_by_origin(pool)
    split = Split(preset, tuple(train), tuple(val), tuple(test), normal_train, normal_test)
    check_no_overlap(pool, split)
    return split


def check_release_split(pool: PairSet, groups: dict[str, list[str]]) -> None:
    """``release`` needs defect images on both sides of the release's own split."""
    origins = {pool.origin(i) for ids in groups.values() for i in ids}
    if not {"train", "test"} <= origins:
        sides = ", ".join(sorted(o or "none" for o in origins))
        raise BenchError(f"split 'release': the defect images of {describe_pool(pool)} carry no train/test split of their own "
                         f"(origins: {sides})", "choose a rule split such as ds-5shot, third or random:0")


def describe_pool(pool: PairSet) -> str:
    """The user's data a pool came from ("category 'bottle' of dataset 'mvtec-ad' under /data/mvtec"), not the cache path."""
    source = pool.meta.get("source", {})
    if "dataset" not in source:
        return f"pair set {pool.root}"
    where = f" under {source['root']}" if source.get("root") else ""
    return f"category '{source.get('category')}' of dataset '{source['dataset']}'{where}"


def check_no_overlap(pool: PairSet, split: Split) -> None:
    """Training and test parts must not share a picture, compared by content hash."""
    train_side = {pool.hash(i): i for i in split.train + split.val + split.normal_train}
    for pair_id in split.test + split.normal_test:
        twin = train_side.get(pool.hash(pair_id))
        if twin is not None:
            raise BenchError(
                f"split '{split.preset}' puts the same picture in train ('{twin}') and test ('{pair_id}') of {describe_pool(pool)}",
                "remove the duplicate from the data",
            )


def manifest_path(pool: PairSet, preset: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", preset)
    return pool.root.parent / f"{pool.root.name}.splits" / f"{slug}.json"


def write_manifest(pool: PairSet, split: Split) -> Path:
    """The split manifest as JSON beside the pool, written atomically; carries its own hash."""
    path = manifest_path(pool, split.preset)
    try:
        write_json_atomic(path, {**split.manifest(pool), "manifest_hash": split.manifest_hash(pool)})
    except OSError as exc:
        raise BenchError(f"cannot write split manifest {path}: {exc.strerror}", "check permissions of the cache folder") from None
    return path


def make_split(pool: PairSet, preset: str) -> Split:
    """Split the pool and record the manifest beside it."""
    split = compute_split(pool, preset)
    write_manifest(pool, split)
    return split
