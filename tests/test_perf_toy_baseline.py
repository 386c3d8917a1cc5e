"""The toy-baseline benchmark runs the real-only baseline on every toy product and reports what it learned."""

from __future__ import annotations

from bench.data import toy
from bench.perf.toy_baseline import benchmark, markdown


def test_every_toy_product_is_measured_and_reported(tmp_path):
    result = benchmark("segformer", (0,), "smoke", tmp_path)
    assert [r["category"] for r in result["runs"]] == list(toy.CATEGORIES)
    for row in result["runs"]:
        assert 0.0 <= row["background_share"] <= 1.0 and 0.0 <= row["mIoU_defect"] <= 1.0 and row["seconds"] > 0
        if row["background_share"] == 1.0:  # nothing predicted as a defect: no defect class can have IoU > 0
            assert row["mIoU_defect"] == 0.0
    text = markdown(result)
    assert all(f"| {c} | 0 |" in text for c in toy.CATEGORIES)
