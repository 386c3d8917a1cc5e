from __future__ import annotations

import numpy as np

from bench.data import toy
from bench.data.base import load_pool
from bench.data.splits import make_split


def _bytes(cfg: toy.ToyConfig, category: str = "wood") -> list[bytes]:
    return [p.image.tobytes() + p.mask.tobytes() for p in toy.category_pairs(category, cfg)]


def test_same_seed_same_bytes_different_seed_different_data():
    cfg = toy.ToyConfig(size=32, defects_per_class=3, normals_train=2, normals_test=2)
    assert _bytes(cfg) == _bytes(cfg)
    other = _bytes(toy.ToyConfig(size=32, defects_per_class=3, normals_train=2, normals_test=2, seed=1))
    assert all(a != b for a, b in zip(_bytes(cfg), other))


def test_categories_have_textures_multiclass_masks_and_normals():
    cfg = toy.ToyConfig(size=48, defects_per_class=4, normals_train=3, normals_test=2)
    for category, defects in toy.CATEGORIES.items():
        pairs = list(toy.category_pairs(category, cfg))
        assert len(pairs) == 3 * 4 + 3 + 2
        normals = [p for p in pairs if p.group == "good"]
        assert all(not p.mask.any() for p in normals)
        for class_id, defect in enumerate(defects, start=1):
            of_class = [p for p in pairs if p.group == defect]
            assert len(of_class) == 4
            for p in of_class:
                assert set(np.unique(p.mask)) == {0, class_id}
                # the defect changes the picture where the mask says
                assert p.image.shape == (48, 48, 3)
        assert np.std(normals[0].image.astype(float)) > 3, "surfaces are textured, not flat"


def test_defect_classes_look_different():
    """Mean brightness change inside the mask differs between classes (bright scratch vs dark hole)."""
    pairs = list(toy.category_pairs("metal", toy.ToyConfig(size=64)))
    def inside(defect):
        return np.mean([p.image[p.mask > 0].mean() for p in pairs if p.group == defect])
    assert inside("scratch") > inside("hole") + 50


def test_pool_is_cached_and_split_is_five_shot():
    pool = load_pool("toy", "fabric")
    assert load_pool("toy", "fabric").root == pool.root
    split = make_split(pool, "ds-5shot")
    assert len(split.train) == 3 * 5 and len(split.test) == 3 * 7
    assert len(split.normal_train) == 10 and len(split.normal_test) == 10
    assert all(i.startswith("good_train") for i in split.normal_train)
    assert split.manifest_hash(pool) == make_split(pool, "ds-5shot").manifest_hash(pool)
