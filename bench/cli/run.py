from __future__ import annotations

import click

from bench.cli import options
from bench.core.paths import results_dir
from bench.records import RecordStore
from bench.report.format import percent


@click.command()
@click.option("--generator", "-g", default="none", show_default=True, help="Generator backend (`bench generators list`).")
@click.option("--gen-param", multiple=True, metavar="KEY=VALUE", help="Generator parameter; repeatable.")
@click.option("--ratio", "-r", default=0.0, show_default=True, type=float, help="Synthetic pairs per real training pair.")
@click.option("--normal-ratio", default=0.0, show_default=True, type=float, help="Defect-free training images added per real training pair.")
@click.option("--fill-to", default=0, show_default=True, type=int, help="Fill the training set with synthetic pairs up to this size (instead of --ratio).")
@click.option("--segmenter", "-s", default="segformer", show_default=True, help="Segmenter (`bench segmenters list`).")
@options.dataset
@options.data_root
@options.category
@options.split
@options.seed
@click.option("--schedule", default="smoke", show_default=True, help="Training schedule: smoke, short or paper.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--pretrained/--from-scratch", default=False, show_default=True, help="Start from ImageNet backbone weights in $BENCH_WEIGHTS.")
@click.option("--force", is_flag=True, help="Run again even if a record for this run exists.")
@click.option("--records", default=None, help="Records folder [default: results/runs].")
@options.strict
def run(generator, gen_param, ratio, normal_ratio, fill_to, segmenter, dataset, data_root, category, split, seed, schedule, device, pretrained, force, records, strict):
    """Train a segmenter on real + synthetic pairs of one category and record its test metrics."""
    from bench.core.specs import GeneratorSpec
    from bench.runner import execute, resolve_device
    from bench.spec import RunSpec
    from generators import GENERATORS
    from segmenters import SCHEDULES, SEGMENTERS

    # Validate names before touching data, so a typo costs nothing.
    gen_name = GENERATORS.canonical(generator)
    GENERATORS.get(gen_name)
    seg_name = SEGMENTERS.canonical(segmenter)
    SEGMENTERS.get(seg_name)
    SCHEDULES.get(schedule)
    spec = RunSpec(
        generator=GeneratorSpec.of(gen_name, **options.parse_params(gen_param)),
        ratio=ratio,
        segmenter=seg_name,
        dataset=dataset,
        category=category,
        split=split,
        schedule=schedule,
        seed=seed,
        device=resolve_device(device).type,
        pretrained=pretrained,
        normal_ratio=normal_ratio,
        fill_to=fill_to,
    )
    store = RecordStore(records or results_dir() / "runs", strict=strict)
    outcome = execute(spec, store, data_root=data_root, force=force)
    m = outcome.record["metrics"]
    status = "skipped (record exists; --force to rerun)" if outcome.skipped else "done"
    click.echo(
        f"{status}: {outcome.record['run_id']}  {spec.normalized().generator} ratio={ratio:g} {seg_name} "
        f"{dataset}/{category} seed={seed}  mIoU={percent(m['mIoU'], sign='%')}  mIoU_defect={percent(m['mIoU_defect'], sign='%')}  -> {outcome.path}"
    )


COMMANDS = [run]
