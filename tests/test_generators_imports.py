"""Import adapters read miniatures of each tool's own output layout, built here the way the tools write them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.utils import save_image

from bench.core.errors import BenchError
from bench.core.specs import GeneratorSpec
from bench.data.base import load_pool
from bench.data.splits import make_split
from generators import GENERATORS
from generators import build
from generators.synthesize import synthesize

SIZE = 32


@pytest.fixture()
def task():
    pool = load_pool("toy", "metal")  # classes: 1 scratch, 2 stain, 3 hole
    split = make_split(pool, "ds-5shot")
    return pool, pool.subset(split.train), pool.subset(split.normal_train)


def picture(seed: int, size: int = SIZE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def region(seed: int, size: int = SIZE) -> np.ndarray:
    r = np.random.default_rng(seed)
    top, left = r.integers(0, size - 10, 2)
    out = np.zeros((size, size), bool)
    out[top : top + int(r.integers(4, 10)), left : left + int(r.integers(4, 10))] = True
    return out


def save(path: Path, array: np.ndarray, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)


def imported(name, train, normals, n, seed=0, **params):
    generator = build(GeneratorSpec.of(name, **params))
    generator.fit(train, normals, seed)
    return list(generator.sample(n, seed))


def test_every_source_is_registered_as_an_import_generator():
    for source in ("defect-spectrum", "anomalydiffusion", "dfmgan", "seas", "defectsynth", "defectdiffu", "generic"):
        assert GENERATORS.get(f"import:{source}").describe()["kind"] == "import"


def test_defect_spectrum_reads_class_index_masks(task, tmp_path):
    _, train, normals = task
    root = tmp_path / "synthetic_MVTec" / "metal"
    truth = {}
    for i in range(4):
        stem = f"000001_{i}_0"
        mask = (region(i) * (i % 3 + 1)).astype(np.uint8)
        save(root / "images" / f"samples_image_{stem}.png", picture(i))
        save(root / "masks_converted_dir" / f"samples_converted_mask_{stem}.png", mask)
        save(root / "masks" / f"samples_mask_{stem}.png", picture(100 + i))  # random-colour RGB masks: ignored
        truth[f"defect-spectrum_{stem}"] = (picture(i), mask)
    pairs = imported("import:defect-spectrum", train, normals, 4, path=str(root))
    assert {p.id for p in pairs} == set(truth)
    for p in pairs:
        assert np.array_equal(p.image, truth[p.id][0]) and np.array_equal(p.mask, truth[p.id][1])


def test_anomalydiffusion_names_classes_by_defect_folder_and_binarises_jpeg(task, tmp_path):
    pool, train, normals = task
    root = tmp_path / "generated_dataset" / "metal"
    truth = {}
    for defect in ("scratch", "hole"):
        for k in range(3):
            seed = hash((defect, k)) % 1000
            reg = region(seed)
            for sub, arr in (("image", picture(seed)), ("mask", reg.astype(np.uint8) * 255), ("ori", picture(seed + 1))):
                save(root / defect / sub / f"{k}.jpg", arr, quality=95)
            truth[f"anomalydiffusion_{defect}_{k}"] = (defect, reg)
    pairs = imported("import:anomalydiffusion", train, normals, 6, path=str(root))
    ids = {v: k for k, v in pool.classes.items()}
    for p in pairs:
        defect, reg = truth[p.id]
        assert set(np.unique(p.mask)) == {0, ids[defect]}
        assert ((p.mask > 0) == reg).mean() > 0.98  # JPEG ringing aside, the same region
    one_defect = imported("import:anomalydiffusion", train, normals, 3, path=str(root / "hole"))
    assert {int(p.mask.max()) for p in one_defect} == {ids["hole"]}


def test_dfmgan_rgb_masks_need_a_named_class(task, tmp_path):
    pool, train, normals = task
    out = tmp_path / "dfmgan_run"
    for idx in range(3):
        save(out / f"{idx}_img.png", picture(idx))
        save(out / f"{idx}_mask.png", np.repeat(region(idx)[..., None] * 255, 3, axis=2).astype(np.uint8))
        save(out / f"{idx}_good.png", picture(50 + idx))
    with pytest.raises(BenchError, match="name it with defect_class=NAME"):
        imported("import:dfmgan", train, normals, 3, path=str(out))
    with pytest.raises(BenchError, match="defect_class 'rust' is not a defect class"):
        build(GeneratorSpec.of("import:dfmgan", path=str(out), defect_class="rust")).fit(train, normals, 0)
    pairs = imported("import:dfmgan", train, normals, 3, path=str(out), defect_class="stain")
    stain = next(k for k, v in pool.classes.items() if v == "stain")
    assert sorted(p.id for p in pairs) == ["dfmgan_0", "dfmgan_1", "dfmgan_2"]
    for p in pairs:
        idx = int(p.id[-1])
        assert np.array_equal(p.mask, region(idx).astype(np.uint8) * stain)
        assert np.array_equal(p.image, picture(idx))


def test_seas_reads_image_and_mask_folders(task, tmp_path):
    _, train, normals = task
    out = tmp_path / "seas_out"
    for num in range(5):
        save(out / "image" / f"{num:03}.png", picture(num))
        save(out / "mask" / f"{num:03}.png", region(num).astype(np.uint8) * 255)
    pairs = imported("import:seas", train, normals, 3, seed=1, path=str(out), defect_class=3)
    assert len(pairs) == 3 and all(set(np.unique(p.mask)) == {0, 3} for p in pairs)
    again = imported("import:seas", train, normals, 3, seed=1, path=str(out), defect_class=3)
    other = imported("import:seas", train, normals, 3, seed=2, path=str(out), defect_class=3)
    assert [p.id for p in pairs] == [p.id for p in again] != [p.id for p in other]
    with pytest.raises(BenchError, match="asked for 6 pairs but .* holds 5"):
        imported("import:seas", train, normals, 6, path=str(out), defect_class=3)


def test_defectsynth_pairs_image_and_mask_trees_and_reports_orphans(task, tmp_path):
    pool, train, normals = task
    images = tmp_path / "outputs" / "defects_gen" / "MVTec_AD" / "metal"
    masks = tmp_path / "outputs" / "masks_gen" / "MVTec_AD" / "metal"
    for defect in ("scratch", "stain"):
        for i in range(2):
            save(images / defect / f"{i:03}.png", picture(i))
            save(masks / defect / f"{i:03}_mask.png", region(i).astype(np.uint8) * 255)
    pairs = imported("import:defectsynth", train, normals, 4, path=str(images))  # masks found beside
    ids = {v: k for k, v in pool.classes.items()}
    assert sorted(p.id for p in pairs) == ["defectsynth_scratch_000", "defectsynth_scratch_001", "defectsynth_stain_000", "defectsynth_stain_001"]
    for p in pairs:
        assert p.mask.max() == ids[p.id.split("_")[1]]
    save(masks / "stain" / "002_mask.png", region(2).astype(np.uint8) * 255)  # a mask whose image is missing
    with pytest.raises(BenchError, match=r"1 mismatched image/mask file\(s\).*mask without image: .*002_mask.png"):
        imported("import:defectsynth", train, normals, 4, path=str(images), masks=str(masks))


def test_defectdiffu_grids_split_into_tiles_and_masks_binarised(task, tmp_path):
    pool, train, normals = task
    folder = tmp_path / "img"
    tiles = torch.rand(6, 3, 16, 16)
    soft_masks = torch.zeros(6, 1, 16, 16)
    for i in range(6):
        soft_masks[i, 0, 2 + i : 8 + i, 3:9] = 0.9  # a VAE-decoded mask is never exactly 0/1
    soft_masks += 0.05
    folder.mkdir()
    # test.py saves each batch as one torchvision grid: 8 per row by default, 2 px padding, black filler
    save_image(tiles, folder / "metal scratch_1.5.png", nrow=4)
    save_image(soft_masks.repeat(1, 3, 1, 1), folder / "metal scratch_1.5_mask.png", nrow=4)
    pairs = imported("import:defectdiffu", train, normals, 6, path=str(tmp_path), tile=16)
    scratch = next(k for k, v in pool.classes.items() if v == "scratch")
    assert len(pairs) == 6  # 2 rows x 4 columns, the last two tiles are filler
    by_tile = {int(p.id.rsplit("_", 1)[1]): p for p in sorted(pairs, key=lambda p: p.id)}
    for i, p in by_tile.items():
        expected = tiles[i].mul(255).add(0.5).clamp(0, 255).byte().permute(1, 2, 0).numpy()
        assert np.array_equal(p.image, expected)
        assert np.array_equal(p.mask > 0, soft_masks[i, 0].numpy() > 0.5) and p.mask.max() == scratch
    with pytest.raises(BenchError, match="is not a grid of 20px tiles"):
        imported("import:defectdiffu", train, normals, 6, path=str(tmp_path), tile=20)


def test_generic_import_and_mismatch_reports(task, tmp_path):
    _, train, normals = task
    root = tmp_path / "any"
    save(root / "images" / "a.png", picture(0))
    save(root / "masks" / "a_mask.png", region(0).astype(np.uint8) * 2)  # class ids
    save(root / "images" / "b.png", picture(1))
    save(root / "masks" / "b.png", region(1).astype(np.uint8) * 255)  # binary
    pairs = {p.id: p for p in imported("import:generic", train, normals, 2, path=str(root), defect_class="hole")}
    assert pairs["generic_a"].mask.max() == 2 and pairs["generic_b"].mask.max() == 3
    save(root / "images" / "c.png", picture(2))
    with pytest.raises(BenchError, match="image without mask: .*c.png"):
        imported("import:generic", train, normals, 2, path=str(root), defect_class="hole")
    save(root / "masks" / "c.png", np.zeros((SIZE + 1, SIZE), np.uint8))
    with pytest.raises(BenchError, match="c.png is 32x33 but c.png is 32x32"):
        imported("import:generic", train, normals, 2, path=str(root), defect_class="hole")
    save(root / "masks" / "c.png", np.full((SIZE, SIZE), 7, np.uint8))
    with pytest.raises(BenchError, match=r"class ids \[7\] outside the task's class map"):
        imported("import:generic", train, normals, 3, path=str(root), defect_class="hole")
    with pytest.raises(BenchError, match="needs the folder of the tool's output"):
        build(GeneratorSpec.of("import:generic"))


def test_changed_files_miss_the_generation_cache(task, tmp_path):
    _, train, normals = task
    out = tmp_path / "seas_out"
    for num in range(3):
        save(out / "image" / f"{num:03}.png", picture(num))
        save(out / "mask" / f"{num:03}.png", region(num).astype(np.uint8) * 255)
    spec = GeneratorSpec.of("import:seas", path=str(out), defect_class="hole")
    first, hit1 = synthesize(spec, train, normals, n=3, seed=0)
    _, hit2 = synthesize(spec, train, normals, n=3, seed=0)
    save(out / "image" / "001.png", picture(99))
    changed, hit3 = synthesize(spec, train, normals, n=3, seed=0)
    assert (hit1, hit2, hit3) == (False, True, False)
    assert changed.root != first.root
    assert np.array_equal(changed.image("seas_001"), picture(99))
