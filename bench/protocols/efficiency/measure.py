"""Timing segmenters and generators: the points of an efficiency grid settled into jobs, and the job that
times one (alone: nothing runs beside a timing)."""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch

from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.core.pairset import PairSet
from bench.core.paths import cache_at
from bench.core.specs import GeneratorSpec, TaskRef
from bench.data.tasks import TaskData, Tasks
from bench.executors import Job
from bench.protocols.base import Grid, Point
from bench.protocols.efficiency import EFFICIENCY
from bench.provenance import device_name, provenance
from bench.runner import load_sources, scheduled
from generators import GENERATORS
from generators.registry import build
from segmenters.timing import measure

BATCH, WARMUP, ITERS = 8, 2, 5  # segmenter timing: throughput batch, untimed and timed calls


@dataclass(frozen=True)
class EfficiencyPoint(Point):
    part: str  # "generator" or "segmenter"
    name: str  # the generator spec as written, or the segmenter
    dataset: str
    category: str
    split: str
    seed: int
    device: str
    n_generated: int = 0
    image_size: str = ""  # the task's picture size (Grid.image_size)


def _on_device(spec, device: torch.device):
    """A generator that takes a device trains on the grid's."""
    params = dict(spec.params)
    if "device" in GENERATORS.get(spec.name).declared() and "device" not in params:
        params["device"] = device.type
    return spec.__class__.of(spec.name, **params)


def time_generator(spec, train, normals, sources, n: int, seed: int) -> dict:
    """Seconds to fit (cold: trained states go to a temporary cache) and to sample ``n`` pairs."""
    generator = build(spec)
    generator.use_sources(sources)
    with tempfile.TemporaryDirectory(prefix="bench-efficiency-") as cold, cache_at(Path(cold)):
        start = time.perf_counter()
        generator.fit(train, normals, seed)
        fitted = time.perf_counter()
        count = sum(1 for _ in generator.sample(n, seed))
        sampled = time.perf_counter()
    if count != n:
        raise BenchError(f"generator '{spec.name}' yielded {count} pairs, not {n}", "fix the generator")
    train_s, sample_s = fitted - start, sampled - fitted
    return {"train_s": train_s, "sample_s": sample_s, "pairs_per_s": n / sample_s if sample_s > 0 else None,
            "end_to_end_s": train_s + sample_s}


def efficiency_points(grid: Grid, device: torch.device) -> list[tuple[EfficiencyPoint, object]]:
    """Every segmenter and every generator x category x seed, with the generator spec it times."""
    points = []
    for category in grid.categories:
        for seed in grid.seeds:
            common = dict(dataset=grid.dataset, category=category, split=grid.split, seed=seed, device=device.type,
                          image_size=grid.image_size)
            points += [(EfficiencyPoint("segmenter", s, **common), None) for s in grid.segmenters]
            for g in grid.generators:
                if g.name == "none":
                    continue
                spec = _on_device(scheduled(g, grid.schedule), device)
                points.append((EfficiencyPoint("generator", str(spec), **common, n_generated=grid.n_generated), spec))
    return points


@dataclass(frozen=True)
class EfficiencyJob(Job):
    """One timing: the point, its task data and, for a generator, the spec it times and the pairs it learns from."""

    point: EfficiencyPoint
    run_id: str
    data: TaskData
    generator: GeneratorSpec | None = None
    sources: tuple[tuple[TaskRef, PairSet], ...] = ()
    alone = True  # a timing shares its device with nothing

    @property
    def memory(self) -> tuple:
        return ("efficiency", self.point.part, self.point.name, self.point.dataset, self.point.category, self.point.device)

    def __str__(self) -> str:
        return f"efficiency/{self.point.part} {self.point.name}/{self.point.category}/seed {self.point.seed}"

    def compute(self, progress: bool) -> dict:
        point, data, device = self.point, self.data, torch.device(self.point.device)
        if self.generator is None:
            size = int(data.pool.image(data.pool.ids[0]).shape[0])
            metrics = measure(point.name, size, BATCH, device, WARMUP, ITERS, data.pool.num_classes, point.seed)
            metrics = {k: metrics[k] for k in ("params", "latency_ms", "latency_ms_min", "throughput_img_s")}
            variants = {"timing": f"model.test_step, fp32, random weights, input {size} px, batch 1 latency (median of {ITERS}) "
                                  f"and batch {BATCH} throughput, {WARMUP} warm-up calls"}
        else:
            metrics = time_generator(self.generator, data.train, data.normals, dict(self.sources), point.n_generated, point.seed)
            metrics["n_train"] = len(data.train)
            variants = {"timing": "generic interface: fit on the training pairs from a cold cache, then sample n pairs; "
                                  "wall-clock seconds", "generator": self.generator.to_dict()}
        return {"schema": EFFICIENCY.schema, "run_id": self.run_id, "spec": asdict(point),
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "data": {"manifest_hash": data.manifest_hash}, "metrics": metrics, "variants": variants,
                "device_name": device_name(device), "provenance": provenance(device)}


def efficiency_jobs(grid: Grid, tasks: Tasks) -> list[EfficiencyJob]:
    jobs = []
    for point, spec in efficiency_points(grid, resolve_device(grid.device)):
        task = TaskRef(point.dataset, point.category, point.split, point.image_size)
        data = tasks.load(task, grid.data_root)
        sources = () if spec is None else tuple(load_sources(spec, tasks, point.dataset, grid.data_root, task).items())
        jobs.append(EfficiencyJob(point, point.run_id(data.manifest_hash), data, spec, sources))
    return jobs
