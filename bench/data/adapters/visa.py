"""``visa``: VisA, read through its own split file ``split_csv/1cls.csv``.

Layout (``--data-root`` = the extracted ``VisA_20220922`` folder)::

    split_csv/1cls.csv                        columns object,split,label,image,mask (paths relative to the root)
    <object>/Data/Images/Normal/NNNN.JPG      normals
    <object>/Data/Images/Anomaly/NNN.JPG      defect images
    <object>/Data/Masks/Anomaly/NNN.png       binary masks, any non-zero value = defect

The 1cls split carries no defect types, so each object has one class, ``anomaly``. The CSV's
``split`` column becomes the pair's origin (train/test); pair ids are ``good_<stem>`` and
``anomaly_<stem>``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.pairset import NORMAL_GROUP
from bench.data.base import DATASETS
from bench.data.classmaps import class_map
from bench.data.layout import FileLayoutAdapter, Source, masks_by_stem

SPLIT_CSV = Path("split_csv") / "1cls.csv"
COLUMNS = ("object", "split", "label", "image", "mask")
DEFECT = "anomaly"


def read_split_csv(root: Path) -> list[tuple[int, dict]]:
    """(line number, row) of every row of the split file, header checked."""
    csv_path = root / SPLIT_CSV
    try:
        with open(csv_path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise BenchError(f"{csv_path} lacks the columns {missing}", f"expected the header {','.join(COLUMNS)}")
            return list(enumerate(reader, start=2))
    except FileNotFoundError:
        raise BenchError(f"VisA split file missing: {csv_path}", "point --data-root at the folder that holds split_csv/") from None


class VisA(FileLayoutAdapter):
    name = "visa"

    def categories(self, root: Path | None) -> list[str]:
        return sorted({row["object"] for _, row in read_split_csv(root)})

    def classes(self, root: Path | None, category: str) -> dict[int, str]:
        return class_map((DEFECT,))

    def extra_files(self, root: Path, category: str) -> list[Path]:
        return [root / SPLIT_CSV]

    def sources(self, root: Path, category: str) -> list[Source]:
        csv_path = root / SPLIT_CSV
        sources: list[Source] = []
        listed_masks: set[Path] = set()
        lines: dict[str, int] = {}
        for line, row in read_split_csv(root):
            if row["object"] != category:
                continue
            where = f"{csv_path} line {line}"
            label, origin = row["label"].strip(), row["split"].strip()
            if label not in ("normal", DEFECT) or origin not in ("train", "test"):
                raise BenchError(f"{where}: label '{label}' / split '{origin}' not understood", "labels are normal/anomaly, splits train/test")
            image = root / row["image"].strip()
            if not image.is_file():
                raise BenchError(f"image file missing: {image} (listed in {where})", "restore the file or fix the CSV")
            mask = root / row["mask"].strip() if row["mask"].strip() else None
            if label == DEFECT and mask is None:
                raise BenchError(f"image without mask: {image} ({where} has no mask path)", "add the mask path")
            if mask is not None:
                if not mask.is_file():
                    raise BenchError(f"image without mask: {image} (mask {mask} listed in {where} is missing)", "restore the mask")
                listed_masks.add(mask)
            group = DEFECT if label == DEFECT else NORMAL_GROUP
            pair_id = f"{group}_{image.stem}"
            if pair_id in lines:
                raise BenchError(
                    f"duplicate id '{pair_id}': {image} is listed twice in {csv_path} (lines {lines[pair_id]} and {line})",
                    "remove the repeated row",
                )
            lines[pair_id] = line
            sources.append(Source(pair_id, image, mask, group, origin, binary_class=1 if mask else None))
        for folder in sorted({m.parent for m in listed_masks}):
            for mask in masks_by_stem(folder, ".png").values():
                if mask not in listed_masks:
                    raise BenchError(f"mask without image: {mask} (not listed in {csv_path})", "list it in the CSV or remove it")
        return sources


DATASETS.register(VisA())
