"""``bench metrics seg`` and ``bench metrics benign`` on users' own prediction folders."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import average_precision_score, jaccard_score, roc_auc_score

from bench.cli import main


def _write_masks(folder, masks):
    folder.mkdir(parents=True)
    for i, m in enumerate(masks):
        Image.fromarray(m).save(folder / f"img{i}.png")


def _gt_and_probs(seed=0, n=4, size=10, num_classes=3):
    rng = np.random.default_rng(seed)
    gts = [np.zeros((size, size), np.uint8) for _ in range(n)]
    for i in range(0, n, 2):
        gts[i][2:5, 1 + i : 4 + i] = 1 + (i // 2) % 2
    logits = rng.random((n, num_classes, size, size)) + 1.5 * np.stack([np.eye(num_classes)[g].transpose(2, 0, 1) for g in gts])
    probs = logits / logits.sum(1, keepdims=True)
    return gts, probs.astype(np.float32)


def test_seg_on_probability_maps_matches_references(tmp_path, capsys):
    gts, probs = _gt_and_probs()
    _write_masks(tmp_path / "gt", gts)
    (tmp_path / "pred").mkdir()
    for i, p in enumerate(probs):
        np.save(tmp_path / "pred" / f"img{i}.npy", p)
    assert main(["metrics", "seg", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    m = out["metrics"]
    labels = probs.argmax(1)
    flat_gt, flat_pred = np.concatenate([g.ravel() for g in gts]), labels.ravel()
    assert m["mIoU"] == pytest.approx(jaccard_score(flat_gt, flat_pred, average="macro"), abs=1e-6)
    score = 1 - probs[:, 0].astype(np.float64)
    assert m["pixel_AUROC"] == pytest.approx(roc_auc_score(flat_gt > 0, score.ravel()), abs=1e-6)
    image_labels = [g.any() for g in gts]
    assert m["image_AP"] == pytest.approx(average_precision_score(image_labels, score.reshape(4, -1).max(1)), abs=1e-6)
    assert out["n_images"] == 4 and "pixel_AUROC/AP/F1max" in out["metric_variants"]


def test_seg_exposes_aupro_fixed_threshold_f1_image_scores_and_binary_mode(tmp_path, capsys):
    from sklearn.metrics import f1_score, jaccard_score

    from bench.metrics.image_scores import image_scores
    from bench.metrics.pro import aupro

    gts, probs = _gt_and_probs(seed=1, n=6, size=24)
    _write_masks(tmp_path / "gt", gts)
    (tmp_path / "pred").mkdir()
    for i, p in enumerate(probs):
        np.save(tmp_path / "pred" / f"img{i}.npy", p)
    args = ["metrics", "seg", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--json",
            "--image-score", "max-avgpool21", "--f1-threshold", "0.4", "--aupro-fpr-limit", "0.2"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    m, variants = out["metrics"], out["metric_variants"]
    assert (variants["image_score"], variants["f1_threshold"], variants["aupro_fpr_limit"]) == ("max-avgpool21", 0.4, 0.2)
    gt, score = np.stack(gts), 1 - probs[:, 0].astype(np.float64)
    assert m["pixel_AUPRO"] == pytest.approx(aupro(gt, score, 0.2), abs=1e-6)
    assert m["pixel_F1"] == pytest.approx(f1_score(gt.ravel() > 0, score.ravel() >= 0.4), abs=1e-6)
    pooled = image_scores(score, "max-avgpool21")
    assert m["image_F1"] == pytest.approx(f1_score(gt.reshape(6, -1).any(1), pooled >= 0.4), abs=1e-6)
    merged = jaccard_score(gt.ravel() > 0, probs.argmax(1).ravel() > 0)
    assert m["binary"]["mIoU_defect"] == pytest.approx(merged, abs=1e-6) and "mIoU_defect" in m


def test_seg_option_defaults_are_the_metric_settings():
    from bench.cli.metrics import seg
    from bench.metrics.evaluate import MetricSettings

    helps = {o.name: o.help for o in seg.params}
    defaults = MetricSettings()
    for name in ("image_score", "f1_threshold", "aupro_fpr_limit"):
        assert helps[name].endswith(f"[default: {getattr(defaults, name)}].")


@pytest.mark.parametrize("option, value, message", [("--image-score", "top", "unknown image score 'top'"),
                                                     ("--aupro-fpr-limit", "0", "AUPRO FPR limit 0.0 is outside (0, 1]")])
def test_seg_rejects_bad_metric_settings_in_one_line(tmp_path, capsys, option, value, message):
    gts, _ = _gt_and_probs()
    _write_masks(tmp_path / "gt", gts)
    _write_masks(tmp_path / "pred", gts)
    assert main(["metrics", "seg", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), option, value]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {message}") and "\n" not in err


def test_seg_reports_a_missing_prediction_in_one_line(tmp_path, capsys):
    gts, _ = _gt_and_probs()
    _write_masks(tmp_path / "gt", gts)
    _write_masks(tmp_path / "pred", gts[:2])
    assert main(["metrics", "seg", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no prediction for 'img2'") and "\n" not in err


def test_seg_says_a_colour_prediction_must_be_a_class_index_mask(tmp_path, capsys):
    gts, _ = _gt_and_probs()
    _write_masks(tmp_path / "gt", gts)
    _write_masks(tmp_path / "pred", gts[:1] + [np.stack([g * 120] * 3, axis=2) for g in gts[1:]])
    assert main(["metrics", "seg", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: prediction {tmp_path / 'pred' / 'img1.png'} is a colour image") and "\n" not in err
    assert "a prediction must be a class-index mask" in err and "Image.fromarray" in err and "bench data import" not in err


@pytest.mark.parametrize("side", ["pred", "gt"])
def test_seg_names_the_file_whose_class_id_is_out_of_range(tmp_path, capsys, side):
    gts, _ = _gt_and_probs()
    preds = [g.copy() for g in gts]
    (preds if side == "pred" else gts)[2][0, 0] = 7
    _write_masks(tmp_path / "gt", gts)
    _write_masks(tmp_path / "pred", preds)
    assert main(["metrics", "seg", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--num-classes", "3"]) == 2
    err = capsys.readouterr().err.strip()
    what = "prediction" if side == "pred" else "ground truth"
    assert err.startswith(f"error: {what} {tmp_path / side / 'img2.png'} has class id [7] outside 0..2") and "\n" not in err


def test_benign_per_product_and_overall(tmp_path, capsys):
    rules = tmp_path / "rules.yaml"
    rules.write_text("products:\n  pill:\n    class_1: 0\n    class_2: 5\n  wood:\n    '*': 3\ndefault:\n  '*': 0\n")
    pill_gt = [np.zeros((8, 8), np.uint8) for _ in range(3)]
    pill_gt[0][0, 0] = 1  # crack-like class: reject
    pill_gt[1][:2, :2] = 2  # 4 px of a class allowed up to 5: accept
    pill_pred = [np.zeros((8, 8), np.uint8) for _ in range(3)]
    pill_pred[0][0, 0] = 1  # caught
    pill_pred[1][:3, :3] = 2  # 9 px: false reject
    wood_gt = [np.zeros((8, 8), np.uint8) for _ in range(2)]
    wood_gt[0][:2, :2] = 1  # 4 px > 3: reject
    wood_pred = [np.zeros((8, 8), np.uint8) for _ in range(2)]  # missed
    for product, gt, pred in (("pill", pill_gt, pill_pred), ("wood", wood_gt, wood_pred)):
        _write_masks(tmp_path / "gt" / product, gt)
        _write_masks(tmp_path / "pred" / product, pred)
    args = ["metrics", "benign", "--rules", str(rules), "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--json"]
    assert main(args) == 0
    rows = {r["product"]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows["pill"]["recall"], rows["pill"]["false_reject_rate"]) == (1.0, 0.5)
    assert (rows["wood"]["recall"], rows["wood"]["false_reject_rate"]) == (0.0, 0.0)
    assert rows["overall"]["recall"] == 0.5 and rows["overall"]["false_reject_rate"] == pytest.approx(1 / 3)


def test_align_reports_alignment_beside_the_real_test_defects_and_contrast(capsys):
    from tests.helpers.toy_task import copy_paste_pairs, toy_task

    pool, split = toy_task()
    generated = copy_paste_pairs(pool, split, 6)
    args = ["metrics", "align", "--pairs", str(generated.root), "--schedule", "smoke", "--device", "cpu"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    alignment = report["alignment"]
    assert alignment["generated"]["pairs"] == 6 and alignment["reference"]["pairs"] == len(split.test)
    assert set(alignment["generated"]["per_class"]) == {"crack", "stain", "hole"}
    assert alignment["setup"]["schedule"]["name"] == "smoke" and report["contrast"]["generated"]["pairs"] == 6
    assert report["pairs"] == 6, "the rest of the sanity report comes with it"


def test_align_rejects_an_unknown_segmenter_before_any_work(tmp_path, capsys):
    assert main(["metrics", "align", "--pairs", str(tmp_path), "--segmenter", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown segmenter 'nope'") and "\n" not in err
