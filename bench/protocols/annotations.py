"""Annotation quality (the Defect Spectrum project page's simulation, "Original 85.33 / 49.60 vs Defect
Spectrum 96.07 / 16.50"): the same MVTec AD images, one segmenter trained with the release's original masks
(``mvtec-ad``) and one with the Defect Spectrum re-annotation (``ds-mvtec``), same seed, same schedule; each
accepts or rejects every test image by the benign-product rules, scored by the recall of defective products
and the false-reject rate of benign ones.

The two releases' images are matched by decoded pixels (``bench.data.matching``); the split is the
preset's split of the DS-MVTec pool, less the images the original release lacks, so both segmenters train
and are tested on exactly the same pictures. Unmatched images are counted in the record and the table.

Which masks say whether a product truly is benign (the page does not say) is a reading of the report, not
of the run: each record keeps both masks' class areas per test image and both segmenters' predicted
areas, so ``refined`` (the default: every decision judged against the DS-MVTec masks, the finer of the two,
so only the training masks differ between the arms) and ``own`` (each arm against its own release's masks)
are both computed from the same records, and any rules file can be applied later."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.paths import results_dir
from bench.core.specs import TaskRef
from bench.data.base import load_pool
from bench.data.matching import match_images
from bench.data.tasks import Tasks
from bench.metrics.benign import DEFAULT_RULES, load_rules
from bench.metrics.evaluate import evaluate_predictions
from bench.protocols.base import PROTOCOLS, Grid, Point, Protocol
from bench.provenance import device_name, provenance
from bench.records import ANNOTATIONS, ANNOTATIONS_SCHEMA, RecordStore
from segmenters import SCHEDULES, SEGMENTERS

ORIGINAL = "mvtec-ad"  # the release's own masks: binary, one defect type per folder
REFINED = "ds-mvtec"  # the Defect Spectrum re-annotation of the same images: per-pixel classes
ARMS = (ORIGINAL, REFINED)


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


def run_annotations(grid: Grid, force: bool = False, progress: bool = True, root: Path | None = None) -> list[tuple[dict, bool]]:
    # deferred: training loads torch and the model stack
    from segmenters.train import train_and_evaluate

    if grid.image_size:
        raise BenchError(f"protocol annotations compares {REFINED} with {ORIGINAL} at their own picture size, not {grid.image_size}",
                         "remove image_size (both releases have one size per category)")
    if grid.dataset != REFINED:
        raise BenchError(f"protocol annotations compares {REFINED} with {ORIGINAL}, not dataset {grid.dataset!r}",
                         f"leave --dataset out: --data-root is the {REFINED} release, --original-root the {ORIGINAL} one")
    device = resolve_device(grid.device)
    schedule = SCHEDULES.get(grid.schedule)
    rules = load_rules(DEFAULT_RULES)
    store = RecordStore(root or results_dir() / "annotations", ANNOTATIONS)
    tasks = Tasks(progress)
    matched = {}
    for category in grid.categories:  # a missing release, an unmatched pair of releases or a rule that cannot fire fails first
        task = matched_task(category, grid.split, tasks, grid.data_root, grid.original_root or grid.data_root)
        for arm in ARMS:
            rules.check(task.pools[arm].classes, category, arm)
        matched[category] = task
    out = []
    for point in annotation_points(grid, device.type):
        task = matched[point.category]
        run_id = point.run_id(task.manifest_hash)
        existing = None if force else store.get(run_id)
        if existing is not None:
            out.append((existing, True))
            continue
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
        record = {
            "schema": ANNOTATIONS_SCHEMA, "run_id": run_id, "spec": asdict(point),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "data": {"manifest_hash": task.manifest_hash, "reference": REFINED, "n_train": len(task.train[REFINED]), "n_test": len(task.test[REFINED]),
                     "unmatched": {arm: len(ids) for arm, ids in task.unmatched.items()}},
            "arms": arms,
            "metrics": {f"{key}_{arm}": arms[arm]["metrics"].get(key) for arm in ARMS for key in ("mIoU", "mIoU_defect")},
            "variants": {"matching": "decoded image pixels (shape and bytes), one twin per image",
                         "split": f"{grid.split} on the {REFINED} pool, less the images {ORIGINAL} lacks",
                         "judges": {"refined": f"every arm's decisions against the {REFINED} masks",
                                    "own": "each arm's decisions against its own release's masks"},
                         "rules": rules.name},
            "device_name": device_name(device), "provenance": provenance(device),
        }
        store.write(record)
        out.append((record, False))
    return out


def annotations_row(record: dict) -> dict:
    """What the command prints per record: each arm's recall and false-reject rate, judged by the DS-MVTec masks."""
    from bench.report.annotations import decisions  # deferred: the report helpers load pandas

    spec, rules = record["spec"], load_rules(record["variants"]["rules"])
    row = {"segmenter": spec["segmenter"], "category": spec["category"], "seed": spec["seed"]}
    for arm in ARMS:
        summary = decisions(record, arm, "refined", rules)
        row[f"recall {arm}"], row[f"FPR {arm}"] = summary["recall"], summary["false_reject_rate"]
    return row


PROTOCOLS.register(Protocol(
    "annotations",
    "the same MVTec AD images trained with the original masks vs the Defect Spectrum masks: benign recall and false-reject rate",
    execute=run_annotations, row=annotations_row,
    defaults={"dataset": REFINED, "categories": ("zipper", "pill", "wood")},
))
