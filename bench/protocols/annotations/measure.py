"""The annotation comparison's points: the two releases matched by pixels into one index-aligned task per
category, settled into jobs that train one segmenter per arm."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone

import torch

from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.specs import TaskRef
from bench.data.base import load_pool
from bench.data.matching import match_images
from bench.data.tasks import Tasks
from bench.executors import Job
from bench.metrics.benign import DEFAULT_RULES, load_rules
from bench.metrics.evaluate import evaluate_predictions
from bench.protocols.annotations import ANNOTATIONS, ARMS, ORIGINAL, REFINED
from bench.protocols.base import Grid, Point
from bench.provenance import device_name, provenance
from segmenters import SCHEDULES, SEGMENTERS
from segmenters.train import train_and_evaluate


@dataclass(frozen=True)
class AnnotationPoint(Point):
    segmenter: str
    category: str
    split: str  # the preset, computed on the DS-MVTec pool
    seed: int
    schedule: str
    device: str
    pretrained: bool


def annotation_points(grid: Grid, device: str) -> list[AnnotationPoint]:
    return [AnnotationPoint(segmenter, category, grid.split, seed, grid.schedule, device, grid.pretrained)
            for segmenter, category, seed in grid.cells()]


@dataclass(frozen=True)
class MatchedTask:
    """One category's split in both releases, index-aligned: ``train[ORIGINAL][i]`` is the same picture as
    ``train[REFINED][i]``."""

    pools: dict  # arm -> PairSet (the whole category pool)
    train: dict  # arm -> tuple of ids
    test: dict  # arm -> tuple of ids: the split's test defects, then its test normals
    unmatched: dict  # arm -> ids of that release with no twin in the other
    manifest_hash: str  # both arms' ids and content hashes, in order

    def part(self, arm: str, name: str):
        return self.pools[arm].subset(getattr(self, name)[arm])


def matched_task(category: str, split: str, tasks: Tasks, refined_root, original_root) -> MatchedTask:
    refined = tasks.load(TaskRef(REFINED, category, split), refined_root)
    original = load_pool(ORIGINAL, category, original_root)
    matching = match_images(refined.pool, original)
    if not matching.pairs:
        raise BenchError(f"no image of {REFINED}/{category} has the same pixels as one of {ORIGINAL}/{category}",
                         "point --data-root at DS-MVTec and --original-root at the MVTec AD release it re-annotates")
    twin = dict(matching.pairs)
    train = tuple(i for i in refined.split.train if i in twin)
    test = tuple(i for i in refined.split.test + refined.split.normal_test if i in twin)
    if not train or not test:
        raise BenchError(f"{REFINED}/{category}: the split {split!r} keeps {len(train)} matched training and {len(test)} matched "
                         "test images; both arms need some", "choose another --split or check that both releases hold the same images")
    parts = {"train": {REFINED: train, ORIGINAL: tuple(twin[i] for i in train)},
             "test": {REFINED: test, ORIGINAL: tuple(twin[i] for i in test)}}
    pools = {REFINED: refined.pool, ORIGINAL: original}
    manifest = {arm: {name: pools[arm].subset(ids[arm]).manifest() for name, ids in parts.items()} for arm in ARMS}
    unmatched = {REFINED: matching.only_a, ORIGINAL: matching.only_b}
    return MatchedTask(pools, parts["train"], parts["test"], unmatched, sha256_text(canonical_json(manifest)))


@dataclass(frozen=True)
class AnnotationsJob(Job):
    """One point: both arms trained on the same pictures, each with its release's masks."""

    point: AnnotationPoint
    run_id: str
    task: MatchedTask
    rules: str  # the name of the benign rules checked against both releases' classes, recorded with the arms

    @property
    def memory(self) -> tuple:
        return (self.point.segmenter, self.point.schedule, REFINED, self.point.category, self.point.device)

    def __str__(self) -> str:
        return f"annotations/{self.point.segmenter}/{self.point.category}/seed {self.point.seed}"

    def compute(self, progress: bool) -> dict:
        point, task = self.point, self.task
        device, schedule = torch.device(point.device), SCHEDULES.get(point.schedule)
        arms = {}
        for arm in ARMS:
            train, test = task.part(arm, "train"), task.part(arm, "test")
            result = train_and_evaluate(SEGMENTERS.get(point.segmenter), [train], test, test.num_classes, schedule, point.seed,
                                        device, point.pretrained, progress)
            evaluation = evaluate_predictions(test, result.predictions, test.classes)
            arms[arm] = {"classes": {str(k): v for k, v in test.classes.items()}, "n_train": len(train),
                         "metrics": evaluation["metrics"], "class_areas": evaluation["class_areas"],
                         "timings": {"train_s": result.train_seconds, "eval_s": result.eval_seconds},
                         "loss_last": result.losses[-1]}
        return {
            "schema": ANNOTATIONS.schema, "run_id": self.run_id, "spec": asdict(point),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "data": {"manifest_hash": task.manifest_hash, "reference": REFINED, "n_train": len(task.train[REFINED]), "n_test": len(task.test[REFINED]),
                     "unmatched": {arm: len(ids) for arm, ids in task.unmatched.items()}},
            "arms": arms,
            "metrics": {f"{key}_{arm}": arms[arm]["metrics"].get(key) for arm in ARMS for key in ("mIoU", "mIoU_defect")},
            "variants": {"matching": "decoded image pixels (shape and bytes), one twin per image",
                         "split": f"{point.split} on the {REFINED} pool, less the images {ORIGINAL} lacks",
                         "judges": {"refined": f"every arm's decisions against the {REFINED} masks",
                                    "own": "each arm's decisions against its own release's masks"},
                         "rules": self.rules},
            "device_name": device_name(device), "provenance": provenance(device),
        }


def annotation_jobs(grid: Grid, tasks: Tasks) -> list[AnnotationsJob]:
    """Every point, settled: a missing release, an unmatched pair of releases or a rule that cannot fire fails
    before anything trains."""
    if grid.image_size:
        raise BenchError(f"protocol annotations compares {REFINED} with {ORIGINAL} at their own picture size, not {grid.image_size}",
                         "remove image_size (both releases have one size per category)")
    if grid.dataset != REFINED:
        raise BenchError(f"protocol annotations compares {REFINED} with {ORIGINAL}, not dataset {grid.dataset!r}",
                         f"leave --dataset out: --data-root is the {REFINED} release, --original-root the {ORIGINAL} one")
    device = resolve_device(grid.device)
    SCHEDULES.get(grid.schedule)
    rules = load_rules(DEFAULT_RULES)
    matched = {}
    for category in grid.categories:
        task = matched_task(category, grid.split, tasks, grid.data_root, grid.original_root or grid.data_root)
        for arm in ARMS:
            rules.check(task.pools[arm].classes, category, arm)
        matched[category] = task
    return [AnnotationsJob(point, point.run_id(matched[point.category].manifest_hash), matched[point.category], rules.name)
            for point in annotation_points(grid, device.type)]
