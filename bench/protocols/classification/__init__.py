"""Defect-type classification (DefectSynth Sec. V-A and Table VIII, after DFMGAN and AnomalyDiffusion): a
ResNet-34 (``classifiers/resnet.py``) learns which defect type an image shows, from the real training
images alone (ratio 0, "w/o augmentation") or with a generator's pairs, and is scored by accuracy and
macro F1 on the real test images. How many pairs is the grid's size: ``paper`` adds the paper's 1,000
generated images per category, ``small`` r x |real| per ratio (a handful: minutes on a CPU). Seed K is partition K: with the default split
``random`` each seed draws its own partition (``random:K``, a third of every type trains), so the seeds
are DefectSynth's repeated partitions, and the classifier and generator take the same seed. One
``bench.classification/1`` record per generator x ratio x category x seed, with every prediction.

This module is the protocol; ``measure`` trains and scores, ``tables`` holds its table form.
"""

from __future__ import annotations

from bench.core.specs import GeneratorSpec
from bench.protocols.base import PROTOCOLS, SIZE, Form, Grid, Protocol
from bench.records import record_kind

CLASSIFICATION = record_kind("classification", 1, {"generator": dict, "ratio": (int, float), "dataset": str, "category": str, "split": str,
                                                   "seed": int, "schedule": str})
PARTITIONS = "random"  # the grid split that means "partition = seed"
PAPER_GENERATED = 1000  # DefectSynth V-A: "generating 1,000 images per category", merged with the base set


def classification_jobs(grid: Grid, tasks) -> list:
    from bench.protocols.classification.measure import classification_jobs as settle  # deferred: training loads torch

    return settle(grid, tasks)


def classification_row(record: dict) -> dict:
    spec, m = record["spec"], record["metrics"]
    return {"generator": str(GeneratorSpec.from_dict(spec["generator"])), "ratio": spec["ratio"],
            "n_generated": spec.get("n_generated", 0), "category": spec["category"],
            "split": spec["split"], "seed": spec["seed"], "accuracy": m["accuracy"], "F1": m["F1"]}


def classification_tables(reading) -> list:
    from bench.protocols.classification.tables import classification_tables as tables  # deferred: tables load pandas

    return tables(reading)


PROTOCOLS.register(Protocol(
    "classification", "ResNet-34 defect-type classifier on real vs real + synthetic images (1,000 per category at size paper), "
                      "over random partitions: accuracy, macro F1",
    options=(SIZE,), kind=CLASSIFICATION, jobs=classification_jobs, row=classification_row,
    defaults={"split": PARTITIONS, "ratios": (0.0, 1.0), "seeds": (0, 1, 2)},
    tables=(Form("classification", classification_tables, place=100),),
))
