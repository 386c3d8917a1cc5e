"""Seeded miniatures of the output folders of published generators, as each tool writes them.

Each builder writes one tool's layout and returns what it wrote, by the pair id bench gives it:
``{id: (image, mask)}`` with the mask as written (0/255 for binary tools, class ids for index masks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torchvision.utils import save_image

from tests.helpers.releases import save

SIZE = 32


def picture(seed: int, size: int = SIZE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def region(seed: int, size: int = SIZE) -> np.ndarray:
    """A random rectangle: the defect of one generated pair."""
    r = np.random.default_rng(seed)
    top, left = r.integers(0, size - 10, 2)
    out = np.zeros((size, size), bool)
    out[top : top + int(r.integers(4, 10)), left : left + int(r.integers(4, 10))] = True
    return out


def binary(seed: int, size: int = SIZE) -> np.ndarray:
    return region(seed, size).astype(np.uint8) * 255


def seas_output(out: Path, n: int, seed: int = 0, size: int = SIZE) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """SeaS ``--output_dir``: image/NNN.png with binary mask/NNN.png."""
    written = {}
    for num in range(n):
        image, mask = picture(seed + num, size), binary(seed + num, size)
        save(out / "image" / f"{num:03}.png", image)
        save(out / "mask" / f"{num:03}.png", mask)
        written[f"seas_{num:03}"] = (image, mask)
    return written


def anomalydiffusion_output(root: Path, defects=("scratch", "hole"), per_defect: int = 3) -> dict[str, tuple[str, np.ndarray]]:
    """AnomalyDiffusion's generated_dataset/<obj>: <defect>/{image,mask,ori}/<k>.jpg; returns id -> (defect, region)."""
    written = {}
    for d, defect in enumerate(defects):
        for k in range(per_defect):
            seed = 100 * d + k
            for sub, arr in (("image", picture(seed)), ("mask", binary(seed)), ("ori", picture(seed + 1))):
                save(root / defect / sub / f"{k}.jpg", arr, quality=95)
            written[f"anomalydiffusion_{defect}_{k}"] = (defect, region(seed))
    return written


def dfmgan_output(out: Path, n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """DFMGAN ``generate.py --gen-mask``: {idx}_img.png, RGB 0/255 {idx}_mask.png and {idx}_good.png."""
    written = {}
    for idx in range(n):
        save(out / f"{idx}_img.png", picture(idx))
        save(out / f"{idx}_mask.png", np.repeat(binary(idx)[..., None], 3, axis=2))
        save(out / f"{idx}_good.png", picture(50 + idx))
        written[f"dfmgan_{idx}"] = (picture(idx), binary(idx))
    return written


def defect_gen_samples(root: Path, n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Defect-Gen samples as Defect Spectrum released them: class-index masks_converted_dir/, random-colour masks/."""
    written = {}
    for i in range(n):
        stem = f"000001_{i}_0"
        mask = (region(i) * (i % 3 + 1)).astype(np.uint8)
        save(root / "images" / f"samples_image_{stem}.png", picture(i))
        save(root / "masks_converted_dir" / f"samples_converted_mask_{stem}.png", mask)
        save(root / "masks" / f"samples_mask_{stem}.png", picture(100 + i))
        written[f"defect-spectrum_{stem}"] = (picture(i), mask)
    return written


def defectsynth_output(outputs: Path, defects=("scratch", "stain"), per_defect: int = 2) -> tuple[Path, Path]:
    """DefectSynth: defects_gen/<ds>/<obj>/<d>/NNN.png with masks_gen/<ds>/<obj>/<d>/NNN_mask.png; the two roots."""
    images, masks = outputs / "defects_gen" / "MVTec_AD" / "metal", outputs / "masks_gen" / "MVTec_AD" / "metal"
    for defect in defects:
        for i in range(per_defect):
            save(images / defect / f"{i:03}.png", picture(i))
            save(masks / defect / f"{i:03}_mask.png", binary(i))
    return images, masks


def defectdiffu_grids(folder: Path, n: int = 6, tile: int = 16, per_row: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """DefectDiffu test.py: one torchvision grid per batch (2 px padding, black filler), "<obj> <defect>_<cfg>.png"
    and its "_mask.png" of VAE-decoded, never exactly 0/1 masks; returns the tiles and soft masks drawn."""
    tiles = torch.rand(n, 3, tile, tile, generator=torch.Generator().manual_seed(0))
    soft_masks = torch.zeros(n, 1, tile, tile)
    for i in range(n):
        soft_masks[i, 0, 2 + i : 8 + i, 3:9] = 0.9
    soft_masks += 0.05
    folder.mkdir(parents=True, exist_ok=True)
    save_image(tiles, folder / "metal scratch_1.5.png", nrow=per_row)
    save_image(soft_masks.repeat(1, 3, 1, 1), folder / "metal scratch_1.5_mask.png", nrow=per_row)
    return tiles, soft_masks


def tool_output(root: Path, n: int = 20, size: int = 64, seed: int = 500) -> Path:
    """``import:generic`` of ``n`` binary pairs at ``size`` (the toy pictures' 64 px by default), none a copy of a
    toy picture: what a run on a toy task can import."""
    for i in range(n):
        save(root / "images" / f"{i:02d}.png", picture(seed + i, size))
        save(root / "masks" / f"{i:02d}.png", binary(seed + i, size))
    return root


def generic_output(root: Path, size: int = SIZE) -> Path:
    """``import:generic``: images/<name>.png with masks/<name>.png or <name>_mask.png, index (a) and binary (b)."""
    save(root / "images" / "a.png", picture(0, size))
    save(root / "masks" / "a_mask.png", region(0, size).astype(np.uint8) * 2)
    save(root / "images" / "b.png", picture(1, size))
    save(root / "masks" / "b.png", binary(1, size))
    return root
