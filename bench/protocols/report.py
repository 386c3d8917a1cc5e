"""The report's tables, by the protocol each record names: the shared tables of every run record, then every
form of every registered protocol (plugins included) whose records are present, in reading order.

A run record names the protocol that asked for it (``request.protocol``, shown as ``requested_by``). A record
that names none, written by ``bench run`` or before requests were recorded, belongs to the protocols whose
point a ``bench run`` is (``UNNAMED``: its --ratio, --fill-to and --normal-ratio). The runs of a protocol that
is not installed show in the shared tables only. A record of a protocol's own kind belongs to that protocol.
A form reads the settings its protocols asked for, with the real-only baselines of their tasks whoever asked
for those, and the records of the kinds it names beside its own (``Form.reads``); a comparing form corrects its
comparisons as one family.
"""

from __future__ import annotations

import logging
from typing import Iterable, Mapping, Sequence

import pandas as pd

from bench.metrics.benign import BenignRules
from bench.protocols.base import PROTOCOLS, Form, Protocol
from bench.records import RUNS
from bench.report import stats
from bench.report.frames import DIRECT, GROUP, UNRECORDED
from bench.report.tables import Reading, Table, benign_table, category_mean_deltas, category_segmenter_table, deltas, run_table

log = logging.getLogger("bench.report")

UNNAMED = ("synthetic-ratio", "upsample", "normal-data")  # what a record that names no protocol belongs to


def _benign_tables(reading: Reading) -> list[Table]:
    frame = reading.frame
    return [benign_table(frame, reading.rules.name)] if frame["benign_recall"].notna().any() else []


# The tables of every run record, whoever asked for it: the run leaderboard, the category x segmenter table, and
# the benign-product simulation, which reads any run's class areas under the report's rules (``benign`` only
# chooses its grid).
SHARED = (
    Form("runs", lambda reading: [run_table(reading.frame, reading.metric, reading.records_note)], place=0),
    Form("category_segmenter", lambda reading: [category_segmenter_table(reading.frame, reading.metric)], place=1),
    Form("benign", _benign_tables, place=80),
)


def protocols() -> dict[str, Protocol]:
    return {name: PROTOCOLS.get(name) for name in PROTOCOLS.names()}


def asked(frame: pd.DataFrame, names: Iterable[str]) -> pd.Series:
    """Per run: whether one of the protocols ``names`` asked for its setting (any seed of its group)."""
    names = set(names)
    owners = frame["requested_by"].map(lambda by: UNNAMED if by in (DIRECT, UNRECORDED) else (by,))
    hit = owners.map(lambda owner: bool(names.intersection(owner))).to_numpy(bool)
    keys = pd.MultiIndex.from_frame(frame[GROUP])
    return pd.Series(keys.isin(keys[hit]), index=frame.index)


def comparisons(frame: pd.DataFrame, form: Form, settings: pd.Series | None = None, metric: str = "mIoU", alpha: float = stats.ALPHA,
                margin: float = stats.MARGIN, designs: Mapping[str, stats.Design] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A comparing form's family: the settings it compares (among ``settings``, every run by default) against their
    baselines, per category and over the category mean."""
    chosen = form.compares(frame) if settings is None else settings & form.compares(frame)
    how = dict(metric=metric, alpha=alpha, margin=margin, designs=designs, settings=chosen)
    return deltas(frame, family=form.name, **how), category_mean_deltas(frame, family=f"{form.name} means", **how)


def forms_of(names: Iterable[str]) -> dict[Form, list[Protocol]]:
    """The forms of the protocols ``names``, each with the protocols that list it, in reading order."""
    registered = protocols()
    out: dict[Form, list[Protocol]] = {}
    for name in names:
        for form in registered[name].tables:
            out.setdefault(form, []).append(registered[name])
    return dict(sorted(out.items(), key=lambda item: item[0].place))


def report_tables(frame: pd.DataFrame | None, side: Mapping[str, Sequence[dict]], rules: BenignRules, metric: str = "mIoU",
                  alpha: float = stats.ALPHA, margin: float = stats.MARGIN, designs: Mapping[str, stats.Design] | None = None,
                  records_note: str = "") -> list[Table]:
    """Every table the records support, in reading order. ``frame``: the run records (``records_frame``; None
    without any); ``side``: the records of each protocol's own kind, by kind name."""
    how = dict(metric=metric, alpha=alpha, margin=margin, rules=rules, records_note=records_note)
    registered = protocols()
    if frame is not None:
        unknown = sorted(set(frame["requested_by"]) - set(registered) - {DIRECT, UNRECORDED})
        if unknown:
            log.warning("runs of protocol(s) %s, which are not installed, show in the shared tables only", ", ".join(unknown))
    readings: list[tuple[Form, Reading]] = [(form, Reading(frame, **how)) for form in SHARED] if frame is not None else []
    for form, owners in forms_of(registered).items():
        kinds = {p.kind.name for p in owners if p.kind is not RUNS}
        records = tuple(r for kind in sorted(kinds) for r in side.get(kind, ()))
        runs = asked(frame, [p.name for p in owners if p.kind is RUNS]) if frame is not None else None
        if not records and (runs is None or not runs.any()):
            continue
        records += tuple(r for kind in form.reads if kind not in kinds for r in side.get(kind, ()))
        points = means = None
        if form.compares is not None and runs is not None:
            points, means = comparisons(frame, form, runs, metric, alpha, margin, designs)
        readings.append((form, Reading(frame, runs, records, points, means, **how)))
    readings.sort(key=lambda item: item[0].place)
    return [table for form, reading in readings for table in form.tables(reading)]
