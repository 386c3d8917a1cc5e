"""Efficiency (Defect Spectrum Table 2, DefectSynth Table IV): segmenter latency at batch 1 and throughput
at a larger batch on the task's image size, and each generator's training time and pairs/s measured end
to end through the generic interface: ``fit`` on the task's training pairs from a cold cache (no trained
state served), then ``sample`` of ``n_generated`` pairs, on the device named in every record. One
``bench.efficiency/1`` record per segmenter x category x seed and per generator x category x seed.

This module is the protocol; ``measure`` times, ``tables`` holds its table forms.
"""

from __future__ import annotations

from bench.core.params import Range
from bench.protocols.base import PROTOCOLS, Form, Grid, Protocol
from bench.protocols.options import Option
from bench.records import record_kind

EFFICIENCY = record_kind("efficiency", 1, {"part": str, "name": str, "device": str})  # part: "generator" or "segmenter"

N_GENERATED = Option("n_generated", int, 8, "Pairs each generator samples after it is fitted.", admits=Range(1))


def efficiency_jobs(grid: Grid, tasks) -> list:
    from bench.protocols.efficiency.measure import efficiency_jobs as settle  # deferred: timing loads torch and the model stack

    return settle(grid, tasks)


def efficiency_row(record: dict) -> dict:
    spec, m = record["spec"], record["metrics"]
    return {"part": spec["part"], "name": spec["name"], "category": spec["category"], "seed": spec["seed"],
            "device": record["device_name"], **{k: m.get(k) for k in ("latency_ms", "throughput_img_s", "train_s", "pairs_per_s")}}


def efficiency_tables(reading) -> list:
    from bench.protocols.efficiency.tables import efficiency_tables as tables  # deferred: tables load pandas

    return tables(reading)


PROTOCOLS.register(Protocol(
    "efficiency", "segmenter latency and throughput; generator training time and pairs/s, end to end on the device",
    options=(N_GENERATED,), kind=EFFICIENCY, jobs=efficiency_jobs, row=efficiency_row,
    tables=(Form("efficiency", efficiency_tables, place=110),),
))
