from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from bench.core.errors import BenchError
from bench.core.pairset import Pair, PairSet, write_pairset
from tests.helpers.pairs import make_pair

CLASSES = {0: "background", 1: "scratch", 2: "hole"}


def test_round_trip_preserves_pixels_classes_and_groups(tmp_path):
    pairs = [make_pair("a", seed=1), make_pair("b", class_id=2, seed=2, group="hole"), make_pair("n", class_id=0, group="good")]
    written = write_pairset(tmp_path / "set", pairs, CLASSES, {"test": True}, seed=7)
    opened = PairSet.open(tmp_path / "set")
    assert opened.ids == ("a", "b", "n")
    assert opened.classes == CLASSES
    assert opened.meta["seed"] == 7
    for pair in pairs:
        back = opened.pair(pair.id)
        np.testing.assert_array_equal(back.image, pair.image)
        np.testing.assert_array_equal(back.mask, pair.mask)
        assert back.group == pair.group
    assert opened.content_hash() == written.content_hash()
    opened.validate()


def test_content_hash_changes_with_content(tmp_path):
    a = write_pairset(tmp_path / "a", [make_pair("x", seed=1)], CLASSES, {})
    b = write_pairset(tmp_path / "b", [make_pair("x", seed=2)], CLASSES, {})
    assert a.content_hash() != b.content_hash()


def test_subset_restricts_ids_and_rejects_unknown(tmp_path):
    s = write_pairset(tmp_path / "s", [make_pair("a"), make_pair("b")], CLASSES, {})
    assert len(s.subset(["b"])) == 1
    with pytest.raises(BenchError, match="ids not in pair set"):
        s.subset(["zz"])


@pytest.mark.parametrize(
    "pair, message",
    [
        (Pair("bad", np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9), np.uint8)), "is 9x8 but its image is 8x8"),
        (Pair("bad", np.zeros((8, 8, 3), np.uint8), np.full((8, 8), 5, np.uint8)), r"class ids \[5\] outside"),
        (Pair("bad", np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)), "single-channel"),
    ],
)
def test_invalid_pairs_fail_with_one_line_and_leave_nothing(tmp_path, pair, message):
    with pytest.raises(BenchError, match=message) as info:
        write_pairset(tmp_path / "set", [make_pair("ok"), pair], CLASSES, {})
    assert "\n" not in str(info.value)
    assert not (tmp_path / "set").exists()
    assert list(tmp_path.iterdir()) == []  # no temp directory left behind


def test_duplicate_ids_rejected(tmp_path):
    with pytest.raises(BenchError, match="duplicate pair id 'a'"):
        write_pairset(tmp_path / "set", [make_pair("a"), make_pair("a")], CLASSES, {})


def test_rewrite_replaces_old_set_atomically(tmp_path):
    write_pairset(tmp_path / "set", [make_pair("a")], CLASSES, {})
    write_pairset(tmp_path / "set", [make_pair("b")], CLASSES, {})
    assert PairSet.open(tmp_path / "set").ids == ("b",)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]


def test_validate_names_the_corrupt_file(tmp_path):
    s = write_pairset(tmp_path / "set", [make_pair("a")], CLASSES, {})
    s.image_path("a").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(BenchError, match=r"unreadable or truncated image: .*a\.png"):
        PairSet.open(tmp_path / "set").validate()


def test_rgb_mask_on_disk_is_rejected_with_fix(tmp_path):
    s = write_pairset(tmp_path / "set", [make_pair("a")], CLASSES, {})
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(s.mask_path("a"))
    with pytest.raises(BenchError, match="is a colour image, not a single-channel class-index PNG"):
        s.mask("a")


def test_open_rejects_foreign_directories(tmp_path):
    with pytest.raises(BenchError, match="has no meta.json"):
        PairSet.open(tmp_path)
    (tmp_path / "meta.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(BenchError, match="expected 'bench.pairset/1'"):
        PairSet.open(tmp_path)


def test_a_damaged_cached_file_says_how_to_rebuild_the_cache(tmp_path, isolated_dirs):
    from bench.data.base import load_pool

    pool = load_pool("toy", "wood")
    image, mask = pool.image_path(pool.ids[0]), pool.mask_path(pool.ids[1])
    for path in (image, mask):
        path.write_bytes(path.read_bytes()[:40])
    for read, path in ((pool.image, image), (pool.mask, mask)):
        with pytest.raises(BenchError) as caught:
            read(path.stem)
        message = str(caught.value)
        assert f"truncated {'image' if path == image else 'mask'}: {path}" in message
        assert f"the cached set {pool.root} is damaged: remove that folder (or the whole cache, `bench cache clean --all`)" in message
        assert "replace or remove the file" not in message
    user_set = write_pairset(tmp_path / "mine", [make_pair("a")], CLASSES, {})
    user_set.image_path("a").write_bytes(b"not a png")
    with pytest.raises(BenchError, match=f"the pair set {tmp_path / 'mine'} is damaged: write it again"):
        user_set.image("a")
