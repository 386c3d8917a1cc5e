"""What the quick commands load: `bench --help` and the listings import no torch, mmseg or mmdet (the
measured start-up times are in docs/scaling.md, "Start-up"). Each runs in a fresh interpreter, because
this one has loaded torch already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STACK = {"torch", "mmseg", "mmdet", "mmengine", "mmcv", "diffusers", "transformers"}
PROBE = """
import contextlib, io, json, sys
from bench.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def loaded_by(*args: str) -> tuple[int, set[str]]:
    """Exit code of ``bench ARGS`` and the top-level packages it imported."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["code"], set(out["modules"])


def test_help_loads_neither_the_model_stack_nor_numpy():
    code, modules = loaded_by("--help")
    assert code == 0
    assert not modules & (STACK | {"numpy", "cv2", "pandas", "PIL", "tabulate", "yaml"})
    assert "click" in modules and "bench" in modules  # the probe saw the imports


@pytest.mark.parametrize("args", [("generators", "list", "--json"), ("segmenters", "list", "--json"), ("run", "--help"),
                                  ("protocol", "--help")])
def test_listings_and_command_help_load_no_model_stack(args):
    code, modules = loaded_by(*args)
    assert code == 0 and not modules & STACK


def test_report_loads_no_model_stack(tmp_path):
    (tmp_path / "runs").mkdir()
    code, modules = loaded_by("report", "--records", str(tmp_path / "runs"))
    assert code == 2 and not modules & STACK  # no records: one error line
