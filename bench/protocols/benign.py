"""Benign-product simulation (Defect Spectrum project page): accept/reject decisions from real-only and
synthetic-augmented segmenters. Every run record carries per-image class areas, so the rules are applied
when the report is built (``bench report --rules``) and any rule file can be tried without retraining: the
benign table is a reading of every run record the rules can judge (``bench.report.tables.benign_table``)."""

from __future__ import annotations

from bench.protocols.base import PROTOCOLS, Protocol
from bench.protocols.synthetic_ratio import SYNTHETIC, ratio_specs

PROTOCOLS.register(
    Protocol(
        "benign",
        "recall of defective products and false-reject rate under per-product benign rules, real only vs ratio 1",
        ratio_specs,
        defaults={"ratios": (0.0, 1.0)},
        tables=(SYNTHETIC,),
    )
)
