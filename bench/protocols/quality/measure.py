"""Measuring a generated set's quality: the points of a quality grid settled into jobs (checks first, then
each point's data and run id), and the job that generates (cached), scores and returns one record."""

from __future__ import annotations

from dataclasses import asdict, dataclass
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
from bench.protocols.base import Grid, resolved_size
from bench.protocols.quality import QUALITY
from bench.provenance import provenance
from bench.runner import load_sources, resolved_settings, scheduled
from generators import GENERATORS
from generators.contrast import set_contrast
from generators.registry import build
from generators.synthesize import synthesize
from segmenters import SCHEDULES

REGIONS = ("image", "defect")
# Pictures generated per point, by size: the papers' count (DefectSynth IV-A3 generates 1,000 per defect type,
# AnomalyDiffusion 1,000 per anomaly type; a point here holds every type of its category) and a CPU check.
N_GENERATED = {"paper": 1000, "small": 50}


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

    def to_dict(self) -> dict:
        return {**asdict(self), "generator": self.generator.to_dict()}

    def run_id(self, manifest_hash: str) -> str:
        """A generator without parameters hashes as its bare name, so records from before specs keep their ids;
        the LPIPS variant joins off its default and the generator's version past its first, as in run ids."""
        generator = self.generator.to_dict() if self.generator.params else self.generator.name
        spec = {k: v for k, v in asdict(self).items() if not (k == "image_size" and v == "")}
        spec = {**spec, "generator": generator}
        if self.lpips == q.DEFAULT_LPIPS:
            del spec["lpips"]
        key = {"spec": spec, "data": manifest_hash}
        version = GENERATORS.get(self.generator.name).version
        if version != BASE_VERSION:
            key["generator_version"] = version
        return sha256_text(canonical_json(key))[:16]


def _arrays(pairs: PairSet, region: str) -> tuple[np.ndarray, np.ndarray]:
    images = np.stack([pairs.image(i) for i in pairs.ids])
    masks = np.stack([pairs.mask(i) for i in pairs.ids])
    lpips_images = images * ((masks > 0) & (masks != 255))[..., None] if region == "defect" else images
    return images, lpips_images.astype(np.uint8)


def alignment_setup(spec: QualitySpec, device: torch.device) -> AlignmentSetup | None:
    if spec.alignment_segmenter is None:
        return None
    return AlignmentSetup(spec.alignment_segmenter, SCHEDULES.get(spec.schedule), spec.seed, device.type, spec.pretrained)


@dataclass(frozen=True)
class QualityJob(Job):
    """One point: its spec and task data, the training pairs of the tasks its generator learns from, the weights."""

    point: QualitySpec
    run_id: str
    data: TaskData
    sources: tuple[tuple[TaskRef, PairSet], ...]
    weights: tuple[tuple[str, Path], ...]
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
        weights = dict(self.weights)
        setup = alignment_setup(spec, device)
        train, real_test = data.train, data.pool.subset(data.split.test)
        generator, backend = spec.generator, build(spec.generator)
        generated, cache_hit = synthesize(generator, train, data.normals, spec.n_generated, spec.seed, progress, dict(self.sources),
                                          generator=backend)
        gen_images, gen_lpips = _arrays(generated, spec.region)
        real_images, real_lpips = _arrays(real_test, spec.region)
        _, centres = _arrays(train, spec.region)
        if len(gen_images) < 2 or len(real_images) < 2:
            raise BenchError(f"quality needs at least 2 generated and 2 real test images, got {len(gen_images)} and {len(real_images)}",
                             "raise n_generated or use a split with more test defects")
        metrics = q.fidelity_metrics(gen_images, real_images, weights[q.INCEPTION_FILE], device)
        model = q.lpips_model(variant.net, weights[q.BACKBONE_FILES[variant.net]], device)
        metrics["LPIPS"] = lpips.measure(model, gen_lpips, real_lpips, device)
        ic = q.ic_lpips(model, gen_lpips, centres, variant, spec.seed, device)
        metrics["IC_LPIPS"] = ic.pop("IC_LPIPS")
        contrast = {"generated": set_contrast(generated), "real_test": set_contrast(real_test)}
        metrics["contrast"], metrics["contrast_real"] = contrast["generated"]["median"], contrast["real_test"]["median"]
        alignment = None
        if setup is not None:
            alignment = mask_alignment(generated, train, setup, reference=real_test, progress=progress)
            metrics["alignment_IoU"], metrics["alignment_IoU_real"] = alignment["generated"]["IoU_defect"], alignment["reference"]["IoU_defect"]
        return {
            "schema": QUALITY.schema,
            "run_id": self.run_id,
            "spec": spec.to_dict(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "data": {"manifest_hash": data.manifest_hash, "n_generated": len(gen_images), "n_real_test": len(real_images),
                     "n_centres": len(centres), "generator_cache_hit": cache_hit},
            "generator": {"version": GENERATORS.get(generator.name).version, "resolved": resolved_settings(backend, train)},
            "metrics": metrics,
            "ic_lpips_clusters": ic,
            "contrast": contrast,
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
                "alignment": None if alignment is None else {"detail": alignment["variant"], **alignment["setup"]},
            },
            "weights": {k: str(v) for k, v in weights.items()},
            "provenance": provenance(device),
        }


def quality_jobs(grid: Grid, tasks: Tasks) -> list[QualityJob]:
    """Every point of the grid, settled: a bad variant, region or generator, a missing weights file or alignment
    segmenter fails here, before any generation."""
    device = resolve_device(grid.device)
    jobs = []
    for spec in quality_specs(grid):
        variant = q.ic_lpips_variant(spec.ic_lpips)
        q.lpips_variant(spec.lpips)
        if spec.region not in REGIONS:
            raise BenchError(f"unknown LPIPS region '{spec.region}'", f"choose one of: {', '.join(REGIONS)}")
        if spec.generator.name == "none":
            raise BenchError("generator 'none' produces no images to score", "choose another generator for the quality protocol")
        weights = q.weight_paths(q.required_weights(variant))
        setup = alignment_setup(spec, device)
        if setup is not None:
            setup.check()
        task = TaskRef(spec.dataset, spec.category, spec.split, spec.image_size)
        data = tasks.load(task, grid.data_root)
        sources = load_sources(spec.generator, tasks, spec.dataset, grid.data_root, task)
        jobs.append(QualityJob(spec, spec.run_id(data.manifest_hash), data, tuple(sources.items()),
                               tuple(weights.items()), device.type))
    return jobs


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
