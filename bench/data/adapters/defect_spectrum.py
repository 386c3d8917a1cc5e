"""Defect Spectrum's re-annotated releases and the Defect-Gen samples released with them: one adapter, read
from a table of where each release keeps its images and masks and which class list it uses.

Layouts (``--data-root`` = the release folder)::

    ds-mvtec      DS-MVTec/<product>/image/<defect>/NNN.png, mask/<defect>/NNN_mask.png     group: the defect folder
    ds-vision     DS-VISION/<Product>/image/<stem>.<ext>, mask/<stem>_mask.png              group: dominant class
    ds-dagm       DS-DAGM/image/<stem>.<ext>, mask/<stem>_mask.png (category ``dagm``)
    ds-cotton     DS-Cotton-Fabric/image/..., mask/... (category ``cotton-fabric``)
    ds-synthetic  synthetic_{MVTec,VISION,Cotton_Fabric}/<product>/images/samples_image_<k>.png
                  with masks_converted_dir/samples_converted_mask_<k>.png

Masks hold class ids in the order of the release's ``DS-*.md`` list (bench.data.classmaps); the colour
renderings (``rbg_mask/``, ``rgb_mask/``) are ignored, and so are Defect-Gen's ``masks/``, whose colours are
random per sample (Defect_Spectrum issue #13). DS-MVTec ids are ``<defect>_<NNN>`` and ``good`` images need
no mask (``combined`` folders are a group of their own, several classes in one mask); the flat releases
name pairs by file stem and group them by the class covering most of the mask. The Defect-Gen samples
take the class list of the real release their folder names, or of the product where the name does not say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from bench.core.errors import BenchError
from bench.core.pairset import NORMAL_GROUP
from bench.data.base import DATASETS
from bench.data.classmaps import DS_COTTON, DS_DAGM, DS_MVTEC, DS_VISION, class_map, product_classes
from bench.data.layout import FileLayoutAdapter, Source, flat_sources, image_files, masks_by_stem, match_masks, subdirs


@dataclass(frozen=True)
class Release:
    name: str  # the adapter's name
    title: str  # the release as its class list names it
    classes: Mapping[str, tuple[str, ...]] | tuple[str, ...] | None  # per product, one list, or None: the sampled release's
    category: str | None = None  # the single category of a flat release; None: one folder per product
    defect_folders: bool = False  # image/<defect>/ (DS-MVTec) rather than one flat image/ folder
    images: str = "image"
    masks: str = "mask"
    mask_suffix: str = "_mask.png"
    image_prefix: str = ""
    mask_prefix: str = ""
    sampled_as: str = field(default="", compare=False)  # how a Defect-Gen sample folder names this release

    def class_map(self, category: str) -> dict[int, str]:
        if isinstance(self.classes, tuple):
            return class_map(self.classes)
        return product_classes(self.classes, self.title, category)


REAL = (
    Release("ds-mvtec", "DS-MVTec", DS_MVTEC, defect_folders=True, sampled_as="mvtec"),
    Release("ds-vision", "DS-VISION", DS_VISION, sampled_as="vision"),
    Release("ds-dagm", "DS-DAGM", DS_DAGM, category="dagm"),
    Release("ds-cotton", "DS-Cotton-Fabric", DS_COTTON, category="cotton-fabric", sampled_as="cotton"),
)
SAMPLES = Release("ds-synthetic", "Defect-Gen samples", None, images="images", masks="masks_converted_dir", mask_suffix=".png",
                  image_prefix="samples_image_", mask_prefix="samples_converted_mask_")


class DefectSpectrum(FileLayoutAdapter):
    def __init__(self, release: Release):
        self.release = release
        self.name = release.name

    def categories(self, root: Path | None) -> list[str]:
        r = self.release
        if r.category is not None:
            return [r.category] if (root / r.images).is_dir() else []
        return [p.name for p in subdirs(root) if (p / r.images).is_dir()]

    def classes(self, root: Path | None, category: str) -> dict[int, str]:
        if self.release.classes is not None:
            return self.release.class_map(category)
        folder = root.name.lower()
        sampled = [r for r in REAL if r.sampled_as and r.sampled_as in folder]
        sampled = sampled or [r for r in REAL if isinstance(r.classes, Mapping) and category in r.classes]
        if not sampled:
            raise BenchError(
                f"cannot tell which Defect Spectrum release {root} was sampled from",
                "keep the release folder name (synthetic_MVTec, synthetic_VISION or synthetic_Cotton_Fabric)",
            )
        return sampled[0].class_map(category)

    def sources(self, root: Path, category: str) -> list[Source]:
        r = self.release
        base = root if r.category is not None else root / category
        if not r.defect_folders:
            return flat_sources(base, r.images, r.masks, r.mask_suffix, r.image_prefix, r.mask_prefix)
        sources: list[Source] = []
        for defect_dir in subdirs(base / r.images):
            defect = defect_dir.name
            mask_dir = base / r.masks / defect
            images = image_files(defect_dir)
            matched = match_masks(images, masks_by_stem(mask_dir, r.mask_suffix), mask_dir, r.mask_suffix,
                                  masks_required=defect != NORMAL_GROUP)
            sources += [Source(f"{defect}_{stem}", images[stem], mask, defect) for stem, mask in matched.items()]
        return sources


for _release in (*REAL, SAMPLES):
    DATASETS.register(DefectSpectrum(_release))
