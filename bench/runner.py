"""One run spec: resolve it once (effective spec, generator, data, run id), then data -> generator -> segmenter
-> metrics -> run record. Whether it runs at all (its record may exist) is the resume loop's
(``bench.protocols.execute``).

What a run settles it settles once and hands down: the spec is made effective once (``resolve``; a grid, which
collapses its points to distinct runs first, calls ``settle`` on effective specs), the generator's parameters are
checked and its backend built once (``generators.registry.built``), the benign rules are read once to check they
can fire on the task's classes.
"""

from __future__ import annotations

import copy
import logging
import resource
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from bench.core.errors import BenchError
from bench.core.pairset import PairSet
from bench.core.params import Task
from bench.core.specs import GeneratorSpec, TaskRef
from bench.data.base import dataset_categories
from bench.data.relabel import by_class, class_ids, merge_defects, parse_class_map, relabel, untested, within
from bench.data.tasks import TaskData, Tasks
from bench.metrics.benign import DEFAULT_RULES, load_rules
from bench.metrics.evaluate import evaluate_predictions
from bench.metrics.segmentation import BINARY_CLASSES
from bench.provenance import provenance
from bench.records import GeneratorFacts, Request, RunRecord, degenerate_note
from bench.records.schema import config_hash, portable_config
from bench.spec import SOURCE_SPLIT, RunSpec
from generators import GENERATORS
from generators.base import Generator
from generators.imports.common import SPLIT_PREFIX
from generators.leakage import find_leaks, read_list, refuse_leaks
from generators.registry import Built, built, cotrained_tasks, source_tasks, transfer_method
from generators.synthesize import fitted_state, mask_findings, synthesize
from segmenters import SCHEDULES, SEGMENTERS, Schedule, SegmenterSpec
from segmenters.config import pretrained_path
from segmenters.loop import TrainingSeeds
from segmenters.train import train_and_evaluate

log = logging.getLogger("bench.run")


@dataclass(frozen=True)
class Streams:
    """The seed of every random stream of a run. A run takes all of them from its seed (``of``); the variance
    benchmark (``bench.perf.variance``) holds all but one fixed. The generator's fitting has its own seed in the
    spec (``RunSpec.generator_seed``)."""

    training: TrainingSeeds  # the segmenter's initial weights, its batches, its dropout
    synthesis: int  # which pairs the generator samples
    normals: int  # which defect-free images a normal-data run adds

    @classmethod
    def of(cls, seed: int) -> "Streams":
        return cls(TrainingSeeds.of(seed), seed, seed)


def pick_normals(available: tuple[str, ...], n: int, seed: int) -> tuple[str, ...]:
    """A seeded choice of ``n`` defect-free training images; fewer when the split has fewer (logged)."""
    if n > len(available):
        log.warning("asked for %d normal images, the split has %d: using all", n, len(available))
    order = np.random.default_rng(seed).permutation(len(available))
    return tuple(sorted(available[i] for i in order[: min(n, len(available))]))


def effective_spec(spec: RunSpec) -> RunSpec:
    """The spec as it runs: ratio 0 is the shared real-only baseline (``RunSpec.normalized``), and a learned
    generator given no ``profile`` trains at the profile its backend declares for the run's schedule
    (``Generator.schedule_profiles``; the schedule's own name otherwise), written into its parameters so
    the run id and the record say which."""
    spec = spec.normalized()
    return replace(spec, generator=scheduled(spec.generator, spec.schedule))


def scheduled(generator: GeneratorSpec, schedule: str) -> GeneratorSpec:
    """The generator with the profile its backend declares for ``schedule`` (``Generator.schedule_profiles``,
    the schedule's own name otherwise), unless it was given one or takes none."""
    params = dict(generator.params)
    backend = GENERATORS.get(generator.name)
    if "profile" in params or "profile" not in backend.declared():
        return generator
    return GeneratorSpec.of(generator.name, **params, profile=backend.schedule_profiles.get(schedule, schedule))


def check_spec(spec: RunSpec) -> tuple[SegmenterSpec, Schedule]:
    """Unknown segmenter and schedule names and missing weight files fail before any data is loaded or
    generated (the generator's parameters are checked as ``settle`` builds it)."""
    seg_spec = SEGMENTERS.get(spec.segmenter)
    schedule = SCHEDULES.get(spec.schedule)
    if spec.pretrained and seg_spec.pretrained is not None:
        pretrained_path(seg_spec)
    return seg_spec, schedule


@dataclass(frozen=True)
class ResolvedRun:
    """One run, settled once before any work and passed down whole: the effective spec, its segmenter and
    schedule, its generator (built, not fitted), the task's data, the training pairs of other tasks its generator
    learns from, the run id."""

    spec: RunSpec
    segmenter: SegmenterSpec
    schedule: Schedule
    data: TaskData
    sources: tuple[tuple[TaskRef, PairSet], ...]
    run_id: str
    generator: Built = field(compare=False)  # compared by the spec: a backend has no equality of its own
    transfer: TaskData | None = None  # transfer: the source task whose training pairs the generator learns from
    cotrained: tuple[TaskRef, ...] = ()  # the products one fitting of the generator learns from (``Generator.cotrained_tasks``)

    def on_disk(self) -> bool:
        """Whether this machine sees every pair set the run reads (a worker on another node may not)."""
        own = self.data.on_disk() and (self.transfer is None or self.transfer.on_disk())
        return own and all((pairs.root / "meta.json").is_file() for _, pairs in self.sources)

    @property
    def fitting(self) -> tuple | None:
        """The trained generator this run shares with others (one fitting per generator seed; a model over several
        products, one per seed across their runs), or None when its generator trains nothing or trains for this
        run alone: executors start other runs beside the one training it rather than several that would wait on
        its lock."""
        spec = self.spec
        synthesizes = spec.ratio > 0 or bool(spec.fill_to)
        if not synthesizes or not GENERATORS.get(spec.generator.name).needs_training:
            return None
        if self.cotrained:  # one model over several products: the runs of each of them share it, seed by seed
            seed = spec.seed if spec.generator_seed is None else spec.generator_seed
            target = (spec.dataset, spec.category, spec.split) if spec.source else ()  # a transfer's fitting learns its normals
            return (spec.generator, tuple(sorted(map(str, self.cotrained))), target, spec.schedule, seed)
        if spec.generator_seed is None:
            return None
        return (spec.generator, spec.dataset, spec.category, spec.split, spec.image_size, spec.source, spec.schedule, spec.generator_seed)

    @property
    def generator_train(self) -> PairSet:
        """The defect pairs the generator fits: the run's own training pairs, or a transfer source's."""
        return self.data.train if self.transfer is None else self.transfer.train


def load_sources(
    generator: GeneratorSpec, tasks: Tasks, dataset: str, data_root: str | Path | None, task: TaskRef | None = None,
    target: TaskRef | None = None,
) -> dict[TaskRef, PairSet]:
    """The training pairs of the tasks a generator's ``Task`` parameters name and, given the ``task`` it fits
    (the run's, or a transfer's source), the training pairs and normals of the products it is co-trained with
    (``cotrained``); a source of the run's own dataset is read from the run's data root, any other from
    bench's cache or its embedded data."""
    image_size = task.image_size if task is not None else ""
    return source_pairs(generator, tasks, dataset, data_root, cotrained(generator, dataset, data_root, task, target), image_size)


def source_pairs(
    generator: GeneratorSpec, tasks: Tasks, dataset: str, data_root: str | Path | None, shared: tuple[TaskRef, ...],
    image_size: str = "",
) -> dict[TaskRef, PairSet]:
    """``load_sources`` for the co-trained products ``shared``; the tasks the generator's parameters name are
    read at ``image_size``, the run's picture size (co-trained products carry the fitted task's)."""
    def root(ref: TaskRef):
        return data_root if ref.dataset == dataset else None

    sources = {ref: tasks.load(sized(ref, image_size), root(ref)).train for ref in source_tasks(generator)}
    for ref in shared:
        loaded = tasks.load(ref, root(ref))
        sources[ref] = loaded.pool.subset(dict.fromkeys(loaded.split.train + loaded.split.normal_train))
    return sources


def cotrained(
    generator: GeneratorSpec, dataset: str, data_root: str | Path | None, task: TaskRef | None, target: TaskRef | None = None,
    params: dict | None = None,
) -> tuple[TaskRef, ...]:
    """The products one fitting of the generator learns from with ``task`` (``Generator.cotrained_tasks``), less
    a transfer's ``target``, whose defects it must never see (its normals reach the generator as normals);
    ``params``: its checked parameters, where a run holds them already."""
    if task is None:
        return ()
    root = data_root if task.dataset == dataset else None
    refs = cotrained_tasks(generator, task, lambda: dataset_categories(task.dataset, root), params)
    return tuple(r for r in refs if target is None or (r.dataset, r.category) != (target.dataset, target.category))


def sized(task: TaskRef, image_size: str) -> TaskRef:
    """Another task the run reads (a generator's source, a transfer source) at the run's picture size."""
    return task if task.image_size or not image_size else replace(task, image_size=image_size)


def resolve(spec: RunSpec, data_root: str | Path | None = None, tasks: Tasks | None = None) -> ResolvedRun:
    """Settle a spec as asked: its effective spec (``effective_spec``), then ``settle``."""
    return settle(effective_spec(spec), data_root, tasks)


def settle(spec: RunSpec, data_root: str | Path | None = None, tasks: Tasks | None = None) -> ResolvedRun:
    """Settle an effective spec: names and weights checked and the generator built, then the data loaded
    (through ``tasks``, which a grid shares so each category is loaded once), the benign rules checked against
    its classes, an import checked against its test pictures, and the run id."""
    tasks = tasks or Tasks()
    segmenter, schedule = check_spec(spec)
    generator = built(spec.generator)
    if spec.source:
        check_transfer(spec.generator, generator.params)
    own = spec.task
    data = tasks.load(own, data_root)
    load_rules(DEFAULT_RULES).check(data.pool.classes, spec.category, spec.dataset)  # a rule that cannot fire fails now
    transfer, fits, scope = None, own, ""
    if spec.source:
        fits = sized(Task(SOURCE_SPLIT).parse(spec.source), spec.image_size)
        transfer = tasks.load(fits, data_root if fits.dataset == spec.dataset else None)
        moved = class_ids(transfer.pool.classes, data.pool.classes, parse_class_map(spec.class_map), f"transfer {fits} -> {spec.category}")
        if not data.split.normal_train:
            raise BenchError(f"transfer {fits} -> {own}: the target has no defect-free training image to put the defects on",
                             "use a target split with normals in its training part (zero-shot keeps them)")
        left_out = untested(moved, data.pool.classes)  # a narrower test than every target defect: a run of its own
        scope = f"+{transfer.manifest_hash}" + (f"+untested:{','.join(left_out)}" if left_out else "")
    target = own if transfer is not None else None
    shared = cotrained(spec.generator, spec.dataset, data_root, fits, target, generator.params) if spec.synthetic else ()
    sources = source_pairs(spec.generator, tasks, spec.dataset, data_root, shared, spec.image_size) if spec.synthetic else {}
    if spec.synthetic and generator.generator.kind == "import":
        learn_from = data.train if transfer is None else transfer.train
        check_import(generator.generator, spec, data, tasks, data_root, synthetic_count(spec, len(data.train), len(learn_from)))
    others = sorted((r for r in shared if r not in (own, fits)), key=str)  # products the generator also learns from
    scope += "".join(f"+{tasks.load(r, data_root if r.dataset == spec.dataset else None).manifest_hash}" for r in others)
    run_id = versioned_run_id(spec, data.manifest_hash + scope)
    return ResolvedRun(spec, segmenter, schedule, data, tuple(sources.items()), run_id, generator, transfer, shared)


def check_transfer(spec: GeneratorSpec, params: dict | None = None) -> None:
    """A transfer needs a generator that puts the source's defects on pictures of the target product
    (``Generator.transfers``): a whole-image generator would hand the segmenter source pictures labelled as target
    defects. One line, before any data is loaded. ``params``: the spec's checked parameters, where a run holds them."""
    if not transfer_method(spec, params):
        able = ", ".join(n for n in GENERATORS.names() if GENERATORS.get(n).transfers)
        raise BenchError(f"generator '{spec.name}' cannot move defects onto another product's pictures: its pairs would show "
                         "the source product labelled as the target's defects", f"use one that can ({able})")


def training_facts(generator: Generator, dataset: str) -> dict:
    """What an import's tool was trained on (a list file, ``split:PRESET`` or None) and how that is known."""
    trained_on, known = generator.training(dataset)
    return {"trained_on": trained_on, "known_from": known}


def import_training(generator: Generator, spec: RunSpec, tasks: Tasks, data_root) -> tuple[list[tuple[str, np.ndarray]], dict]:
    """The images an import's tool was trained on, where known, and how that is known (recorded with the run)."""
    facts = training_facts(generator, spec.dataset)
    trained_on = facts["trained_on"]
    if trained_on is None:
        return [], facts
    if trained_on.startswith(SPLIT_PREFIX):
        trained = tasks.load(replace(spec.task, split=trained_on.removeprefix(SPLIT_PREFIX)), data_root)
        pool = trained.pool
        return [(f"{spec.dataset}/{spec.category}/{i}", pool.image(i)) for i in trained.split.train], facts
    return read_list(Path(trained_on)), facts


def synthetic_count(spec: RunSpec, n_train: int, n_learn: int) -> int:
    """The synthetic pairs a run adds: ``fill_to`` less the real training pairs, or ``ratio`` x the pairs the
    generator learns from."""
    if spec.fill_to:
        return max(0, spec.fill_to - (0 if spec.synthetic_only else n_train))
    return int(round(spec.ratio * n_learn))


def check_import(generator: Generator, spec: RunSpec, data: TaskData, tasks: Tasks, data_root, n: int) -> dict:
    """An import's pairs (``generator``, built from ``spec.generator``) and its tool's training images do not
    overlap the run's test images (same pixels or a near-duplicate; on a crop view, the test crops and the whole
    pictures they were cut from), and it holds the ``n`` pairs the run asks for at the task's image size: each an
    error naming the files, before anything trains."""
    trained, facts = import_training(generator, spec, tasks, data_root)
    outputs = list(generator.output_images())
    for test in (t for t in (data.test, data.test_pictures) if t is not None):
        refuse_leaks(spec.generator.name, find_leaks([*trained, *outputs], test), len(test))
    path = dict(spec.generator.params).get("path")
    if n > len(outputs):
        raise BenchError(f"{spec.generator.name}: the run asks for {n} pairs but {path} holds {len(outputs)}",
                         f"ask for at most {len(outputs)} (lower --ratio or --fill-to) or import more outputs")
    size = data.pool.image(data.split.train[0]).shape[:2] if data.split.train else None
    odd = next(((name, image.shape[:2]) for name, image in outputs if size is not None and image.shape[:2] != size), None)
    if odd is not None:
        raise BenchError(f"{spec.generator.name}: {Path(odd[0]).name} under {path} is {odd[1][1]}x{odd[1][0]}, the task's training "
                         f"images are {size[1]}x{size[0]}", "import outputs at the task's image size (a crop view's crop size)")
    return facts


def labelled(pairs: PairSet, labels: str) -> PairSet:
    """``pairs`` with the labels the segmenter learns (``RunSpec.labels``)."""
    return pairs if labels == "classes" else merge_defects(pairs, BINARY_CLASSES)


def versioned_run_id(spec: RunSpec, manifest_hash: str) -> str:
    """The run id with the registered backend's version: a changed algorithm is a new run, never a stale record."""
    return spec.run_id(manifest_hash, GENERATORS.get(spec.generator.name).version)


def compute_record(run: ResolvedRun, progress: bool = True, request: Request | None = None, streams: Streams | None = None) -> dict:
    """Data -> generator -> segmenter -> metrics, as a ``bench.run/2`` record; writing it is the caller's.
    ``streams`` moves single random streams away from the run's seed (the variance benchmark): such a record
    is not the run its id names, so it never goes into a store of runs.

    Fitting changes a generator, so the run fits a copy of the one it settled with (as an executor's worker
    process does with its pickled copy): the settled run stays as settled, a retry starts from an unfitted
    generator, and the trained networks go with the record rather than stay with a grid's list of runs."""
    spec, data, schedule = run.spec, run.data, run.schedule
    generator = copy.deepcopy(run.generator.generator)
    streams = streams or Streams.of(spec.seed)
    device = torch.device(spec.device)
    pool, split = data.pool, data.split
    timings: dict[str, float] = {"data_s": data.seconds}

    train, normals, test = data.train, data.normals, data.test
    learn_from = run.generator_train  # ratios count pairs of the set the generator learns from
    types: dict[str, tuple[str, ...]] = {}
    left_out: tuple[str, ...] = ()
    if run.transfer is not None:  # learned from the source types it moves, tested and scored on the target types they become
        moved = class_ids(run.transfer.pool.classes, pool.classes, parse_class_map(spec.class_map), "transfer")
        learn_from, test, left_out = within(learn_from, moved), within(test, moved.values()), untested(moved, pool.classes)
        types = by_class(test, {k: pool.classes[k] for k in sorted(set(moved.values()) - {0})})
    # binary labels: the generator still learns every defect type; the segmenter sees one
    train, test = labelled(train, spec.labels), labelled(test, spec.labels)
    classes_of_run = test.classes
    n_synthetic = synthetic_count(spec, len(train), len(learn_from))
    how = transfer_method(spec.generator, run.generator.params) if run.transfer is not None else ""
    # of the parameters and the sources alone: the same before and after fitting
    settings = resolved_settings(generator, learn_from, dict(run.sources), how)
    added_normals = pick_normals(split.normal_train, int(round(spec.normal_ratio * len(learn_from))), streams.normals)

    t0 = time.perf_counter()
    real = [] if spec.synthetic_only or not len(train) else [train]
    added = [labelled(pool.subset(added_normals), spec.labels)] if added_normals else []
    cache_hit = cache_key = fitted = masks = None
    if n_synthetic:
        synthetic, cache_hit = synthesize(
            spec.generator, learn_from, normals, n_synthetic, streams.synthesis, progress=progress, sources=dict(run.sources),
            fit_seed=spec.generator_seed, generator=generator,
        )
        fitted = fitted_state(synthetic)
        masks = mask_findings(synthetic)
        if run.transfer is not None:
            synthetic = relabel(synthetic, pool.classes, parse_class_map(spec.class_map))
        added.append(labelled(synthetic, spec.labels))
        cache_key = synthetic.root.name
    timings["generate_s"] = time.perf_counter() - t0

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    result = train_and_evaluate(
        run.segmenter, real, test, test.num_classes, schedule, spec.seed, device, spec.pretrained, progress,
        added_sets=added, batches=spec.batches, seeds=streams.training,
    )
    timings["train_s"] = result.train_seconds
    timings["eval_s"] = result.eval_seconds

    evaluation = evaluate_predictions(test, result.predictions, classes_of_run, types=types)
    classes = {str(k): v for k, v in classes_of_run.items()}
    config = portable_config(result.config)
    return RunRecord(
        run_id=run.run_id,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        spec=spec,
        request=request or Request(),
        generator=GeneratorFacts(spec.generator.name, generator.version, dict(spec.generator.params), run.generator.effective, cache_key,
                                 cache_hit, settings, fitted, masks),
        segmenter={
            "name": run.segmenter.name,
            "config": run.segmenter.config,
            "config_hash": config_hash(config),
            "config_resolved": config,
            "num_classes": test.num_classes,
            "num_params": result.num_params,
            "schedule": dict(schedule.__dict__),
            "pretrained": spec.pretrained,
            "pretrained_checkpoint": result.pretrained_checkpoint,
            "input_size": result.input_size,
            "precision": result.precision,
            "loss_first": result.losses[0],
            "loss_last": result.losses[-1],
        },
        data={
            "manifest_hash": data.manifest_hash,
            "pool_hash": pool.content_hash(),
            "classes": classes,
            "n_train_real": sum(len(t) for t in real),
            "n_synthetic": n_synthetic,
            **({} if run.transfer is None else {"transfer_manifest_hash": run.transfer.manifest_hash,
                                                 "n_source_train": len(learn_from),
                                                 **({"untested_types": list(left_out)} if left_out else {})}),
            **({"import_training": training_facts(generator, spec.dataset)} if n_synthetic and generator.kind == "import" else {}),
            "n_normal_added": len(added_normals),
            "n_test": len(test),
            "n_test_normal": len(split.normal_test),
            "imported": data.imported,
        },
        metrics=evaluation["metrics"],
        degenerate=degenerate_note(evaluation["confusion_matrix"], classes),
        confusion_matrix=evaluation["confusion_matrix"],
        class_areas=evaluation["class_areas"],
        metric_variants=evaluation["metric_variants"],
        timings=timings,
        resources=resources(device),
        provenance=provenance(device),
    ).to_dict()


def resolved_settings(generator: Generator, train: PairSet, sources: dict | None = None, transfer: str = "") -> dict:
    """``Generator.settings()`` once the backend holds the run's ``sources``, with how it transferred (a transfer run:
    ``transfer``, its ``Generator.transfer_method``) and the run's departures from every published reading of the
    method (``Generator.deviations``) under ``deviations`` where it has any; tables show those in the label."""
    if sources:
        generator.use_sources(sources)
    deviations = list(generator.deviations(train))
    how = {"transfer": transfer} if transfer else {}
    return {**generator.settings(), **how, **({"deviations": deviations} if deviations else {})}


def resources(device: torch.device) -> dict:
    """What the run held at its peak: packing decides how many runs share a device from these figures."""
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    out = {"torch_threads": torch.get_num_threads(), "peak_process_rss_bytes": peak_rss}
    if device.type == "cuda":
        out["peak_gpu_reserved_bytes"] = torch.cuda.max_memory_reserved(device)
        out["peak_gpu_allocated_bytes"] = torch.cuda.max_memory_allocated(device)
    return out
