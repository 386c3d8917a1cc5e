from __future__ import annotations

import numpy as np

from bench.core.specs import GeneratorSpec
from generators import build
from generators.synthesize import synthesize


def test_pastes_only_masked_pixels_with_the_right_classes(toy_metal):
    pool, train, normals = toy_metal
    gen = build(GeneratorSpec.of("copy-paste"))
    gen.fit(train, normals, seed=0)
    normal_images = {n.image.tobytes(): n for n in normals}
    for pair in gen.sample(12, seed=3):
        assert pair.mask.any(), "every synthetic pair carries a defect"
        assert set(np.unique(pair.mask)) <= set(pool.classes)
        # find the normal it was pasted on: all pixels outside the mask must equal it
        outside = pair.mask == 0
        matches = [n for n in normals if np.array_equal(n.image[outside], pair.image[outside])]
        assert matches, "pixels outside the mask changed"
        assert not np.array_equal(matches[0].image[~outside], pair.image[~outside])
    assert normal_images  # sanity: normals exist


def test_same_seed_same_pairs_different_seed_different(toy_metal):
    _, train, normals = toy_metal
    gen = build(GeneratorSpec.of("copy-paste"))
    gen.fit(train, normals, seed=0)
    a = [p.image.tobytes() for p in gen.sample(5, seed=1)]
    b = [p.image.tobytes() for p in gen.sample(5, seed=1)]
    c = [p.image.tobytes() for p in gen.sample(5, seed=2)]
    assert a == b and a != c


def test_synthesize_caches_and_a_changed_parameter_misses(toy_metal):
    _, train, normals = toy_metal
    first, hit1 = synthesize(GeneratorSpec.of("copy-paste"), train, normals, n=6, seed=0)
    again, hit2 = synthesize(GeneratorSpec.of("copy-paste"), train, normals, n=6, seed=0)
    other, hit3 = synthesize(GeneratorSpec.of("copy-paste", max_defects=2), train, normals, n=6, seed=0)
    assert (hit1, hit2, hit3) == (False, True, False)
    assert again.root == first.root and other.root != first.root
    assert len(first) == 6
    first.validate()
