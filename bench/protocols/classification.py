"""Defect-type classification (DefectSynth Sec. V-A and Table VIII, after DFMGAN and AnomalyDiffusion): a
ResNet-34 (``classifiers/resnet.py``) learns which defect type an image shows, from the real training
images alone (ratio 0, "w/o augmentation") or with r x |real| synthetic pairs of a generator, and is
scored by accuracy and macro F1 on the real test images. Seed K is partition K: with the default split
``random`` each seed draws its own partition (``random:K``, a third of every type trains), so the seeds
are DefectSynth's repeated partitions, and the classifier and generator take the same seed. One
``bench.classification/1`` record per generator x ratio x category x seed, with every prediction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from bench.core.hashing import canonical_json
from bench.core.paths import results_dir
from bench.core.specs import GeneratorSpec, TaskRef
from bench.data.tasks import Tasks
from bench.metrics.classification import accuracy, macro_f1, per_class_accuracy
from bench.protocols.base import PROTOCOLS, Grid, Point, Protocol, stored
from bench.provenance import device_name, provenance
from bench.records import CLASSIFICATION, CLASSIFICATION_SCHEMA, RecordStore
from bench.runner import check_import, load_sources, resolve_device, scheduled
from bench.spec import NO_GENERATOR, RunSpec
from generators import GENERATORS
from generators.registry import checked_params
from generators.synthesize import synthesize

PARTITIONS = "random"  # the grid split that means "partition = seed"


@dataclass(frozen=True)
class ClassificationPoint(Point):
    generator: dict  # GeneratorSpec.to_dict(); none at ratio 0
    ratio: float
    dataset: str
    category: str
    split: str  # the split preset that ran (random:K for partition K)
    seed: int
    schedule: str
    device: str
    pretrained: bool


def classification_points(grid: Grid, device: str) -> list[ClassificationPoint]:
    """Every generator x ratio x category x seed; ratio 0 is one real-only point whatever the generator."""
    points: dict[str, ClassificationPoint] = {}
    for generator in grid.generators:
        checked_params(generator)
        for category in grid.categories:
            for seed in grid.seeds:
                split = f"{PARTITIONS}:{seed}" if grid.split == PARTITIONS else grid.split
                for ratio in grid.ratios:
                    spec = scheduled(generator, grid.schedule) if ratio > 0 else NO_GENERATOR
                    point = ClassificationPoint(spec.to_dict(), float(ratio), grid.dataset, category, split, seed, grid.schedule,
                                                device, grid.pretrained)
                    points.setdefault(canonical_json(asdict(point)), point)
    return list(points.values())


def run_classification(grid: Grid, force: bool = False, progress: bool = True, root: Path | None = None) -> list[tuple[dict, bool]]:
    # deferred: the classifier loads torchvision
    from classifiers.resnet import SCHEDULES, as_batch, image_labels, predict, pretrained_file, schedule_facts, train

    device = resolve_device(grid.device)
    schedule = SCHEDULES.get(grid.schedule)
    if grid.pretrained:
        pretrained_file()  # a missing weights file fails before any training
    store = RecordStore(root or results_dir() / "classification", CLASSIFICATION)
    tasks = Tasks(progress)
    points = classification_points(grid, device.type)
    for point in points:  # a leaking import fails the grid before anything trains
        spec = GeneratorSpec.from_dict(point.generator)
        if point.ratio > 0 and GENERATORS.get(spec.name).kind == "import":
            data = tasks.load(TaskRef(point.dataset, point.category, point.split), grid.data_root)
            check_import(RunSpec(generator=spec, ratio=point.ratio, dataset=point.dataset, category=point.category, split=point.split),
                         data, tasks, grid.data_root, int(round(point.ratio * len(data.train))))
    out = []
    for point, data, run_id, existing in stored(points, store, tasks, grid.data_root, force, "classification", progress):
        if existing is not None:
            out.append((existing, True))
            continue
        defect_ids = sorted(k for k in data.pool.classes if k)
        sets = [data.train]
        n_synthetic = int(round(point.ratio * len(data.train)))
        spec = GeneratorSpec.from_dict(point.generator)
        if n_synthetic:
            sources = load_sources(spec, tasks, point.dataset, grid.data_root, TaskRef(point.dataset, point.category, point.split))
            sets.append(synthesize(spec, data.train, data.normals, n_synthetic, point.seed, sources=sources)[0])
        labels = np.concatenate([image_labels(s, defect_ids) for s in sets])
        images = torch.cat([as_batch(s, schedule.size) for s in sets])
        keep = labels >= 0  # a synthetic pair without a defect pixel teaches no type
        trained = train(images[keep], labels[keep], len(defect_ids), schedule, point.seed, device, grid.pretrained)
        truth = image_labels(data.test, defect_ids)
        tested = data.test.subset(i for i, t in zip(data.test.ids, truth) if t >= 0)  # defect images; normals have no type
        truth = truth[truth >= 0]
        predicted = predict(trained.model, as_batch(tested, schedule.size), device)
        present = list(range(len(defect_ids)))
        record = {
            "schema": CLASSIFICATION_SCHEMA, "run_id": run_id, "spec": asdict(point),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "data": {"manifest_hash": data.manifest_hash, "types": [data.pool.classes[k] for k in defect_ids],
                     "n_train_real": len(data.train), "n_synthetic": n_synthetic, "n_untyped_dropped": int((~keep).sum()),
                     "n_test": len(tested)},
            "metrics": {"accuracy": accuracy(truth, predicted), "F1": macro_f1(truth, predicted, present),
                        "per_type_accuracy": {data.pool.classes[defect_ids[k]]: v
                                              for k, v in per_class_accuracy(truth, predicted, present).items()}},
            "variants": {"label": "the defect type covering most of the image's mask (ties: lower class id)",
                         "accuracy": "top-1 accuracy over the real defect test images",
                         "F1": "macro F1 over the category's defect types, a type never predicted nor present scoring 0 "
                               "(scikit-learn f1_score average='macro', zero_division=0)",
                         "classifier": {**schedule_facts(schedule), "iters": trained.iters, "pretrained": grid.pretrained}},
            "predictions": {"ids": list(tested.ids), "truth": truth.tolist(), "predicted": predicted.tolist()},
            "timings": {"train_s": trained.seconds}, "losses": list(trained.losses),
            "device_name": device_name(device), "provenance": provenance(device),
        }
        store.write(record)
        out.append((record, False))
    return out


def classification_row(record: dict) -> dict:
    spec, m = record["spec"], record["metrics"]
    return {"generator": str(GeneratorSpec.from_dict(spec["generator"])), "ratio": spec["ratio"], "category": spec["category"],
            "split": spec["split"], "seed": spec["seed"], "accuracy": m["accuracy"], "F1": m["F1"]}


PROTOCOLS.register(Protocol(
    "classification", "ResNet-34 defect-type classifier on real vs real + synthetic images, over random partitions: accuracy, macro F1",
    execute=run_classification, row=classification_row, defaults={"split": PARTITIONS, "ratios": (0.0, 1.0), "seeds": (0, 1, 2)},
))
