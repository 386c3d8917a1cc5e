"""The bad-input catalogue: every family of user mistake exits non-zero with one clear line, no traceback,
before any training or generation, and leaves nothing in the cache or the results folder.

Data trees have their own catalogue (tests/test_datasets_validation.py), as do records
(tests/test_records.py) and users' predictions (tests/test_metrics_cli.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cli import main

HERE = Path(__file__).resolve().parent.parent


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def assert_refused(capsys, isolated_dirs: Path, args: list[str], message: str, code: int = 2) -> str:
    """One ``error:`` line containing ``message``, exit ``code``, and nothing written anywhere."""
    assert main(args) == code
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert "Traceback" not in out + err
    assert files_under(isolated_dirs / "cache") == [] and files_under(isolated_dirs / "results") == []
    return lines[0]


FLAGS = [
    (["run", "--generator", "copy-paste", "--ratio", "nan"], "nan is not a finite number"),
    (["run", "--generator", "copy-paste", "--ratio", "inf"], "inf is not a finite number"),
    (["run", "--generator", "copy-paste", "--ratio", "1e9"], "--ratio 1e+09 is above the maximum ratio 10"),
    (["run", "--generator", "copy-paste", "--ratio", "-1"], "-1.0 is not in the range x>=0"),
    (["run", "--normal-ratio", "nan"], "nan is not a finite number"),
    (["run", "--seed", "-1"], "-1 is not in the range x>=0"),
    (["run", "--ratio", "abc"], "'abc' is not a valid float"),
    (["run", "--generator", "copy-paste", "--ratio", "1", "--gen-param", "max_defects=abc"],
     "generator 'copy-paste': parameter max_defects='abc' has the wrong type; expected max_defects (int, [1, 64], default 1)"),
    (["run", "--generator", "copy-paste", "--ratio", "1", "--gen-param", "foo=1"],
     "generator 'copy-paste': unknown parameter(s) foo; its parameters: max_defects"),
    (["run", "--generator", "copy-paste", "--ratio", "1", "--gen-param", "max_defects=0"], "max_defects=0 is out of range"),
    (["run", "--generator", "perlin", "--ratio", "1", "--gen-param", "max_beta=NaN"], "max_beta=nan is not a finite number"),
    (["run", "--generator", "copy-paste", "--ratio", "1", "--gen-param", "oops"], "'oops' is not KEY=VALUE"),
    (["run", "--generator", "nope", "--ratio", "1"], "unknown generator 'nope'; choose one of: "),
    (["run", "--generator", "none", "--ratio", "1"], "generator 'none' produces no pairs"),
    (["run", "--segmenter", "nope"], "unknown segmenter 'nope'; choose one of:"),
    (["run", "--schedule", "nope"], "unknown schedule 'nope'"),
    (["run", "--device", "tpu"], "'tpu' is not one of 'auto', 'cpu', 'cuda'"),
    (["run", "--category", "glass"], "dataset 'toy' has no category 'glass'"),
    (["run", "--data-root", "/does/not/exist"], "data root /does/not/exist does not exist"),
    (["generate", "--generator", "perlin", "--n", "0", "--out", "x"], "0 is not in the range"),
    (["protocol", "nope"], "unknown protocol 'nope'"),
    (["protocol", "synthetic-ratio", "--ratios", "0,1e9"], "grid key 'ratios' in command-line options: 1e+09 is above the maximum ratio 10"),
    (["protocol", "synthetic-ratio", "--seeds", "1.7"], "grid key 'seeds' in command-line options has a bad value '1.7'"),
    (["protocol", "synthetic-ratio", "--seeds", "-1"], "grid key 'seeds' in command-line options has a value out of range: -1"),
    (["protocol", "synthetic-ratio", "--ratios", "nan"], "grid key 'ratios' in command-line options has a bad value 'nan'"),
    (["protocol", "synthetic-ratio", "--generators", "copy-paste,nope"], "unknown generator 'nope'"),
    (["protocol", "synthetic-ratio", "--executor", "local", "--address", "head:6379"], "--address is for --executor ray"),
    (["report", "--all", "--out", "-"], "--all writes files and --out - prints only"),
]


@pytest.mark.parametrize("args, message", FLAGS, ids=[" ".join(a) for a, _ in FLAGS])
def test_flags(capsys, isolated_dirs, args, message):
    assert_refused(capsys, isolated_dirs, args, message)


def test_multi_valued_options_are_repeatable_and_comma_separated():
    from bench import api

    args = {"generators": ("copy-paste", "poisson"), "seeds": ("0", "1", "2")}
    _, grid = api.plan("synthetic-ratio", args, "test")
    assert [str(g) for g in grid.generators] == ["copy-paste", "poisson"] and grid.seeds == (0, 1, 2)
    from bench.cli.options import _flatten

    assert _flatten(None, None, ("copy-paste,poisson", "defectgen(u=100,receptive_field=large)")) == (
        "copy-paste", "poisson", "defectgen(u=100,receptive_field=large)")


def test_verbose_is_accepted_after_the_command(capsys):
    assert main(["generators", "list", "-v", "--json"]) == 0
    assert main(["generators", "-v", "list"]) == 0


def _paths(tmp_path: Path) -> list[tuple[list[str], str]]:
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("not a folder")
    not_a_set = tmp_path / "someone-elses"
    not_a_set.mkdir()
    (not_a_set / "notes.txt").write_text("keep me")
    return [
        (["run", "--records", str(a_file)], f"--records {a_file} is a file, not a folder"),
        (["run", "--records", "/proc/nope"], "cannot write to --records /proc/nope"),
        (["protocol", "synthetic-ratio", "--records", str(a_file)], f"--records {a_file} is a file, not a folder"),
        (["report", "--out", "/proc/nope"], "cannot write to --out /proc/nope"),
        (["report", "--out", str(a_file)], f"--out {a_file} is a file, not a folder"),
        (["data", "toy", "--out", str(a_file)], f"--out {a_file} is a file, not a folder"),
        (["generate", "--generator", "perlin", "--n", "2", "--out", "/proc/nope"], "cannot write to the folder of --out /proc"),
        (["generate", "--generator", "perlin", "--n", "2", "--out", str(not_a_set)], "exists and is not a pair set"),
        (["sweep", str(tmp_path)], f"sweep file {tmp_path} is a folder, not a grid file"),
        (["sweep", str(tmp_path / "missing.yaml")], "not found"),
    ]


def test_paths_are_checked_before_any_data_is_loaded(capsys, isolated_dirs, tmp_path):
    for args, message in _paths(tmp_path):
        assert_refused(capsys, isolated_dirs, args, message)
    assert (tmp_path / "someone-elses" / "notes.txt").read_text() == "keep me"


GRIDS = [
    ("sweeps: 3\n", "'sweeps' must be a non-empty list of blocks, got 3"),
    ("- protocol: synthetic-ratio\n", "holds a list, not a mapping"),
    ("", "is empty"),
    ("protocol: synthetic-ratio\nseeds: 1.7\n", "grid key 'seeds' in {path} has a bad value 1.7"),
    ("protocol: synthetic-ratio\nratios: [-1]\n", "grid key 'ratios' in {path} has a value out of range: -1.0"),
    ("protocol: synthetic-ratio\nratios: [.nan]\n", "grid key 'ratios' in {path} has a bad value"),
    ("protocol: synthetic-ratio\nratios: [0, 50]\n", "grid key 'ratios' in {path}: 50 is above the maximum ratio 10"),
    ("protocol: synthetic-ratio\nseeds: []\n", "grid key 'seeds' in {path} is empty"),
    ("protocol: synthetic-ratio\ngenerator: copy-paste\n", "unknown grid key(s) generator in {path}"),
    ("protocol: synthetic-ratio\nsegmenters: {a: 1}\n", "grid key 'segmenters' in {path} has a bad value"),
    ("protocol: [\n", "is not valid YAML"),
    ("sweeps:\n- protocol: synthetic-ratio\n  seeds: [0]\n- seeds: [1]\n", "block 2 has no 'protocol' key"),
    ("sweeps:\n- protocol: synthetic-ratio\n  seeds: [0]\n- protocol: normal-data\n  normal_ratios: [-2]\n",
     "grid key 'normal_ratios' in {path} has a value out of range"),
]


@pytest.mark.parametrize("text, message", GRIDS, ids=[m.split(" in ")[0][:40] for _, m in GRIDS])
def test_grid_files_name_the_file_and_key(capsys, isolated_dirs, tmp_path, text, message):
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    assert_refused(capsys, isolated_dirs, ["sweep", str(path)], message.format(path=path))


def test_a_grid_above_the_maximum_ratio_runs_when_raised_deliberately(capsys, tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text("protocol: synthetic-ratio\nratios: [0, 12]\nseeds: [0]\n")
    assert main(["sweep", str(path), "--dry-run", "--max-ratio", "20", "--json"]) == 0
    (block,) = json.loads(capsys.readouterr().out)
    assert sorted({run["ratio"] for run in block["runs"]}) == [0.0, 12.0]


# --- signals ------------------------------------------------------------------------------------------------


def _bench(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench", *args], cwd=HERE, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _env(isolated_dirs: Path) -> dict:
    return {**os.environ, "BENCH_CACHE": str(isolated_dirs / "cache"), "BENCH_RESULTS": str(isolated_dirs / "results")}


def _temps(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*") if ".tmp-" in p.name or ".old-" in p.name] if root.exists() else []


def _wait_for(condition, timeout: float = 120.0, every: float = 0.2) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(every)
    return False


def test_sigterm_during_generation_exits_143_and_removes_its_temporary_folders(isolated_dirs, tmp_path):
    cache = isolated_dirs / "cache"
    proc = _bench("generate", "--generator", "perlin", "--n", "5000", "--out", str(tmp_path / "out"), env=_env(isolated_dirs))
    try:
        assert _wait_for(lambda: any(p.is_dir() for p in _temps(cache / "generated"))), "generation never started"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1].startswith("error: terminated (SIGTERM)")
    assert "Traceback" not in err
    assert _temps(cache) == [] and not (tmp_path / "out").exists()


def test_stale_temporary_folders_of_dead_processes_are_swept_at_start_up(isolated_dirs):
    from bench.core.atomic import _sibling

    target = isolated_dirs / "cache" / "generated" / "perlin" / "abc"
    target.parent.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = target.with_name(_sibling(target, "tmp").name.replace(f"-{os.getpid()}-", f"-{int(dead.stdout)}-"))
    live = _sibling(target, "tmp")  # this test process is alive: its folder stays
    for folder in (stale, live):
        (folder / "images").mkdir(parents=True)
    assert main(["generators", "list", "--json"]) == 0
    assert not stale.exists() and live.exists()
    assert main(["cache", "clean"]) == 0 and live.exists()


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        found |= {int(c) for c in children}
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


PARENT = """
import sys, time
from bench.executors.local import LocalExecutor
pool = LocalExecutor._pool(1, 1)
future = pool.submit(time.sleep, 600)
while not pool._processes:
    time.sleep(0.05)
print(*pool._processes, flush=True)
time.sleep(600)
"""


def test_local_workers_die_with_their_parent_even_when_it_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=HERE, stdout=subprocess.PIPE, text=True)
    try:
        (worker,) = map(int, parent.stdout.readline().split())
        assert _alive(worker)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        assert _wait_for(lambda: not _alive(worker), timeout=30), f"worker {worker} outlived its killed parent"
    finally:
        parent.kill()


def test_sigterm_to_a_packed_grid_stops_its_workers(isolated_dirs):
    args = ["protocol", "synthetic-ratio", "--executor", "local", "--jobs", "1", "--threads", "1", "--generators", "copy-paste",
            "--ratios", "0", "--seeds", "0", "--schedule", "short", "--device", "cpu"]
    proc = _bench(*args, env=_env(isolated_dirs))
    try:
        assert _wait_for(lambda: bool(_children(proc.pid)), timeout=120), "no worker started"
        workers = _children(proc.pid)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert _wait_for(lambda: not any(_alive(w) for w in workers), timeout=30)
    assert _temps(isolated_dirs / "cache") == []
