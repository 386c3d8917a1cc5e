"""Efficiency (Defect Spectrum Table 2, DefectSynth Table IV): segmenter latency at batch 1 and throughput
at a larger batch on the task's image size, and each generator's training time and pairs/s measured end
to end through the generic interface: ``fit`` on the task's training pairs from a cold cache (no trained
state served), then ``sample`` of ``n_generated`` pairs, on the device named in every record. One
``bench.efficiency/1`` record per segmenter x category x seed and per generator x category x seed."""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch

from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.core.paths import cache_at, results_dir
from bench.core.specs import TaskRef
from bench.data.tasks import Tasks
from bench.protocols.base import PROTOCOLS, Grid, Point, Protocol, stored
from bench.provenance import device_name, provenance
from bench.records import EFFICIENCY, EFFICIENCY_SCHEMA, RecordStore
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


def run_efficiency(grid: Grid, force: bool = False, progress: bool = True, root: Path | None = None) -> list[tuple[dict, bool]]:
    store = RecordStore(root or results_dir() / "efficiency", EFFICIENCY)
    device = resolve_device(grid.device)
    tasks = Tasks(progress)
    out = []
    points = efficiency_points(grid, device)
    for (point, spec), data, run_id, existing in stored(points, store, tasks, grid.data_root, force, "efficiency", progress,
                                                        point_of=lambda item: item[0]):
        if existing is not None:
            out.append((existing, True))
            continue
        if spec is None:
            size = int(data.pool.image(data.pool.ids[0]).shape[0])
            metrics = measure(point.name, size, BATCH, device, WARMUP, ITERS, data.pool.num_classes, point.seed)
            metrics = {k: metrics[k] for k in ("params", "latency_ms", "latency_ms_min", "throughput_img_s")}
            variants = {"timing": f"model.test_step, fp32, random weights, input {size} px, batch 1 latency (median of {ITERS}) "
                                  f"and batch {BATCH} throughput, {WARMUP} warm-up calls"}
        else:
            sources = load_sources(spec, tasks, point.dataset, grid.data_root, TaskRef(point.dataset, point.category, point.split, point.image_size))
            metrics = time_generator(spec, data.train, data.normals, sources, point.n_generated, point.seed)
            metrics["n_train"] = len(data.train)
            variants = {"timing": "generic interface: fit on the training pairs from a cold cache, then sample n pairs; "
                                  "wall-clock seconds", "generator": spec.to_dict()}
        record = {"schema": EFFICIENCY_SCHEMA, "run_id": run_id, "spec": asdict(point),
                  "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "data": {"manifest_hash": data.manifest_hash}, "metrics": metrics, "variants": variants,
                  "device_name": device_name(device), "provenance": provenance(device)}
        store.write(record)
        out.append((record, False))
    return out


def efficiency_row(record: dict) -> dict:
    spec, m = record["spec"], record["metrics"]
    return {"part": spec["part"], "name": spec["name"], "category": spec["category"], "seed": spec["seed"],
            "device": record["device_name"], **{k: m.get(k) for k in ("latency_ms", "throughput_img_s", "train_s", "pairs_per_s")}}


PROTOCOLS.register(Protocol("efficiency", "segmenter latency and throughput; generator training time and pairs/s, end to end on the device",
                            execute=run_efficiency, row=efficiency_row, defaults={"n_generated": 8}))
