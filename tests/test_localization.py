"""The localization protocol's parts: DRAEM's discriminative U-Net, binary labels, the Table 2 form."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.core.pairset import Pair, write_pairset
from bench.data.relabel import merge_defects
from bench.metrics.segmentation import BINARY_CLASSES
from bench.protocols import PROTOCOLS
from bench.spec import RunSpec


def slow_draem_parameter_count(cin: int, b: int) -> int:
    """Parameters of the network as the DRAEM paper draws it, counted layer by layer."""
    conv = lambda i, o: i * o * 9 + o  # noqa: E731  3x3 conv with bias
    bn = lambda o: 2 * o  # noqa: E731
    widths = [b, 2 * b, 4 * b, 8 * b, 8 * b, 8 * b]
    total, prev = 0, cin
    for w in widths:  # encoder: two conv-bn-relu per block
        total += conv(prev, w) + bn(w) + conv(w, w) + bn(w)
        prev = w
    for skip in reversed(widths[:-1]):  # decoder: up-conv to the skip width, then two convs on the concatenation
        total += conv(prev, skip) + bn(skip) + conv(2 * skip, skip) + bn(skip) + conv(skip, skip) + bn(skip)
        prev = skip
    return total


def test_the_draem_unet_keeps_the_resolution_and_has_the_papers_layers():
    from segmenters.draem_unet import DraemDiscriminativeUNet

    net = DraemDiscriminativeUNet(in_channels=3, base_channels=4)
    net.init_weights()
    (out,) = net(torch.randn(2, 3, 64, 96))
    assert out.shape == (2, 4, 64, 96)
    assert sum(p.numel() for p in net.parameters()) == slow_draem_parameter_count(3, 4)
    assert net.out_channels == 4


def test_the_draem_segmenter_builds_from_its_config_with_the_tasks_classes():
    from segmenters import SCHEDULES, SEGMENTERS
    from segmenters.config import load_config
    from segmenters.model import build_model

    spec = SEGMENTERS.get("draem-unet")
    assert spec.name == "draem" and spec.pretrained is None
    model = build_model(load_config(spec, 2, SCHEDULES.get("smoke"), pretrained=False, input_size=64), torch.device("cpu"))
    model.eval()
    with torch.no_grad():
        logits = model.encode_decode(torch.randn(1, 3, 64, 64), [dict(img_shape=(64, 64), pad_shape=(64, 64))])
    assert logits.shape == (1, 2, 64, 64)


def test_binary_labels_merge_every_defect_class(tmp_path):
    masks = [np.array([[0, 1, 2], [3, 3, 0]], np.uint8), np.zeros((2, 3), np.uint8)]
    pairs = write_pairset(tmp_path / "p", (Pair(f"p{i}", np.full((2, 3, 3), i, np.uint8), m) for i, m in enumerate(masks)),
                          {0: "background", 1: "crack", 2: "hole", 3: "stain"}, {})
    merged = merge_defects(pairs, BINARY_CLASSES)
    assert merged.classes == BINARY_CLASSES and merged.ids == pairs.ids
    assert merged.mask("p0").tolist() == [[0, 1, 1], [1, 1, 0]] and not merged.mask("p1").any()
    assert np.array_equal(merged.image("p0"), pairs.image("p0"))
    assert merge_defects(pairs, BINARY_CLASSES).root == merged.root, "merged once, then read from the cache"


def test_the_protocol_runs_binary_unets_on_the_third_split():
    grid = PROTOCOLS.get("localization").grid({"generators": "copy-paste", "seeds": "0"}, "test")
    specs = PROTOCOLS.get("localization").specs(grid)
    assert {(s.segmenter, s.ratio, s.split, s.labels) for s in specs} == {
        (seg, r, "third", "binary") for seg in ("unet", "draem") for r in (0.0, 1.0)}
    papers = PROTOCOLS.get("localization").grid({"generators": "copy-paste", "seeds": "0", "synthetic_only": True}, "test")
    assert {(s.ratio, s.synthetic_only) for s in PROTOCOLS.get("localization").specs(papers)} == {(0.0, False), (1.0, True)}
    # Table IX's count: 500 generated pairs alone at size paper (the default at the paper schedule), whatever the ratios
    table_ix = PROTOCOLS.get("localization").grid({"generators": "copy-paste", "seeds": "0", "synthetic_only": True,
                                                    "schedule": "paper", "ratios": "0,1,2"}, "test")
    assert {(s.ratio, s.fill_to, s.synthetic_only) for s in PROTOCOLS.get("localization").specs(table_ix)} == {
        (0.0, 0, False), (0.0, 500, True)}
    with_real = table_ix.replace(synthetic_only=False)
    assert {(s.ratio, s.fill_to) for s in PROTOCOLS.get("localization").specs(with_real)} == {(0.0, 0), (1.0, 0), (2.0, 0)}
    with pytest.raises(Exception, match="labels 'multi' is not one of classes, binary"):
        RunSpec(labels="multi")
