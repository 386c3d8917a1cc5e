from __future__ import annotations

import click

from bench.cli import options
from bench.core.paths import results_dir
from bench.core.specs import GeneratorSpec
from bench.spec import RunSpec
from bench.store import RecordStore
from generators import GENERATORS
from segmenters import SCHEDULES, SEGMENTERS


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
def run(generator, gen_param, ratio, normal_ratio, fill_to, segmenter, dataset, data_root, category, split, seed, schedule, device, pretrained, force, records):
    """Train a segmenter on real + synthetic pairs of one category and record its test metrics."""
    from bench.runner import execute, resolve_device  # deferred: a run loads torch and the model stack

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
    store = RecordStore(records or results_dir() / "runs")
    outcome = execute(spec, store, data_root=data_root, force=force)
    m = outcome.record["metrics"]
    status = "skipped (record exists; --force to rerun)" if outcome.skipped else "done"
    click.echo(
        f"{status}: {outcome.record['run_id']}  {outcome.spec.generator} ratio={ratio:g} {seg_name} "
        f"{dataset}/{category} seed={seed}  mIoU={_pct(m['mIoU'])}  mIoU_defect={_pct(m['mIoU_defect'])}  -> {outcome.path}"
    )


def _pct(value) -> str:
    return "n/a" if value is None or value != value else f"{100 * value:.2f}%"


COMMANDS = [run]
