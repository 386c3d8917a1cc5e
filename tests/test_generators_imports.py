"""Import adapters read miniatures of each tool's own output layout (tests/helpers/imports.py)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.core.errors import BenchError
from bench.core.specs import GeneratorSpec
from generators import GENERATORS, build
from generators.synthesize import synthesize
from tests.helpers.imports import (
    SIZE,
    anomalydiffusion_output,
    binary,
    defect_gen_samples,
    defectdiffu_grids,
    defectsynth_output,
    dfmgan_output,
    generic_output,
    picture,
    seas_output,
)
from tests.helpers.releases import save


def imported(name, train, normals, n, seed=0, **params):
    generator = build(GeneratorSpec.of(name, **params))
    generator.fit(train, normals, seed)
    return list(generator.sample(n, seed))


def test_every_source_is_registered_as_an_import_generator():
    for source in ("defect-spectrum", "anomalydiffusion", "dfmgan", "seas", "defectsynth", "defectdiffu", "generic"):
        assert GENERATORS.get(f"import:{source}").describe()["kind"] == "import"


def test_defect_spectrum_reads_class_index_masks(toy_metal, tmp_path):
    _, train, normals = toy_metal
    root = tmp_path / "synthetic_MVTec" / "metal"
    truth = defect_gen_samples(root, 4)  # with random-colour RGB masks/ beside, which are ignored
    pairs = imported("import:defect-spectrum", train, normals, 4, path=str(root))
    assert {p.id for p in pairs} == set(truth)
    for p in pairs:
        assert np.array_equal(p.image, truth[p.id][0]) and np.array_equal(p.mask, truth[p.id][1])


def test_anomalydiffusion_names_classes_by_defect_folder_and_binarises_jpeg(toy_metal, tmp_path):
    pool, train, normals = toy_metal
    root = tmp_path / "generated_dataset" / "metal"
    truth = anomalydiffusion_output(root)
    pairs = imported("import:anomalydiffusion", train, normals, 6, path=str(root))
    ids = {v: k for k, v in pool.classes.items()}
    for p in pairs:
        defect, reg = truth[p.id]
        assert set(np.unique(p.mask)) == {0, ids[defect]}
        assert ((p.mask > 0) == reg).mean() > 0.98  # JPEG ringing aside, the same region
    one_defect = imported("import:anomalydiffusion", train, normals, 3, path=str(root / "hole"))
    assert {int(p.mask.max()) for p in one_defect} == {ids["hole"]}


def test_dfmgan_rgb_masks_need_a_named_class(toy_metal, tmp_path):
    pool, train, normals = toy_metal
    out = tmp_path / "dfmgan_run"
    truth = dfmgan_output(out, 3)
    with pytest.raises(BenchError, match="name it with defect_class=NAME"):
        imported("import:dfmgan", train, normals, 3, path=str(out))
    with pytest.raises(BenchError, match="defect_class 'rust' is not a defect class"):
        build(GeneratorSpec.of("import:dfmgan", path=str(out), defect_class="rust")).fit(train, normals, 0)
    pairs = imported("import:dfmgan", train, normals, 3, path=str(out), defect_class="stain")
    stain = next(k for k, v in pool.classes.items() if v == "stain")
    assert sorted(p.id for p in pairs) == sorted(truth) == ["dfmgan_0", "dfmgan_1", "dfmgan_2"]
    for p in pairs:
        image, mask = truth[p.id]
        assert np.array_equal(p.mask, (mask > 0).astype(np.uint8) * stain)
        assert np.array_equal(p.image, image)


def test_seas_reads_image_and_mask_folders(toy_metal, tmp_path):
    _, train, normals = toy_metal
    out = tmp_path / "seas_out"
    seas_output(out, 5)
    pairs = imported("import:seas", train, normals, 3, seed=1, path=str(out), defect_class=3)
    assert len(pairs) == 3 and all(set(np.unique(p.mask)) == {0, 3} for p in pairs)
    again = imported("import:seas", train, normals, 3, seed=1, path=str(out), defect_class=3)
    other = imported("import:seas", train, normals, 3, seed=2, path=str(out), defect_class=3)
    assert [p.id for p in pairs] == [p.id for p in again] != [p.id for p in other]
    with pytest.raises(BenchError, match="asked for 6 pairs but .* holds 5"):
        imported("import:seas", train, normals, 6, path=str(out), defect_class=3)


def test_defectsynth_pairs_image_and_mask_trees_and_reports_orphans(toy_metal, tmp_path):
    pool, train, normals = toy_metal
    images, masks = defectsynth_output(tmp_path / "outputs")
    pairs = imported("import:defectsynth", train, normals, 4, path=str(images))  # masks found beside
    ids = {v: k for k, v in pool.classes.items()}
    assert sorted(p.id for p in pairs) == ["defectsynth_scratch_000", "defectsynth_scratch_001", "defectsynth_stain_000", "defectsynth_stain_001"]
    for p in pairs:
        assert p.mask.max() == ids[p.id.split("_")[1]]
    save(masks / "stain" / "002_mask.png", binary(2))  # a mask whose image is missing
    with pytest.raises(BenchError, match=r"1 mismatched image/mask file\(s\).*mask without image: .*002_mask.png"):
        imported("import:defectsynth", train, normals, 4, path=str(images), masks=str(masks))


def test_defectdiffu_grids_split_into_tiles_and_masks_binarised(toy_metal, tmp_path):
    pool, train, normals = toy_metal
    tiles, soft_masks = defectdiffu_grids(tmp_path / "img", n=6, tile=16, per_row=4)
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


def test_generic_import_and_mismatch_reports(toy_metal, tmp_path):
    _, train, normals = toy_metal
    root = generic_output(tmp_path / "any")  # a: class ids, b: binary
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


def test_changed_files_miss_the_generation_cache(toy_metal, tmp_path):
    _, train, normals = toy_metal
    out = tmp_path / "seas_out"
    seas_output(out, 3)
    spec = GeneratorSpec.of("import:seas", path=str(out), defect_class="hole")
    first, hit1 = synthesize(spec, train, normals, n=3, seed=0)
    _, hit2 = synthesize(spec, train, normals, n=3, seed=0)
    save(out / "image" / "001.png", picture(99))
    changed, hit3 = synthesize(spec, train, normals, n=3, seed=0)
    assert (hit1, hit2, hit3) == (False, True, False)
    assert changed.root != first.root
    assert np.array_equal(changed.image("seas_001"), picture(99))
