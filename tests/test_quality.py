"""The quality protocol with weight files the test makes (random init): torch-fidelity's FID agrees with a
direct computation from the same Inception features; records, skipping and missing-weight errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.core.errors import BenchError
from bench.metrics import quality as q
from bench.protocols import PROTOCOLS


def _direct_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    """FID with tr sqrt(S1 S2) as the nuclear norm of the centred cross-product (exact for sample covariances)."""
    c1, c2 = f1 - f1.mean(0), f2 - f2.mean(0)
    cross = np.linalg.svd(c1 @ c2.T / np.sqrt((len(f1) - 1) * (len(f2) - 1)), compute_uv=False).sum()
    s1, s2 = (c1**2).sum() / (len(f1) - 1), (c2**2).sum() / (len(f2) - 1)
    return float(((f1.mean(0) - f2.mean(0)) ** 2).sum() + s1 + s2 - 2 * cross)


def test_quality_protocol_records_metrics_and_fid_matches_direct_computation(weights, isolated_dirs, capsys):
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    from bench import api
    from bench.cli import main
    from bench.core.specs import GeneratorSpec
    from bench.data.base import load_pool
    from bench.data.splits import make_split
    from bench.protocols.quality import QUALITY
    from bench.records import RecordStore
    from generators.synthesize import synthesize

    assert main(["protocol", "quality", "--generators", "copy-paste", "--seeds", "0", "--n-generated", "8", "--schedule", "smoke"]) == 0
    assert "protocol quality: 1 done, 0 skipped" in capsys.readouterr().out
    (record,) = RecordStore(isolated_dirs / "results" / "quality", QUALITY)
    assert {n["status"] for n in record["networks"].values()} == {"unverified"}, "random weights are not the published files"
    assert not set(record["metrics"]) & {"FID", "KID_mean", "IS_mean", "LPIPS", "IC_LPIPS"} and "left_out" not in record["spec"]
    m = {**record["metrics"], **record["unverified_metrics"]}  # what the random networks measured, kept apart
    assert m["kid_subset_size"] == 8, "KID subsets fitted to the smaller set"
    assert record["variants"]["ic_lpips"] == "bench" and record["variants"]["ic_lpips_detail"]["net"] == "alex"
    assert record["spec"]["lpips"] == record["variants"]["lpips_variant"] == "diversity"
    assert record["variants"]["n_generated"] == "8 (given; the papers generate 1,000)" and record["generator"]["version"] == "1"
    assert 0 < m["LPIPS"] and np.isfinite(m["IC_LPIPS"]) and m["IS_mean"] >= 1.0 - 1e-6
    alignment = record["alignment"]
    assert alignment["generated"]["pairs"] == 8 and alignment["setup"]["segmenter"] == "segformer"
    assert m["alignment_IoU"] == alignment["generated"]["IoU_defect"] and m["alignment_IoU_real"] == alignment["reference"]["IoU_defect"]
    assert m["contrast"] > 1 and m["contrast_real"] > 1, "copy-paste defects stand out from their surroundings as the real ones do"
    assert record["variants"]["alignment"]["schedule"]["name"] == "smoke"

    pool = load_pool("toy", "wood")
    split = make_split(pool, "ds-5shot")
    assert alignment["reference"]["pairs"] == len(split.test), "the reference is the real test defects"
    generated, hit = synthesize(GeneratorSpec("copy-paste"), pool.subset(split.train), pool.subset(split.normal_train), 8, 0)
    assert hit, "the protocol's generated set is cached and reused"
    extractor = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(weights / "checkpoints" / q.INCEPTION_FILE))

    def features(pairs):
        batch = torch.from_numpy(np.stack([pairs.image(i) for i in pairs.ids]).transpose(0, 3, 1, 2).copy())
        return extractor(batch)[0].double().numpy()

    direct = _direct_fid(features(generated), features(pool.subset(split.test)))
    assert m["FID"] == pytest.approx(direct, rel=1e-4, abs=1e-6)

    (again,) = api.run_protocol("quality", {"generators": "copy-paste", "seeds": 0, "n_generated": 8, "schedule": "smoke"},
                                progress=False).outcomes
    assert again.skipped and again.record["run_id"] == record["run_id"]


def test_alignment_is_measured_by_the_first_segmenter_unless_turned_off():
    from bench.protocols.quality.measure import quality_specs

    quality = PROTOCOLS.get("quality")
    (spec,) = quality_specs(quality.grid({"generators": "copy-paste", "segmenters": "bisenetv2,segformer", "seeds": 0, "schedule": "short"}, "t"))
    assert (spec.alignment_segmenter, spec.schedule) == ("bisenetv2", "short")
    (off,) = quality_specs(quality.grid({"generators": "copy-paste", "seeds": 0, "alignment": False}, "t"))
    assert off.alignment_segmenter is None and off.run_id("m") != spec.run_id("m")


def test_missing_weights_are_named_with_where_they_go(isolated_dirs, monkeypatch):
    monkeypatch.setenv("BENCH_WEIGHTS", str(isolated_dirs / "nowhere"))
    inception, backbone = q.feature_networks(q.ic_lpips_variant("seas"))
    assert (inception.file, backbone.file, backbone.metrics) == (q.INCEPTION_FILE, q.BACKBONE_FILES["vgg"], ("LPIPS", "IC_LPIPS"))
    for net in (inception, backbone):
        check = q.check_weights(net.file)
        note = q.weights_note(check)
        assert check["status"] == "missing" and str(isolated_dirs / "nowhere" / "checkpoints" / net.file) in note and "\n" not in note
    with pytest.raises(BenchError, match="unknown IC-LPIPS variant 'x'"):
        q.ic_lpips_variant("x")


def test_ic_lpips_variants_differ_only_as_named(weights):
    """Two tight clusters and one empty: 'drop' averages the two, 'zero' counts the empty one as 0."""
    model = q.lpips_model("alex", weights / "checkpoints" / q.BACKBONE_FILES["alex"], torch.device("cpu"))
    rng = np.random.default_rng(0)
    centres = np.stack([np.full((32, 32, 3), v, np.uint8) for v in (20, 230, 120)])
    centres[2] = rng.integers(0, 256, (32, 32, 3))
    generated = np.clip(np.concatenate([centres[:1].repeat(3, 0), centres[1:2].repeat(3, 0)]).astype(int)
                        + rng.integers(-8, 9, (6, 32, 32, 3)), 0, 255).astype(np.uint8)
    drop = q.ic_lpips(model, generated, centres, q.ICLPIPSVariant("t", "alex", 50, "unordered", "drop", ""), 0, torch.device("cpu"))
    zero = q.ic_lpips(model, generated, centres, q.ICLPIPSVariant("t", "alex", 50, "unordered", "zero", ""), 0, torch.device("cpu"))
    assert drop["cluster_sizes"] == [3, 3, 0] and drop["clusters_used"] == 2 and zero["clusters_used"] == 3
    assert zero["IC_LPIPS"] == pytest.approx(drop["IC_LPIPS"] * 2 / 3)
    within = [q.mean_pairwise(model, generated[s], torch.device("cpu")) for s in (slice(0, 3), slice(3, 6))]
    assert drop["IC_LPIPS"] == pytest.approx(np.mean(within))


def test_lpips_to_real_is_the_mean_over_every_generated_and_real_pair(weights):
    """DefectSynth's LPIPS against a slow obvious loop with the same network; the diversity variant beside it."""
    device = torch.device("cpu")
    model = q.lpips_model("alex", weights / "checkpoints" / q.BACKBONE_FILES["alex"], device)
    rng = np.random.default_rng(3)
    generated, real = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8), rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)

    def one(a, b):
        as_tensor = lambda x: torch.from_numpy(x.transpose(2, 0, 1).copy()).float()[None] / 127.5 - 1  # noqa: E731
        with torch.no_grad():
            return float(model(as_tensor(a), as_tensor(b)))

    slow = np.mean([one(g, r) for g in generated for r in real])
    to_real = q.lpips_variant("to-real")
    assert to_real.measure(model, generated, real, device) == pytest.approx(slow, rel=1e-5)
    within = np.mean([one(generated[i], generated[j]) for i in range(5) for j in range(i + 1, 5)])
    assert q.lpips_variant("diversity").measure(model, generated, real, device) == pytest.approx(within, rel=1e-5)
    assert abs(slow - within) > 1e-4, "the two variants measure different pairs"
    with pytest.raises(BenchError, match="unknown LPIPS variant 'x'; choose one of: diversity, to-real"):
        q.lpips_variant("x")


def test_quality_sizes_name_the_papers_count_and_keep_old_ids():
    """Size paper (the default at the paper schedule) generates 1,000 pictures per point, small (elsewhere) 50;
    an explicit n_generated wins. Ids of points at the old defaults do not change; the LPIPS variant and a
    backend past its first version join them."""
    from bench.core.hashing import canonical_json, sha256_text
    from bench.core.specs import GeneratorSpec
    from bench.protocols.quality.measure import QualitySpec, quality_specs, size_note

    quality = PROTOCOLS.get("quality")
    n = lambda values: {s.n_generated for s in quality_specs(quality.grid({"seeds": "0", **values}, "test"))}  # noqa: E731
    assert n({}) == {50} and n({"schedule": "paper"}) == {1000} and n({"size": "paper"}) == {1000}
    assert n({"schedule": "paper", "size": "small"}) == {50} and n({"size": "paper", "n_generated": 8}) == {8}
    assert size_note(1000) == "1000 (paper)" and size_note(50) == "50 (small; the papers generate 1,000)"
    with pytest.raises(BenchError, match="grid key 'size' in test has a bad value 'huge'; choose one of: paper, small"):
        quality.grid({"size": "huge"}, "test")
    spec = QualitySpec(GeneratorSpec("copy-paste"), "toy", "wood", "ds-5shot", 0, 50, "bench", "image", "segformer", "short")
    old = {"spec": {**{k: v for k, v in spec.to_dict().items() if k not in ("lpips", "image_size")}, "generator": "copy-paste"}, "data": "m"}
    assert spec.run_id("m") == sha256_text(canonical_json(old))[:16]
    from dataclasses import replace

    assert len({spec.run_id("m"), replace(spec, lpips="to-real").run_id("m"), replace(spec, left_out=("inception",)).run_id("m"),
                replace(spec, generator=GeneratorSpec("defectsynth")).run_id("m")}) == 4
