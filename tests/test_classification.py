"""The classification protocol: its metrics against scikit-learn, image labels from masks, the ResNet-34,
and the protocol end to end on the toy data with its Table VIII form."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, recall_score

from bench.core.pairset import Pair, write_pairset
from bench.metrics.classification import accuracy, macro_f1, per_class_accuracy


@pytest.mark.parametrize("seed", range(5))
def test_metrics_match_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    truth, predicted = rng.integers(0, 4, 40), rng.integers(0, 5, 40)  # a type 4 predicted but never true
    labels = [0, 1, 2, 3, 4]
    assert accuracy(truth, predicted) == pytest.approx(accuracy_score(truth, predicted))
    assert macro_f1(truth, predicted, labels) == pytest.approx(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0))
    recalls = recall_score(truth, predicted, labels=[0, 1, 2, 3], average=None, zero_division=0)
    assert list(per_class_accuracy(truth, predicted, labels).values()) == pytest.approx(list(recalls))


def test_accuracy_refuses_lists_that_do_not_pair():
    with pytest.raises(ValueError, match="two equal, non-empty label lists"):
        accuracy([0, 1], [0])


def test_an_image_is_labelled_with_the_type_covering_most_of_its_mask(tmp_path):
    from classifiers.resnet import image_labels

    masks = [np.array([[1, 2, 2], [0, 0, 0]]), np.array([[3, 1, 0], [0, 0, 0]]), np.zeros((2, 3))]
    pairs = write_pairset(tmp_path / "p", (Pair(f"p{i}", np.zeros((2, 3, 3), np.uint8), m.astype(np.uint8)) for i, m in enumerate(masks)),
                          {0: "background", 1: "crack", 2: "hole", 3: "stain"}, {})
    assert image_labels(pairs, [1, 2, 3]).tolist() == [1, 0, -1], "most pixels; a tie goes to the lower id; no defect: -1"


def test_the_classifier_is_torchvisions_resnet34_and_its_weights_load_from_disk(tmp_path, monkeypatch):
    import torch
    from torchvision.models import resnet34

    from bench.core.errors import BenchError
    from classifiers.resnet import RESNET34_FILE, build

    model = build(3, pretrained=False)
    assert model.fc.out_features == 3 and sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in resnet34(num_classes=3).parameters())
    with pytest.raises(BenchError, match="pretrained ResNet-34 weights missing"):
        build(3, pretrained=True)
    (tmp_path / "checkpoints").mkdir()
    imagenet = resnet34(num_classes=1000)
    torch.save(imagenet.state_dict(), tmp_path / "checkpoints" / RESNET34_FILE)
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path))
    loaded = build(3, pretrained=True)
    assert torch.equal(loaded.conv1.weight, imagenet.conv1.weight) and loaded.fc.out_features == 3


def test_the_protocol_runs_partitions_and_the_report_renders_table_viii(capsys, isolated_dirs):
    from bench.cli import main
    from bench.protocols.classification import CLASSIFICATION
    from bench.records import RecordStore

    args = ["protocol", "classification", "--generators", "copy-paste", "--seeds", "0,1", "--schedule", "smoke", "--device", "cpu"]
    assert main(args) == 0
    assert "4 done, 0 skipped" in capsys.readouterr().out
    records = list(RecordStore(isolated_dirs / "results" / "classification", CLASSIFICATION))
    assert {(r["spec"]["split"], r["spec"]["ratio"]) for r in records} == {(f"random:{k}", r) for k in (0, 1) for r in (0.0, 1.0)}
    for r in records:
        p = r["predictions"]
        assert r["metrics"]["accuracy"] == pytest.approx(accuracy_score(p["truth"], p["predicted"]))
        assert r["data"]["n_test"] == len(p["ids"]) > 0 and r["data"]["n_synthetic"] == (r["data"]["n_train_real"] if r["spec"]["ratio"] else 0)
        if r["spec"]["ratio"]:
            assert r["variants"]["size"].startswith("small: ") and r["generator"]["version"] == "1" and "resolved" in r["generator"]
    assert main(args) == 0
    assert "0 done, 4 skipped" in capsys.readouterr().out

    from bench.protocols.classification.tables import classification_tables
    from bench.report.render import render
    from bench.report.tables import Reading

    (table,) = classification_tables(Reading(None, records=tuple(records)))
    text = render(table, "markdown")
    assert "DefectSynth Table VIII form" in text and "partition random:K" in text
    assert list(table.frame["trained on"]) == ["real + copy-paste x1", "real only (w/o augmentation)"]
    assert "not Table VIII's 1,000 per category" in table.caption
    by_seed = {(r["spec"]["seed"], r["spec"]["ratio"]): r["metrics"]["accuracy"] for r in records}
    delta = np.mean([by_seed[(k, 1.0)] - by_seed[(k, 0.0)] for k in (0, 1)])
    assert table.frame["Δ accuracy (%)"].iloc[0] == f"{100 * delta:+.2f}"


def test_the_paper_size_adds_1000_generated_images_per_category_and_old_points_keep_their_ids():
    """Size paper (the default at the paper schedule): real only and real + 1,000 generated, as Sec. V-A;
    size small (elsewhere): r x |real| per ratio. A point of the old form hashes as before."""
    from dataclasses import asdict

    from bench.core.hashing import canonical_json, sha256_text
    from bench.protocols import PROTOCOLS
    from bench.protocols.classification.measure import classification_points

    protocol = PROTOCOLS.get("classification")

    def arms(values):
        return sorted((p.generator["name"], p.ratio, p.n_generated) for p in classification_points(protocol.grid({"seeds": "0", **values}, "t"), "cpu"))

    assert arms({}) == [("copy-paste", 1.0, 0), ("none", 0.0, 0)]
    assert arms({"schedule": "paper"}) == arms({"size": "paper"}) == [("copy-paste", 0.0, 1000), ("none", 0.0, 0)]
    assert arms({"schedule": "paper", "size": "small", "ratios": "0,2"}) == [("copy-paste", 2.0, 0), ("none", 0.0, 0)]
    small, paper = (classification_points(protocol.grid({"seeds": "0", "size": s}, "t"), "cpu") for s in ("small", "paper"))
    old = next(p for p in small if p.ratio)
    legacy = {k: v for k, v in asdict(old).items() if k not in ("n_generated", "image_size")}
    assert old.run_id("m") == sha256_text(canonical_json({"spec": legacy, "data": "m"}))[:16]
    assert len({p.run_id("m") for p in [*small, *paper]}) == 3, "the real-only point is shared, the two generated arms are not"
