"""Import provenance and leakage: an import's pairs and the images its tool was trained on are checked
against the run's test split by pixel hash and near-duplicate distance before anything trains."""

from __future__ import annotations

import numpy as np
import pytest

from bench.core.errors import BenchError
from bench.core.specs import GeneratorSpec, TaskRef
from bench.data.tasks import Tasks
from bench.runner import resolve
from bench.spec import RunSpec
from tests.helpers.imports import generic_output, picture
from tests.helpers.releases import save


def _spec(path, split="ds-5shot", ratio=0.1, **params) -> RunSpec:
    """ratio 0.1 asks for 2 pairs of 15 training pairs (1 of 12 under third): what the tool's 2 outputs hold."""
    generator = GeneratorSpec.of("import:generic", path=str(path), defect_class="crack", **params)
    return RunSpec(generator=generator, ratio=ratio, split=split, schedule="smoke", device="cpu")


def _test_images(split="ds-5shot"):
    data = Tasks().load(TaskRef("toy", "wood", split))
    return data, [(i, data.pool.image(i)) for i in data.split.test]


def test_an_import_holding_a_test_image_is_refused_with_the_file_named(tmp_path):
    root = generic_output(tmp_path / "tool", 64)
    _, tests = _test_images()
    test_id, image = tests[3]
    save(root / "images" / "leaked.png", image)
    save(root / "masks" / "leaked.png", np.zeros(image.shape[:2], np.uint8))
    with pytest.raises(BenchError) as info:
        resolve(_spec(root))
    message = str(info.value)
    assert f"leaked.png = test '{test_id}' (same pixels)" in message and "1 of your" in message and "\n" not in message


def test_a_near_duplicate_counts_as_well(tmp_path):
    root = generic_output(tmp_path / "tool", 64)
    _, tests = _test_images()
    test_id, image = tests[0]
    shifted = np.clip(image.astype(int) + 2, 0, 255).astype(np.uint8)  # re-encoded / brightened: not the same pixels
    save(root / "images" / "close.png", shifted)
    save(root / "masks" / "close.png", np.zeros(image.shape[:2], np.uint8))
    with pytest.raises(BenchError, match=rf"close.png = test '{test_id}' \(near-duplicate, distance 0.0078\)"):
        resolve(_spec(root))


def test_a_training_list_that_overlaps_the_test_split_is_refused(tmp_path):
    root = generic_output(tmp_path / "tool", 64)
    _, tests = _test_images()
    listed = tmp_path / "trained"
    for k, (_, image) in enumerate(tests[:2]):
        save(listed / f"t{k}.png", image)
    save(listed / "other.png", picture(7, 64))
    (listed / "list.txt").write_text("t0.png\nt1.png\nother.png\n")
    with pytest.raises(BenchError) as info:
        resolve(_spec(root, trained_on=str(listed / "list.txt")))
    message = str(info.value)
    assert "trained on or reproduces 2 of your" in message and "t0.png" in message and "t1.png" in message
    assert "other.png" not in message


def test_a_documented_or_given_training_split_is_checked_and_recorded(tmp_path):
    from generators.registry import build

    root = generic_output(tmp_path / "tool", 64)
    run = resolve(_spec(root, trained_on="split:third"))  # third's 4 per type all train under ds-5shot too
    assert run.run_id
    with pytest.raises(BenchError, match="trained on or reproduces 3 of your"):  # index 4 of each of 3 types tests under third
        resolve(_spec(root, split="third", trained_on="split:ds-5shot"))
    anomalydiffusion = build(GeneratorSpec.of("import:anomalydiffusion", path=str(root)))
    assert anomalydiffusion.training("mvtec-ad") == ("split:third-inclusive", "the tool's documented training split")
    assert anomalydiffusion.training("toy") == (None, "unknown")
    told = build(GeneratorSpec.of("import:anomalydiffusion", path=str(root), trained_on="unknown"))
    assert told.training("mvtec-ad") == (None, "told unknown")


def test_an_import_too_small_for_the_run_is_refused_before_anything_trains(tmp_path):
    root = generic_output(tmp_path / "tool", 64)
    held = len(list((root / "images").iterdir()))
    with pytest.raises(BenchError, match=rf"the run asks for {3 * 15} pairs but .*tool holds {held}") as info:
        resolve(_spec(root, ratio=3.0))  # 3 x 15 training pairs
    assert "\n" not in str(info.value)
    save(root / "images" / "small.png", picture(7, 32))
    save(root / "masks" / "small.png", np.zeros((32, 32), np.uint8))
    with pytest.raises(BenchError, match="small.png under .*tool is 32x32, the task's training images are 64x64"):
        resolve(_spec(root))


def test_a_crop_view_checks_an_import_against_the_whole_test_pictures(tmp_path):
    root = generic_output(tmp_path / "tool", 64)
    data = Tasks().load(TaskRef("toy", "wood", "ratio:0.65+crop:32"))
    picture_id = data.test_pictures.ids[2]
    save(root / "images" / "whole.png", data.test_pictures.image(picture_id))
    save(root / "masks" / "whole.png", np.zeros((64, 64), np.uint8))
    with pytest.raises(BenchError, match=rf"whole.png = test '{picture_id}' \(same pixels\)"):
        resolve(_spec(root, split="ratio:0.65+crop:32", ratio=0.01))
