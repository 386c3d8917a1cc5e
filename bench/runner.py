"""Execute one run spec: data -> generator -> segmenter -> metrics -> run record. Skips runs already done."""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from bench.core.errors import BenchError
from bench.data.base import load_pool
from bench.data.splits import make_split
from bench.metrics.benign import DEFAULT_RULES, load_rules
from bench.metrics.evaluate import evaluate_predictions
from bench.provenance import provenance
from bench.records import GeneratorFacts, RecordStore, Request, RunRecord, degenerate_note
from bench.records.schema import config_hash, portable_config
from bench.spec import RunSpec

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


def check_spec(spec: RunSpec):
    """Unknown names, bad generator parameters and missing weight files fail before any data is loaded or
    generated."""
    from generators.base import checked_params
    from segmenters import SCHEDULES, SEGMENTERS
    from segmenters.train import pretrained_path

    checked_params(spec.generator)
    seg_spec = SEGMENTERS.get(spec.segmenter)
    schedule = SCHEDULES.get(spec.schedule)
    if spec.pretrained and seg_spec.pretrained is not None:
        pretrained_path(seg_spec)
    return seg_spec, schedule


def manifest_hash_of(dataset: str, category: str, split: str, data_root: str | Path | None = None, progress: bool = False) -> str:
    """The hash of a category's split (ids and pixel hashes): with the spec, it makes the run id."""
    pool = load_pool(dataset, category, data_root, progress=progress)
    return make_split(pool, split).manifest_hash(pool)


def run_id_of(spec: RunSpec, data_root: str | Path | None = None, progress: bool = False) -> tuple[RunSpec, str]:
    """The effective spec and its run id (spec + data manifest), the key the record store skips by."""
    spec = spec.normalized()
    return spec, spec.run_id(manifest_hash_of(spec.dataset, spec.category, spec.split, data_root, progress))


def execute(
    spec: RunSpec,
    store: RecordStore,
    data_root: str | Path | None = None,
    force: bool = False,
    progress: bool = True,
) -> RunOutcome:
    """One run, or its existing record when the store has it (``force`` reruns)."""
    check_spec(spec)
    request = Request(None, "bench run", (spec.to_dict(),))
    spec, run_id = run_id_of(spec, data_root, progress)
    existing = None if force else store.get(run_id)
    if existing is not None:
        return RunOutcome(existing, store.path(run_id), skipped=True)
    record = compute_record(spec, data_root, progress, request)
    return RunOutcome(record, store.write(record), skipped=False)


def compute_record(spec: RunSpec, data_root: str | Path | None = None, progress: bool = True, request: Request | None = None) -> dict:
    """Data -> generator -> segmenter -> metrics, as a ``bench.run/2`` record; writing it is the caller's."""
    from generators import GENERATORS
    from generators.base import effective
    from generators.synthesize import synthesize
    from segmenters.train import train_and_evaluate

    spec = spec.normalized()
    seg_spec, schedule = check_spec(spec)
    device = torch.device(spec.device)

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    pool = load_pool(spec.dataset, spec.category, data_root, progress=progress)
    split = make_split(pool, spec.split)
    manifest_hash = split.manifest_hash(pool)
    run_id = spec.run_id(manifest_hash)
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
    cache_hit = cache_key = None
    if n_synthetic:
        synthetic, cache_hit = synthesize(spec.generator, train, normals, n_synthetic, spec.seed, progress=progress)
        train_sets.append(synthetic)
        cache_key = synthetic.root.name
    timings["generate_s"] = time.perf_counter() - t0

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    result = train_and_evaluate(
        seg_spec, train_sets, test, pool.num_classes, schedule, spec.seed, device, spec.pretrained, progress
    )
    timings["train_s"] = result.train_seconds
    timings["eval_s"] = result.eval_seconds

    evaluation = evaluate_predictions(test, result.predictions, pool.classes, spec.category, load_rules(DEFAULT_RULES))
    classes = {str(k): v for k, v in pool.classes.items()}
    config = portable_config(result.config)
    return RunRecord(
        run_id=run_id,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        spec=spec,
        request=request or Request(),
        generator=GeneratorFacts(spec.generator.name, GENERATORS.get(spec.generator.name).version, dict(spec.generator.params),
                                 effective(spec.generator), cache_key, cache_hit),
        segmenter={
            "name": seg_spec.name,
            "config": seg_spec.config,
            "config_hash": config_hash(config),
            "config_resolved": config,
            "num_classes": pool.num_classes,
            "num_params": result.num_params,
            "schedule": dict(schedule.__dict__),
            "pretrained": spec.pretrained,
            "pretrained_checkpoint": result.pretrained_checkpoint,
            "class_weight": result.class_weight,
            "input_size": result.input_size,
            "precision": result.precision,
            "loss_first": result.losses[0],
            "loss_last": result.losses[-1],
        },
        data={
            "manifest_hash": manifest_hash,
            "pool_hash": pool.content_hash(),
            "classes": classes,
            "n_train_real": len(train),
            "n_synthetic": n_synthetic,
            "n_normal_added": len(added_normals),
            "n_test": len(test),
            "n_test_normal": len(split.normal_test),
        },
        metrics=evaluation["metrics"],
        degenerate=degenerate_note(evaluation["confusion_matrix"], classes),
        confusion_matrix=evaluation["confusion_matrix"],
        class_areas=evaluation["class_areas"],
        benign=evaluation.get("benign"),
        metric_variants=evaluation["metric_variants"],
        timings=timings,
        resources=resources(device),
        provenance=provenance(device),
    ).to_dict()


def resources(device: torch.device) -> dict:
    """What the run held at its peak: packing decides how many runs share a device from these figures."""
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    out = {"torch_threads": torch.get_num_threads(), "peak_process_rss_bytes": peak_rss}
    if device.type == "cuda":
        out["peak_gpu_reserved_bytes"] = torch.cuda.max_memory_reserved(device)
        out["peak_gpu_allocated_bytes"] = torch.cuda.max_memory_allocated(device)
    return out
