"""The crop view of a split (DCDGANc's 256 px crops) and the Raw / Augment / Enlarge protocol on it, end to
end on the toy data (64 px pictures, 32 px crops) at the smoke schedule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.cli import main
from bench.core.errors import BenchError
from bench.core.pairset import Pair
from bench.core.specs import TaskRef
from bench.data.crops import CropView, crops_of, starts, windows
from bench.data.splits import Preset
from bench.data.tasks import load_task
from bench.protocols import PROTOCOLS
from bench.records import RecordStore
from bench.runner import resolve
from bench.spec import RunSpec

CROPPED = "ratio:0.65+crop:32+stride:16"


def slow_windows(height: int, width: int, size: int, stride: int) -> set[tuple[int, int]]:
    """Every window position the obvious way: stepped starts, and the far edge wherever a step falls short of it."""
    def axis(length):
        out, position = set(), 0
        while position + size <= length:
            out.add(position)
            position += stride
        if max(out) + size < length:
            out.add(length - size)
        return out
    return {(t, left) for t in axis(height) for left in axis(width)}


@pytest.mark.parametrize("shape,size,stride", [((10, 10), 4, 3), ((11, 7), 4, 3), ((64, 64), 32, 16), ((1024, 1024), 256, 128),
                                               ((5, 9), 5, 5), ((40, 33), 8, 1)])
def test_windows_cover_every_pixel_at_the_stride(shape, size, stride):
    found = windows(shape, size, stride)
    assert set(found) == slow_windows(*shape, size, stride) and len(found) == len(set(found))
    covered = np.zeros(shape, bool)
    for top, left in found:
        covered[top:top + size, left:left + size] = True
    assert covered.all()
    assert starts(1024, 256, 128) == [0, 128, 256, 384, 512, 640, 768]


def test_a_defect_picture_gives_the_windows_holding_a_defect_and_a_normal_its_tiles():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)
    mask = np.zeros((48, 40), np.uint8)
    mask[5:7, 30:33] = 2
    mask[40, 2] = 255  # ignored pixels do not make a window a defect window
    view = CropView(16, 8)
    kept = list(crops_of(Pair("p", image, mask, "hole"), view, defects_only=True))
    expected = [(t, left) for t, left in windows(mask.shape, 16, 8) if (mask[t:t + 16, left:left + 16] == 2).any()]
    assert [c.id for c in kept] == [f"p@{t}-{left}" for t, left in expected] and expected
    for crop, (t, left) in zip(kept, expected):
        assert np.array_equal(crop.image, image[t:t + 16, left:left + 16]) and np.array_equal(crop.mask, mask[t:t + 16, left:left + 16])
        assert crop.group == "hole"
    tiles = list(crops_of(Pair("n", image, np.zeros_like(mask), "good"), view, defects_only=False))
    assert [c.id for c in tiles] == [f"n@{t}-{left}" for t in (0, 16, 32) for left in (0, 16, 24)], "tiles, the last flush"


def test_presets_name_the_crop_view_and_bad_ones_fail_in_one_line():
    assert (Preset.parse(CROPPED).crop, Preset.parse(CROPPED).stride) == (32, 16)
    assert (Preset.parse("third+crop:32").crop, Preset.parse("third+crop:32").stride) == (32, 32)
    assert Preset.parse("half+val:0.2+crop:8+stride:4").val_fraction == Preset.parse("half+val:0.2").val_fraction
    for bad, message in [("third+stride:8", "is not of the form"), ("third+crop:0", "whole number of pixels"),
                         ("third+crop:8+stride:16", "stride 16 is larger than the crop 8"), ("third+crop:x", "whole number"),
                         ("third+stride:8+crop:16", "is not of the form")]:
        with pytest.raises(BenchError, match=message):
            Preset.parse(bad)


def test_the_split_is_made_on_pictures_and_each_side_is_cropped():
    pictures = load_task(TaskRef("toy", "wood", "ratio:0.65"))
    data = load_task(TaskRef("toy", "wood", CROPPED))
    picture_of = lambda ids: {i.rpartition("@")[0] for i in ids}  # noqa: E731
    assert picture_of(data.split.train) == set(pictures.split.train)
    assert picture_of(data.split.test) == set(pictures.split.test)
    assert picture_of(data.split.normal_train) == set(pictures.split.normal_train)
    assert data.split.normal_test == (), "the test holds defect crops only"
    assert len(data.split.normal_train) == 4 * len(pictures.split.normal_train), "64 px normals give four 32 px tiles"
    for crop in data.split.train[:5] + data.split.test[:5]:
        picture, _, at = crop.rpartition("@")
        top, left = map(int, at.split("-"))
        assert np.array_equal(data.pool.image(crop), pictures.pool.image(picture)[top:top + 32, left:left + 32])
        assert data.pool.mask(crop).any() and data.pool.group(crop) == pictures.pool.group(picture)
    assert data.manifest_hash != load_task(TaskRef("toy", "wood", "ratio:0.65+crop:32")).manifest_hash
    assert load_task(TaskRef("toy", "wood", CROPPED)).manifest_hash == data.manifest_hash, "cached and the same"


def test_a_crop_larger_than_the_pictures_fails_before_any_work():
    with pytest.raises(BenchError, match=r"crop 128 px is larger than picture '.*' \(64x64\) of category 'wood' of dataset 'toy'"):
        resolve(RunSpec(split="third+crop:128", labels="binary", schedule="smoke"))


def test_the_protocol_defaults_are_the_papers_experiment():
    protocol = PROTOCOLS.get("dcdganc")
    assert protocol.name == "raw-augment-enlarge"
    specs = protocol.specs(protocol.grid({"seeds": "0", "segmenters": "unet"}, "test"))
    assert {(s.generator.name, s.ratio) for s in specs if s.ratio} == {("augment", 2.0), ("dcdganc", 2.0)}
    assert {s.ratio for s in specs} == {0.0, 2.0} and {s.segmenter for s in specs} == {"unet"}
    assert {(s.dataset, s.category, s.split, s.labels) for s in specs} == {
        ("mvtec-ad", c, "ratio:0.65+crop:256+stride:128", "binary") for c in ("wood", "carpet")}
    assert {s.segmenter for s in protocol.specs(protocol.grid({}, "test"))} == {"unet", "deeplabv3plus"}


def test_raw_augment_enlarge_runs_on_crops_and_reports_the_table_form(tmp_path, capsys, isolated_dirs):
    grid = tmp_path / "grid.yaml"
    grid.write_text(f"protocol: raw-augment-enlarge\ndataset: toy\ncategories: [wood]\nsplit: '{CROPPED}'\n"
                    "generators: [augment, 'dcdganc(profile=smoke)']\nsegmenters: [segformer]\nratios: [0, 1]\nseeds: [0, 1, 2]\n"
                    "schedule: smoke\ndevice: cpu\n")
    assert main(["sweep", str(grid), "--json"]) == 0
    (block,) = json.loads(capsys.readouterr().out)
    assert len(block["runs"]) == 9
    records = list(RecordStore(isolated_dirs / "results" / "runs"))
    data = load_task(TaskRef("toy", "wood", CROPPED))
    for r in records:
        assert r["spec"]["labels"] == "binary" and r["data"]["n_test_normal"] == 0
        assert r["data"]["n_train_real"] == len(data.split.train) and r["data"]["n_test"] == len(data.split.test)
        assert r["data"]["n_synthetic"] == (len(data.split.train) if r["spec"]["ratio"] else 0), "ratios count crops"
        assert r["segmenter"]["input_size"] == 32

    assert main(["report", "--all"]) == 0
    report = (isolated_dirs / "results" / "report" / "report.md").read_text()
    assert "Raw / Augment / Enlarge" in report and "Defect localization (binary)" not in report
    rows = [line for line in report.splitlines() if line.startswith(("| Raw:", "| Augment:", "| Enlarge:"))]
    assert len(rows) == 3 and "Raw: real only" in rows[0] and "Augment: real + augment x1" in rows[1]
    (enlarge,) = [r for r in rows if "Enlarge: real + dcdganc" in r]

    def f1(generator):
        return {r["spec"]["seed"]: r["metrics"]["pixel_F1"] for r in records if r["spec"]["generator"]["name"] == generator}
    raw, enlarged = f1("none"), f1("dcdganc")
    delta = np.mean([enlarged[s] - raw[s] for s in (0, 1, 2)])
    assert f"{100 * delta:+.2f} [" in enlarge, "Δ F1 vs Raw: the mean of the per-seed differences"
    assert "tested comparisons" in report and enlarge.count("[") >= 4, "vs Raw and vs Augment, AUC and F1"
