"""Options shared by several commands, so every command spells them the same way."""

from __future__ import annotations

import math

import click

from bench.core.device import DEVICES
from bench.core.errors import BenchError
from bench.core.specs import IMAGE_SIZE_FORM, GeneratorSpec, param_value, parse_generator, parse_image_size, split_top_level
from bench.spec import MAX_RATIO


def _flatten(ctx, param, values):
    """Repeated and comma-separated values as one tuple (commas inside brackets do not split)."""
    out = tuple(v for value in values or () for v in split_top_level(value))
    return out or None


def multi(*decls: str, help: str, **kwargs):
    """An option that takes several values: ``--x a --x b`` and ``--x a,b`` mean the same."""
    return click.option(*decls, multiple=True, callback=_flatten, help=f"{help} Repeatable or comma-separated.", **kwargs)


def finite(ctx, param, value):
    """Numbers from the command line must be finite: nan and inf are refused before any work."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number", param_hint=f"--{param.name.replace('_', '-')}")
    return value

from bench.executors import EXECUTORS

dataset = click.option("--dataset", default="toy", show_default=True, help="Dataset adapter (see docs/datasets.md).")
data_root = click.option("--data-root", default=None, help="Root of the dataset release on disk (not needed for toy).")
category = click.option("--category", default="wood", show_default=True, help="Product category = one segmentation task.")
split = click.option("--split", default="ds-5shot", show_default=True, help="Split preset.")


def _image_size(ctx, param, value):
    """A picture size in its canonical WxH form; a malformed one fails before any data is read."""
    return parse_image_size(value)


image_size = click.option(
    "--image-size", default=None, callback=_image_size, metavar="S|WxH",
    help=f"Resize every picture (area) and mask (nearest) of the category to this size at import: {IMAGE_SIZE_FORM}. "
         "Part of the task: its own pool, run id and table rows. Needed when a release's pictures differ in size "
         "[default: the release's own size].")


def task(command):
    """The task a command reads: --dataset, --data-root, --category, --split and --image-size, said once."""
    for option in (image_size, split, category, data_root, dataset):
        command = option(command)
    return command


seed = click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Seed of generation and training.")
device = click.option("--device", default="auto", show_default=True, type=click.Choice(DEVICES), help="Where to train.")
records = click.option("--records", default=None, help="Records folder [default: results/runs].")
as_json = click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
max_ratio = click.option("--max-ratio", default=MAX_RATIO, show_default=True, type=click.FloatRange(min=0), callback=finite,
                         help="Refuse synthetic ratios above this (guards against typos such as 1e9).")
margin = click.option("--margin", default=None, type=click.FloatRange(min=0), callback=finite,
                      help="Equivalence margin in points of the compared metric: a comparison whose corrected interval lies inside "
                           "± this is 'equivalent' [default: 1].")
strict = click.option("--strict", is_flag=True,
                      help="Fail at a run record that cannot be read, instead of a warning and skipping (report) or rerunning (resume) it.")


def margin_fraction(points: float | None) -> float:
    """``--margin`` (points of a metric in percent) as the fraction the statistics work in; None is their default."""
    from bench.report.stats import MARGIN  # deferred: the statistics load scipy, which --help does without

    return MARGIN if points is None else points / 100


def executor_options(command):
    """``--executor/--jobs/--threads/--address``: where a grid's runs execute (docs/scaling.md)."""
    for option in reversed([
        click.option("--executor", type=click.Choice(EXECUTORS.names()), default="inline", show_default=True,
                     help="inline: one run after another here; local: packed processes; ray: Ray tasks."),
        click.option("--jobs", type=click.IntRange(min=1), default=None,
                     help="local: runs at once [default: cores on CPU; as many as GPU memory allows on CUDA]."),
        click.option("--threads", type=click.IntRange(min=1), default=None, help="Torch threads per run."),
        click.option("--address", default=None, help="ray: the cluster to join [default: start a local Ray]."),
    ]):
        command = option(command)
    return command


def parse_params(pairs: tuple[str, ...] | None) -> dict:
    """``KEY=VALUE`` strings to a dict; values are JSON where they parse (numbers, booleans), else strings."""
    params = {}
    for item in pairs or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"'{item}' is not KEY=VALUE", param_hint="--gen-param")
        params[key] = param_value(value)
    return params


def generator_spec(text: str, gen_param: tuple[str, ...] | None, canonical) -> GeneratorSpec:
    """``--generator NAME(key=value,...)`` joined with ``--gen-param`` values; a key given both ways is an error."""
    spec = parse_generator(text)
    extra = parse_params(gen_param)
    twice = sorted(set(extra) & {k for k, _ in spec.params})
    if twice:
        raise BenchError(f"generator parameter(s) {', '.join(twice)} given in --generator and --gen-param", "give each once")
    return GeneratorSpec.of(canonical(spec.name), **dict(spec.params), **extra)
