"""Seeds where a verdict is open (``--until-decided``): the looks a build plans, which settings each look gives
seeds to, the design record the report reads, resuming, and a changed design refused; then one real build."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from bench import api
from bench.cli import main
from bench.core.errors import BenchError
from bench.protocols.sequential import Sequential, planned_looks, run_until_decided
from bench.records import SEQUENTIAL, RecordStore
from bench.runner import effective_spec
from tests.helpers.records import manifest_of, run_record

EFFECT = {"copy-paste": 0.08, "perlin": 0.0, "cutpaste": 0.0005}  # a clear gain, a wide null, a negligible difference
NOISE = {"copy-paste": 0.01, "perlin": 0.03, "cutpaste": 0.0005}


def test_looks_start_with_the_grid_seeds_and_add_a_batch_to_the_cap():
    assert planned_looks((0, 1, 2, 3, 4), 20) == ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9), (10, 11, 12, 13, 14), (15, 16, 17, 18, 19))
    assert planned_looks((0, 1, 2), 8, 2) == ((0, 1, 2), (3, 4), (5, 6), (7,))
    with pytest.raises(BenchError, match="--max-seeds 2 is below the 3 seeds"):
        planned_looks((0, 1, 2), 2)
    with pytest.raises(BenchError, match="at least 3 seeds"):
        planned_looks((0, 1), 10)


def fake_execute(store: RecordStore, calls: list):
    """Runs as records: a metric from the setting's effect and a per-seed shared part, written at once."""

    def execute(specs, planned) -> list[str]:
        calls.append(sorted({(s.generator.name if s.ratio else "none", s.seed) for s in specs}))
        ids = []
        for spec in dict.fromkeys(effective_spec(s) for s in specs):
            rng = np.random.default_rng([spec.seed, len(spec.generator.name)])
            shared = 0.02 * np.sin(spec.seed)  # what the seed does to both sides
            name = spec.generator.name
            miou = 0.5 + shared + (EFFECT[name] + rng.normal(0, NOISE[name]) if spec.synthetic else 0.0)
            record = run_record(seed=spec.seed, miou=float(miou))
            record = dataclasses.replace(record, spec=spec, run_id=spec.run_id(manifest_of(spec.dataset, spec.category, spec.split)))
            store.write(record.to_dict())
            ids.append(record.run_id)
        return ids

    return execute


def _plans(seeds="0,1,2"):
    values = {"generators": "copy-paste,perlin,cutpaste", "ratios": "0,1", "seeds": seeds, "schedule": "smoke", "device": "cpu"}
    return [api.plan("synthetic-ratio", values, "test grid")]


def test_each_look_gives_seeds_only_to_open_settings_and_their_baseline(isolated_dirs):
    store, calls = RecordStore(isolated_dirs / "runs"), []
    record = run_until_decided(_plans(), "test grid", store, isolated_dirs / "sequential", Sequential(max_seeds=12), fake_execute(store, calls),
                               lambda text: None)
    assert [look["seeds"] for look in record["looks"]][:2] == [[0, 1, 2], [3, 4, 5]]
    first = {name for name, _ in calls[0]}
    assert first == {"none", "copy-paste", "perlin", "cutpaste"}
    later = [{name for name, _ in call} for call in calls[1:]]
    assert all("none" in names for names in later), "the baseline follows every open setting"
    assert "perlin" in later[-1] and len(calls) == len(record["looks"]) == 4, "the wide null runs to the cap"
    assert not any("copy-paste" in names for names in later[2:]), "the clear gain is decided early"
    stored = list(RecordStore(isolated_dirs / "sequential", SEQUENTIAL))
    assert stored == [record] and record["looks"][-1]["open"] == 0 and record["design"]["max_seeds"] == 12

    from bench.records import RunRecord
    from bench.report.compare import designs_of
    from bench.report.frames import records_frame
    from bench.report.tables import deltas

    d = deltas(records_frame([RunRecord.from_dict(r) for r in store]), designs=designs_of(stored))
    verdict = {g.split(" ")[0]: v for g, v in zip(d["generator"], d["verdict"])}
    assert verdict == {"copy-paste": "win", "perlin": "inconclusive", "cutpaste": "equivalent"}
    assert d["correction"].str.contains("look").all() and (d.set_index("generator")["n"] <= 12).all()

    again = []  # the same command resumes: the same looks from the records
    assert run_until_decided(_plans(), "test grid", store, isolated_dirs / "sequential", Sequential(max_seeds=12),
                             fake_execute(store, again), lambda text: None)["looks"] == record["looks"] and again == calls
    with pytest.raises(BenchError, match="another design .*--max-seeds 12"):
        run_until_decided(_plans(), "test grid", store, isolated_dirs / "sequential", Sequential(max_seeds=30),
                          fake_execute(store, []), lambda text: None)


@pytest.mark.parametrize("args, message", [
    (["--seed-batch", "2"], "--seed-batch is for --until-decided"),
    (["--until-decided", "--max-seeds", "2"], "--max-seeds 2 is below the 5 seeds of the first look"),
    (["--until-decided", "--ratios", "1"], "needs settings and their real-only baseline"),
    (["--margin", "-1"], "--margin"),
])
def test_bad_sequential_options_are_one_line_before_any_run(capsys, args, message):
    assert main(["protocol", "synthetic-ratio", "--schedule", "smoke", "--device", "cpu", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_real_sequential_build_and_its_report(capsys, isolated_dirs):
    """Smoke runs predict background everywhere, so every difference is 0: with margin 0 nothing is ever decided
    and the build runs to its cap; the report then reads the design and names each comparison's look."""
    records = isolated_dirs / "results" / "runs"
    args = ["protocol", "synthetic-ratio", "--generators", "copy-paste", "--ratios", "0,1", "--seeds", "0,1,2", "--schedule", "smoke",
            "--device", "cpu", "--until-decided", "--max-seeds", "5", "--seed-batch", "2", "--margin", "0", "--records", str(records), "--json"]
    assert main(args) == 0
    record = json.loads(capsys.readouterr().out)
    assert [look["seeds"] for look in record["looks"]] == [[0, 1, 2], [3, 4]] and len(list(records.glob("*.json"))) == 10
    assert main(["report", "--records", str(records), "--all", "--out", str(isolated_dirs / "report"), "--margin", "0"]) == 0
    capsys.readouterr()
    text = (isolated_dirs / "report" / "report.md").read_text()
    assert "look 2 (5 seeds)" in text and "group-sequential build" in text and "inconclusive" in text
