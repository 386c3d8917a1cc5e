"""``bench protocol NAME``: a protocol's grid from command-line options, run through the runner."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from bench.cli import options
from bench.cli.options import executor_options
from bench.cli.output import tabulate
from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.core.jsonfile import dumps
from bench.core.paths import results_dir, writable_dir
from bench.core.specs import GeneratorSpec
from bench.core.streams import BATCHES
from bench.executors.base import ExecutorOptions
from bench.executors.packing import peaks_from_records
from bench.protocols import PROTOCOLS
from bench.records import RecordStore
from bench.report.format import percent
from bench.spec import ASKED_BATCHES, DEFAULT_SCHEDULE, MAX_RATIO
from generators import GENERATORS
from generators.registry import build
from segmenters import SCHEDULES, SEGMENTERS


def checked_generator(spec: GeneratorSpec, where: str, relative_to: Path) -> GeneratorSpec:
    """A spec with its canonical name, its parameters checked against the backend's declaration and by the
    backend itself, and an import's ``path`` made absolute (relative to ``relative_to``)."""
    try:
        name = GENERATORS.canonical(spec.name)
        backend = GENERATORS.get(name)
        params = dict(spec.params)
        if backend.kind == "import" and isinstance(params.get("path"), str):
            params["path"] = str((relative_to / Path(params["path"]).expanduser()).resolve())
        spec = GeneratorSpec.of(name, **params)
        build(spec)  # declared parameters, then the backend's own checks (a value it cannot use, an import's folder); cheap
    except BenchError as exc:
        raise BenchError(f"grid key 'generators' in {where}: {exc}") from None
    return spec


def _validated(grid, where: str, relative_to: Path):
    """Canonical generator and segmenter names and declared generator parameters, checked before any work,
    so a typo costs nothing."""
    generators = tuple(checked_generator(g, where, relative_to) for g in grid.generators)
    segmenters = tuple(SEGMENTERS.canonical(s) for s in grid.segmenters)
    for name in segmenters:
        SEGMENTERS.get(name)
    SCHEDULES.get(grid.schedule)
    if grid.data_root is None:
        return replace(grid, generators=generators, segmenters=segmenters)
    from bench.data.base import dataset_categories  # deferred: the data layer loads numpy, which `--help` does without

    try:  # a release's root and categories, before the first run needs them
        known = dataset_categories(grid.dataset, grid.data_root)
    except BenchError as exc:
        raise BenchError(f"{where}: {exc}") from None
    missing = [c for c in grid.categories if c not in known]
    if missing:
        raise BenchError(f"{where}: dataset '{grid.dataset}' has no category {', '.join(missing)}", f"choose from: {', '.join(known)}")
    return replace(grid, generators=generators, segmenters=segmenters)


def plan_protocol(name: str, values: dict, where: str, relative_to: Path | None = None):
    """The protocol and its validated grid: every name, value and device checked before any work. Relative
    import paths are read from ``relative_to`` (a grid file's folder; the working directory by default)."""
    from bench.runner import check_transfer  # deferred: the runner loads torch

    protocol = PROTOCOLS.get(name)
    grid = protocol.grid(values, where)
    grid = grid.__class__.from_mapping({"device": resolve_device(grid.device).type}, where, base=grid)
    grid = _validated(grid, where, relative_to or Path.cwd())
    if protocol.specs is not None:
        try:
            for spec in protocol.specs(grid):  # a grid its protocol cannot expand (transfer without sources) fails here
                if spec.source:
                    check_transfer(spec.generator)
        except BenchError as exc:
            raise BenchError(f"{where}: {exc}") from None
    return protocol, grid


def run_protocol(
    planned, where: str, store: RecordStore, force: bool, dry_run: bool, execution: dict, quiet: bool = False,
    specs: list | None = None,
) -> list[dict]:
    """Run one planned protocol grid; one row per distinct run. ``execution``: the ``--executor/--jobs/
    --threads/--address`` values. ``quiet`` (for --json) sends the human-readable lines to stderr. ``specs``: run
    these of the grid's points only (a look of a sequential build) [default: all]."""
    # deferred: running a grid loads torch and the model stack, which `bench --help` does without
    from bench.protocols.execute import distinct, make_executor, run_specs

    protocol, grid = planned
    name = protocol.name
    execution = dict(execution)
    executor_name = execution.pop("executor")
    if execution["address"] and executor_name != "ray":
        raise BenchError(f"--address is for --executor ray, not {executor_name}", "add --executor ray or drop --address")

    def say(text: str) -> None:
        click.echo(text, err=quiet)

    if protocol.specs is None:
        return _run_other(protocol, grid, force, dry_run, say)
    specs = protocol.specs(grid) if specs is None else specs
    runs = distinct(specs)
    say(f"protocol {name}: {len(specs)} grid points, {len(runs)} distinct runs ({where})")
    if dry_run:
        rows = [{"generator": str(s.generator), "ratio": s.ratio, "fill_to": s.fill_to, "normal_ratio": s.normal_ratio,
                 "segmenter": s.segmenter, "dataset": s.dataset, "category": s.category, "seed": s.seed,
                 **({"image_size": s.image_size} if s.image_size else {}),
                 **({"synthetic_only": s.synthetic_only} if s.synthetic_only else {}), **({"source": s.source} if s.source else {}),
                 **({"generator_seed": s.generator_seed} if s.generator_seed is not None else {})}
                for s in runs]
        say(tabulate(rows, headers="keys", tablefmt="simple", disable_numparse=True))
        return rows
    peaks = peaks_from_records(store) if grid.device == "cuda" else {}
    executor = make_executor(executor_name, ExecutorOptions(device=grid.device, peaks=peaks, **execution))
    outcome = run_specs(specs, store, data_root=grid.data_root, force=force, label=name, executor=executor, protocol=name, source=where)
    rows = []
    for o in outcome.outcomes:
        s, m = o.record["spec"], o.record["metrics"]
        rows.append({"run_id": o.record["run_id"], "generator": str(GeneratorSpec.from_dict(s["generator"])), "ratio": s["ratio"],
                     "fill_to": s.get("fill_to", 0), "normal_ratio": s.get("normal_ratio", 0), "segmenter": s["segmenter"],
                     "category": s["category"], "seed": s["seed"], "status": "skipped" if o.skipped else "done",
                     "mIoU": m.get("mIoU"), "mIoU_defect": m.get("mIoU_defect")})
    shown = [{**r, "mIoU": percent(r["mIoU"]), "mIoU_defect": percent(r["mIoU_defect"])} for r in rows]
    say(tabulate([{k: v for k, v in r.items() if k != "run_id"} for r in shown], headers="keys", tablefmt="simple", disable_numparse=True))
    say(f"protocol {name}: {outcome.done} run(s) done, {outcome.skipped} skipped (records exist) -> {store.root}")
    if outcome.failures:
        for failure in outcome.failures:
            click.echo(f"failed: {failure.error}", err=True)
        raise BenchError(f"{len(outcome.failures)} of {len(runs)} runs of protocol {name} failed (listed above)",
                         "fix the cause and re-run the same command: finished runs are kept and skipped")
    return rows


def run_until_decided(plans, where: str, store: RecordStore, force: bool, execution: dict, sequential, quiet: bool = False) -> dict:
    """``--until-decided``: the plans as one group-sequential build (``bench.protocols.sequential``), its design
    recorded beside the records folder; each look's runs go through ``run_protocol``."""
    from bench.protocols.sequential import run_until_decided as build  # deferred: the build loads the runner and the report

    def execute(specs, planned) -> list[str]:
        return [row["run_id"] for row in run_protocol(planned, where, store, force, False, execution, quiet, specs)]

    return build(plans, where, store, store.root.parent / "sequential", sequential, execute, lambda text: click.echo(text, err=quiet))


def sequential_options(command):
    """``--until-decided/--max-seeds/--seed-batch/--margin``: seeds added where a verdict is still open."""
    for option in reversed([
        click.option("--until-decided", is_flag=True,
                     help="Add seeds, a batch at a time, to the comparisons still inconclusive until each is decided or has "
                          "--max-seeds (a group-sequential design the report then applies; docs/metrics.md)."),
        click.option("--max-seeds", type=click.IntRange(min=1), default=20, show_default=True,
                     help="--until-decided: seeds per comparison at most."),
        click.option("--seed-batch", type=click.IntRange(min=1), default=None,
                     help="--until-decided: seeds each look adds [default: as many as the grid's seeds]."),
        options.margin,
    ]):
        command = option(command)
    return command


def sequential_of(until_decided: bool, max_seeds: int, seed_batch: int | None, margin: float | None):
    """The ``Sequential`` options of ``--until-decided`` (None without it); a stray option is an error."""
    if not until_decided:
        if seed_batch is not None:
            raise BenchError("--seed-batch is for --until-decided", "add --until-decided or drop --seed-batch")
        return None
    from bench.protocols.sequential import Sequential  # deferred: the build loads the runner and the report

    return Sequential(max_seeds=max_seeds, seed_batch=seed_batch, margin=options.margin_fraction(margin))


def _run_other(protocol, grid, force: bool, dry_run: bool, say) -> list[dict]:
    """Protocols that are not segmenter runs (quality, efficiency): their own records, the same skip-if-done;
    each shows the record fields its ``row`` picks."""
    if dry_run:
        say(f"protocol {protocol.name}: {grid}")
        return []
    results = protocol.execute(grid, force=force)
    rows = [{**protocol.row(r), "status": "skipped" if skipped else "done"} for r, skipped in results]
    shown = [{k: "n/a" if v is None else f"{v:.4g}" if isinstance(v, float) else v for k, v in r.items()} for r in rows]
    say(tabulate(shown, headers="keys", tablefmt="simple", disable_numparse=True))
    done = sum(not s for _, s in results)
    say(f"protocol {protocol.name}: {done} done, {len(results) - done} skipped (records exist)")
    return rows


@click.command()
@click.argument("name")
@options.multi("--generators", help="Generator specs, NAME or NAME(key=value,...) [default: copy-paste].")
@options.multi("--segmenters", help="Segmenters [default: segformer].")
@options.multi("--categories", help="Categories [default: wood].")
@options.multi("--seeds", help="Seeds [default: 0,1,2,3,4]; at least 3 for a verdict.")
@options.multi("--ratios", help="Synthetic ratios [default: 0,0.2,0.5,1,2,3, or the protocol's own: docs/protocols.md]; "
                                 "classification and localization --synthetic-only at --size paper use the papers' counts instead.")
@options.multi("--normal-ratios", help="normal-data: defect-free images per real pair [default: 0,0.2,1,2,3].")
@click.option("--fill-to", type=click.IntRange(min=0),
              help="upsample: training-set size to fill to [default: 150]; dcdganc-transfer: transferred pairs [default: 1331].")
@click.option("--size", type=click.Choice(["paper", "small"]),
              help="classification, localization --synthetic-only, quality: the papers' counts of generated pictures (1,000 per "
                   "category; 500; 1,000 per point) or small ones for a CPU (r x |real|; r x |real|; 50) "
                   "[default: paper at --schedule paper, else small].")
@click.option("--n-generated", type=click.IntRange(min=1),
              help="quality: images generated per point [default: by --size: 1000 or 50]; efficiency: pairs sampled [default: 8].")
@click.option("--ic-lpips", help="quality: IC-LPIPS variant: bench, dfmgan, seas, anomalydiffusion [default: bench].")
@click.option("--lpips",
              help="quality: LPIPS variant: diversity (within the generated set, DefectDiffu's) or to-real (generated vs real "
                   "test defects, DefectSynth's) [default: diversity].")
@click.option("--lpips-region", type=click.Choice(["image", "defect"]), help="quality: LPIPS on whole images or the defect region.")
@options.multi("--sources", help="transfer, dcdganc-transfer: source tasks DATASET/CATEGORY[/SPLIT] whose defects move onto each "
                                  "category's pictures (generators that can: `bench generators list`, column transfers).")
@click.option("--class-map", help="transfer, dcdganc-transfer: SOURCE=TARGET class names where they differ, SOURCE=- for a "
                                  "source class left out (hole=crack,scratch=rough,color=-).")
@click.option("--generator-seed", type=click.IntRange(min=0),
              help="Fit every generator once per task with this seed; the run seeds then vary sampling and the segmenter.")
@click.option("--synthetic-only/--with-real", default=None,
              help="localization: train the U-Net on the generated pairs alone, 500 of them at --size paper (DefectSynth's reading) "
                   "[default: with real].")
@click.option("--dataset", help="Dataset adapter [default: toy].")
@click.option("--data-root", help="Root of the dataset release on disk.")
@click.option("--original-root", help="annotations: the MVTec AD release DS-MVTec re-annotates [default: --data-root].")
@click.option("--split", help="Split preset [default: ds-5shot].")
@click.option("--image-size", metavar="S|WxH", help="The tasks' picture size: every picture and mask resized to it at import, "
              "S (square) or WxH; needed when a release's pictures differ in size [default: the release's own].")
@click.option("--schedule", help=f"Training schedule [default: {DEFAULT_SCHEDULE}].")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Where to train [default: auto].")
@click.option("--pretrained/--from-scratch", default=None, help="Start from local ImageNet weights [default: from scratch].")
@click.option("--max-ratio", type=click.FloatRange(min=0), callback=options.finite,
              help=f"Refuse synthetic ratios above this [default: {MAX_RATIO:g}].")
@click.option("--batches", type=click.Choice(list(BATCHES)),
              help=f"How training batches draw real and added pairs (docs/protocols.md) [default: {ASKED_BATCHES}].")
@click.option("--force", is_flag=True, help="Rerun points whose records exist.")
@click.option("--dry-run", is_flag=True, help="List the distinct runs and stop.")
@sequential_options
@options.records
@options.strict
@options.as_json
@executor_options
def protocol(name, force, dry_run, until_decided, max_seeds, seed_batch, margin, records, strict, as_json, executor, jobs, threads,
             address, **values):
    """Run protocol NAME over a grid (the protocols and their keys: docs/protocols.md)."""
    where = "command-line options"
    planned = plan_protocol(name, values, where)
    sequential = sequential_of(until_decided, max_seeds, seed_batch, margin)
    store = RecordStore(writable_dir(records or results_dir() / "runs", "--records"), strict=strict)
    execution = dict(executor=executor, jobs=jobs, threads=threads, address=address)
    if sequential is not None and not dry_run:
        record = run_until_decided([planned], where, store, force, execution, sequential, quiet=as_json)
        if as_json:
            click.echo(dumps(record))
        return
    rows = run_protocol(planned, where, store, force, dry_run, execution, quiet=as_json)
    if as_json:
        click.echo(dumps(rows))


COMMANDS = [protocol]
