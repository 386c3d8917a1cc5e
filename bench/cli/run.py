from __future__ import annotations

import click

from bench import api
from bench.cli import options
from bench.core.device import resolve_device
from bench.core.jsonfile import dumps
from bench.core.paths import results_dir, writable_dir
from bench.core.specs import GeneratorSpec
from bench.core.streams import BATCHES
from bench.report.format import percent
from bench.spec import ASKED_BATCHES, DEFAULT_SCHEDULE, RunSpec, check_ratio
from generators import GENERATORS
from segmenters import SEGMENTERS


@click.command()
@click.option("--generator", "-g", default="none", show_default=True, help="Generator spec: NAME or NAME(key=value,...) (`bench generators list`).")
@options.multi("--gen-param", metavar="KEY=VALUE", help="Generator parameter.")
@click.option("--ratio", "-r", default=0.0, show_default=True, type=click.FloatRange(min=0), callback=options.finite,
              help="Synthetic pairs per real training pair.")
@click.option("--normal-ratio", default=0.0, show_default=True, type=click.FloatRange(min=0), callback=options.finite,
              help="Defect-free training images added per real training pair.")
@click.option("--fill-to", default=0, show_default=True, type=click.IntRange(min=0), help="Fill the training set with synthetic pairs up to this size (instead of --ratio).")
@click.option("--segmenter", "-s", default="segformer", show_default=True, help="Segmenter (`bench segmenters list`).")
@options.task
@options.seed
@click.option("--generator-seed", default=None, type=click.IntRange(min=0),
              help="Seed the generator fits with [default: --seed]; fixed, runs of several seeds share one trained generator.")
@click.option("--schedule", default=DEFAULT_SCHEDULE, show_default=True,
              help="Training schedule: smoke (tests), short (learns the toy defects in about a minute on CPU), cpu (real defects at about 128 px from scratch on a CPU: about 10 minutes) or paper.")
@options.device
@click.option("--pretrained/--from-scratch", default=False, show_default=True, help="Start from ImageNet backbone weights in $BENCH_WEIGHTS.")
@click.option("--batches", type=click.Choice(list(BATCHES)), default=ASKED_BATCHES, show_default=True,
              help="paired: added pairs take a fixed share of each batch from a stream of their own, the real pairs stay as in the "
                   "real-only run of the seed; pooled: every slot drawn from all pairs (docs/protocols.md).")
@click.option("--force", is_flag=True, help="Run again even if a record for this run exists.")
@options.records
@options.strict
@options.max_ratio
@options.as_json
def run(generator, gen_param, ratio, normal_ratio, fill_to, segmenter, dataset, data_root, category, split, image_size, seed, generator_seed,
        schedule, device, pretrained, batches, force, records, strict, max_ratio, as_json):
    """Train a segmenter on real + synthetic pairs of one category and record its test metrics."""
    # Everything a typo can break is checked before any data is loaded: names and numbers here, the records
    # folder, then parameters and weight files as the run is settled (bench.api.run).
    check_ratio(ratio, max_ratio, "--ratio")
    spec = RunSpec(
        generator=options.generator_spec(generator, gen_param, GENERATORS.canonical),
        ratio=ratio,
        segmenter=SEGMENTERS.canonical(segmenter),
        dataset=dataset,
        category=category,
        split=split,
        schedule=schedule,
        seed=seed,
        device=resolve_device(device).type,
        pretrained=pretrained,
        normal_ratio=normal_ratio,
        fill_to=fill_to,
        generator_seed=generator_seed,
        image_size=image_size,
        batches=batches,
    )
    outcome = api.run(spec, records=writable_dir(records or results_dir() / "runs", "--records"), data_root=data_root, force=force,
                      strict=strict)
    if as_json:
        click.echo(dumps({"skipped": outcome.skipped, "path": str(outcome.path), "record": outcome.record}))
        return
    m = outcome.record["metrics"]
    status = "skipped (record exists; --force to rerun)" if outcome.skipped else "done"
    click.echo(
        f"{status}: {outcome.record['run_id']}  {GeneratorSpec.from_dict(outcome.record['spec']['generator'])} ratio={ratio:g} {spec.segmenter} "
        f"{dataset}/{category}{'@' + spec.image_size if spec.image_size else ''} seed={seed}  mIoU={percent(m['mIoU'], sign='%')}  mIoU_defect={percent(m['mIoU_defect'], sign='%')}  -> {outcome.path}"
    )


COMMANDS = [run]
