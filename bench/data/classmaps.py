"""Defect Spectrum class lists (``DS-*.md`` in the release): per product, ids 1..n in the order listed, 0 = background.

The release's index masks use these ids; the names are the release's own spelling.
"""

from __future__ import annotations

from bench.core.errors import BenchError

DS_MVTEC: dict[str, tuple[str, ...]] = {
    "bottle": ("broken_large", "broken_small", "contamination"),
    "cable": (
        "bent_wire",
        "cable_swap",
        "combined",
        "cut_inner_insulation",
        "cut_outer_insulation",
        "missing_cable",
        "missing_wire",
        "poke_insulation",
    ),
    "capsule": ("crack", "poke", "faulty_imprint", "scratch", "squeeze"),
    "carpet": ("color", "cut", "hole", "metal_contamination", "thread"),
    "grid": ("bent", "broken", "glue", "metal_contamination", "thread"),
    "hazelnut": ("cut", "crack", "hole", "print"),
    "leather": ("color", "cut", "fold", "glue", "poke"),
    "metal_nut": ("scratch", "bent", "color"),
    "pill": ("color", "contamination", "crack", "faulty_imprint", "scratch", "pill_type"),
    "screw": ("manipulated_front", "scratch_head", "scratch_neck", "thread_side", "thread_top"),
    "tile": ("crack", "glue_strip", "gray_stroke", "oil", "rough"),
    "toothbrush": ("contamination", "missing", "messy"),
    "transistor": ("bent_lead", "cut_lead", "damaged_case", "misplaced"),
    "wood": ("color", "crack", "scratch", "hole", "liquid"),
    "zipper": ("broken_teeth", "fabric_border", "fabric_interior", "split_teeth", "squeezed_teeth"),
}

DS_VISION: dict[str, tuple[str, ...]] = {
    "Capacitor": ("scratch", "crush", "crack"),
    "Console": ("scratch", "bump", "dirty", "gap"),
    "Groove": ("scratch", "abrasion"),
    "Ring": ("friction", "scratch", "texture", "color"),
    "Screw": ("bump", "crush", "fiber"),
    "Wood": ("point", "friction", "scratch", "dirty"),
}

DS_DAGM: tuple[str, ...] = ("scratch", "texture", "crush", "color", "dirty")
DS_COTTON: tuple[str, ...] = ("texture", "bubble")


def class_map(names: tuple[str, ...]) -> dict[int, str]:
    return {0: "background", **{i: name for i, name in enumerate(names, start=1)}}


def product_classes(table: dict[str, tuple[str, ...]], release: str, category: str) -> dict[int, str]:
    if category not in table:
        raise BenchError(
            f"{release} has no class list for product '{category}'",
            f"known products: {', '.join(table)}; for other data use --format folder with a classes file",
        )
    return class_map(table[category])
