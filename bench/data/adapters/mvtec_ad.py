"""``mvtec-ad``: the original MVTec AD release, binary 0/255 masks per defect folder.

Layout (``--data-root`` = the extracted ``mvtec_anomaly_detection`` folder)::

    <category>/train/good/NNN.png                     normals, origin train
    <category>/test/good/NNN.png                      normals, origin test
    <category>/test/<defect>/NNN.png                  defect images
    <category>/ground_truth/<defect>/NNN_mask.png     0/255 masks

Class ids follow the defect folders of ``test/`` in sorted (code point) order, ``good`` excluded:
for ``bottle`` that is 1 broken_large, 2 broken_small, 3 contamination. A ``combined`` folder is a
class of its own, as the release files it. Pair ids are ``<defect>_<NNN>``, ``good_train_<NNN>`` and
``good_test_<NNN>``.

The same layout with masks named as their images (``ground_truth/<defect>/NNN.png``) is read too: that
is how anomalib's conversion of VisA (``visa_pytorch/``, one defect folder ``bad``) writes it.
"""

from __future__ import annotations

from pathlib import Path

from bench.core.pairset import NORMAL_GROUP
from bench.data.base import DATASETS
from bench.data.classmaps import class_map
from bench.data.layout import FileLayoutAdapter, Source, image_files, masks_by_stem, match_masks, subdirs

MASK_SUFFIX = "_mask.png"  # MVTec AD's own; a folder without such files names its masks as their images


class MVTecAD(FileLayoutAdapter):
    name = "mvtec-ad"
    aliases = ("mvtec",)

    def categories(self, root: Path | None) -> list[str]:
        return [p.name for p in subdirs(root) if (p / "test").is_dir() or (p / "train").is_dir()]

    def defect_types(self, root: Path, category: str) -> list[str]:
        return [p.name for p in subdirs(root / category / "test") if p.name != NORMAL_GROUP]

    def classes(self, root: Path | None, category: str) -> dict[int, str]:
        return class_map(tuple(self.defect_types(root, category)))

    def sources(self, root: Path, category: str) -> list[Source]:
        base = root / category
        sources: list[Source] = []
        for origin in ("train", "test"):
            for stem, path in image_files(base / origin / NORMAL_GROUP).items():
                sources.append(Source(f"{NORMAL_GROUP}_{origin}_{stem}", path, None, NORMAL_GROUP, origin))
        for class_id, defect in enumerate(self.defect_types(root, category), start=1):
            mask_dir = base / "ground_truth" / defect
            images = image_files(base / "test" / defect)
            suffix = MASK_SUFFIX if masks_by_stem(mask_dir, MASK_SUFFIX) or not masks_by_stem(mask_dir, ".png") else ".png"
            matched = match_masks(images, masks_by_stem(mask_dir, suffix), mask_dir, suffix)
            sources += [
                Source(f"{defect}_{stem}", images[stem], mask, defect, "test", binary_class=class_id)
                for stem, mask in matched.items()
            ]
        return sources


DATASETS.register(MVTecAD())
