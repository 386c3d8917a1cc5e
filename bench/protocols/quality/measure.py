"""Measuring a generated set's quality: the points of a quality grid settled into jobs (checks first, then
each point's data and run id), and the job that generates (cached), scores and returns one record.

The weight-free metrics (pixel statistics, memorization, defect contrast, mask alignment) are measured at
every point. FID/KID/IS and LPIPS/IC-LPIPS are measured where their network's weights are on disk; a point
without them leaves them out (``QualitySpec.left_out``, part of its id, so a rerun once the weights are there
measures them), and its record says which and why. Metrics of a network whose file is not the published one
are recorded apart, under ``unverified_metrics``, never among the metrics."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from bench.alignment import AlignmentSetup, mask_alignment
from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.pairset import PairSet
from bench.core.specs import BASE_VERSION, GeneratorSpec, TaskRef
from bench.data.tasks import TaskData, Tasks
from bench.executors import Job
from bench.metrics import quality as q
from bench.metrics.pixel_stats import PIXEL_STATS_VARIANT, pixel_stats
from bench.protocols.base import Grid, resolved_size
from bench.protocols.quality import QUALITY
from bench.provenance import provenance
from bench.runner import load_sources, resolved_settings, scheduled
from generators import GENERATORS
from generators.contrast import set_contrast
from generators.registry import build
from generators.sanity import memorization, thumbnail
from generators.synthesize import synthesize
from segmenters import SCHEDULES

REGIONS = ("image", "defect")
# Pictures generated per point, by size: the papers' count (DefectSynth IV-A3 generates 1,000 per defect type,
# AnomalyDiffusion 1,000 per anomaly type; a point here holds every type of its category) and a CPU check.
N_GENERATED = {"paper": 1000, "small": 50}
CONTRAST_GAP = "|median contrast of the generated pairs - median contrast of the real test defects| (generators/contrast.py)"
log = logging.getLogger("bench.quality")


@dataclass(frozen=True)
class QualitySpec:
    generator: GeneratorSpec  # with the profile of the grid's schedule when a learned one is given none
    dataset: str
    category: str
    split: str
    seed: int
    n_generated: int
    ic_lpips: str
    region: str  # LPIPS on whole images or on images masked to their defect region (IC-LPIPS(a))
    alignment_segmenter: str | None = None  # None: no mask alignment
    schedule: str = ""  # of the alignment segmenter
    pretrained: bool = False  # of the alignment segmenter
    image_size: str = ""  # the task's picture size (Grid.image_size); hashed only when set, so older ids hold
    lpips: str = q.DEFAULT_LPIPS  # LPIPS variant (bench.metrics.quality.LPIPS_VARIANTS)
    left_out: tuple[str, ...] = ()  # feature networks whose weights were missing: their metrics are not measured

    def to_dict(self) -> dict:
        """As records hold it: ``left_out`` only where something was (a point measured with weights reads as before)."""
        out = {**asdict(self), "generator": self.generator.to_dict(), "left_out": list(self.left_out)}
        return out if self.left_out else {k: v for k, v in out.items() if k != "left_out"}

    def run_id(self, manifest_hash: str) -> str:
        """A generator without parameters hashes as its bare name, so records from before specs keep their ids;
        the LPIPS variant and the networks left out join off their defaults and the generator's version past its
        first, as in run ids."""
        generator = self.generator.to_dict() if self.generator.params else self.generator.name
        spec = {k: v for k, v in asdict(self).items() if not (k in ("image_size", "left_out") and not v)}
        spec = {**spec, "generator": generator}
        if self.lpips == q.DEFAULT_LPIPS:
            del spec["lpips"]
        key = {"spec": spec, "data": manifest_hash}
        version = GENERATORS.get(self.generator.name).version
        if version != BASE_VERSION:
            key["generator_version"] = version
        return sha256_text(canonical_json(key))[:16]


def _arrays(pairs: PairSet, region: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    images = np.stack([pairs.image(i) for i in pairs.ids])
    masks = np.stack([pairs.mask(i) for i in pairs.ids])
    lpips_images = images * ((masks > 0) & (masks != 255))[..., None] if region == "defect" else images
    return images, masks, lpips_images.astype(np.uint8)


def _finite(value) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def weight_free(generated: PairSet, train: PairSet, real_test: PairSet, gen: tuple, real: tuple) -> tuple[dict, dict, dict]:
    """The metrics that need no network weights, the memorization and contrast blocks behind them."""
    metrics = {k: _finite(v) for k, v in pixel_stats(gen[0], gen[1], real[0], real[1]).items()}
    remembered = memorization(np.stack([thumbnail(image) for image in gen[0]]), np.stack([thumbnail(train.image(i)) for i in train.ids]))
    metrics["memorization"] = remembered["rate"]
    contrast = {"generated": set_contrast(generated), "real_test": set_contrast(real_test)}
    metrics["contrast"], metrics["contrast_real"] = contrast["generated"]["median"], contrast["real_test"]["median"]
    both = metrics["contrast"] is not None and metrics["contrast_real"] is not None
    metrics["contrast_gap"] = abs(metrics["contrast"] - metrics["contrast_real"]) if both else None
    return metrics, remembered, contrast


def alignment_setup(spec: QualitySpec, device: torch.device) -> AlignmentSetup | None:
    if spec.alignment_segmenter is None:
        return None
    return AlignmentSetup(spec.alignment_segmenter, SCHEDULES.get(spec.schedule), spec.seed, device.type, spec.pretrained)


@dataclass(frozen=True)
class QualityJob(Job):
    """One point: its spec and task data, the training pairs of the tasks its generator learns from, and each
    feature network's weights check (``bench.metrics.quality.check_weights``)."""

    point: QualitySpec
    run_id: str
    data: TaskData
    sources: tuple[tuple[TaskRef, PairSet], ...]
    networks: tuple[tuple[str, dict], ...]
    device: str

    @property
    def memory(self) -> tuple:
        return ("quality", self.point.dataset, self.point.category, self.point.image_size, self.device)

    def __str__(self) -> str:
        return f"quality/{self.point.generator}/{self.point.category}/seed {self.point.seed}"

    def compute(self, progress: bool) -> dict:
        """Generate (cached), score and record the point."""
        spec, data, device = self.point, self.data, torch.device(self.device)
        variant, lpips = q.ic_lpips_variant(spec.ic_lpips), q.lpips_variant(spec.lpips)
        checks = dict(self.networks)
        setup = alignment_setup(spec, device)
        train, real_test = data.train, data.pool.subset(data.split.test)
        generator, backend = spec.generator, build(spec.generator)
        generated, cache_hit = synthesize(generator, train, data.normals, spec.n_generated, spec.seed, progress, dict(self.sources),
                                          generator=backend)
        gen_images, gen_masks, gen_lpips = _arrays(generated, spec.region)
        real_images, real_masks, real_lpips = _arrays(real_test, spec.region)
        _, _, centres = _arrays(train, spec.region)
        if len(gen_images) < 2 or len(real_images) < 2:
            raise BenchError(f"quality needs at least 2 generated and 2 real test images, got {len(gen_images)} and {len(real_images)}",
                             "raise n_generated or use a split with more test defects")
        metrics, remembered, contrast = weight_free(generated, train, real_test, (gen_images, gen_masks), (real_images, real_masks))
        inception, backbone = q.feature_networks(variant)
        measured, ic = {inception.name: {}, backbone.name: {}}, None
        if inception.name not in spec.left_out:
            measured[inception.name] = q.fidelity_metrics(gen_images, real_images, Path(checks[inception.name]["path"]), device)
        if backbone.name not in spec.left_out:
            model = q.lpips_model(variant.net, Path(checks[backbone.name]["path"]), device)
            ic = q.ic_lpips(model, gen_lpips, centres, variant, spec.seed, device)
            measured[backbone.name] = {"LPIPS": lpips.measure(model, gen_lpips, real_lpips, device), "IC_LPIPS": ic.pop("IC_LPIPS")}
        unverified = {}
        for name, values in measured.items():
            (metrics if checks[name]["status"] == q.PUBLISHED else unverified).update(values)
        alignment = None
        if setup is not None:
            alignment = mask_alignment(generated, train, setup, reference=real_test, progress=progress)
            metrics["alignment_IoU"], metrics["alignment_IoU_real"] = alignment["generated"]["IoU_defect"], alignment["reference"]["IoU_defect"]
        networks = {net.name: {**checks[net.name], "metrics": list(net.metrics), "note": q.weights_note(checks[net.name])}
                    for net in (inception, backbone)}
        return {
            "schema": QUALITY.schema,
            "run_id": self.run_id,
            "spec": spec.to_dict(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "data": {"manifest_hash": data.manifest_hash, "n_generated": len(gen_images), "n_real_test": len(real_images),
                     "n_centres": len(centres), "generator_cache_hit": cache_hit},
            "generator": {"version": GENERATORS.get(generator.name).version, "resolved": resolved_settings(backend, train)},
            "metrics": metrics,
            "unverified_metrics": unverified,
            "left_out": {name: {"metrics": networks[name]["metrics"], "why": networks[name]["note"]} for name in spec.left_out},
            "networks": networks,
            "ic_lpips_clusters": ic,
            "contrast": contrast,
            "memorization": remembered,
            "alignment": alignment,
            "variants": {
                "ic_lpips": variant.name,
                "ic_lpips_detail": q.variant_record(variant),
                "fid_kid_is": "torch-fidelity, Inception v3 (2015-12-05) pool3 features, generated vs real test defects",
                "lpips_variant": lpips.name,
                "lpips": f"lpips {variant.net} v0.1, {lpips.pairs}",
                "n_generated": size_note(spec.n_generated),
                "region": spec.region,
                "contrast": contrast["generated"]["variant"],
                "contrast_gap": CONTRAST_GAP,
                "pixel_stats": f"generated vs real test defects; {PIXEL_STATS_VARIANT}",
                "memorization": f"{remembered['variant']}; rate of generated pictures below {remembered['threshold']} of a real "
                                "training picture",
                "alignment": None if alignment is None else {"detail": alignment["variant"], **alignment["setup"]},
            },
            "weights": {check["file"]: check["path"] for name, check in checks.items() if name not in spec.left_out},
            "provenance": provenance(device),
        }


def quality_jobs(grid: Grid, tasks: Tasks) -> list[QualityJob]:
    """Every point of the grid, settled: a bad variant, region or generator or a missing alignment segmenter
    fails here, before any generation. A feature network whose weights are missing is left out of the points
    (said once here, and in every record)."""
    device = resolve_device(grid.device)
    jobs = []
    for spec in quality_specs(grid):
        variant = q.ic_lpips_variant(spec.ic_lpips)
        q.lpips_variant(spec.lpips)
        if spec.region not in REGIONS:
            raise BenchError(f"unknown LPIPS region '{spec.region}'", f"choose one of: {', '.join(REGIONS)}")
        if spec.generator.name == "none":
            raise BenchError("generator 'none' produces no images to score", "choose another generator for the quality protocol")
        checks = {net.name: q.check_weights(net.file) for net in q.feature_networks(variant)}
        spec = replace(spec, left_out=tuple(name for name, check in checks.items() if check["status"] == q.MISSING))
        setup = alignment_setup(spec, device)
        if setup is not None:
            setup.check()
        task = TaskRef(spec.dataset, spec.category, spec.split, spec.image_size)
        data = tasks.load(task, grid.data_root)
        sources = load_sources(spec.generator, tasks, spec.dataset, grid.data_root, task)
        jobs.append(QualityJob(spec, spec.run_id(data.manifest_hash), data, tuple(sources.items()), tuple(checks.items()), device.type))
    _say_what_is_not_shown(jobs)
    return jobs


def _say_what_is_not_shown(jobs: list[QualityJob]) -> None:
    notes = {(name, check["status"]): q.weights_note(check) for job in jobs for name, check in job.networks
             if check["status"] != q.PUBLISHED}
    for (name, status), note in sorted(notes.items()):
        what = "left out" if status == q.MISSING else "measured but not shown"
        log.warning("quality: %s metrics %s: %s", name, what, note)


def size_note(n: int) -> str:
    """What a count of generated pictures is, against the papers' (recorded, and shown in the table's caption)."""
    named = {v: k for k, v in N_GENERATED.items()}.get(n, "given")
    paper = N_GENERATED["paper"]
    return f"{n} ({named}" + ("" if n == paper else f"; the papers generate {paper:,}") + ")"


def quality_specs(grid: Grid) -> list[QualitySpec]:
    aligned = grid.alignment and bool(grid.segmenters)
    alignment = (grid.segmenters[0], grid.schedule, grid.pretrained) if aligned else (None, "", False)
    n = grid.n_generated or N_GENERATED[resolved_size(grid)]
    return [
        QualitySpec(scheduled(g, grid.schedule), grid.dataset, category, grid.split, seed, n, grid.ic_lpips, grid.lpips_region,
                    *alignment, image_size=grid.image_size, lpips=grid.lpips)
        for g in grid.generators
        for category in grid.categories
        for seed in grid.seeds
    ]
