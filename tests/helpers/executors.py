"""The executors' test grid: two real smoke runs and one that fails in the worker, and how their records compare
whichever executor computed them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.core.specs import GeneratorSpec
from bench.spec import RunSpec
from tests.helpers.releases import save

SMOKE = dict(segmenter="segformer", dataset="toy", category="wood", schedule="smoke", device="cpu")


def executor_grid(root: Path) -> list[RunSpec]:
    """Two real runs and one whose imported masks name no class the task has, which shows only when the generator
    fits, so its task raises in the worker (a missing folder, too few pairs, pairs of another size or an import
    that overlaps the test split fail the grid before any run)."""
    tool = root / "bad-tool"
    if not tool.is_dir():
        for i in range(15):  # the 15 pairs ratio 1 asks for on toy/wood/ds-5shot
            save(tool / "images" / f"{i:02d}.png", np.full((64, 64, 3), i, np.uint8))
            save(tool / "masks" / f"{i:02d}.png", np.full((64, 64), 9, np.uint8))
    broken = GeneratorSpec.of("import:generic", path=str(tool))
    return [
        RunSpec(ratio=0.0, seed=0, **SMOKE),
        RunSpec(generator=GeneratorSpec("copy-paste"), ratio=1.0, seed=0, **SMOKE),
        RunSpec(generator=broken, ratio=1.0, seed=0, **SMOKE),
    ]


def comparable(record: dict) -> dict:
    """What a run computes, without when, where and how long."""
    return {k: record[k] for k in ("run_id", "spec", "data", "metrics")} | {"loss_last": record["segmenter"]["loss_last"]}


def check_grid(root: Path, executor, inline_records: dict) -> None:
    """The grid on ``executor`` gives the inline records, retries the failing run once and names it in one line,
    and skips every finished run when asked again."""
    from bench.executors.base import ATTEMPTS
    from bench.protocols.execute import run_specs
    from bench.records import RecordStore

    store = RecordStore(root / "runs")
    outcome = run_specs(executor_grid(root), store, progress=False, executor=executor)
    assert {o.record["run_id"]: comparable(o.record) for o in outcome.outcomes} == inline_records
    assert {r["run_id"] for r in store} == set(inline_records), "finished runs land in the store"
    (failure,) = outcome.failures
    assert failure.task.spec.generator.name == "import:generic" and failure.attempts == ATTEMPTS
    assert "carry no class" in failure.error and "bad-tool" in failure.error and "\n" not in failure.error

    again = run_specs(executor_grid(root)[:2], store, progress=False, executor=executor)
    assert again.skipped == 2 and again.done == 0
