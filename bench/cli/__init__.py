"""The ``bench`` command line. Each module of this package that defines ``COMMANDS`` contributes them,
so a new command group is a new file."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys

import click

from bench.core.atomic import sweep_stale
from bench.core.errors import BenchError
from bench.core.interrupts import Terminated, terminate_on_sigterm
from bench.core.paths import cache_dir

VERBOSE = ("-v", "--verbose")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bench")
@click.option("-v", "--verbose", is_flag=True, help="Log what bench does (cache hits, files written); also accepted after the command.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """bench: score few-shot defect image generators by what their data does for defect segmentation."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(name)s: %(message)s")
    if ctx.invoked_subcommand != "cache":  # `bench cache clean` sweeps itself and says what it removed
        for path in sweep_stale(cache_dir()):
            logging.getLogger("bench.cache").info("removed stale temporary %s", path)


for _info in pkgutil.iter_modules(__path__):
    for _command in getattr(importlib.import_module(f"{__name__}.{_info.name}"), "COMMANDS", ()):
        cli.add_command(_command)


def global_options_first(argv: list[str]) -> list[str]:
    """``bench run -v ...`` means ``bench -v run ...``: global flags are accepted after the command too."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a in VERBOSE]
    return flags[:1] + [a for a in argv[:end] if a not in VERBOSE] + argv[end:]


def main(argv: list[str] | None = None) -> int:
    """Entry point: user mistakes become one ``error:`` line and a non-zero exit, never a traceback.

    SIGTERM ends a command like Ctrl-C does (temporary files and folders removed, exit 143), and
    temporary folders left in the cache by killed processes are swept at start-up."""
    argv = global_options_first(list(sys.argv[1:] if argv is None else argv))
    terminate_on_sigterm()
    try:
        code = cli.main(args=argv, prog_name="bench", standalone_mode=False)  # a command's ctx.exit(n) returns n
    except BenchError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        return 0
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, Terminated):
            click.echo("error: terminated (SIGTERM); finished work is kept, re-run the command to resume", err=True)
            return Terminated.exit_code
        click.echo("error: interrupted; finished work is kept, re-run the command to resume", err=True)
        return 130
    except Terminated:
        click.echo("error: terminated (SIGTERM); finished work is kept, re-run the command to resume", err=True)
        return Terminated.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return code if type(code) is int else 0
