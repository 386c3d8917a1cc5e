"""Run records made by hand, in the layouts bench writes: ``bench.run/2`` now, ``bench.run/1`` as written
before the schema was versioned (kept here so migration is tested on exactly that layout)."""

from __future__ import annotations

from bench.core.hashing import canonical_json, sha256_text
from bench.core.specs import GeneratorSpec
from bench.records import GeneratorFacts, Request, RunRecord
from bench.spec import LEGACY_IDENTITY, RunSpec

CLASSES = {"0": "background", "1": "scratch", "2": "stain"}
AREAS = ([[90, 10, 0], [100, 0, 0]], [[95, 5, 0], [99, 1, 0]])  # per test image: gt and predicted pixels per class
CONFUSION = [[180, 5, 0], [4, 6, 0], [0, 0, 5]]


def manifest_of(dataset: str, category: str, split: str) -> str:
    """A stand-in split manifest hash: one per task, as the real one is."""
    return sha256_text(f"{dataset}/{category}/{split}")


def spec_of(generator: str = "none", params: dict | None = None, **fields) -> RunSpec:
    return RunSpec(generator=GeneratorSpec.of(generator, **(params or {})), **fields)


def run_record(
    generator: str = "none",
    ratio: float = 0.0,
    seed: int = 0,
    miou: float = 0.5,
    *,
    params: dict | None = None,
    version: str = "1",
    protocol: str | None = "synthetic-ratio",
    created: str = "2025-01-01T00:00:00+00:00",
    metrics: dict | None = None,
    areas=AREAS,
    confusion=CONFUSION,
    manifest: str | None = None,
    **fields,
) -> RunRecord:
    """A valid ``bench.run/2`` record; ``fields`` are any other RunSpec fields."""
    spec = spec_of(generator, params, ratio=ratio, seed=seed, **fields)
    manifest = manifest or manifest_of(spec.dataset, spec.category, spec.split)
    gt, pred = areas
    return RunRecord(
        run_id=spec.run_id(manifest, version),
        created=created,
        spec=spec,
        request=Request(protocol, "grid.yaml" if protocol else "bench run", (spec.to_dict(),)),
        generator=GeneratorFacts(generator, version, dict(params or {}), dict(params or {}), None, None),
        segmenter={"name": spec.segmenter, "config": f"{spec.segmenter}.py", "config_hash": "0" * 64, "config_resolved": {"model": {}}},
        data={"manifest_hash": manifest, "classes": CLASSES},
        metrics=metrics if metrics is not None else {"mIoU": miou, "mIoU_defect": miou / 2, "pixel_AUROC": 0.9, "image_AUROC": None},
        confusion_matrix=confusion,
        class_areas={"ids": ["a", "b"], "gt": gt, "pred": pred},
    )


def v1_record(spec: RunSpec, manifest: str, miou: float = 0.5, created: str = "2024-06-01T12:00:00+00:00") -> dict:
    """A record exactly as bench wrote ``bench.run/1``: every spec field hashed into the run id, the
    generator's cache hit under ``data``, no request, generator or config-hash blocks."""
    v1_spec = {k: v for k, v in spec.to_dict().items() if k in LEGACY_IDENTITY}  # the fields bench.run/1 had
    return {
        "schema": "bench.run/1",
        "run_id": sha256_text(canonical_json({"spec": v1_spec, "data": manifest}))[:16],
        "spec": v1_spec,
        "created": created,
        "data": {"manifest_hash": manifest, "pool_hash": "p" * 64, "classes": CLASSES, "n_train_real": 15, "n_synthetic": 0,
                 "n_normal_added": 0, "n_test": 2, "n_test_normal": 1, "generator_cache_hit": None},
        "segmenter": {"name": spec.segmenter, "config": f"{spec.segmenter}.py", "num_classes": 3, "num_params": 1000,
                      "schedule": {"name": spec.schedule, "iters": 20, "batch_size": 4, "crop_size": None, "lr_scale": 1.0,
                                   "eval_batch_size": 8},
                      "pretrained": spec.pretrained, "pretrained_checkpoint": None, "class_weight": None, "input_size": 64,
                      "precision": "fp32", "loss_first": 1.2, "loss_last": 0.4},
        "metrics": {"mIoU": miou, "mIoU_defect": None, "mDice": 0.5, "per_class": {"background": {"IoU": 0.9, "Dice": None, "Acc": 1.0}}},
        "confusion_matrix": [[190, 0, 0], [10, 0, 0], [5, 0, 0]],
        "class_areas": {"ids": ["a", "b"], "gt": AREAS[0], "pred": AREAS[1]},
        "benign": None,
        "metric_variants": {"mIoU": "..."},
        "units": "fractions in [0, 1]",
        "timings": {"data_s": 0.1},
        "resources": {"torch_threads": 1},
        "provenance": {"bench_version": "0.1.0"},
    }


def quality_record(generator: str = "copy-paste", category: str = "wood", seed: int = 0, metrics: dict | None = None, *,
                   networks: str | None = "published", left_out: tuple[str, ...] = (), created: str = "2025-01-01T00:00:00+00:00",
                   **spec) -> dict:
    """A valid ``bench.quality/1`` record of the toy task; ``networks``: the status of both feature networks' weights
    (``published``, ``unverified``, ``missing``; None: a record from before the weights were checked)."""
    spec = {"generator": {"name": generator, "params": {}}, "dataset": "toy", "category": category, "split": "ds-5shot", "seed": seed,
            "n_generated": 50, "ic_lpips": "bench", "region": "image", **({"left_out": list(left_out)} if left_out else {}), **spec}
    record = {"schema": "bench.quality/1", "run_id": sha256_text(canonical_json(spec))[:16], "spec": spec, "created": created,
              "generator": {"version": "1", "resolved": {}}, "metrics": dict(metrics or {}), "variants": {"ic_lpips": "bench"}}
    if networks is not None:
        files = {"inception": ("weights-inception-2015-12-05-6726825d.pth", ["FID", "KID_mean", "KID_std", "IS_mean", "IS_std"]),
                 "lpips-alex": ("alexnet-owt-7be5be79.pth", ["LPIPS", "IC_LPIPS"])}
        record["networks"] = {name: {"file": file, "path": f"/w/checkpoints/{file}", "status": networks, "metrics": metrics_of,
                                     "sha256": None if networks == "missing" else "0" * 64, "note": ""}
                              for name, (file, metrics_of) in files.items()}
    return record
