"""Training and testing the defect-type classifier: the points of a classification grid settled into jobs (an
import that leaks into the test images fails the grid first), and the job that trains and scores one."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone

import numpy as np
import torch

from bench.core.device import resolve_device
from bench.core.hashing import canonical_json, sha256_text
from bench.core.pairset import PairSet
from bench.core.specs import BASE_VERSION, GeneratorSpec, TaskRef
from bench.data.tasks import TaskData, Tasks
from bench.executors import Job
from bench.metrics.classification import accuracy, macro_f1, per_class_accuracy
from bench.protocols.base import ADDED_LATER, Grid, Point, resolved_size
from bench.protocols.classification import CLASSIFICATION, PAPER_GENERATED, PARTITIONS
from bench.provenance import device_name, provenance
from bench.runner import check_import, load_sources, resolved_settings, scheduled
from bench.spec import NO_GENERATOR, RunSpec
from generators import GENERATORS
from generators.registry import build, checked_params
from generators.synthesize import synthesize


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
    image_size: str = ""  # the task's picture size (Grid.image_size)
    n_generated: int = 0  # generated images added (replaces ratio): the paper size's 1,000 per category

    def run_id(self, manifest_hash: str) -> str:
        """Fields and manifest; ``n_generated`` joins off its default and the generator's version past its
        first (as in run ids), so points from before either keep their ids and a changed backend reruns."""
        spec = {k: v for k, v in asdict(self).items() if not (k in ADDED_LATER and v == "")}
        if not self.n_generated:
            del spec["n_generated"]
        key = {"spec": spec, "data": manifest_hash}
        version = GENERATORS.get(self.generator["name"]).version
        if version != BASE_VERSION:
            key["generator_version"] = version
        return sha256_text(canonical_json(key))[:16]


def arms(grid: Grid) -> list[tuple[float, int]]:
    """(ratio, generated images) of each arm at the grid's size: real only and the paper's 1,000 per category,
    or each of the grid's ratios."""
    if resolved_size(grid) == "paper":
        return [(0.0, 0), (0.0, PAPER_GENERATED)]
    return [(float(r), 0) for r in grid.ratios]


def size_note(point: ClassificationPoint, n_synthetic: int) -> str:
    """What the point's count of generated images is, against the paper's (recorded, shown in the caption)."""
    if point.n_generated:
        return f"paper: {point.n_generated:,} generated images per category (DefectSynth V-A)"
    return f"small: {n_synthetic} generated images, {point.ratio:g} x the real training images (DefectSynth V-A: {PAPER_GENERATED:,})"


def classification_points(grid: Grid, device: str) -> list[ClassificationPoint]:
    """Every generator x arm x category x seed; the real-only arm is one point whatever the generator."""
    points: dict[str, ClassificationPoint] = {}
    for generator in grid.generators:
        checked_params(generator)
        for category in grid.categories:
            for seed in grid.seeds:
                split = f"{PARTITIONS}:{seed}" if grid.split == PARTITIONS else grid.split
                for ratio, n in arms(grid):
                    spec = scheduled(generator, grid.schedule) if ratio > 0 or n else NO_GENERATOR
                    point = ClassificationPoint(spec.to_dict(), ratio, grid.dataset, category, split, seed, grid.schedule,
                                                device, grid.pretrained, grid.image_size, n)
                    points.setdefault(canonical_json(asdict(point)), point)
    return list(points.values())


@dataclass(frozen=True)
class ClassificationJob(Job):
    """One point: its partition's data and the training pairs of the tasks its generator learns from."""

    point: ClassificationPoint
    run_id: str
    data: TaskData
    sources: tuple[tuple[TaskRef, PairSet], ...] = ()

    @property
    def cell(self) -> str:
        """The point but its partition (seed and split), as JSON: its generator is a mapping."""
        return canonical_json(asdict(replace(self.point, seed=0, split="")))

    @property
    def memory(self) -> tuple:
        return ("classification", self.point.schedule, self.point.dataset, self.point.category, self.point.device)

    def __str__(self) -> str:
        return f"classification/{GeneratorSpec.from_dict(self.point.generator)} x{self.point.ratio:g}/{self.point.category}/seed {self.point.seed}"

    def compute(self, progress: bool) -> dict:
        # deferred: the classifier loads torchvision
        from classifiers.resnet import SCHEDULES, as_batch, image_labels, predict, schedule_facts, train

        point, data, device = self.point, self.data, torch.device(self.point.device)
        schedule = SCHEDULES.get(point.schedule)
        defect_ids = sorted(k for k in data.pool.classes if k)
        sets = [data.train]
        n_synthetic = point.n_generated or int(round(point.ratio * len(data.train)))
        spec = GeneratorSpec.from_dict(point.generator)
        generator = build(spec)
        if n_synthetic:
            sets.append(synthesize(spec, data.train, data.normals, n_synthetic, point.seed, sources=dict(self.sources), generator=generator)[0])
        labels = np.concatenate([image_labels(s, defect_ids) for s in sets])
        images = torch.cat([as_batch(s, schedule.size) for s in sets])
        keep = labels >= 0  # a synthetic pair without a defect pixel teaches no type
        trained = train(images[keep], labels[keep], len(defect_ids), schedule, point.seed, device, point.pretrained)
        truth = image_labels(data.test, defect_ids)
        tested = data.test.subset(i for i, t in zip(data.test.ids, truth) if t >= 0)  # defect images; normals have no type
        truth = truth[truth >= 0]
        predicted = predict(trained.model, as_batch(tested, schedule.size), device)
        present = list(range(len(defect_ids)))
        return {
            "schema": CLASSIFICATION.schema, "run_id": self.run_id, "spec": asdict(point),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "data": {"manifest_hash": data.manifest_hash, "types": [data.pool.classes[k] for k in defect_ids],
                     "n_train_real": len(data.train), "n_synthetic": n_synthetic, "n_untyped_dropped": int((~keep).sum()),
                     "n_test": len(tested)},
            **({"generator": {"version": GENERATORS.get(spec.name).version, "resolved": resolved_settings(generator, data.train)}}
               if n_synthetic else {}),
            "metrics": {"accuracy": accuracy(truth, predicted), "F1": macro_f1(truth, predicted, present),
                        "per_type_accuracy": {data.pool.classes[defect_ids[k]]: v
                                              for k, v in per_class_accuracy(truth, predicted, present).items()}},
            "variants": {"label": "the defect type covering most of the image's mask (ties: lower class id)",
                         **({"size": size_note(point, n_synthetic)} if n_synthetic else {}),
                         "accuracy": "top-1 accuracy over the real defect test images",
                         "F1": "macro F1 over the category's defect types, a type never predicted nor present scoring 0 "
                               "(scikit-learn f1_score average='macro', zero_division=0)",
                         "classifier": {**schedule_facts(schedule), "iters": trained.iters, "pretrained": point.pretrained}},
            "predictions": {"ids": list(tested.ids), "truth": truth.tolist(), "predicted": predicted.tolist()},
            "timings": {"train_s": trained.seconds}, "losses": list(trained.losses),
            "device_name": device_name(device), "provenance": provenance(device),
        }


def classification_jobs(grid: Grid, tasks: Tasks) -> list[ClassificationJob]:
    """Every point, settled: the schedule and pretrained weights checked, each partition loaded, and an import
    whose pairs or training images overlap the test images refused, before anything trains."""
    from classifiers.resnet import SCHEDULES, pretrained_file  # deferred: the classifier loads torchvision

    device = resolve_device(grid.device)
    SCHEDULES.get(grid.schedule)
    if grid.pretrained:
        pretrained_file()
    jobs = []
    for point in classification_points(grid, device.type):
        task = TaskRef(point.dataset, point.category, point.split, point.image_size)
        data = tasks.load(task, grid.data_root)
        spec = GeneratorSpec.from_dict(point.generator)
        sources = {}
        if spec.name != NO_GENERATOR.name:
            if GENERATORS.get(spec.name).kind == "import":
                check_import(build(spec), RunSpec(generator=spec, ratio=point.ratio, fill_to=point.n_generated, dataset=point.dataset,
                                                  category=point.category, split=point.split, image_size=point.image_size),
                             data, tasks, grid.data_root, point.n_generated or int(round(point.ratio * len(data.train))))
            sources = load_sources(spec, tasks, point.dataset, grid.data_root, task)
        jobs.append(ClassificationJob(point, point.run_id(data.manifest_hash), data, tuple(sources.items())))
    return jobs
