from __future__ import annotations

from pathlib import Path

from bench.core.errors import BenchError
from bench.core.hashing import files_fingerprint
from generators import GENERATORS
from generators.imports.common import IMAGE_SUFFIXES, Found, ImportedOutputs, match

MASK_SUFFIX = "_mask"


@GENERATORS.register
class DefectSynthImport(ImportedOutputs):
    """DefectSynth: images outputs/defects_gen/<ds>/<obj>/<d>/{NNN}.png, masks outputs/masks_gen/<ds>/<obj>/<d>/{NNN}_mask.png."""

    name = "import:defectsynth"
    # the paper's stage 2 fine-tunes on all available real defect images of a category (section IV-A4)
    documented_training = ("all", ("mvtec-ad", "ds-mvtec"))
    hint = "<d>/NNN.png under path and <d>/NNN_mask.png under masks (defects_gen/ and masks_gen/)"

    def __init__(self, masks: str | None = None, **common):
        super().__init__(**common)
        self.masks_root = Path(masks).expanduser() if masks else self._default_masks_root()
        if not self.masks_root.is_dir():
            raise BenchError(f"{self.name}: mask folder {self.masks_root} is not a directory", "pass masks=DIR")

    def _default_masks_root(self) -> Path:
        """The tool writes both trees side by side: defects_gen/... for images, masks_gen/... for masks."""
        parts = self.root.parts
        if "defects_gen" not in parts:
            raise BenchError(
                f"{self.name}: cannot tell where the masks of {self.root} are",
                "pass masks=DIR (the matching outputs/masks_gen/... folder)",
            )
        i = len(parts) - 1 - parts[::-1].index("defects_gen")
        return Path(*parts[:i], "masks_gen", *parts[i + 1 :])

    def fingerprint(self) -> str:
        return files_fingerprint(self.root) + files_fingerprint(self.masks_root)

    def find(self) -> tuple[list[Found], list[str]]:
        def files(root: Path) -> list[Path]:
            return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)

        def key(rel: Path) -> str:
            return "_".join((*rel.parent.parts, rel.stem))

        images = {key(p.relative_to(self.root)): p for p in files(self.root)}
        masks = {}
        for p in files(self.masks_root):
            rel = p.relative_to(self.masks_root)
            if rel.stem.endswith(MASK_SUFFIX):
                masks[key(rel.with_name(rel.stem[: -len(MASK_SUFFIX)] + rel.suffix))] = p
        found, problems = match(images, masks)
        # the defect type is the folder both files sit in (<obj>/<d>/NNN.png), or the path's own name
        return [Found(f.key, f.image, f.mask, f.image.parent.name) for f in found], problems
