"""Benign-product decisions on a hand-worked example with several products and rules."""

from __future__ import annotations

import numpy as np
import pytest

from bench.core.errors import BenchError
from bench.metrics.benign import benign_decisions, benign_summary, load_rules, rejects

PILL = {0: "background", 1: "crack", 2: "contamination", 3: "color"}
WOOD = {0: "background", 1: "scratch", 2: "stain"}  # a pair of classes of the rules' own, in tests of custom files
# the wood class maps of the two releases the page's standard is mapped to
MVTEC_WOOD = {0: "background", 1: "color", 2: "combined", 3: "hole", 4: "liquid", 5: "scratch"}
DS_WOOD = {0: "background", 1: "color", 2: "crack", 3: "scratch", 4: "hole", 5: "liquid"}
ZIPPER = {0: "background", 1: "broken_teeth", 2: "fabric_border", 3: "fabric_interior", 4: "split_teeth", 5: "squeezed_teeth"}


def mask(*areas: tuple[int, int]) -> np.ndarray:
    """A 100 x 100 mask with ``n`` pixels of class ``k`` for each (k, n), laid out row-major."""
    flat = np.zeros(100 * 100, np.uint8)
    start = 0
    for k, n in areas:
        flat[start : start + n] = k
        start += n
    return flat.reshape(100, 100)


def test_shipped_rules_hold_the_project_page_standards():
    rules = load_rules()
    assert rules.limit("pill", "crack") == 0 and rules.limit("pill", "contamination") == 3999 and rules.limit("pill", "color") == 299
    assert rules.limit("zipper", "broken_teeth") == 0 and rules.limit("zipper", "fabric_interior") == 4799
    assert rules.limit("wood", "scratch") == 0 and rules.limit("wood", "liquid") == 999 and rules.limit("wood", "color") == 249
    assert rules.limit("pill", "pill_type") == 0, "classes a product does not list reject"
    assert rules.limit("bottle", "broken_large") == 0, "products without a standard reject any defect"
    assert rules.limit("wood", "stain", "toy") == 999 and rules.limit("wood", "liquid", "folder") == 0, \
        "the plain tables hold for the datasets the file names; others get their own table or the default"


@pytest.mark.parametrize("classes", [MVTEC_WOOD, DS_WOOD], ids=["mvtec-ad", "ds-mvtec"])
def test_each_wood_rule_fires_on_a_hand_built_case(classes):
    rules = load_rules()
    ids = {name: k for k, name in classes.items()}
    rules.check(classes, "wood", "mvtec-ad")  # every class the rule names exists in both class maps
    assert rejects(mask((ids["scratch"], 1)), classes, "wood", rules), "no scratch"
    assert rejects(mask((ids["hole"], 1)), classes, "wood", rules), "no dent"
    assert not rejects(mask((ids["color"], 249)), classes, "wood", rules) and rejects(mask((ids["color"], 250)), classes, "wood", rules), \
        "impurities < 250 px"
    assert not rejects(mask((ids["liquid"], 999)), classes, "wood", rules) and rejects(mask((ids["liquid"], 1000)), classes, "wood", rules), \
        "stain < 1000 px"
    assert not rejects(mask((ids["color"], 249), (ids["liquid"], 999)), classes, "wood", rules), "each limit is its own"
    unlisted = ids.get("crack", ids.get("combined"))
    assert rejects(mask((unlisted, 1)), classes, "wood", rules), "a class the page does not list rejects"


def test_zipper_fabric_limit_is_on_the_summed_fabric_area():
    rules = load_rules()
    assert not rejects(mask((2, 2400), (3, 2399)), ZIPPER, "zipper", rules), "4799 px of fabric defect pass"
    assert rejects(mask((2, 2400), (3, 2400)), ZIPPER, "zipper", rules), "4800 px over two fabric classes reject"
    assert rejects(mask((2, 10), (1, 1)), ZIPPER, "zipper", rules), "no defect on teeth"


def test_a_rule_naming_a_class_the_category_lacks_is_one_line(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("products:\n  wood:\n    impurities: 249\n    scratch: 0\n")
    rules = load_rules(path)
    with pytest.raises(BenchError) as info:
        rules.check(MVTEC_WOOD, "wood", "mvtec-ad")
    message = str(info.value)
    assert "names class(es) impurities" in message and str(path) in message and "\n" not in message
    with pytest.raises(BenchError, match="names class"):
        benign_decisions([mask()], [mask()], MVTEC_WOOD, "wood", rules)
    path.write_text("products:\n  zipper:\n    summed: {fabric: {classes: [fabric_border], limit: -1}}\n")
    with pytest.raises(BenchError, match="'summed' of product 'zipper'"):
        load_rules(path)


def test_hand_worked_decisions_per_product():
    rules = load_rules()
    # pill: any crack rejects; contamination passes up to 3999 px; colour up to 299 px
    assert rejects(mask((1, 1)), PILL, "pill", rules)
    assert not rejects(mask((2, 3999), (3, 299)), PILL, "pill", rules)
    assert rejects(mask((2, 4000)), PILL, "pill", rules)
    assert rejects(mask((3, 300)), PILL, "pill", rules)
    # an unlisted product: any defect pixel rejects, a clean one passes
    assert rejects(mask((2, 1)), WOOD, "tile", rules) and not rejects(mask(), WOOD, "tile", rules)


def test_recall_and_false_reject_rate_worked_by_hand():
    rules = load_rules()
    gts = [mask((1, 10)), mask((2, 5000)), mask((2, 100)), mask(), mask((3, 50))]
    preds = [mask((1, 3)), mask((2, 3000)), mask((2, 4500)), mask((1, 2)), mask((3, 50))]
    # should reject: crack, big contamination          -> 2 defective, 3 benign
    # rejected:      crack(yes) 3000 px contam.(no)    -> recall 1/2
    #                benign 100->4500 px (yes), clean->crack (yes), colour 50 (no) -> false rejects 2/3
    out = benign_decisions(gts, preds, PILL, "pill", rules)
    assert (out["n_defective"], out["n_benign"], out["caught"], out["false_rejects"]) == (2, 3, 1, 2)
    assert out["recall"] == pytest.approx(0.5) and out["false_reject_rate"] == pytest.approx(2 / 3)
    assert out["product"] == "pill" and out["rules"] == "defect-spectrum"


def test_summary_is_undefined_without_a_side():
    out = benign_summary(np.array([True, True]), np.array([True, False]))
    assert out["recall"] == 0.5 and np.isnan(out["false_reject_rate"])


def test_custom_rules_file_and_its_errors(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("products:\n  pill:\n    crack: 10\ndefault:\n  '*': 5\n")
    rules = load_rules(path)
    assert not rejects(mask((1, 10)), PILL, "pill", rules) and rejects(mask((1, 11)), PILL, "pill", rules)
    assert rules.limit("pill", "color") == 5, "the file's default covers unlisted classes"
    path.write_text("products:\n  pill:\n    crack: -1\n")
    with pytest.raises(BenchError, match="pixel counts >= 0"):
        load_rules(path)
    with pytest.raises(BenchError, match="not found"):
        load_rules("nope")
