"""Seeded miniatures of every release layout bench reads, one builder each, the way the releases write them.

Every picture is a pure function of the seed and its place in the tree (its last path components), so a
tree is the same on every machine and no two of its files share content (splits check train/test overlap
by pixel hash). Masks are small squares (``blob``) of the class id the layout calls for.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from bench.data.classmaps import DS_MVTEC
from bench.data.masks import DEFECT_GEN_PALETTE

SIZE = 16


def picture(path: Path, size: int = SIZE, seed: int = 0) -> np.ndarray:
    """A random RGB picture, a function of the seed and the path's last four parts."""
    place = "/".join(Path(path).parts[-4:])
    return np.random.default_rng([seed, zlib.crc32(place.encode())]).integers(0, 256, (size, size, 3), dtype=np.uint8)


def save(path: Path, array: np.ndarray, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


def save_image(path: Path, size: int = SIZE, seed: int = 0) -> Path:
    return save(path, picture(path, size, seed))


def blob(value: int, size: int = SIZE, at: int = 2, extent: int = 4) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    mask[at : at + extent, at : at + extent] = value
    return mask


def mvtec_tree(root: Path, defects=None, train_good=3, test_good=2, size=SIZE, seed=0) -> Path:
    """MVTec AD: <cat>/train/good, <cat>/test/<defect>, <cat>/ground_truth/<defect>/NNN_mask.png (0/255)."""
    defects = defects or {"contamination": 4, "broken_large": 10}
    cat = root / "bottle"
    for i in range(train_good):
        save_image(cat / "train" / "good" / f"{i:03d}.png", size, seed)
    for i in range(test_good):
        save_image(cat / "test" / "good" / f"{i:03d}.png", size, seed)
    for defect, n in defects.items():
        for i in range(n):
            save_image(cat / "test" / defect / f"{i:03d}.png", size, seed)
            save(cat / "ground_truth" / defect / f"{i:03d}_mask.png", blob(255, size))
    return root


def ds_mvtec_tree(root: Path, seed=0) -> Path:
    """DS-MVTec: <obj>/image/<defect>/NNN.png, <obj>/mask/<defect>/NNN_mask.png (class ids), rbg_mask/ colour copies."""
    names = DS_MVTEC["capsule"]
    obj = root / "capsule"
    for defect, n in (("crack", 3), ("poke", 2)):
        class_id = names.index(defect) + 1
        for i in range(n):
            save_image(obj / "image" / defect / f"{i:03d}.png", seed=seed)
            save(obj / "mask" / defect / f"{i:03d}_mask.png", blob(class_id))
            save(obj / "rbg_mask" / defect / f"{i:03d}_rbg_mask.png", np.full((SIZE, SIZE, 3), 77, np.uint8))
    combined = blob(names.index("crack") + 1)
    combined[10:14, 10:14] = names.index("squeeze") + 1
    save_image(obj / "image" / "combined" / "000.png", seed=seed)
    save(obj / "mask" / "combined" / "000_mask.png", combined)
    for i in range(2):
        save_image(obj / "image" / "good" / f"{i:03d}.png", seed=seed)
    return root


def ds_flat_tree(base: Path, class_ids: list[int], suffix=".png", seed=0) -> Path:
    """DS-VISION products, DS-DAGM, DS-Cotton-Fabric: image/<stem>.<ext> with mask/<stem>_mask.png."""
    for i, class_id in enumerate(class_ids):
        save_image(base / "image" / f"{i:03d}{suffix}", seed=seed)
        save(base / "mask" / f"{i:03d}_mask.png", blob(class_id))
        save(base / "rbg_mask" / f"{i:03d}_rgb_mask.png", np.full((SIZE, SIZE, 3), 9, np.uint8))
    return base


def ds_synthetic_tree(root: Path, product="bottle", class_ids=(1, 3, 3), seed=0) -> Path:
    """Defect-Gen samples: images/samples_image_<k>.png, masks/ (random colours), masks_converted_dir/ (class ids)."""
    obj = root / product
    colours = np.random.default_rng(seed)
    for i, class_id in enumerate(class_ids):
        key = f"{i + 1:06d}_{i}_0"
        save_image(obj / "images" / f"samples_image_{key}.png", seed=seed)
        save(obj / "masks" / f"samples_mask_{key}.png", colours.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))
        save(obj / "masks_converted_dir" / f"samples_converted_mask_{key}.png", blob(class_id))
    return root


def visa_tree(root: Path, normals=(("train", 3), ("test", 2)), anomalies=5, seed=0) -> Path:
    """VisA as released: split_csv/1cls.csv plus <object>/Data/Images/{Normal,Anomaly}/*.JPG and Data/Masks/Anomaly/*.png."""
    rows = ["object,split,label,image,mask"]
    k = 0
    for split, n in normals:
        for _ in range(n):
            rel = f"candle/Data/Images/Normal/{k:04d}.JPG"
            save_image(root / rel, seed=seed)
            rows.append(f"candle,{split},normal,{rel},")
            k += 1
    for i in range(anomalies):
        rel, mrel = f"candle/Data/Images/Anomaly/{i:03d}.JPG", f"candle/Data/Masks/Anomaly/{i:03d}.png"
        save_image(root / rel, seed=seed)
        save(root / mrel, blob(i + 1))  # VisA masks: any non-zero value is defect
        rows.append(f"candle,test,anomaly,{rel},{mrel}")
    (root / "split_csv").mkdir(parents=True, exist_ok=True)
    (root / "split_csv" / "1cls.csv").write_text("\n".join(rows) + "\n")
    return root


def visa_pytorch_tree(root: Path, train_good=3, test_good=2, anomalies=4, seed=0) -> Path:
    """VisA as anomalib's 1cls conversion writes it (``visa_pytorch/``, the MVTec layout): <object>/train/good,
    test/good, test/bad/*.JPG and ground_truth/bad/<image stem>.png, binarised to 0/255 and saved in three channels."""
    obj = root / "candle"
    for split, n in (("train", train_good), ("test", test_good)):
        for i in range(n):
            save_image(obj / split / "good" / f"{split}{i:03d}.JPG", seed=seed)
    for i in range(anomalies):
        save_image(obj / "test" / "bad" / f"{i:03d}.JPG", seed=seed)
        save(obj / "ground_truth" / "bad" / f"{i:03d}.png", np.repeat(blob(255)[..., None], 3, axis=2))
    return root


def ksdd2_tree(root: Path, seed=0) -> Path:
    """KolektorSDD2: train/ and test/ with <id>.png and <id>_GT.png (0/255, empty for normals)."""
    for origin, ids, defective in (("train", (10000, 10001, 10002), {10001}), ("test", (20000, 20001), {20000})):
        for i in ids:
            save_image(root / origin / f"{i}.png", seed=seed)
            save(root / origin / f"{i}_GT.png", blob(255) if i in defective else np.zeros((SIZE, SIZE), np.uint8))
    return root


def folder_tree(root: Path, seed=0) -> Path:
    """``folder``: images/ + masks/ + classes.yaml; one mask drawn in the Defect-Gen palette as RGB."""
    save_image(root / "images" / "a.png", seed=seed)
    save(root / "masks" / "a.png", blob(1))
    save_image(root / "images" / "b.jpg", seed=seed)
    rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
    rgb[2:6, 2:6] = DEFECT_GEN_PALETTE[2]
    save(root / "masks" / "b.png", rgb)
    save_image(root / "images" / "c.png", seed=seed)
    save(root / "masks" / "c.png", np.zeros((SIZE, SIZE), np.uint8))
    (root / "classes.yaml").write_text("1: scratch\n2: dent\n")
    return root


def annotated_twins(mvtec_root: Path, ds_root: Path, category: str = "wood", per_defect: int = 3, size: int = 32,
                    seed: int = 0) -> tuple[Path, Path]:
    """One set of pictures in both MVTec AD's layout (coarse 0/255 masks, one type per folder) and DS-MVTec's
    (a finer class-id mask inside the coarse one), plus one picture only each release holds. Coarse masks
    cover 16 x 16 pixels (256, over the 249-pixel colour limit), fine ones 6 x 6 (colour: 3 x 3, under it)."""
    names = DS_MVTEC[category]
    for defect in ("color", "hole", "liquid", "scratch"):
        for i in range(per_defect):
            image = picture(Path(category, "twin", defect, f"{i:03d}.png"), size, seed)
            save(mvtec_root / category / "test" / defect / f"{i:03d}.png", image)
            save(mvtec_root / category / "ground_truth" / defect / f"{i:03d}_mask.png", blob(255, size, at=4, extent=16))
            fine = blob(names.index(defect) + 1, size, at=6, extent=3 if defect == "color" else 6)
            save(ds_root / category / "image" / defect / f"{i:03d}.png", image)
            save(ds_root / category / "mask" / defect / f"{i:03d}_mask.png", fine)
    for i in range(4):
        image = picture(Path(category, "twin", "good", f"{i:03d}.png"), size, seed)
        save(mvtec_root / category / "test" / "good" / f"{i:03d}.png", image)
        save(ds_root / category / "image" / "good" / f"{i:03d}.png", image)
        save_image(mvtec_root / category / "train" / "good" / f"{i:03d}.png", size, seed)
    save_image(mvtec_root / category / "test" / "hole" / "900.png", size, seed)  # only in MVTec AD
    save(mvtec_root / category / "ground_truth" / "hole" / "900_mask.png", blob(255, size, at=4, extent=12))
    save_image(ds_root / category / "image" / "scratch" / "900.png", size, seed)  # only in DS-MVTec
    save(ds_root / category / "mask" / "scratch" / "900_mask.png", blob(names.index("scratch") + 1, size))
    return mvtec_root, ds_root


# --- releases described by a layout file (bench.data.layout_file): one builder family for every layout kind ----


def write_layout(root: Path, layout: dict) -> Path:
    """``layout.yaml`` in ``root``, from a mapping (JSON is YAML)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "layout.yaml").write_text(json.dumps(layout, indent=1))
    return root


def soft_disc(size: tuple[int, int], centre: tuple[int, int], radius: float) -> np.ndarray:
    """An anti-aliased 0..255 disc, the way mask painters draw edges: 255 inside, a ramp over 2 px outside."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    distance = np.hypot(yy - centre[0], xx - centre[1])
    return np.clip(np.round(255 * (radius + 1 - distance) / 2), 0, 255).astype(np.uint8)


MASK_BESIDE = {"images": "MT_{class}/Imgs/{stem}.jpg", "masks": "MT_{class}/Imgs/{stem}.png"}
MASK_KINDS = {  # kind -> (images pattern, masks pattern) of the picture files a class-folder release uses
    "beside": MASK_BESIDE,  # masks beside the pictures, same stem, another extension
    "parallel": {"images": "images/{class}/{stem}.png", "masks": "masks/{class}/{stem}.png"},  # a parallel tree
    "suffix": {"images": "{class}/{stem}.png", "masks": "{class}/{stem}_GT.png"},  # a suffix in one folder
}


def class_folder_release(root: Path, kind: str = "beside", classes=("Crack", "Hole"), per_class: int = 3, normals: int = 2,
                         sizes=((20, 16),), antialiased: bool = False, seed: int = 0, layout: dict | None = None) -> Path:
    """A release with a folder per defect type and a defect-free ``Free`` folder, binary masks (0/255, or
    anti-aliased 0..255 discs with ``antialiased``) paired by the ``kind`` of pattern, pictures cycling through
    ``sizes`` ((W, H) each: several make a release of mixed sizes), and its layout.yaml (``layout`` adds keys)."""
    patterns = MASK_KINDS[kind]
    k = 0
    for value in (*classes, "Free"):
        for i in range(per_class if value != "Free" else normals):
            width, height = sizes[k % len(sizes)]
            k += 1
            fields = {"class": value, "stem": f"{value.lower()}{i:02d}"}
            image = picture(Path(value, fields["stem"]), max(width, height), seed)[:height, :width]
            save(root / patterns["images"].format(**fields), image, **({"quality": 95} if patterns["images"].endswith(".jpg") else {}))
            if value == "Free":
                mask = np.zeros((height, width), np.uint8)
            elif antialiased:
                mask = soft_disc((height, width), (height // 2, width // 2), 3 + i)
            else:
                mask = blob(255, max(width, height), at=2 + i, extent=4)[:height, :width]
            save(root / patterns["masks"].format(**fields), mask)
    return write_layout(root, {**patterns, "mask": "binary", "normal": ["Free"], **({"threshold": 128} if antialiased else {}),
                               **(layout or {})})


LABELME_SHAPES = (  # per labelled picture: the shapes LabelMe wrote (label, shape_type, points)
    (("scratch", "polygon", [[2, 2], [12, 3], [9, 10]]),),
    (("dent", "rectangle", [[14, 11], [4, 3]]), ("scratch", "circle", [[9, 7], [9, 10]])),  # corners given reversed
    (("scratch", "polygon", [[6.5, 6.5], [10.5, 6.2], [9.7, 10.8]]), ("dent", "circle", [[8, 8], [13, 8]]),  # small one first
     ("scratch", "line", [[0, 0], [5, 5]]), ("dent", "point", [[3, 3]])),
)


def labelme_release(root: Path, size=(18, 14), unlabelled: int = 2, seed: int = 0, layout: dict | None = None) -> Path:
    """A LabelMe release: ``data/<stem>.jpg`` pictures, ``label/<stem>.json`` for those showing defects
    (``LABELME_SHAPES``), none for ``unlabelled`` defect-free ones, as LabelMe writes them (imageData included)."""
    width, height = size
    for i, shapes in enumerate(LABELME_SHAPES):
        stem = f"p{i:02d}"
        save(root / "data" / f"{stem}.jpg", picture(Path("data", stem), max(size), seed)[:height, :width], quality=95)
        doc = {"version": "5.2.1", "flags": {}, "imagePath": f"..\\data\\{stem}.jpg", "imageData": "aGVsbG8=",
               "imageHeight": height, "imageWidth": width,
               "shapes": [{"label": label, "points": points, "group_id": None, "shape_type": kind, "flags": {}}
                          for label, kind, points in shapes]}
        (root / "label").mkdir(parents=True, exist_ok=True)
        (root / "label" / f"{stem}.json").write_text(json.dumps(doc))
    for i in range(unlabelled):
        stem = f"q{i:02d}"
        save(root / "data" / f"{stem}.jpg", picture(Path("data", stem), max(size), seed)[:height, :width], quality=95)
    return write_layout(root, {"images": "data/{stem}.jpg", "masks": "label/{stem}.json", "mask": "labelme", "unmatched": "normal",
                               **(layout or {})})


def coco_release(root: Path, size=(20, 16), seed: int = 0, layout: dict | None = None) -> Path:
    """A COCO instance-segmentation release: ``images/<stem>.png`` and one ``annotations/instances.json`` with
    polygons, uncompressed RLE and compressed RLE (two classes overlapping in one picture), a picture the
    file lists with no annotation (a normal) and an entry whose picture is missing."""
    from pycocotools import mask as mask_utils

    width, height = size
    for i in range(4):
        save(root / "images" / f"c{i:02d}.png", picture(Path("images", f"c{i:02d}"), max(size), seed)[:height, :width])
    disc = soft_disc((height, width), (8, 9), 4) >= 128
    compressed = mask_utils.encode(np.asfortranarray(disc.astype(np.uint8)))
    compressed["counts"] = compressed["counts"].decode("ascii")
    column = np.zeros((height, width), np.uint8)
    column[2:14, 3:6] = 1
    runs, current, count = [], 0, 0  # uncompressed RLE counts, column-major, starting with background
    for value in column.ravel(order="F"):
        if value != current:
            runs.append(count)
            current, count = value, 0
        count += 1
    runs.append(count)
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 7, "segmentation": [[6, 4, 11, 5, 8, 10]], "iscrowd": 0},  # small triangle first
        {"id": 2, "image_id": 1, "category_id": 3, "segmentation": [[2, 2, 15, 2, 15, 12, 2, 12]], "iscrowd": 0},  # large box over it
        {"id": 3, "image_id": 2, "category_id": 7, "segmentation": compressed, "iscrowd": 1},
        {"id": 4, "image_id": 2, "category_id": 3, "segmentation": {"size": [height, width], "counts": runs}, "iscrowd": 1},
        {"id": 5, "image_id": 3, "category_id": 3, "segmentation": [[1, 1, 5, 1, 3, 4], [12, 9, 18, 9, 18, 14, 12, 14]], "iscrowd": 0},
    ]
    images = [{"id": i + 1, "file_name": f"c{i:02d}.png", "height": height, "width": width} for i in range(4)]
    images.append({"id": 9, "file_name": "gone.png", "height": height, "width": width})
    coco = {"images": images, "annotations": annotations,
            "categories": [{"id": 7, "name": "scratch"}, {"id": 3, "name": "pit"}]}
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "instances.json").write_text(json.dumps(coco))
    return write_layout(root, {"images": "images/{stem}.png", "mask": "coco", "annotations": "annotations/instances.json",
                               "unmatched": "normal", **(layout or {})})
