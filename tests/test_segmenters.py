"""The eight Defect Spectrum segmenters: registered, adapted to the task, trainable on CPU, weights local only."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bench.cli import main
from bench.core.errors import BenchError
from bench.core.pairset import Pair, write_pairset
from segmenters import SCHEDULES, SEGMENTERS, Schedule
from segmenters.config import load_config
from segmenters.data import model_inputs
from segmenters.model import build_model, seed_everything
from segmenters.registry import table_order
from segmenters.train import train_and_evaluate

EIGHT = ["unet", "pspnet", "deeplabv3plus", "hrnet", "bisenetv2", "segmenter", "segformer", "mask2former"]
OTHERS = ["draem"]  # the localization protocol's DRAEM U-Net, after the paper's eight
CLASSES = {0: "background", 1: "crack", 2: "stain", 3: "hole"}  # three defect classes -> four outputs
TINY = Schedule("tiny", iters=6, batch_size=2, crop_size=None)
CPU = torch.device("cpu")


def _pair(pair_id: str, seed: int) -> Pair:
    """A 32 px product with one defect of each class, each class a distinct colour."""
    rng = np.random.default_rng(seed)
    image = rng.integers(80, 120, (32, 32, 3), dtype=np.uint8)
    mask = np.zeros((32, 32), np.uint8)
    for class_id, (top, left), colour in ((1, (2, 3), 250), (2, (14, 18), 10), (3, (22, 4), 180)):
        mask[top : top + 6, left : left + 8] = class_id
        image[top : top + 6, left : left + 8] = colour
    return Pair(pair_id, image, mask, "mixed")



@pytest.fixture(scope="module")
def task(tmp_path_factory):
    root = tmp_path_factory.mktemp("task")
    train = write_pairset(root / "train", [_pair("a", 0), _pair("b", 1)], CLASSES, {"test": True})
    test = write_pairset(root / "test", [_pair("c", 2), _pair("d", 3)], CLASSES, {"test": True})
    return train, test


def test_all_eight_are_listed_with_params_and_ops(capsys):
    assert main(["segmenters", "list", "--params", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [*EIGHT, *OTHERS] == table_order(SEGMENTERS.names())
    by_name = {r["name"]: r for r in rows}
    assert [r["paper"] for r in rows] == ["UNet", "PSP", "DL", "HR", "Bise", "V-T", "M-B0", "M2F", "DRAEM"]
    assert all(r["params"] > 1_000_000 for r in rows)
    assert [r["name"] for r in rows if r["needs_ops"]] == ["mask2former"]
    assert by_name["pspnet"]["pretrained_file"] == "resnet18_v1c-b5776b93.pth"
    assert by_name["unet"]["pretrained_file"] is None
    assert SEGMENTERS.canonical("m2f") == "mask2former" and SEGMENTERS.canonical("V-T".lower()) == "segmenter"


def _logit_channels(name: str, num_classes: int) -> int:
    cfg = load_config(SEGMENTERS.get(name), num_classes, SCHEDULES.get("smoke"), pretrained=False, input_size=32)
    model = build_model(cfg, CPU).eval()
    with torch.no_grad():
        (sample,) = model.test_step(model_inputs(np.zeros((1, 32, 32, 3), np.uint8), None, CPU))
    assert sample.seg_logits.data.shape[1:] == (32, 32)
    return sample.seg_logits.data.shape[0]


def test_output_channels_follow_the_category():
    # Per-pixel heads and Mask2Former's query classifier alike; every model's labels stay below 4 in the
    # training test below.
    assert _logit_channels("segformer", 4) == 4
    assert _logit_channels("hrnet", 7) == 7
    assert _logit_channels("mask2former", 4) == 4
    assert _logit_channels("mask2former", 2) == 2


@pytest.mark.parametrize("name", [*EIGHT, *OTHERS])
def test_each_segmenter_trains_on_cpu_and_its_loss_goes_down(task, name):
    train, test = task
    result = train_and_evaluate(SEGMENTERS.get(name), [train], test, 4, TINY, seed=0, device=CPU, progress=False)
    losses = result.losses
    assert len(losses) == TINY.iters and all(np.isfinite(losses))
    assert np.mean(losses[-2:]) < np.mean(losses[:2]), losses
    labels = result.predictions.labels
    assert labels.shape == (2, 32, 32) and labels.dtype == np.uint8 and labels.max() < 4
    prob = result.predictions.defect_prob.astype(np.float32)
    assert prob.shape == (2, 32, 32) and prob.min() >= 0 and prob.max() <= 1
    assert result.pretrained_checkpoint is None and result.precision == "fp32" and result.input_size == 32


def test_same_seed_same_losses_on_cpu(task):
    train, test = task
    spec = SEGMENTERS.get("segformer")
    schedule = Schedule("tiny", iters=3, batch_size=2, crop_size=None)
    runs = [train_and_evaluate(spec, [train], test, 4, schedule, seed, CPU, progress=False) for seed in (5, 5, 6)]
    assert runs[0].losses == runs[1].losses
    assert np.array_equal(runs[0].predictions.labels, runs[1].predictions.labels)
    assert runs[0].losses != runs[2].losses


def test_every_classification_loss_is_plain_and_sized_to_the_classes():
    smoke = SCHEDULES.get("smoke")
    m2f = load_config(SEGMENTERS.get("mask2former"), 4, smoke, False, 32).model
    assert m2f["decode_head"]["loss_cls"]["class_weight"] == [1.0, 1.0, 1.0, 1.0, 0.1]  # 4 classes and "no object"
    bise = load_config(SEGMENTERS.get("bisenetv2"), 4, smoke, False, 32).model
    heads = [bise["decode_head"], *bise["auxiliary_head"]]
    assert len(heads) == 5 and all(h["loss_decode"]["class_weight"] is None and h["loss_decode"]["avg_non_ignore"] for h in heads)


def test_config_is_adapted_to_one_device_and_the_input_size():
    paper = SCHEDULES.get("paper")
    cfg = load_config(SEGMENTERS.get("segmenter"), 3, paper, pretrained=False, input_size=40)
    assert cfg.model["backbone"]["img_size"] == (512, 512)  # the paper crop wins over the image size
    assert cfg.model["data_preprocessor"]["size"] == (512, 512)
    assert cfg.model["data_preprocessor"]["mean"] == [127.5, 127.5, 127.5]
    small = load_config(SEGMENTERS.get("segmenter"), 3, SCHEDULES.get("smoke"), pretrained=False, input_size=40)
    assert small.model["backbone"]["img_size"] == (64, 64)  # rounded up to a multiple of 32
    text = json.dumps(load_config(SEGMENTERS.get("mask2former"), 3, paper, pretrained=False).model, default=str)
    assert "SyncBN" not in text and "open-mmlab://" not in text and "torchvision://" not in text


def test_missing_pretrained_weights_give_the_list_not_a_download(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path / "weights"))
    with pytest.raises(BenchError) as error:
        load_config(SEGMENTERS.get("pspnet"), 4, SCHEDULES.get("smoke"), pretrained=True)
    message = str(error.value)
    assert "\n" not in message and "resnet18_v1c-b5776b93.pth" in message and "https://" in message
    assert "--from-scratch" in message and "bench weights check" in message

    assert main(["weights", "check", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    rows = {r["file"]: r for r in listed if r["kind"] == "segmenter"}
    assert {r["file"] for r in listed if r["kind"] == "generator"} >= {"stable-diffusion-v1-5", "DiT-XL-2-256x256.pt"}
    assert set(rows) == {
        "resnet18_v1c-b5776b93.pth",
        "hrnetv2_w18_small-b5a04e21.pth",
        "vit_tiny_p16_384_20220308-cce8c795.pth",
        "mit_b0_20220624-7e0fe6dd.pth",
    }
    assert not any(r["present"] for r in rows.values())
    assert rows["hrnetv2_w18_small-b5a04e21.pth"]["used_by"] == "hrnet, mask2former"
    assert all(r["source"].startswith("https://") for r in rows.values())


def test_pretrained_backbone_loads_from_the_local_weights_dir(monkeypatch, tmp_path, capsys):
    spec = SEGMENTERS.get("pspnet")
    smoke = SCHEDULES.get("smoke")
    seed_everything(1)
    donor = build_model(load_config(spec, 2, smoke, pretrained=False, input_size=32), CPU).backbone.state_dict()
    (tmp_path / "checkpoints").mkdir()
    torch.save(donor, tmp_path / "checkpoints" / spec.pretrained.file)
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path))

    seed_everything(2)
    model = build_model(load_config(spec, 2, smoke, pretrained=True, input_size=32), CPU)
    loaded = model.backbone.state_dict()
    assert all(torch.equal(loaded[k], donor[k]) for k in donor)
    assert main(["weights", "check"]) == 0
    assert "1 of 4 segmenter files present" in capsys.readouterr().out


def test_perf_writes_table2_for_the_chosen_segmenters(isolated_dirs, capsys):
    args = ["perf", "segmenters", "--segmenters", "HR,M-B0", "--size", "32", "--batch-size", "2", "--device", "cpu"]
    assert main([*args, "--warmup", "1", "--iters", "2"]) == 0
    out = capsys.readouterr().out
    perf_dir = isolated_dirs / "results" / "perf"
    result = json.loads((perf_dir / "segmenters_cpu_32.json").read_text())
    assert [r["name"] for r in result["rows"]] == ["hrnet", "segformer"]
    assert all(r["latency_ms"] > 0 and r["throughput_img_s"] > 0 for r in result["rows"])
    assert result["device_type"] == "cpu" and result["device"] and result["batch_size"] == 2
    table = (perf_dir / "segmenters_cpu_32.md").read_text()
    assert "| | HR | M-B0 |" in table and "| paper: inf. time (ms), NVIDIA RTX 3090 | 15.7 | 17.9 |" in table
    assert table in out
    assert main(["perf", "segmenters", "--segmenters", "nope"]) == 2


def test_a_run_with_another_segmenter_writes_its_record(isolated_dirs, capsys):
    args = ["run", "--segmenter", "hr", "--ratio", "0", "--schedule", "smoke", "--device", "cpu"]
    assert main([*args, "--dataset", "toy", "--category", "wood"]) == 0
    assert capsys.readouterr().out.startswith("done: ")
    (path,) = (isolated_dirs / "results" / "runs").glob("*.json")
    record = json.loads(path.read_text())
    segmenter = record["segmenter"]
    assert segmenter["name"] == "hrnet" and segmenter["num_classes"] == 4 and segmenter["pretrained"] is False
    assert segmenter["loss_last"] < segmenter["loss_first"]
    assert set(record["metrics"]["per_class"]["crack"]) == {"IoU", "Dice", "Acc"}
