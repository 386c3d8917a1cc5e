"""Every adapter reads a faithful miniature of its release layout (tests/helpers/releases.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.cli import main
from bench.data.base import load_pool
from bench.data.classmaps import DS_MVTEC, DS_VISION
from bench.data.splits import make_split, manifest_path
from bench.records import RecordStore
from bench.spec import RunSpec
from tests.helpers.records import run_record
from tests.helpers.releases import (
    SIZE,
    ds_flat_tree,
    ds_mvtec_tree,
    ds_synthetic_tree,
    folder_tree,
    ksdd2_tree,
    mvtec_tree,
    save,
    visa_pytorch_tree,
    visa_tree,
)


def groups_of(pool) -> dict[str, int]:
    counts: dict[str, int] = {}
    for i in pool.ids:
        counts[pool.group(i)] = counts.get(pool.group(i), 0) + 1
    return counts


# --- adapters -------------------------------------------------------------------------------------


def test_mvtec_ad_classes_by_sorted_defect_type_and_third_split(tmp_path):
    root = mvtec_tree(tmp_path / "mvtec")
    pool = load_pool("mvtec-ad", "bottle", root)
    assert pool.classes == {0: "background", 1: "broken_large", 2: "contamination"}
    assert groups_of(pool) == {"good": 5, "broken_large": 10, "contamination": 4}
    assert np.unique(pool.mask("contamination_000")).tolist() == [0, 2]  # 255 -> class id
    assert pool.origin("good_train_000") == "train" and pool.origin("good_test_001") == "test"

    split = make_split(pool, "third")
    assert split.train == ("broken_large_000", "broken_large_001", "broken_large_002", "contamination_000")
    assert len(split.test) == 7 + 3 and "broken_large_003" in split.test  # index n//3 is test, not train
    assert split.normal_train == ("good_train_000", "good_train_001", "good_train_002")
    assert split.normal_test == ("good_test_000", "good_test_001")
    manifest = json.loads(manifest_path(pool, "third").read_text())
    assert manifest["manifest_hash"] == split.manifest_hash(pool)
    assert manifest["parts"]["train"]["broken_large_000"] == pool.hash("broken_large_000")


def test_ds_mvtec_keeps_class_ids_and_defect_folders(tmp_path):
    pool = load_pool("ds-mvtec", "capsule", ds_mvtec_tree(tmp_path / "DS-MVTec"))
    assert pool.classes == {0: "background", **dict(enumerate(DS_MVTEC["capsule"], start=1))}
    assert groups_of(pool) == {"crack": 3, "poke": 2, "combined": 1, "good": 2}
    assert np.unique(pool.mask("poke_001")).tolist() == [0, 2]
    assert np.unique(pool.mask("combined_000")).tolist() == [0, 1, 5]
    assert not pool.mask("good_000").any()


def test_ds_vision_flat_products_group_by_dominant_class(tmp_path):
    root = tmp_path / "DS-VISION"
    ds_flat_tree(root / "Capacitor", [1, 3, 3, 2], suffix=".jpg")
    ds_flat_tree(root / "Groove", [1, 2])
    pool = load_pool("ds-vision", "Capacitor", root)
    assert pool.classes[3] == DS_VISION["Capacitor"][2] == "crack"
    assert groups_of(pool) == {"scratch": 1, "crush": 1, "crack": 2}


@pytest.mark.parametrize(
    "fmt, folder, category, names",
    [("ds-dagm", "DS-DAGM", "dagm", ["scratch", "texture", "crush", "color", "dirty"]), ("ds-cotton", "DS-Cotton-Fabric", "cotton-fabric", ["texture", "bubble"])],
)
def test_ds_single_category_flat_releases(tmp_path, fmt, folder, category, names):
    root = ds_flat_tree(tmp_path / folder, [1, 2, 2])
    pool = load_pool(fmt, category, root)
    assert list(pool.defect_classes.values()) == names
    assert groups_of(pool) == {names[0]: 1, names[1]: 2}


def test_ds_synthetic_reads_converted_index_masks_not_random_colours(tmp_path):
    pool = load_pool("ds-synthetic", "bottle", ds_synthetic_tree(tmp_path / "synthetic_MVTec"))
    assert pool.classes == {0: "background", **dict(enumerate(DS_MVTEC["bottle"], start=1))}
    assert pool.ids == ("000001_0_0", "000002_1_0", "000003_2_0")
    assert groups_of(pool) == {"broken_large": 1, "contamination": 2}
    assert np.unique(pool.mask("000003_2_0")).tolist() == [0, 3]


def test_visa_follows_its_split_csv(tmp_path):
    pool = load_pool("visa", "candle", visa_tree(tmp_path / "VisA"))
    assert pool.classes == {0: "background", 1: "anomaly"}
    assert groups_of(pool) == {"good": 5, "anomaly": 5}
    assert np.unique(pool.mask("anomaly_004")).tolist() == [0, 1]
    split = make_split(pool, "half")
    assert split.train == ("anomaly_000", "anomaly_001") and len(split.test) == 3
    assert split.normal_train == ("good_0000", "good_0001", "good_0002")
    assert split.normal_test == ("good_0003", "good_0004")


def test_mvtec_ad_reads_the_visa_pytorch_conversion_whose_masks_are_named_as_their_images(tmp_path, capsys):
    root = visa_pytorch_tree(tmp_path / "visa_pytorch")
    pool = load_pool("mvtec-ad", "candle", root)
    assert pool.classes == {0: "background", 1: "bad"}
    assert groups_of(pool) == {"good": 5, "bad": 4}
    assert np.unique(pool.mask("bad_003")).tolist() == [0, 1] and pool.origin("good_train_train000") == "train"
    missing = root / "candle" / "ground_truth" / "bad" / "002.png"
    missing.unlink()
    assert main(["data", "import", "--dataset", "mvtec-ad", "--data-root", str(root)]) == 2
    assert f"image without mask: {root / 'candle' / 'test' / 'bad' / '002.JPG'} (expected {missing})" in capsys.readouterr().err


def test_ksdd2_normals_are_empty_masks(tmp_path):
    pool = load_pool("ksdd2", "ksdd2", ksdd2_tree(tmp_path / "KolektorSDD2"))
    assert pool.classes == {0: "background", 1: "defect"}
    assert groups_of(pool) == {"good": 3, "defect": 2}
    assert pool.origin("test_20000") == "test" and pool.group("test_20000") == "defect"
    split = make_split(pool, "ratio:0.5")
    assert split.train == ("test_20000",) and split.test == ("train_10001",)
    assert split.normal_train == ("train_10000", "train_10002") and split.normal_test == ("test_20001",)


def test_folder_layout_with_classes_file_and_palette_mask(tmp_path):
    pool = load_pool("folder", "parts", folder_tree(tmp_path / "parts"))
    assert pool.classes == {0: "background", 1: "scratch", 2: "dent"}
    assert groups_of(pool) == {"scratch": 1, "dent": 1, "good": 1}
    assert np.unique(pool.mask("b")).tolist() == [0, 2]  # Defect-Gen green = class 2


def test_import_is_cached_and_changed_data_is_a_new_pool(tmp_path):
    root = mvtec_tree(tmp_path / "mvtec", defects={"crack": 3})
    first = load_pool("mvtec-ad", "bottle", root)
    assert load_pool("mvtec-ad", "bottle", root).root == first.root
    save(root / "bottle" / "test" / "crack" / "000.png", np.zeros((SIZE, SIZE, 3), np.uint8))
    second = load_pool("mvtec-ad", "bottle", root)
    assert second.root != first.root and second.hash("crack_000") != first.hash("crack_000")


# --- command line -------------------------------------------------------------------------------


def test_data_check_reports_counts_per_split_and_class(capsys, tmp_path):
    root = mvtec_tree(tmp_path / "mvtec")
    args = ["data", "check", "--dataset", "mvtec-ad", "--data-root", str(root), "--split", "third"]
    assert main([*args, "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["category"] == "bottle" and report["images"] == 19 and report["normals"] == 5
    assert report["parts"] == {"train": 4, "val": 0, "test": 10, "normal_train": 3, "normal_test": 2}
    assert report["classes"]["broken_large"] == {"pixels": 160, "instances": 10, "images": 10}
    assert main(args) == 0
    assert "broken_large" in capsys.readouterr().out


def test_data_import_then_run_finds_the_run_by_manifest_hash(capsys, tmp_path, isolated_dirs):
    """`bench run` resolves --dataset/--data-root/--category/--split through the same pool, split and
    manifest hash; a record stored under the expected run id is found and skipped (no training here:
    the toy end-to-end test trains)."""
    root = mvtec_tree(tmp_path / "mvtec", defects={"crack": 6, "scratch": 6}, train_good=2, test_good=2)
    assert main(["data", "import", "--dataset", "mvtec-ad", "--data-root", str(root)]) == 0
    assert "bottle: 16 pairs, classes crack, scratch" in capsys.readouterr().out
    pool = load_pool("mvtec-ad", "bottle", root)
    split = make_split(pool, "third+val:0.5")
    assert split.train == ("crack_000", "scratch_000") and split.val == ("crack_001", "scratch_001")
    spec = RunSpec(dataset="mvtec-ad", category="bottle", split="third+val:0.5", schedule="smoke", device="cpu")
    run_id = spec.run_id(split.manifest_hash(pool))
    store = RecordStore(isolated_dirs / "results" / "runs")
    record = run_record(dataset="mvtec-ad", category="bottle", split="third+val:0.5", schedule="smoke", device="cpu",
                        manifest=split.manifest_hash(pool))
    assert record.run_id == run_id
    store.write(record.to_dict())
    run = ["run", "--dataset", "mvtec-ad", "--data-root", str(root), "--category", "bottle", "--split", "third+val:0.5", "--schedule", "smoke",
           "--device", "cpu"]
    assert main(run) == 0
    assert capsys.readouterr().out.startswith(f"skipped (record exists; --force to rerun): {run_id}")


def test_class_counts_match_scipy_labelling():
    from scipy import ndimage

    from bench.data.stats import class_counts

    rng = np.random.default_rng(3)
    masks = [(rng.random((24, 24)) < 0.15).astype(np.uint8) * rng.integers(1, 3, (24, 24)).astype(np.uint8) for _ in range(4)]
    counts = class_counts(masks, {0: "background", 1: "scratch", 2: "hole"})
    for class_id, name in ((1, "scratch"), (2, "hole")):
        regions = [ndimage.label(m == class_id, structure=np.ones((3, 3)))[1] for m in masks]
        assert counts[name] == {
            "pixels": int(sum((m == class_id).sum() for m in masks)),
            "instances": sum(regions),
            "images": sum(bool((m == class_id).any()) for m in masks),
        }
