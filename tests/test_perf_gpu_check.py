"""The GPU check runs end to end on a CPU at tiny sizes (its dry mode), and its helpers do what they say:
utilisation readings from a streaming command, the generator benchmark's cases and profiles."""

from __future__ import annotations

import json
import statistics
import sys

import pytest
import torch
from click.testing import CliRunner

from bench.core.errors import BenchError
from bench.perf import generators as generator_perf
from bench.perf import gpu_check
from bench.perf.utilisation import NotSampled, StreamSampler, describe, sampler, summarize


def test_dry_run_measures_every_part_and_names_the_device(tmp_path):
    outcome = CliRunner().invoke(gpu_check.main, ["--device", "cpu", "--out", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    (json_path,) = tmp_path.glob("gpu-dry-*.json")
    result = json.loads(json_path.read_text())
    assert result["dry"] and result["device_type"] == "cpu" and result["sizes"] == json.loads(json.dumps(gpu_check.asdict(gpu_check.DRY)))
    assert set(result["part_seconds"]) == {"segmenters", "train_step", "grid", "sampling"}
    (row,) = result["segmenters"]
    assert set(row["train"]) == {"fp32"} and row["train"]["fp32"]["img_s"] > 0 and row["eval_img_s"] > 0
    assert row["utilisation"]["note"] == "not sampled: the device is a CPU"
    assert result["train_step"]["ratio"] > 0
    grid = result["grid"]
    assert grid["packed_over_sequential"] == pytest.approx(grid["sequential"]["seconds"] / grid["packed"]["seconds"])
    sampled = {(r["name"], r["sampler"]) for r in result["sampling"]}
    assert sampled == {("defectgen", "fast"), ("ddpm", "fast"), ("defectdiffu", None), ("defectsynth", None)}
    assert all(r["n"] == 1 and r["pairs_per_s"] > 0 for r in result["sampling"])
    text = json_path.with_suffix(".md").read_text()
    assert result["device"] in text and "dry run" in text and "| defectgen | smoke | fast |" in text


def test_full_sizes_cover_all_eight_segmenters_at_512_px():
    assert len(gpu_check.GPU.segmenters) == 8 and gpu_check.GPU.size == 512 and gpu_check.GPU.grid_runs == 8
    assert gpu_check.GPU.samplers == ("full", "fast") and dict(gpu_check.GPU.sample_profiles)["defectgen"] == "paper"


def test_unknown_part_is_one_error_line():
    with pytest.raises(BenchError, match="unknown gpu-check part"):
        gpu_check.run(torch.device("cpu"), gpu_check.DRY, ("segmenters", "everything"))


def test_stream_sampler_reads_one_percent_per_line_and_skips_the_rest():
    lines = "print('[N/A]'); print('40'); print('60, extra'); print('not a number'); print('80')"
    with StreamSampler([sys.executable, "-c", lines], "fake") as watch:
        watch._thread.join(timeout=30)  # the command ends by itself; the sampler has read everything
    summary = watch.summary()
    assert summary["samples"] == 3 and summary["mean"] == statistics.fmean([40, 60, 80]) and summary["max"] == 80
    assert describe(summary) == "60 % (max 80, n=3)"


def test_no_readings_and_a_cpu_say_so():
    assert "no readings" in describe(summarize([], "pynvml"))
    assert isinstance(sampler(torch.device("cpu")), NotSampled)


def test_generator_cases_take_each_sampler_where_the_backend_has_one():
    cases = generator_perf.cases(["copy-paste", "defectgen", "dcdganc"], ["full", "fast"])
    assert cases == [("copy-paste", None), ("defectgen", "full"), ("defectgen", "fast"), ("dcdganc", None)]
    natives = generator_perf.native_generators()
    assert {"defectgen", "ddpm", "dcdganc", "defectdiffu", "defectsynth", "copy-paste"} <= set(natives)
    assert "none" not in natives and not any(name.startswith("import:") for name in natives)


def test_profiles_default_to_toy_else_smoke_and_bad_overrides_fail():
    profiles = generator_perf.parse_profiles(["defectdiffu", "dcdganc", "copy-paste"], ["dcdganc=short"])
    assert profiles == {"defectdiffu": "toy", "dcdganc": "short", "copy-paste": None}
    for bad in ("copy-paste=toy", "defectgen"):
        with pytest.raises(BenchError, match="GENERATOR=PROFILE"):
            generator_perf.parse_profiles(["defectgen"], [bad])


def test_adapt_sets_the_batch_and_a_one_step_budget():
    from bench.core.specs import GeneratorSpec
    from generators.registry import build

    generator = build(GeneratorSpec.of("defectgen", profile="smoke", device="cpu"))
    generator_perf.LEARNED["defectgen"].adapt(generator, 3, full_training=False)
    assert generator.profile.sample_batch == 3 and generator.profile.iterations == 1
    kept = build(GeneratorSpec.of("defectgen", profile="smoke", device="cpu"))
    iterations = kept.profile.iterations
    generator_perf.LEARNED["defectgen"].adapt(kept, 2, full_training=True)
    assert kept.profile.sample_batch == 2 and kept.profile.iterations == iterations > 1


def test_a_failing_part_is_recorded_and_the_check_goes_on(monkeypatch):
    def broken(sizes, device):
        raise RuntimeError("CUDA error: no kernel image is available\nsecond line")

    monkeypatch.setattr(gpu_check, "segmenter_part", broken)
    monkeypatch.setattr(gpu_check, "train_step_part", lambda sizes, device: {"name": "x"})
    result = gpu_check.run(torch.device("cpu"), gpu_check.DRY, ("segmenters", "train_step"))
    assert result["segmenters"] == {"error": "RuntimeError: CUDA error: no kernel image is available"}
    assert result["train_step"] == {"name": "x"} and set(result["part_seconds"]) == {"segmenters", "train_step"}
    assert "- `segmenters`: RuntimeError: CUDA error" in gpu_check.markdown({**result, "train_step": {"error": "e"}})


def test_a_segmenter_that_needs_missing_ops_is_skipped_not_fatal(monkeypatch):
    monkeypatch.setattr(gpu_check, "ops_available", lambda: False)
    sizes = gpu_check.replace(gpu_check.DRY, segmenters=("mask2former",))
    assert gpu_check.segmenter_part(sizes, torch.device("cpu")) == [
        {"name": "mask2former", "error": "skipped: mmcv's compiled ops are not built"}]
