"""A task's picture size: chosen, applied at import, recorded, and part of every identity; a release of several
sizes without one stops before any work. And the one conversion of every picture mode to RGB."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from bench.cli import main
from bench.core.errors import BenchError
from bench.core.specs import TaskRef, parse_image_size
from bench.data.base import load_pool
from bench.data.tasks import load_task
from bench.metrics.benign import load_rules
from bench.protocols.report import report_tables
from bench.records import RecordStore, RunRecord
from bench.report.frames import records_frame
from bench.spec import RunSpec
from tests.helpers.releases import blob, class_folder_release, folder_tree, save

MIXED = ((24, 20), (30, 22), (20, 26))  # (W, H) of the release's pictures, in turn


@pytest.mark.parametrize("text,canonical", [("256", "256x256"), (256, "256x256"), ("384x160", "384x160"), (" 32 X 16 ", "32x16"),
                                            ("", ""), (None, "")])
def test_sizes_have_one_canonical_form(text, canonical):
    assert parse_image_size(text) == canonical


@pytest.mark.parametrize("text", ["0", "7", "9000", "x", "256x", "1e3", "256x-1", True])
def test_bad_sizes_are_refused(text):
    with pytest.raises(BenchError, match="--image-size"):
        parse_image_size(text)


def test_run_ids_hold_without_a_size_and_one_size_has_one_id():
    plain = RunSpec(dataset="folder", category="tiles", split="third", schedule="smoke")
    assert "image_size" not in plain.identity()
    sized = RunSpec(dataset="folder", category="tiles", split="third", schedule="smoke", image_size="24")
    assert sized.image_size == "24x24" and sized.identity()["image_size"] == "24x24"
    assert sized.run_id("m") == RunSpec(**{**plain.__dict__, "image_size": "24x24"}).run_id("m") != plain.run_id("m")
    assert sized.task == TaskRef("folder", "tiles", "third", "24x24") and str(sized.task) == "folder/tiles/third@24x24"


def test_pictures_are_area_resized_and_masks_nearest(tmp_path):
    root = class_folder_release(tmp_path / "tiles", sizes=MIXED)
    native = load_pool("folder", "tiles", root)
    pool = load_pool("folder", "tiles", root, image_size="16x12")
    assert pool.root != native.root and pool.meta["source"]["image_size"] == "16x12"
    assert pool.meta["picture_sizes"] == {"20x26": 2, "24x20": 3, "30x22": 3}  # the release's own sizes
    for pair_id in pool.ids:
        image, mask = native.image(pair_id), native.mask(pair_id)
        assert np.array_equal(pool.image(pair_id), cv2.resize(image, (16, 12), interpolation=cv2.INTER_AREA))
        assert np.array_equal(pool.mask(pair_id), np.asarray(Image.fromarray(mask).resize((16, 12), Image.NEAREST)))


def test_a_defect_that_resizing_removes_makes_a_normal_and_is_counted(tmp_path, capsys):
    root = class_folder_release(tmp_path / "tiles", classes=("Crack",))
    speck = np.zeros((16, 20), np.uint8)
    speck[7, 9] = 255  # one pixel: nearest neighbour at 8 x 8 samples columns 8 and 11, not 9
    save(root / "MT_Crack/Imgs/crack01.png", speck)
    pool = load_pool("folder", "tiles", root, image_size="8x8")
    assert pool.group("Crack_crack01") == "good" and pool.meta["emptied_by_resize"] == ["Crack_crack01"]
    assert main(["data", "check", "--dataset", "folder", "--data-root", str(root), "--image-size", "8", "--split", "half"]) == 0
    assert "defect pictures whose mask resizing emptied: 1 (they count as normals)" in capsys.readouterr().out


def test_mixed_sizes_stop_before_any_work_with_one_line(tmp_path, capsys, isolated_dirs):
    root = class_folder_release(tmp_path / "tiles", sizes=MIXED)
    for args in (["run", "--dataset", "folder", "--data-root", str(root), "--category", "tiles", "--split", "third", "--schedule", "smoke",
                  "--device", "cpu"],
                 ["data", "import", "--dataset", "folder", "--data-root", str(root)],
                 ["data", "check", "--dataset", "folder", "--data-root", str(root)]):
        assert main(args) == 2
        err = capsys.readouterr().err
        errors = [line for line in err.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and err.rstrip().endswith(errors[0]), err
        assert "differ in size: 'Crack_crack00' is 24x20, 'Crack_crack01' is 30x22" in errors[0] and "--image-size" in errors[0]
    assert not (isolated_dirs / "cache" / "data").exists() or not any((isolated_dirs / "cache" / "data").rglob("meta.json"))
    assert not (isolated_dirs / "results" / "runs").exists() or not any((isolated_dirs / "results" / "runs").iterdir())
    crops = load_task(TaskRef("folder", "tiles", "third+crop:16"), root)  # a crop view cuts every size into one
    assert {crops.pool.image(i).shape for i in crops.pool.ids} == {(16, 16, 3)}
    with pytest.raises(BenchError, match="differ in size: 3 are 24x20, 3 are 30x22 "):  # the same pool, now cached, as a task
        load_task(TaskRef("folder", "tiles", "third"), root)


def test_a_sized_run_trains_records_its_size_and_two_sizes_are_two_rows(tmp_path, capsys, isolated_dirs):
    root = class_folder_release(tmp_path / "tiles", sizes=MIXED)
    common = ["run", "--dataset", "folder", "--data-root", str(root), "--category", "tiles", "--split", "third", "--schedule", "smoke",
              "--device", "cpu", "--json"]
    records = []
    for size in ("24", "32x16"):
        assert main([*common, "--image-size", size]) == 0
        out = json.loads(capsys.readouterr().out)
        assert not out["skipped"]
        records.append(out["record"])
    for record, size in zip(records, ("24x24", "32x16")):
        assert record["spec"]["image_size"] == size and record["data"]["imported"]["image_size"] == size
        assert record["data"]["imported"]["resize"]["picture"].startswith("area")
        assert record["data"]["imported"]["layout"]["hash"] and record["segmenter"]["loss_first"] > 0
        spec = RunSpec.from_dict(record["spec"])
        assert spec.run_id(record["data"]["manifest_hash"]) == record["run_id"]
    assert records[0]["run_id"] != records[1]["run_id"]
    assert main([*common, "--image-size", "24x24"]) == 0  # 24 and 24x24 are one task: the record is found
    assert json.loads(capsys.readouterr().out)["skipped"]
    frame = records_frame(RunRecord.from_dict(r) for r in RecordStore(isolated_dirs / "results" / "runs"))
    assert sorted(frame["image_size"]) == ["24x24", "32x16"]
    tables = report_tables(frame, {}, load_rules())
    for table in tables:
        if "image_size" in table.frame.columns:
            assert sorted(table.frame["image_size"]) == ["24x24", "32x16"], table.name
    assert any("image_size" in t.frame.columns for t in tables)


# --- picture modes: one conversion to RGB ---------------------------------------------------------------


def test_every_picture_mode_is_converted_one_documented_way(tmp_path):
    root = folder_tree(tmp_path / "parts")
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (16, 16), dtype=np.uint8)
    deep = rng.integers(0, 65536, (16, 16)).astype(np.uint16)
    cmyk = rng.integers(0, 256, (16, 16, 4), dtype=np.uint8)
    palette = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).quantize(8)
    for stem in ("a", "b", "c"):
        next((root / "images").glob(f"{stem}.*")).unlink()
    Image.fromarray(grey).save(root / "images" / "a.png")
    Image.fromarray(deep).save(root / "images" / "b.png")  # 16-bit grey PNG
    Image.fromarray(cmyk, "CMYK").save(root / "images" / "c.tif")
    for stem in ("d", "e"):
        save(root / "masks" / f"{stem}.png", blob(1))
    palette.save(root / "images" / "d.png")
    Image.fromarray(grey).convert("1").save(root / "images" / "e.png")
    pool = load_pool("folder", "parts", root)
    assert np.array_equal(pool.image("a"), np.stack([grey] * 3, axis=2))
    assert np.array_equal(pool.image("b"), np.stack([np.round(deep / 65535 * 255).astype(np.uint8)] * 3, axis=2))
    c, m, y, k = (cmyk[..., i].astype(float) / 255 for i in range(4))
    expected = np.stack([255 * (1 - v) * (1 - k) for v in (c, m, y)], axis=2)
    assert np.abs(pool.image("c").astype(float) - expected).max() <= 1
    assert np.array_equal(pool.image("d"), np.asarray(palette.convert("RGB")))
    assert set(np.unique(pool.image("e"))) <= {0, 255}
    assert pool.meta["picture_modes"] == {"1": 1, "CMYK": 1, "I;16": 1, "L": 1, "P": 1}
    assert pool.meta["source"]["conversion"] == "bench.rgb/1"


def test_a_mode_without_a_conversion_is_refused_naming_the_file(tmp_path, capsys):
    root = folder_tree(tmp_path / "parts")
    (root / "images" / "a.png").unlink()
    Image.fromarray(np.zeros((16, 16), np.float32)).save(root / "images" / "a.tif")
    assert main(["data", "import", "--dataset", "folder", "--data-root", str(root)]) == 2
    assert f"picture {root / 'images' / 'a.tif'} is stored in mode F" in capsys.readouterr().err


def test_sizes_are_compared_within_their_own_task_in_every_table():
    """A setting is compared with the baseline of its own size, never another's: one delta row per size (the data
    hash is the same here, so only the size column can keep them apart)."""
    from bench.report.tables import deltas
    from tests.helpers.records import run_record

    records = [run_record(generator, ratio, seed, miou=base + gain * (ratio > 0) + 0.01 * seed, image_size=size, manifest="m" * 64)
               for size, base, gain in (("24x24", 0.4, 0.1), ("32x16", 0.6, -0.2))
               for generator, ratio in (("none", 0.0), ("copy-paste", 1.0)) for seed in range(3)]
    frame = records_frame(records)
    delta = deltas(frame)
    assert sorted(zip(delta["image_size"], delta["delta"].round(6))) == [("24x24", 0.1), ("32x16", -0.2)]
    tables = report_tables(frame, {}, load_rules())
    assert {t.name for t in tables} >= {"runs", "with_without", "generators"}
    for table in tables:
        assert set(table.frame["image_size"]) == {"24x24", "32x16"}, table.name
    assert list(next(t for t in tables if t.name == "generators").frame["mean Δ mIoU"]) == ["+10.00", "-20.00"]
    from bench.report.plots import ratio_curves, ratio_figures

    names = [name for name, _ in ratio_figures(ratio_curves(frame))]
    assert names == ["ratio_toy_segformer_ds-5shot_24x24_short_cpu_scratch", "ratio_toy_segformer_ds-5shot_32x16_short_cpu_scratch"]
