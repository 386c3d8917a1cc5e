"""The library entry point (``bench.api``): the example of docs/design.md ("Library use") runs as written, and
the command line reports what the library reports."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

import bench.runner as runner
from bench import api
from bench.cli import main
from bench.core.errors import BenchError
from bench.records import RecordStore
from tests.helpers.records import run_record
from tests.helpers.segmenters import perfect_segmenter

DESIGN = Path(__file__).resolve().parent.parent / "docs" / "design.md"


def library_example() -> str:
    """The one ``>>>`` block of the "Library use" section."""
    section = DESIGN.read_text().split("## Library use", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```python\n(>>> .*?)```", section, re.S)
    return block


def test_the_documented_example_runs_as_written(tmp_path, monkeypatch):
    """Segmenter training is the one part stood in for (it is tested on its own): the run, the grid, the resume
    and the report are the library's."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runner, "train_and_evaluate", perfect_segmenter)
    test = doctest.DocTestParser().get_doctest(library_example(), {}, "docs/design.md: Library use", str(DESIGN), 0)
    runner_ = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner_.run(test)
    assert runner_.summarize(verbose=False).failed == 0 and len(test.examples) >= 8


def test_the_command_prints_and_writes_what_the_library_reports(tmp_path, capsys):
    from bench.report.render import render

    runs = tmp_path / "runs"
    for seed in range(3):
        for generator, ratio in (("none", 0.0), ("copy-paste", 1.0)):
            RecordStore(runs).write(run_record(generator, ratio, seed, 0.5 + ratio / 10 + seed / 100).to_dict())
    assert main(["report", "--all", "--records", str(runs), "--out", str(tmp_path / "out")]) == 0
    built = api.report(api.load(runs))
    assert capsys.readouterr().out == render(built.table("runs"), "markdown")
    assert (tmp_path / "out" / "report.md").read_text() == "\n".join(render(t, "markdown") for t in built.tables)
    records = [RecordStore(runs).get(path.stem) for path in sorted(runs.glob("*.json"))]
    assert [t.name for t in api.report(records).tables] == [t.name for t in built.tables], "records in hand report the same"
    with pytest.raises(BenchError, match="is of no kind this bench reads"):
        api.report([{"schema": "bench.nothing/1"}])
    with pytest.raises(BenchError, match="the report has no table 'quality'"):
        built.table("quality")
