"""Image-quality metrics of generated sets: FID, KID and IS through torch-fidelity; LPIPS (within the
generated set, or generated vs real) and IC-LPIPS through the lpips package. Weights come only from the local weights folder (torch hub layout,
``$BENCH_WEIGHTS/checkpoints/<file>``); nothing is downloaded.

Each network's file is checked before it is used (``check_weights``): missing, published (its SHA-256 begins
with the digest its name carries, torch hub's naming, which torchvision checks on download) or unverified (a
random initialisation, another file). A feature network at a random initialisation gives numbers that
measure nothing (a random Inception reads KID 0 for every set), so the quality protocol leaves out what a
missing file would measure and keeps what an unverified one measures apart from its metrics.

IC-LPIPS has several incompatible public implementations, so the variant is chosen by name and written
into every record: the LPIPS backbone, the cap on images per cluster, the pair order and what an empty
(or single-image) cluster contributes. LPIPS itself is read two ways, named the same way: the diversity
of the generated set (DefectDiffu: "a higher LPIPS indicates better diversity") or the distance of the
generated pictures to the real ones (DefectSynth IV-A3: each metric "computed between these images and
the real defective images").
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from bench.core.errors import BenchError
from bench.core.paths import weights_dir

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's converted Inception v3
BACKBONE_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}  # torchvision ImageNet weights


@dataclass(frozen=True)
class ICLPIPSVariant:
    name: str
    net: str  # LPIPS backbone: alex or vgg
    cluster_cap: int  # images per cluster used, at most (chosen with the seed)
    pair_order: str  # "unordered" (i < j) or "ordered" (i != j); LPIPS is symmetric, so only the weighting of caps differs
    empty_clusters: str  # "drop": clusters with < 2 images are left out of the mean; "zero": they count as 0
    source: str


IC_LPIPS_VARIANTS = {
    v.name: v
    for v in (
        ICLPIPSVariant("bench", "alex", 50, "unordered", "drop", "bench default: every real training defect is a centre"),
        ICLPIPSVariant("dfmgan", "alex", 200, "ordered", "zero", "DFMGAN metrics/lpips.py (clpips)"),
        ICLPIPSVariant("seas", "vgg", 140, "ordered", "zero", "SeaS utils/metrics/metrics_lpips.py"),
        ICLPIPSVariant("anomalydiffusion", "vgg", 50, "unordered", "drop", "AnomalyDiffusion cal_ic_lpips.py"),
    )
}
DEFAULT_IC_LPIPS = "bench"


def ic_lpips_variant(name: str) -> ICLPIPSVariant:
    if name not in IC_LPIPS_VARIANTS:
        raise BenchError(f"unknown IC-LPIPS variant '{name}'", f"choose one of: {', '.join(IC_LPIPS_VARIANTS)}")
    return IC_LPIPS_VARIANTS[name]


FIDELITY_METRICS = ("FID", "KID_mean", "KID_std", "IS_mean", "IS_std")
LPIPS_METRICS = ("LPIPS", "IC_LPIPS")


@dataclass(frozen=True)
class Network:
    """A feature network the quality metrics need weights for, and the metrics it gives."""

    name: str
    file: str
    metrics: tuple[str, ...]


def feature_networks(variant: ICLPIPSVariant) -> tuple[Network, ...]:
    """Inception v3 (FID, KID, IS) and the LPIPS backbone of the IC-LPIPS variant (LPIPS, IC-LPIPS)."""
    return (Network("inception", INCEPTION_FILE, FIDELITY_METRICS),
            Network(f"lpips-{variant.net}", BACKBONE_FILES[variant.net], LPIPS_METRICS))


MISSING, PUBLISHED, UNVERIFIED = "missing", "published", "unverified"
DIGEST_IN_NAME = re.compile(r"-([a-f0-9]+)\.")  # torch hub's naming: <name>-<first hex digits of the SHA-256>.<ext>


@lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def check_weights(file: str) -> dict:
    """Where a network's weights file is and whether it is the published one: ``missing``; ``published`` when
    its SHA-256 begins with the digest its name carries; ``unverified`` otherwise."""
    root = weights_dir()
    path = (root / "checkpoints" / file) if root else Path("$BENCH_WEIGHTS/checkpoints") / file
    if not path.is_file():
        return {"file": file, "path": str(path), "status": MISSING, "sha256": None}
    stat = path.stat()
    sha = _sha256(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    named = DIGEST_IN_NAME.search(file)
    status = PUBLISHED if named and sha.startswith(named.group(1)) else UNVERIFIED
    return {"file": file, "path": str(path), "status": status, "sha256": sha}


def weights_note(check: dict) -> str:
    """Why a network's metrics are not shown, or '' when they are."""
    if check["status"] == MISSING:
        return (f"its weights {check['path']} are missing: put {check['file']} there (torch hub layout) and set BENCH_WEIGHTS, "
                "then run the grid again")
    if check["status"] == UNVERIFIED:
        named = DIGEST_IN_NAME.search(check["file"])
        return (f"its weights file's SHA-256 ({check['sha256'][:12]}...) does not begin with the digest its name carries "
                f"({named.group(1) if named else 'none'}): not the published weights (a random initialisation, say), so what it "
                "measures is kept apart (unverified_metrics) and shown nowhere")
    return ""


class _Images(torch.utils.data.Dataset):
    """uint8 C x H x W tensors, the input torch-fidelity expects."""

    def __init__(self, images: np.ndarray):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(self.images[i].transpose(2, 0, 1)))


def fidelity_metrics(generated: np.ndarray, real: np.ndarray, inception_weights: Path, device: torch.device) -> dict:
    """FID and KID of generated vs real images, IS of the generated ones. KID's subset size is fitted to small
    sets (at most the smaller set), IS uses at most 10 splits and at least 2 images per split."""
    import torch_fidelity

    subset = min(1000, len(generated), len(real))
    splits = max(1, min(10, len(generated) // 2))
    out = torch_fidelity.calculate_metrics(
        input1=_Images(generated), input2=_Images(real), fid=True, kid=True, isc=True,
        feature_extractor_weights_path=str(inception_weights), kid_subset_size=subset, isc_splits=splits,
        cuda=device.type == "cuda", cache=False, verbose=False, samples_shuffle=False,
        save_cpu_ram=True,  # images are already in memory: no loader worker processes
    )
    return {
        "FID": float(out["frechet_inception_distance"]),
        "KID_mean": float(out["kernel_inception_distance_mean"]),
        "KID_std": float(out["kernel_inception_distance_std"]),
        "IS_mean": float(out["inception_score_mean"]),
        "IS_std": float(out["inception_score_std"]),
        "kid_subset_size": subset,
        "isc_splits": splits,
    }


def lpips_model(net: str, backbone_weights: Path, device: torch.device):
    """LPIPS with its shipped linear layers and the backbone's ImageNet weights read from the local file."""
    import lpips
    import torchvision

    model = lpips.LPIPS(pretrained=True, net=net, pnet_rand=True, verbose=False)
    backbone = {"alex": torchvision.models.alexnet, "vgg": torchvision.models.vgg16}[net]()
    backbone.load_state_dict(torch.load(backbone_weights, map_location="cpu", weights_only=True))
    for slice_ in (getattr(model.net, f"slice{k}") for k in range(1, 6)):
        for index, module in slice_.named_children():
            module.load_state_dict(backbone.features[int(index)].state_dict())
    return model.eval().to(device)


@torch.no_grad()
def lpips_distances(model, a: np.ndarray, b: np.ndarray, device: torch.device, batch: int = 32,
                    pairs: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """LPIPS between a[i] and b[i] for uint8 H x W x 3 images; with ``pairs`` (index arrays i, j), between
    a[i[k]] and b[j[k]], gathered a batch at a time (1,000 pictures make half a million pairs)."""
    def tensor(x):
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).float().div(127.5).sub(1).to(device)

    i, j = pairs if pairs is not None else (np.arange(len(a)), np.arange(len(a)))
    out = [model(tensor(a[i[s : s + batch]]), tensor(b[j[s : s + batch]])).flatten().cpu() for s in range(0, len(i), batch)]
    return torch.cat(out).numpy().astype(np.float64) if out else np.zeros(0)


def mean_pairwise(model, images: np.ndarray, device: torch.device) -> float:
    """Mean LPIPS over unordered pairs (i < j): the set's diversity."""
    i, j = np.triu_indices(len(images), k=1)
    if not i.size:
        return float("nan")
    return float(lpips_distances(model, images, images, device, pairs=(i, j)).mean())


def mean_to_reference(model, generated: np.ndarray, real: np.ndarray, device: torch.device) -> float:
    """Mean LPIPS over every (generated, real) pair: how far the generated pictures are from the real ones."""
    if not len(generated) or not len(real):
        return float("nan")
    i, j = np.repeat(np.arange(len(generated)), len(real)), np.tile(np.arange(len(real)), len(generated))
    return float(lpips_distances(model, generated, real, device, pairs=(i, j)).mean())


@dataclass(frozen=True)
class LPIPSVariant:
    name: str
    pairs: str  # what is paired, as records say it
    measure: Callable[..., float]  # (model, generated, real, device) -> mean LPIPS


LPIPS_VARIANTS = {
    v.name: v
    for v in (
        LPIPSVariant("diversity", "mean over unordered pairs of generated images (the set's diversity; DefectDiffu Table 1)",
                     lambda model, generated, real, device: mean_pairwise(model, generated, device)),
        LPIPSVariant("to-real", "mean over every (generated, real test defect) pair (DefectSynth Table II)", mean_to_reference),
    )
}
DEFAULT_LPIPS = "diversity"


def lpips_variant(name: str) -> LPIPSVariant:
    if name not in LPIPS_VARIANTS:
        raise BenchError(f"unknown LPIPS variant '{name}'", f"choose one of: {', '.join(LPIPS_VARIANTS)}")
    return LPIPS_VARIANTS[name]


def ic_lpips(model, generated: np.ndarray, centres: np.ndarray, variant: ICLPIPSVariant, seed: int, device: torch.device) -> dict:
    """Intra-cluster LPIPS: each generated image joins its nearest real centre (by LPIPS); diversity within
    each cluster (capped, seeded choice), averaged over clusters as the variant says."""
    n, k = len(generated), len(centres)
    gi, ci = np.repeat(np.arange(n), k), np.tile(np.arange(k), n)
    assign = lpips_distances(model, generated, centres, device, pairs=(gi, ci)).reshape(n, k).argmin(axis=1)
    rng = np.random.default_rng(seed)
    values = []
    for c in range(k):
        members = np.flatnonzero(assign == c)
        members = rng.permutation(members)[: variant.cluster_cap]
        if len(members) < 2:
            if variant.empty_clusters == "zero":
                values.append(0.0)
            continue
        if variant.pair_order == "ordered":
            i, j = np.nonzero(~np.eye(len(members), dtype=bool))
        else:
            i, j = np.triu_indices(len(members), k=1)
        values.append(float(lpips_distances(model, generated, generated, device, pairs=(members[i], members[j])).mean()))
    return {"IC_LPIPS": float(np.mean(values)) if values else float("nan"), "clusters": k,
            "clusters_used": len(values), "cluster_sizes": np.bincount(assign, minlength=k).tolist()}


def variant_record(variant: ICLPIPSVariant) -> dict:
    return asdict(variant)
