"""The ``bench`` command line. Each module of this package that defines ``COMMANDS`` contributes them,
so a new command group is a new file."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys

import click

from bench.core.errors import BenchError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bench")
@click.option("-v", "--verbose", is_flag=True, help="Log what bench does (cache hits, files written).")
def cli(verbose: bool) -> None:
    """bench: score few-shot defect image generators by what their data does for defect segmentation."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(name)s: %(message)s")


for _info in pkgutil.iter_modules(__path__):
    for _command in getattr(importlib.import_module(f"{__name__}.{_info.name}"), "COMMANDS", ()):
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """Entry point: user mistakes become one ``error:`` line and a non-zero exit, never a traceback."""
    try:
        cli.main(args=argv, prog_name="bench", standalone_mode=False)
    except BenchError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        return 0
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("error: interrupted", err=True)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
