from __future__ import annotations

import pytest

from bench.data.splits import make_split
from bench.errors import BenchError
from bench.pairset import write_pairset
from tests.conftest import make_pair

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
