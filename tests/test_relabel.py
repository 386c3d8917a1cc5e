"""A transfer's class map: classes moved by name or by the map, left out with ``-``; what it learns from, what
it tests and how each moved type is picked out (DCDGANc section 3.6: wood hole / scratch -> tile crack / rough)."""

from __future__ import annotations

import pytest

from bench.core.errors import BenchError
from bench.data.relabel import by_class, class_ids, relabel, untested, within
from tests.helpers.pairs import pair_set

WOOD = {0: "background", 1: "color", 2: "hole", 3: "liquid", 4: "scratch"}
TILE = {0: "background", 1: "crack", 2: "glue_strip", 3: "oil", 4: "rough"}
PAPER = {"hole": "crack", "scratch": "rough", "color": "-", "liquid": "-"}


def test_a_dash_leaves_a_source_class_out_and_the_target_classes_nothing_moves_onto_go_untested():
    moved = class_ids(WOOD, TILE, PAPER, "wood -> tile")
    assert moved == {0: 0, 2: 1, 4: 4}
    assert untested(moved, TILE) == ("glue_strip", "oil")
    with pytest.raises(BenchError, match=r"color->color, liquid->liquid have no class in the target.s map.*or leave them out with SOURCE=-"):
        class_ids(WOOD, TILE, {"hole": "crack", "scratch": "rough"}, "wood -> tile")
    with pytest.raises(BenchError, match="leaves every source class out"):
        class_ids({0: "background", 1: "hole"}, TILE, {"hole": "-"}, "wood -> tile")


def test_within_keeps_the_pictures_of_moved_types_and_by_class_picks_each_out(tmp_path):
    wood = pair_set(tmp_path / "wood", {"color": 2, "hole": 3, "liquid": 1, "scratch": 2})
    learned = within(wood, class_ids(wood.classes, TILE, PAPER, "t"))
    assert [learned.group(i) for i in learned.ids] == ["hole"] * 3 + ["scratch"] * 2
    assert within(learned, {2, 4}) is learned, "nothing to drop: the same set, so its cache keys stay"
    assert by_class(learned, {2: "hole", 4: "scratch"}) == {"hole": learned.ids[:3], "scratch": learned.ids[3:]}


def test_a_generated_pair_of_a_class_left_out_is_refused(tmp_path):
    generated = pair_set(tmp_path / "generated", {"color": 1, "hole": 1, "liquid": 1, "scratch": 1})
    with pytest.raises(BenchError, match="holds class\\(es\\) color, liquid that the class map leaves out"):
        relabel(generated, TILE, PAPER)
    moved = relabel(within(generated, {2, 4}), TILE, PAPER)
    assert {int(moved.mask(i).max()) for i in moved.ids} == {1, 4} and moved.classes == TILE
