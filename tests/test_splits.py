from __future__ import annotations

import re

import pytest

from bench.core.errors import BenchError
from bench.core.pairset import Pair, write_pairset
from bench.data.splits import compute_split, make_split
from tests.helpers.pairs import make_pair

CLASSES = {0: "background", 1: "scratch", 2: "hole"}


def _pool(tmp_path, n_per_type=8, duplicate=False):
    pairs = [make_pair(f"scratch_{i:03d}", class_id=1, seed=i, group="scratch") for i in range(n_per_type)]
    pairs += [make_pair(f"hole_{i:03d}", class_id=2, seed=100 + i, group="hole") for i in range(n_per_type)]
    pairs += [make_pair(f"good_{i:03d}", class_id=0, seed=200 + i, group="good") for i in range(4)]
    if duplicate:  # the same picture as scratch_000, filed later in the sort order
        pairs.append(make_pair("scratch_999", class_id=1, seed=0, group="scratch"))
    return write_pairset(tmp_path / "pool", pairs, CLASSES, {})


def test_five_shot_takes_first_five_sorted_ids_per_type(tmp_path):
    split = make_split(_pool(tmp_path), "ds-5shot")
    assert split.train == tuple(f"hole_{i:03d}" for i in range(5)) + tuple(f"scratch_{i:03d}" for i in range(5))
    assert len(split.test) == 6
    assert not set(split.train) & set(split.test)
    assert split.val == ()
    # without release origins, normals are halved: first half train, second half test
    assert split.normal_train == ("good_000", "good_001") and split.normal_test == ("good_002", "good_003")


def test_overlap_by_content_is_an_error(tmp_path):
    with pytest.raises(BenchError, match=r"same picture in train \('scratch_000'\) and test \('scratch_999'\)"):
        make_split(_pool(tmp_path, duplicate=True), "ds-5shot")


def test_unknown_preset(tmp_path):
    with pytest.raises(BenchError, match="unknown split preset 'tenth'"):
        make_split(_pool(tmp_path), "tenth")


def _pool_of(tmp_path, n_per_type):
    pairs = [make_pair(f"scratch_{i:03d}", class_id=1, seed=i, group="scratch") for i in range(n_per_type)]
    pairs += [make_pair(f"good_{i:03d}", class_id=0, seed=500 + i, group="good") for i in range(2)]
    return write_pairset(tmp_path / "pool", pairs, CLASSES, {})


@pytest.mark.parametrize(
    "preset, n, n_train",
    [("third", 10, 3), ("third", 9, 3), ("third", 2, 0), ("half", 9, 4), ("half", 10, 5), ("ratio:0.3", 10, 3), ("ratio:1/3", 10, 3)],
)
def test_presets_take_the_first_sorted_ids_of_each_type(tmp_path, preset, n, n_train):
    split = make_split(_pool_of(tmp_path, n), preset)
    ids = [f"scratch_{i:03d}" for i in range(n)]
    assert split.train == tuple(ids[:n_train]) and split.test == tuple(ids[n_train:])


def test_third_leaves_index_n_over_3_in_test(tmp_path):
    """AnomalyDiffusion's loader also trains on index n//3 (its first test image); bench does not."""
    split = make_split(_pool_of(tmp_path, 10), "third")
    assert "scratch_003" in split.test and "scratch_003" not in split.train


def test_ratio_is_exact_where_floats_round_down():
    from fractions import Fraction

    from bench.data.splits import SPLITS

    assert int(0.29 * 100) == 28  # the float pitfall
    assert SPLITS.get("ratio").train_count(100, Fraction("0.29")) == 29


def test_validation_is_carved_from_train_never_from_test(tmp_path):
    pool = _pool(tmp_path, n_per_type=10)
    plain, with_val = make_split(pool, "half"), make_split(pool, "half+val:0.4")
    assert with_val.test == plain.test
    assert with_val.val == ("hole_003", "hole_004", "scratch_003", "scratch_004")
    assert set(with_val.train) | set(with_val.val) == set(plain.train)
    assert with_val.manifest_hash(pool) != plain.manifest_hash(pool)


def test_manifest_is_written_beside_the_pool(tmp_path):
    import json

    from bench.data.splits import manifest_path

    pool = _pool(tmp_path)
    split = make_split(pool, "ratio:0.5")
    path = manifest_path(pool, "ratio:0.5")
    assert path.parent.parent == pool.root.parent
    manifest = json.loads(path.read_text())
    assert manifest["manifest_hash"] == split.manifest_hash(pool)
    assert manifest["parts"]["train"] == {i: pool.hash(i) for i in split.train}
    assert manifest["preset"] == "ratio:0.5" and manifest["pool"] == pool.content_hash()


@pytest.mark.parametrize(
    "preset, message",
    [
        ("ratio", "needs a fraction 0 < R < 1"),
        ("ratio:1.5", "needs a fraction 0 < R < 1"),
        ("ratio:abc", "'abc' is not a number"),
        ("third:2", "takes no parameter"),
        ("half+val:1", "validation fraction must be in [0, 1)"),
        ("half val", "is not of the form"),
    ],
)
def test_bad_preset_names(tmp_path, preset, message):
    with pytest.raises(BenchError, match=re.escape(message)):
        make_split(_pool(tmp_path), preset)


def _origin_pool(tmp_path, origins: dict[str, str]):
    pairs = [Pair(p.id, p.image, p.mask, p.group, origins.get(p.id, "")) for p in
             (make_pair(f"scratch_{i:03d}", class_id=1, seed=i) for i in range(6))]
    return write_pairset(tmp_path / "pool", pairs, CLASSES, {"dataset": "x", "category": "y"})


def test_release_follows_the_releases_own_split_and_refuses_data_without_one(tmp_path):
    origins = {f"scratch_{i:03d}": "test" if i in (1, 4) else "train" for i in range(6)}
    split = make_split(_origin_pool(tmp_path, origins), "release")
    assert split.test == ("scratch_001", "scratch_004") and split.train == ("scratch_000", "scratch_002", "scratch_003", "scratch_005")
    with pytest.raises(BenchError, match=r"split 'release': the defect images of category 'y' of dataset 'x' carry no train/test"):
        make_split(_origin_pool(tmp_path / "b", {}), "release")


def test_random_partitions_are_seeded_thirds_per_defect_type(tmp_path):
    pool = _pool(tmp_path)
    first, again, other = (compute_split(pool, p) for p in ("random:0", "random:0", "random:1"))
    assert first == again, "the same partition number is the same partition"
    assert set(first.train) != set(other.train), "another partition number draws again"
    for split in (first, other):
        assert sum(i.startswith("scratch") for i in split.train) == 8 // 3 and len(split.test) == 16 - 2 * (8 // 3)
        assert not set(split.train) & set(split.test)
    assert set(first.train) != set(compute_split(pool, "third").train), "not the sorted third"
    with pytest.raises(BenchError, match="needs a partition number K >= 0"):
        compute_split(pool, "random:0.5")


def test_all_trains_on_every_defect_image(tmp_path):
    split = make_split(_pool(tmp_path), "all")
    assert len(split.train) == 16 and split.test == ()
