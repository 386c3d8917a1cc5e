"""Options shared by several commands, so every command spells them the same way."""

from __future__ import annotations

import json

import click

from bench.executors import EXECUTORS

dataset = click.option("--dataset", default="toy", show_default=True, help="Dataset adapter (see docs/datasets.md).")
data_root = click.option("--data-root", default=None, help="Root of the dataset release on disk (not needed for toy).")
category = click.option("--category", default="wood", show_default=True, help="Product category = one segmentation task.")
split = click.option("--split", default="ds-5shot", show_default=True, help="Split preset.")
seed = click.option("--seed", default=0, show_default=True, type=int, help="Seed of generation and training.")


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


def parse_params(pairs: tuple[str, ...]) -> dict:
    """``KEY=VALUE`` strings to a dict; values are JSON where they parse (numbers, booleans), else strings."""
    params = {}
    for item in pairs:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"'{item}' is not KEY=VALUE", param_hint="--gen-param")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params
