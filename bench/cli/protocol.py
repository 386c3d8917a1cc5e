"""``bench protocol NAME``: one command per registered protocol (plugins' too), its flags made from the
protocol's options, its grid run through the library (``bench.api``)."""

from __future__ import annotations

import click

from bench import api
from bench.cli import options
from bench.cli.options import executor_options
from bench.cli.output import tabulate
from bench.core.errors import BenchError
from bench.core.jsonfile import dumps
from bench.core.paths import results_dir, writable_dir
from bench.core.specs import GeneratorSpec
from bench.protocols import PROTOCOLS, Protocol
from bench.protocols.options import Option
from bench.records import RecordStore
from bench.report.format import percent


def run_protocol(planned: api.Plan, where: str, store: RecordStore, force: bool, dry_run: bool, execution: dict, quiet: bool = False,
                 specs: list | None = None) -> list[dict]:
    """Run one planned protocol grid and print one row per distinct run (or record of the protocol's own kind).
    ``execution``: the ``--executor/--jobs/--threads/--address`` values. ``quiet`` (for --json) sends the
    human-readable lines to stderr. ``specs``: run these of the grid's points only (a look of a sequential
    build) [default: all]."""
    protocol, grid = planned

    def say(text: str) -> None:
        click.echo(text, err=quiet)

    if protocol.specs is None:
        return _run_own_kind(planned, where, store, force, dry_run, execution, say)
    from bench.protocols.execute import distinct  # deferred: the grid driver loads the runner and torch

    specs = protocol.specs(grid) if specs is None else specs
    runs = distinct(specs)
    say(f"protocol {protocol.name}: {len(specs)} grid points, {len(runs)} distinct runs ({where})")
    if dry_run:
        rows = [{"generator": str(s.generator), "ratio": s.ratio, "fill_to": s.fill_to, "normal_ratio": s.normal_ratio,
                 "segmenter": s.segmenter, "dataset": s.dataset, "category": s.category, "seed": s.seed,
                 **({"image_size": s.image_size} if s.image_size else {}),
                 **({"synthetic_only": s.synthetic_only} if s.synthetic_only else {}), **({"source": s.source} if s.source else {}),
                 **({"generator_seed": s.generator_seed} if s.generator_seed is not None else {})}
                for s in runs]
        say(tabulate(rows, headers="keys", tablefmt="simple", disable_numparse=True))
        return rows
    outcome = api.run_protocol(planned, records=store.root, force=force, where=where, specs=specs, strict=store.strict, **execution)
    rows = []
    for o in outcome.outcomes:
        s, m = o.record["spec"], o.record["metrics"]
        rows.append({"run_id": o.record["run_id"], "generator": str(GeneratorSpec.from_dict(s["generator"])), "ratio": s["ratio"],
                     "fill_to": s.get("fill_to", 0), "normal_ratio": s.get("normal_ratio", 0), "segmenter": s["segmenter"],
                     "category": s["category"], "seed": s["seed"], "status": "skipped" if o.skipped else "done",
                     "mIoU": m.get("mIoU"), "mIoU_defect": m.get("mIoU_defect")})
    shown = [{**r, "mIoU": percent(r["mIoU"]), "mIoU_defect": percent(r["mIoU_defect"])} for r in rows]
    say(tabulate([{k: v for k, v in r.items() if k != "run_id"} for r in shown], headers="keys", tablefmt="simple", disable_numparse=True))
    say(f"protocol {protocol.name}: {outcome.done} run(s) done, {outcome.skipped} skipped (records exist) -> {store.root}")
    _fail_on(outcome, protocol.name, len(runs), "runs")
    return rows


def _run_own_kind(planned: api.Plan, where: str, store: RecordStore, force: bool, dry_run: bool, execution: dict, say) -> list[dict]:
    """A protocol of its own record kind: the record fields its ``row`` picks, one row per point."""
    protocol, grid = planned
    if dry_run:
        say(f"protocol {protocol.name}: {grid}")
        return []
    outcome = api.run_protocol(planned, records=store.root, force=force, where=where, strict=store.strict, **execution)
    rows = [{**protocol.row(o.record), "status": "skipped" if o.skipped else "done"} for o in outcome.outcomes]
    shown = [{k: "n/a" if v is None else f"{v:.4g}" if isinstance(v, float) else v for k, v in r.items()} for r in rows]
    say(tabulate(shown, headers="keys", tablefmt="simple", disable_numparse=True))
    say(f"protocol {protocol.name}: {outcome.done} done, {outcome.skipped} skipped (records exist)")
    _fail_on(outcome, protocol.name, len(outcome.outcomes) + len(outcome.failures), "points")
    return rows


def _fail_on(outcome, name: str, total: int, what: str) -> None:
    if outcome.failures:
        for failure in outcome.failures:
            click.echo(f"failed: {failure.error}", err=True)
        raise BenchError(f"{len(outcome.failures)} of {total} {what} of protocol {name} failed (listed above)",
                         "fix the cause and re-run the same command: finished ones are kept and skipped")


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


def flag(option: Option, default):
    """The command-line flag of a protocol option: its value reaches the grid as written, and ``Option.value``
    reads it as it reads a grid file's, so a bad value is the same error either way."""
    text = f"{option.help}{' Repeatable or comma-separated.' if option.many else ''} [default: {option.shown(default)}]"
    if option.type is bool:
        return click.option(f"{option.flag}/{option.off_flag}", option.name, default=None, help=text)
    choices = getattr(option.admits, "choices", None)
    metavar = "[" + "|".join(map(str, choices)) + "]" if choices else option.type.__name__.upper()
    if option.many:
        return click.option(option.flag, option.name, multiple=True, callback=options._flatten, metavar=metavar, help=text)
    return click.option(option.flag, option.name, default=None, metavar=metavar, help=text)


RESERVED = ("force", "dry_run", "until_decided", "max_seeds", "seed_batch", "margin", "records", "strict", "as_json", "executor", "jobs",
            "threads", "address")  # the flags every protocol command has


def protocol_command(protocol: Protocol) -> click.Command:
    """The command of one protocol: a flag per option (the common ones, then its own), then how to run it."""
    clash = sorted(o.name for o in protocol.grid_options if o.name in RESERVED)
    if clash:
        raise BenchError(f"protocol {protocol.name}: option(s) {', '.join(clash)} are flags of bench protocol itself", "rename them")
    defaults = protocol.grid({}, f"protocol {protocol.name}")

    def run(force, dry_run, until_decided, max_seeds, seed_batch, margin, records, strict, as_json, executor, jobs, threads, address,
            **values):
        where = "command-line options"
        planned = api.plan(protocol.name, values, where)
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

    decorators = [
        *(flag(o, getattr(defaults, o.name)) for o in protocol.grid_options),
        click.option("--force", is_flag=True, help="Rerun points whose records exist."),
        click.option("--dry-run", is_flag=True, help="List the distinct runs and stop."),
        sequential_options, options.records, options.strict, options.as_json, executor_options,
    ]
    for decorate in reversed(decorators):
        run = decorate(run)
    return click.command(protocol.name, short_help=protocol.summary,
                         help=f"{protocol.summary[0].upper()}{protocol.summary[1:]} (docs/protocols.md).")(run)


class ProtocolCommands(click.Group):
    """One subcommand per registered protocol, made when asked for, so ``bench --help`` imports none of them."""

    def list_commands(self, ctx) -> list[str]:
        return PROTOCOLS.names()

    def get_command(self, ctx, name: str) -> click.Command:
        return protocol_command(PROTOCOLS.get(name))  # an unknown name is one error line listing the protocols


@click.group(cls=ProtocolCommands)
def protocol():
    """Run protocol NAME over a grid: `bench protocol NAME --help` lists its keys (docs/protocols.md)."""


COMMANDS = [protocol]
