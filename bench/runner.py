"""Execute one run spec: data -> generator -> segmenter -> metrics -> run record. Skips runs already done."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from bench.data.base import load_pool
from bench.data.splits import make_split
from bench.errors import BenchError
from bench.metrics.benign import DEFAULT_RULES, load_rules
from bench.metrics.evaluate import METRIC_VARIANTS, evaluate_predictions
from bench.provenance import provenance
from bench.spec import RunSpec
from bench.store import SCHEMA, RecordStore

log = logging.getLogger("bench.run")

@dataclass(frozen=True)
class RunOutcome:
    record: dict
    path: Path
    skipped: bool


def resolve_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise BenchError("--device cuda requested but no CUDA device is available", "use --device cpu or auto")
    if requested not in ("cpu", "cuda"):
        raise BenchError(f"unknown device '{requested}'", "choose auto, cpu or cuda")
    return torch.device(requested)


def pick_normals(available: tuple[str, ...], n: int, seed: int) -> tuple[str, ...]:
    """A seeded choice of ``n`` defect-free training images; fewer when the split has fewer (logged)."""
    if n > len(available):
        log.warning("asked for %d normal images, the split has %d: using all", n, len(available))
    order = np.random.default_rng(seed).permutation(len(available))
    return tuple(sorted(available[i] for i in order[: min(n, len(available))]))


def execute(
    spec: RunSpec,
    store: RecordStore,
    data_root: str | Path | None = None,
    force: bool = False,
    progress: bool = True,
) -> RunOutcome:
    from generators import GENERATORS
    from generators.synthesize import synthesize
    from segmenters import SCHEDULES, SEGMENTERS
    from segmenters.train import pretrained_path, train_and_evaluate

    spec = spec.normalized()
    GENERATORS.get(spec.generator.name)  # fail on unknown names before any work
    seg_spec = SEGMENTERS.get(spec.segmenter)
    schedule = SCHEDULES.get(spec.schedule)
    if spec.pretrained and seg_spec.pretrained is not None:
        pretrained_path(seg_spec)  # a missing weights file fails now, not after data and generation
    device = torch.device(spec.device)

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    pool = load_pool(spec.dataset, spec.category, data_root, progress=progress)
    split = make_split(pool, spec.split)
    manifest_hash = split.manifest_hash(pool)
    run_id = spec.run_id(manifest_hash)
    if store.has(run_id) and not force:
        return RunOutcome(store.read(run_id), store.path(run_id), skipped=True)
    timings["data_s"] = time.perf_counter() - t0

    train = pool.subset(split.train)
    normals = pool.subset(split.normal_train)
    test = pool.subset(split.test + split.normal_test)
    if spec.fill_to:
        n_synthetic = max(0, spec.fill_to - len(train))
    else:
        n_synthetic = int(round(spec.ratio * len(train)))
    added_normals = pick_normals(split.normal_train, int(round(spec.normal_ratio * len(train))), spec.seed)

    t0 = time.perf_counter()
    train_sets = [train, pool.subset(added_normals)] if added_normals else [train]
    cache_hit = None
    if n_synthetic:
        synthetic, cache_hit = synthesize(spec.generator, train, normals, n_synthetic, spec.seed, progress=progress)
        train_sets.append(synthetic)
    timings["generate_s"] = time.perf_counter() - t0

    result = train_and_evaluate(
        seg_spec, train_sets, test, pool.num_classes, schedule, spec.seed, device, spec.pretrained, progress
    )
    timings["train_s"] = result.train_seconds
    timings["eval_s"] = result.eval_seconds

    record = {
        "schema": SCHEMA,
        "run_id": run_id,
        "spec": spec.to_dict(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data": {
            "manifest_hash": manifest_hash,
            "pool_hash": pool.content_hash(),
            "classes": {str(k): v for k, v in pool.classes.items()},
            "n_train_real": len(train),
            "n_synthetic": n_synthetic,
            "n_normal_added": len(added_normals),
            "n_test": len(test),
            "n_test_normal": len(split.normal_test),
            "generator_cache_hit": cache_hit,
        },
        "segmenter": {
            "name": seg_spec.name,
            "config": seg_spec.config,
            "num_classes": pool.num_classes,
            "num_params": result.num_params,
            "schedule": {k: v for k, v in schedule.__dict__.items()},
            "pretrained": spec.pretrained,
            "pretrained_checkpoint": result.pretrained_checkpoint,
            "class_weight": result.class_weight,
            "input_size": result.input_size,
            "precision": result.precision,
            "loss_first": result.losses[0],
            "loss_last": result.losses[-1],
        },
        **evaluate_predictions(test, result.predictions, pool.classes, spec.category, load_rules(DEFAULT_RULES)),
        "metric_variants": METRIC_VARIANTS,
        "units": "fractions in [0, 1]",
        "timings": timings,
        "provenance": provenance(device),
    }
    path = store.write(record)
    return RunOutcome(record, path, skipped=False)
