"""Releases described by a layout file import with no code: pairs, classes and pixels against a direct reading
of the files (the masks' PNGs, PIL ImageDraw for LabelMe shapes, pycocotools' annToMask for COCO)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bench.cli import main
from bench.data.base import DATASETS, load_pool
from tests.helpers.releases import LABELME_SHAPES, class_folder_release, coco_release, labelme_release, save, write_layout


def rgb_of(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def grey_of(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def on_top(layers, size) -> np.ndarray:
    """The overlap rule, slowly: each pixel takes the class of the smallest shape covering it; of equal ones, the last."""
    out = np.zeros(size, np.uint8)
    for y in range(size[0]):
        for x in range(size[1]):
            covering = [(int(region.sum()), -i, class_id) for i, (class_id, region) in enumerate(layers) if region[y, x]]
            if covering:
                out[y, x] = min(covering)[2]
    return out


# --- class folders with binary masks -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["beside", "parallel", "suffix"])
def test_class_folders_pair_each_picture_with_its_mask(tmp_path, kind):
    root = class_folder_release(tmp_path / "parts", kind)
    pool = load_pool("folder", "parts", root)
    assert pool.classes == {0: "background", 1: "Crack", 2: "Hole"}
    assert pool.ids == tuple(sorted(f"{c}_{c.lower()}{i:02d}" for c, n in (("Crack", 3), ("Hole", 3), ("Free", 2)) for i in range(n)))
    patterns = {"beside": ("MT_{c}/Imgs/{s}.jpg", "MT_{c}/Imgs/{s}.png"), "parallel": ("images/{c}/{s}.png", "masks/{c}/{s}.png"),
                "suffix": ("{c}/{s}.png", "{c}/{s}_GT.png")}[kind]
    for pair_id in pool.ids:
        value, stem = pair_id.split("_", 1)
        image_file, mask_file = (root / p.format(c=value, s=stem) for p in patterns)
        class_id = {"Crack": 1, "Hole": 2, "Free": 0}[value]
        assert np.array_equal(pool.image(pair_id), rgb_of(image_file))
        assert np.array_equal(pool.mask(pair_id), np.where(grey_of(mask_file) > 0, class_id, 0))
        assert pool.group(pair_id) == ("good" if value == "Free" else value)
    layout = pool.meta["source"]["layout"]
    assert layout["content"]["images"] == patterns[0].replace("{c}", "{class}").replace("{s}", "{stem}")
    assert layout["matched"]["pairs_per_class"] == {"Crack": 3, "Hole": 3} and layout["matched"]["normal_pictures"] == {"Free": 2}


def test_anti_aliased_masks_are_thresholded(tmp_path):
    root = class_folder_release(tmp_path / "tiles", antialiased=True, classes=("Crack",))
    pool = load_pool("folder", "tiles", root)
    for i in range(3):
        png = grey_of(root / f"MT_Crack/Imgs/crack{i:02d}.png")
        assert 0 < (png > 0).sum() and ((png > 0) & (png < 255)).any(), "the edge is anti-aliased"
        assert np.array_equal(pool.mask(f"Crack_crack{i:02d}"), (png >= 128).astype(np.uint8))


def test_layout_file_is_the_pools_identity_and_is_recorded(tmp_path):
    root = class_folder_release(tmp_path / "tiles", antialiased=True, classes=("Crack",))
    first = load_pool("folder", "tiles", root)
    assert first.meta["source"]["layout"]["content"]["threshold"] == 128
    layout = json.loads((root / "layout.yaml").read_text())
    write_layout(root, {**layout, "threshold": 250})
    second = load_pool("folder", "tiles", root)
    assert second.root != first.root and second.meta["source"]["layout"]["hash"] != first.meta["source"]["layout"]["hash"]
    assert (np.count_nonzero(second.mask("Crack_crack00")) < np.count_nonzero(first.mask("Crack_crack00")))


def test_classes_rename_and_merge_and_a_shipped_layout_names_a_dataset(tmp_path):
    root = class_folder_release(tmp_path / "release", classes=("Blowhole", "Break", "Crack", "Fray", "Uneven"), per_class=1,
                                normals=1)
    (root / "layout.yaml").unlink()  # a shipped layout needs none in the release
    pool = load_pool("magnetic-tile", "tile", root)
    assert pool.classes == {0: "background", 1: "blowhole", 2: "break", 3: "crack", 4: "fray", 5: "uneven"}
    assert pool.meta["source"]["layout"]["name"] == "magnetic-tile"
    write_layout(root, {**MASK_KINDS_BESIDE, "mask": "binary", "normal": ["Free"], "classes": {"Blowhole": "hole", "Crack": "hole"}})
    merged = load_pool("folder", "release", root)
    assert merged.classes == {0: "background", 1: "Break", 2: "Fray", 3: "Uneven", 4: "hole"}
    assert np.unique(merged.mask("Blowhole_blowhole00")).tolist() == [0, 4] == np.unique(merged.mask("Crack_crack00")).tolist()


MASK_KINDS_BESIDE = {"images": "MT_{class}/Imgs/{stem}.jpg", "masks": "MT_{class}/Imgs/{stem}.png"}


# --- LabelMe and COCO ---------------------------------------------------------------------------------------


def labelme_region(kind: str, points, size) -> np.ndarray:
    """One LabelMe shape drawn directly with PIL ImageDraw, as LabelMe's shape_to_mask draws it."""
    canvas = Image.new("1", (size[1], size[0]))
    draw = ImageDraw.Draw(canvas)
    if kind == "polygon":
        draw.polygon([tuple(p) for p in points], fill=1, outline=1)
    elif kind == "rectangle":
        (x0, y0), (x1, y1) = points
        draw.rectangle((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), fill=1, outline=1)
    else:
        (cx, cy), (px, py) = points
        r = math.dist((cx, cy), (px, py))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=1, outline=1)
    return np.asarray(canvas, dtype=bool)


def test_labelme_polygons_rectangles_and_circles_match_image_draw(tmp_path):
    root = labelme_release(tmp_path / "pitting")
    pool = load_pool("folder", "pitting", root)
    assert pool.classes == {0: "background", 1: "dent", 2: "scratch"}  # sorted labels
    assert pool.ids == ("p00", "p01", "p02", "q00", "q01")
    size = (14, 18)
    for i, shapes in enumerate(LABELME_SHAPES):
        layers = [({"dent": 1, "scratch": 2}[label], labelme_region(kind, points, size)) for label, kind, points in shapes
                  if kind in ("polygon", "rectangle", "circle")]
        expected = on_top(layers, size)
        assert np.array_equal(pool.mask(f"p{i:02d}"), expected)
    assert (pool.mask("p02") == 2).any(), "the small scratch drawn first stays above the larger dent drawn after it"
    assert pool.group("q00") == pool.group("q01") == "good" and not pool.mask("q00").any()
    matched = pool.meta["source"]["layout"]["matched"]
    assert matched["skipped_shapes"] == {"line": 1, "point": 1}
    assert matched["without_mask"]["count"] == 2 and matched["without_mask"]["unmatched"] == "normal"


def test_coco_polygons_and_rle_match_pycocotools(tmp_path):
    from pycocotools.coco import COCO

    root = coco_release(tmp_path / "cast")
    pool = load_pool("folder", "cast", root)
    assert pool.classes == {0: "background", 1: "pit", 2: "scratch"}  # categories in id order: 3 pit, 7 scratch
    coco = COCO(str(root / "annotations" / "instances.json"))
    class_of = {3: 1, 7: 2}
    for image in coco.loadImgs(coco.getImgIds()):
        if image["file_name"] == "gone.png":
            continue
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image["id"], iscrowd=None))
        layers = [(class_of[a["category_id"]], coco.annToMask(a).astype(bool)) for a in anns]
        stem = image["file_name"][:-4]
        assert np.array_equal(pool.mask(stem), on_top(layers, (image["height"], image["width"]))), stem
    assert (pool.mask("c00") == 2).any() and (pool.mask("c00") == 1).any(), "the small scratch listed first stays above the box"
    assert pool.group("c03") == "good"
    matched = pool.meta["source"]["layout"]["matched"]
    assert matched["masks_without_pictures"] == {"count": 1, "examples": ["gone.png"]}
    assert matched["pairs_per_class"] == {"pit": 3, "scratch": 2}


# --- what `bench data check` says, and bad layouts ----------------------------------------------------------


def test_data_check_prints_what_the_layout_matched(tmp_path, capsys):
    root = class_folder_release(tmp_path / "tiles", antialiased=True, layout={"unmatched": "normal"})
    (root / "MT_Hole/Imgs/hole02.png").unlink()  # a picture without its mask: a normal, by the layout
    save(root / "MT_Hole/Imgs/orphan.png", np.zeros((16, 20), np.uint8))  # a mask without its picture
    save(root / "MT_Crack/Imgs/crack00.png", np.full((16, 20), 100, np.uint8))  # faint: empty after thresholding
    args = ["data", "check", "--dataset", "folder", "--data-root", str(root), "--split", "half"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "pictures: 8; with a mask or annotation: 5 (Crack 3, Hole 2)" in out
    assert "in normal folders: Free 2" in out
    assert "pictures without masks: 1 (unmatched: normal), e.g. MT_Hole/Imgs/hole02.jpg" in out
    assert "masks without pictures: 1 (not read), e.g. MT_Hole/Imgs/orphan.png" in out
    assert "defect pictures whose mask is empty after thresholding: 1 (they count as normals)" in out
    assert main([*args, "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["normals"] == 2 + 1 + 1 and report["layout"]["empty_mask_examples"] == ["Crack_crack00"]
    assert report["picture_modes"] == {"RGB": 8} and report["picture_sizes"] == {"20x16": 8}


def _bad(layout: dict, expected: str, kind: str = "beside"):
    return layout, expected, kind


BAD_LAYOUTS = [
    _bad({"shape": "binary"}, "unknown key(s) shape"),
    _bad({"mask": "rgb"}, "key 'mask': 'rgb' is not a mask encoding"),
    _bad({"images": "MT_{kind}/Imgs/{stem}.jpg"}, "key 'images': unknown field {kind}"),
    _bad({"masks": "masks/{name}.png"}, "key 'masks': unknown field {name}"),
    _bad({"threshold": 300}, "key 'threshold': 300 is not a whole number 1..255"),
    _bad({"unmatched": "ignore"}, "key 'unmatched': 'ignore'"),
    _bad({"images": "images/{stem}.png", "masks": "masks/{stem}.png", "normal": ["Free"]}, "key 'normal': normal pictures are named by {class} values"),
    _bad({"images": "nowhere/{class}/{stem}.png"}, "key 'images': 'nowhere/{class}/{stem}.png' matches no file"),
]


@pytest.mark.parametrize("layout,expected,kind", BAD_LAYOUTS, ids=[b[1][:28] for b in BAD_LAYOUTS])
def test_bad_layout_is_one_line_naming_the_file_and_key(tmp_path, capsys, layout, expected, kind):
    root = class_folder_release(tmp_path / "tiles", kind)
    base = json.loads((root / "layout.yaml").read_text())
    write_layout(root, {**base, **layout})
    assert main(["data", "import", "--dataset", "folder", "--data-root", str(root)]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and f"layout file {root / 'layout.yaml'}" in errors[0] and expected in errors[0], err


def test_a_picture_without_its_mask_is_an_error_unless_the_layout_says(tmp_path, capsys):
    root = class_folder_release(tmp_path / "tiles")
    (root / "MT_Hole/Imgs/hole01.png").unlink()
    assert main(["data", "import", "--dataset", "folder", "--data-root", str(root)]) == 2
    err = capsys.readouterr().err
    assert f"picture without mask: {root / 'MT_Hole/Imgs/hole01.jpg'} (expected {root / 'MT_Hole/Imgs/hole01.png'}" in err
    assert "set unmatched: normal" in err
    write_layout(root, {**json.loads((root / "layout.yaml").read_text()), "unmatched": "skip"})
    assert "Hole_hole01" not in load_pool("folder", "tiles", root).ids


def test_a_layout_in_a_category_folder_and_one_elsewhere_pointing_at_the_release(tmp_path):
    class_folder_release(tmp_path / "plant" / "tiles", "suffix")
    (tmp_path / "plant" / "legacy" / "images").mkdir(parents=True)  # a category of the old layout beside it
    assert DATASETS.get("folder").categories(tmp_path / "plant") == ["legacy", "tiles"]
    assert len(load_pool("folder", "tiles", tmp_path / "plant")) == 8
    release = class_folder_release(tmp_path / "readonly", "parallel")
    layout = json.loads((release / "layout.yaml").read_text())
    (release / "layout.yaml").unlink()
    write_layout(tmp_path / "mine", {**layout, "root": "../readonly", "category": "tiles"})
    pool = load_pool("folder", "tiles", tmp_path / "mine")
    assert len(pool) == 8 and pool.meta["source"]["layout"]["file"] == str(tmp_path / "mine" / "layout.yaml")
