"""Bad data is refused loudly: one `error:` line naming the offending file, exit 2, nothing left in the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.cli import main
from tests.helpers.releases import SIZE, blob, ds_flat_tree, ds_mvtec_tree, folder_tree, ksdd2_tree, mvtec_tree, save, save_image, visa_tree


def _image_without_mask(tmp: Path):
    root = mvtec_tree(tmp / "mvtec")
    (root / "bottle" / "ground_truth" / "broken_large" / "003_mask.png").unlink()
    return "mvtec-ad", root, "image without mask: " + str(root / "bottle" / "test" / "broken_large" / "003.png")


def _jpeg_mask(tmp: Path):
    root = mvtec_tree(tmp / "mvtec")
    png = root / "bottle" / "ground_truth" / "broken_large" / "003_mask.png"
    save(png.with_suffix(".jpg"), blob(255))
    png.unlink()
    return "mvtec-ad", root, f"mask {png.with_suffix('.jpg')} of image {root / 'bottle' / 'test' / 'broken_large' / '003.png'} is not 003_mask.png"


def _mask_without_image(tmp: Path):
    root = ds_mvtec_tree(tmp / "DS-MVTec")
    save(root / "capsule" / "mask" / "crack" / "009_mask.png", blob(1))
    return "ds-mvtec", root, "mask without image: " + str(root / "capsule" / "mask" / "crack" / "009_mask.png")


def _size_mismatch(tmp: Path):
    root = folder_tree(tmp / "parts")
    save(root / "masks" / "c.png", np.zeros((SIZE // 2, SIZE), np.uint8))
    return "folder", root, f"size mismatch: mask {root / 'masks' / 'c.png'} is {SIZE}x{SIZE // 2}"


def _unknown_colour_mask(tmp: Path):
    root = ds_flat_tree(tmp / "DS-DAGM", [1, 2, 3])
    rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
    rgb[4:8, 4:8] = (200, 30, 90)  # a random colour, like Defect-Gen's released RGB masks
    save(root / "mask" / "002_mask.png", rgb)
    return "ds-dagm", root, f"mask {root / 'mask' / '002_mask.png'} is a colour (RGB) mask"


def _class_outside_map(tmp: Path):
    root = ds_flat_tree(tmp / "DS-Cotton-Fabric", [1, 2, 7])
    return "ds-cotton", root, f"mask {root / 'mask' / '002_mask.png'} has class ids [7] outside the class map [0, 1, 2]"


def _binary_mask_where_ids_expected(tmp: Path):
    root = folder_tree(tmp / "parts")
    save(root / "masks" / "a.png", blob(255))
    return "folder", root, f"mask {root / 'masks' / 'a.png'} has class ids [255] outside the class map [0, 1, 2]; it looks like a 0/255"


def _truncated_image(tmp: Path):
    root = ksdd2_tree(tmp / "KolektorSDD2")
    last = root / "test" / "20001.png"  # read last, after earlier pairs were already written
    last.write_bytes(last.read_bytes()[:60])
    return "ksdd2", root, f"unreadable or truncated image: {last}"


def _unreadable_mask(tmp: Path):
    root = visa_tree(tmp / "VisA")
    mask = root / "candle" / "Data" / "Masks" / "Anomaly" / "004.png"
    mask.write_bytes(b"not a png")
    return "visa", root, f"unreadable or truncated mask: {mask}"


def _empty_category(tmp: Path):
    root = tmp / "DS-MVTec"
    (root / "bottle" / "image").mkdir(parents=True)
    return "ds-mvtec", root, "empty category: category 'bottle' of dataset 'ds-mvtec'"


def _duplicate_file_ids(tmp: Path):
    root = folder_tree(tmp / "parts")
    save_image(root / "images" / "a.jpg")
    return "folder", root, f"duplicate id 'a': both {root / 'images' / 'a.jpg'} and {root / 'images' / 'a.png'}"


def _duplicate_csv_rows(tmp: Path):
    root = visa_tree(tmp / "VisA")
    csv = root / "split_csv" / "1cls.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join([*lines, lines[-1]]) + "\n")
    return "visa", root, "duplicate id 'anomaly_004'"


def _missing_split_csv(tmp: Path):
    root = visa_tree(tmp / "VisA")
    (root / "split_csv" / "1cls.csv").unlink()
    return "visa", root, f"VisA split file missing: {root / 'split_csv' / '1cls.csv'}"


def _bad_classes_file(tmp: Path):
    root = folder_tree(tmp / "parts")
    (root / "classes.yaml").write_text("- scratch\n- dent\n")
    return "folder", root, f"class file {root / 'classes.yaml'} is not a mapping of class id to name"


CASES = [
    _image_without_mask,
    _jpeg_mask,
    _mask_without_image,
    _size_mismatch,
    _unknown_colour_mask,
    _class_outside_map,
    _binary_mask_where_ids_expected,
    _truncated_image,
    _unreadable_mask,
    _empty_category,
    _duplicate_file_ids,
    _duplicate_csv_rows,
    _missing_split_csv,
    _bad_classes_file,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
def test_bad_input_is_one_line_naming_the_file_and_leaves_no_cache(case, capsys, tmp_path, isolated_dirs):
    fmt, root, expected = case(tmp_path / "data")
    code = main(["data", "import", "--dataset", fmt, "--data-root", str(root)])
    out, err = capsys.readouterr()
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("error: ")]  # progress bars share stderr
    assert len(errors) == 1 and err.rstrip().endswith(errors[0]), err
    assert expected in errors[0]
    cache = isolated_dirs / "cache"
    assert not cache.exists() or not any(cache.rglob("*")), sorted(cache.rglob("*"))


def test_grey_rgb_index_masks_are_read_as_class_ids(tmp_path):
    from bench.data.base import load_pool

    root = ds_flat_tree(tmp_path / "DS-DAGM", [1, 2])
    save(root / "mask" / "001_mask.png", np.repeat(blob(4)[..., None], 3, axis=2))
    pool = load_pool("ds-dagm", "dagm", root)
    assert np.unique(pool.mask("001")).tolist() == [0, 4] and pool.group("001") == "color"


def test_wrong_root_or_category_is_explained(capsys, tmp_path):
    root = mvtec_tree(tmp_path / "mvtec")
    assert main(["data", "check", "--dataset", "ds-mvtec", "--data-root", str(root)]) == 2
    assert f"no 'ds-mvtec' categories found under {root}" in capsys.readouterr().err
    assert main(["run", "--dataset", "mvtec-ad", "--data-root", str(root), "--category", "wood"]) == 2
    assert f"dataset 'mvtec-ad' has no category 'wood' under {root}; choose one of: bottle" in capsys.readouterr().err


def test_palette_mode_masks_are_read_by_index(tmp_path):
    from PIL import Image

    from bench.data.base import load_pool

    root = folder_tree(tmp_path / "parts")
    mask = Image.fromarray(blob(2), mode="L").convert("P")
    mask.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (256 * 3 - 9))  # VOC colours: index 2 is drawn green
    mask.save(root / "masks" / "a.png")
    pool = load_pool("folder", "parts", root)
    assert np.unique(pool.mask("a")).tolist() == [0, 2] and pool.group("a") == "dent"


def _all_normal(tmp: Path):
    root = folder_tree(tmp / "parts")
    for mask in (root / "masks").iterdir():
        save(mask, np.zeros((SIZE, SIZE), np.uint8))
    return "folder", root, "parts", f"category 'parts' of dataset 'folder' under {root} has no defect images, only normals"


def _train_test_duplicate(tmp: Path):
    root = mvtec_tree(tmp / "mvtec")
    defect = root / "bottle" / "test" / "broken_large"
    (defect / "009.png").write_bytes((defect / "000.png").read_bytes())  # a test image that is a training image
    return "mvtec-ad", root, "bottle", f"puts the same picture in train ('broken_large_000') and test ('broken_large_009') of category 'bottle' of dataset 'mvtec-ad' under {root}"


SPLIT_CASES = [_all_normal, _train_test_duplicate]


@pytest.mark.parametrize("case", SPLIT_CASES, ids=[c.__name__.strip("_") for c in SPLIT_CASES])
def test_split_errors_name_the_users_data_not_the_cache(case, capsys, tmp_path):
    dataset, root, category, expected = case(tmp_path / "data")
    assert main(["data", "check", "--dataset", dataset, "--data-root", str(root), "--category", category, "--split", "third"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and expected in errors[0], errors
    assert "cache" not in errors[0]
