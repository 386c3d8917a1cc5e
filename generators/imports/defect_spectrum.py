from __future__ import annotations

from generators import GENERATORS
from generators.imports.common import Found, ImportedOutputs, image_files, match

IMAGE_PREFIX = "samples_image_"
MASK_PREFIX = "samples_converted_mask_"


@GENERATORS.register
class DefectSpectrumImport(ImportedOutputs):
    """Defect-Gen samples (Defect Spectrum): images/samples_image_* with class-index masks_converted_dir/."""

    name = "import:defect-spectrum"
    source = "defect-spectrum"
    mask_encoding = "index"  # masks_converted_dir holds class ids; the RGB masks/ use random colours (issue #13)

    def find(self) -> tuple[list[Found], list[str]]:
        images = {p.stem[len(IMAGE_PREFIX) :]: p for p in image_files(self.root / "images") if p.stem.startswith(IMAGE_PREFIX)}
        masks = {
            p.stem[len(MASK_PREFIX) :]: p for p in image_files(self.root / "masks_converted_dir") if p.stem.startswith(MASK_PREFIX)
        }
        return match(images, masks)

    def layout_hint(self) -> str:
        return "expected images/samples_image_<iter>_<i>_<rank>.png and masks_converted_dir/samples_converted_mask_<iter>_<i>_<rank>.png"
