"""The classical baselines on toy data: valid, labelled, aligned, deterministic, and compositing only inside the mask."""

from __future__ import annotations

import numpy as np
import pytest

from bench.core.errors import BenchError
from bench.core.pairset import check_pair, write_pairset
from bench.core.specs import GeneratorSpec
from generators import GENERATORS, build
from generators.hmi import interpolate_masks

BASELINES = ["augment", "copy-paste", "cutpaste", "perlin", "poisson", "poisson-hmi", "hmi"]
COMPOSITING = ["copy-paste", "cutpaste", "perlin", "poisson", "poisson-hmi", "hmi"]  # drawn on a normal, rest untouched
VARIANTS = {"poisson-hmi": ("poisson", {"shapes": "hmi"})}  # HMI as the mask source of a compositing baseline
N = 12


def fitted(name, train, normals, **params):
    name, extra = VARIANTS.get(name, (name, {}))
    generator = build(GeneratorSpec.of(name, **extra, **params))
    generator.fit(train, normals, seed=0)
    return generator


@pytest.mark.parametrize("name", BASELINES)
def test_n_valid_pairs_with_nonempty_aligned_masks(toy_metal, name):
    pool, train, normals = toy_metal
    pairs = list(fitted(name, train, normals).sample(N, seed=1))
    assert len(pairs) == N and len({p.id for p in pairs}) == N
    for pair in pairs:
        check_pair(pair.id, pair.image, pair.mask, pool.classes)
        assert pair.mask.any(), f"{pair.id} has an empty mask"
    assert GENERATORS.get(VARIANTS.get(name, (name,))[0]).describe()["kind"] == "baseline"


@pytest.mark.parametrize("name", BASELINES)
def test_same_seed_byte_identical_other_seed_different(toy_metal, tmp_path, name):
    _, train, normals = toy_metal
    written = {}
    for label, seed in (("a", 5), ("b", 5), ("c", 6)):
        # a fresh generator each time: nothing may leak from one sampling into the next
        pairs = fitted(name, train, normals).sample(N, seed=seed)
        written[label] = write_pairset(tmp_path / label, pairs, train.classes, {"generator": name}, seed=seed)

    def files(ps):
        return [(ps.image_path(i).read_bytes(), ps.mask_path(i).read_bytes()) for i in ps.ids]

    assert files(written["a"]) == files(written["b"])
    assert [x for x, _ in files(written["a"])] != [x for x, _ in files(written["c"])]


@pytest.mark.parametrize("name", COMPOSITING)
def test_pixels_outside_the_mask_are_those_of_a_normal(toy_metal, name):
    _, train, normals = toy_metal
    bases = list(normals)
    for pair in fitted(name, train, normals).sample(N, seed=2):
        outside = pair.mask == 0
        base = next((b for b in bases if np.array_equal(b.image[outside], pair.image[outside])), None)
        assert base is not None, f"{name}: pixels outside the mask of {pair.id} changed"
        changed = (pair.image != base.image).any(axis=2)
        assert changed[~outside].any(), f"{name}: nothing changed inside the mask of {pair.id}"
        if name in ("cutpaste", "perlin", "hmi"):  # these label exactly the pixels they changed
            assert np.array_equal(changed, ~outside)
        if name.startswith("poisson"):  # refined mask: the changed pixels, closed and hole-filled
            assert changed[~outside].mean() > 0.8


@pytest.mark.parametrize("name", ["cutpaste", "perlin"])
def test_generated_defects_get_the_configured_class(toy_metal, name):
    pool, train, normals = toy_metal
    stain = next(k for k, v in pool.classes.items() if v == "stain")
    for pair in fitted(name, train, normals, defect_class="stain").sample(6, seed=0):
        assert set(np.unique(pair.mask)) == {0, stain}
    with pytest.raises(BenchError, match="defect_class 'rust' is not a defect class"):
        fitted(name, train, normals, defect_class="rust")


def test_copied_defects_keep_their_own_class(toy_metal):
    """Donor-based baselines label each defect with its donor's class: check the class against the pixels."""
    pool, train, normals = toy_metal
    mean_by_class = {}
    for pair in train:
        for k in np.unique(pair.mask[pair.mask > 0]):
            mean_by_class.setdefault(int(k), []).append(pair.image[pair.mask == k].mean())
    for name in ("copy-paste", "augment", "hmi"):
        seen = set()
        for pair in fitted(name, train, normals).sample(30, seed=4):
            seen |= set(np.unique(pair.mask[pair.mask > 0]).tolist())
        assert seen == set(pool.defect_classes), f"{name} should draw defects of every class"
    # holes are dark in the toy data: hmi's hole-labelled pixels must be dark too
    hole = next(k for k, v in pool.classes.items() if v == "hole")
    for pair in fitted("hmi", train, normals).sample(30, seed=4):
        if (pair.mask == hole).any():
            assert pair.image[pair.mask == hole].mean() < np.mean(mean_by_class[hole]) + 40


def test_augment_changes_the_image_and_keeps_labels_aligned(toy_metal):
    _, train, normals = toy_metal
    generator = fitted("augment", train, normals, max_degrees=0.0, noise_std=0.0, brightness=0.2)
    originals = {p.mask.tobytes(): p for p in train}
    for pair in generator.sample(8, seed=0):
        source = originals[pair.mask.tobytes()]  # no rotation: the mask is the source's own
        assert not np.array_equal(source.image, pair.image)
        ratio = pair.image.astype(float).sum() / source.image.astype(float).sum()
        assert 0.75 < ratio < 1.25


def test_hmi_interpolates_a_translated_shape_halfway():
    a = np.zeros((32, 32), bool)
    a[4:10, 2:8] = True
    b = np.roll(a, (10, 14), axis=(0, 1))
    middle = interpolate_masks(a, b, 0.5)
    assert np.array_equal(middle, np.roll(a, (5, 7), axis=(0, 1)))
    assert np.array_equal(interpolate_masks(a, b, 0.0), a) and np.array_equal(interpolate_masks(a, b, 1.0), b)


def test_hmi_fills_gaps_between_consecutive_points():
    two_dots = np.zeros((8, 40), bool)
    two_dots[5, [0, 30]] = True
    line = interpolate_masks(two_dots, two_dots, 0.3)
    assert line.sum() == 31 and line[5, :31].all()


def test_perlin_noise_vanishes_on_the_lattice_and_thresholds_into_blobs():
    from generators.perlin import perlin_noise

    noise = perlin_noise((64, 64), (4, 4), np.random.default_rng(0))
    assert np.allclose(noise[::16, ::16], 0.0)  # gradient noise is zero at every lattice point
    assert 0.3 < np.abs(noise).max() <= 1.0 and noise.std() > 0.1


def test_perlin_fills_regions_with_textures_from_a_folder(toy_metal, tmp_path):
    from PIL import Image

    _, train, normals = toy_metal
    (tmp_path / "textures").mkdir()
    Image.fromarray(np.full((40, 40, 3), (0, 200, 0), np.uint8)).save(tmp_path / "textures" / "green.png")
    generator = fitted("perlin", train, normals, texture_dir=str(tmp_path / "textures"), max_beta=0.0)
    for pair in generator.sample(4, seed=0):
        colours = np.unique(pair.image[pair.mask > 0], axis=0)
        assert len(colours) == 1, "a flat texture with beta 0 paints one colour"
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchError, match="holds no images"):
        fitted("perlin", train, normals, texture_dir=str(tmp_path / "empty"))


DEPARTURES = {  # each baseline's departures from the recipe it cites, at its defaults; none where it follows it
    "augment": (),  # DCDGANc names brightness, rotation and noise, no amounts
    "copy-paste": (),
    "cutpaste": (),
    "perlin": ("foreign texture from the task's own pictures (DRAEM: DTD)",
               "texture turned by 90-degree steps, channels permuted and shifted (DRAEM: 3 random imgaug augmentations)"),
    "poisson": (),
    "poisson-hmi": (),
    "hmi": ("image-space interpolation only (DefectSynth: its latent branch for classes of mean area 0.053 or more)",
            "shapes filled with the sources' nearest defect colours (DefectSynth: painted by its diffusion model)"),
}


@pytest.mark.parametrize("name", BASELINES)
def test_defaults_name_their_departures_from_the_cited_recipe(toy_metal, name, tmp_path):
    _, train, _ = toy_metal
    backend, extra = VARIANTS.get(name, (name, {}))
    assert build(GeneratorSpec.of(backend, **extra)).deviations(train) == DEPARTURES[name]
    if name == "perlin":
        (tmp_path / "textures").mkdir()
        assert build(GeneratorSpec.of("perlin", texture_dir=str(tmp_path / "textures"))).deviations(train) == DEPARTURES["perlin"][1:]
    if name == "poisson":
        assert build(GeneratorSpec.of("poisson", band=3)).deviations(train) == ("blending band 3 px (DCDGANc: 5)",)
