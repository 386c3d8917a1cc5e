"""The ``dcdganc`` generator: class + noise -> defect content -> raw mask -> improved Poisson blend.

Torch and the networks are imported inside ``fit`` and ``sample``, so registering the name stays cheap.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Annotated, Iterator, Mapping

import cv2
import numpy as np

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.pairset import Pair, PairSet
from bench.core.params import OneOf
from bench.core.paths import cache_dir
from bench.core.specs import TaskRef
from generators import GENERATORS
from generators.base import Generator, backgrounds, resolve_class
from generators.blending import BAND_PX
from generators.dcdganc.compose import blend, content_patch
from generators.dcdganc.config import CONTENTS, LOSSES, PROFILES, RAW_MASKS, LossWeights, crop_size, model_key
from generators.dcdganc.contents import cut_contents, sample_crops
from generators.dcdganc.segment import RAW_MASK_FUNCTIONS, THRESHOLD
from generators.dcdganc.transfer import NOT_LEARNED, SOURCE, parse_class_map, target_classes

DEVICES = ("auto", "cpu", "cuda")
DRAWS = 8  # noise draws per pair before giving up on a model whose contents are all background
PAPER_RAW_MASK = "watershed"  # section 2.3: "the binary mask M ... obtained by watershed segmentation"


@GENERATORS.register
class DCDGANc(Generator):
    """DCDGANc: a class-controllable GAN draws defect contents that improved Poisson blending puts on normals."""

    name = "dcdganc"
    kind = "learned"
    needs_training = True
    version = "2"  # eq. (6) log loss, native-scale crops and the 125k-step paper budget by default
    schedule_profiles = {"short": "toy", "cpu": "toy"}  # the default `bench run` schedule on a CPU: the toy profile
    transfers = "defect contents learned from the source blended onto the target's normals (improved Poisson blending)"

    def __init__(
        self,
        profile: str = "paper",
        loss: Annotated[str, OneOf(*LOSSES)] = "log",
        contents: Annotated[str, OneOf(*CONTENTS)] = "crops",
        raw_mask: Annotated[str, OneOf(*RAW_MASKS)] = "threshold",
        crop: int | None = None,
        defect_class: str | int | None = None,
        interpolate_to: str | int | None = None,
        alpha: float = 0.5,
        position: str | list | None = None,
        mask_dilation: int = 0,
        threshold: int = THRESHOLD,
        band: int = BAND_PX,
        grayscale: bool = False,
        class_counts: str | None = None,
        source: Annotated[str | None, SOURCE] = None,
        class_map: str | None = None,
        device: str = "auto",
    ):
        """``grayscale``: each content turned grey before its mask is cut and it is blended (the wood -> tile
        transfer, section 3.6 and Fig. 10). ``class_counts``: ``NAME=N+NAME=N``, the learned classes to draw and how
        many of each, scaled to the pairs asked for (Table 7's 418 / 913), instead of a class drawn at random."""
        self.profile = PROFILES.get(profile)
        self.crop = crop_size(self.profile, crop)
        if not 0.0 <= float(alpha) <= 1.0:
            raise BenchError(f"dcdganc alpha must lie in [0, 1], got {alpha}", "pass e.g. alpha=0.5")
        if interpolate_to is not None and defect_class is None:
            raise BenchError("dcdganc interpolate_to needs defect_class, the class to start from", "pass defect_class=NAME too")
        if mask_dilation < 0 or band < 1 or not 0 <= threshold < 255:
            raise BenchError(
                f"dcdganc needs mask_dilation >= 0, band >= 1 and 0 <= threshold < 255; got {mask_dilation}, {band}, {threshold}"
            )
        if device not in DEVICES:
            raise BenchError(f"unknown dcdganc device '{device}'", f"choose one of: {', '.join(DEVICES)}")
        self.class_counts = parse_class_counts(class_counts)
        if self.class_counts and defect_class is not None:
            raise BenchError("dcdganc class_counts draws the classes itself", "pass either class_counts or defect_class")
        self.grayscale = bool(grayscale)
        self.defect_class, self.interpolate_to, self.alpha = defect_class, interpolate_to, float(alpha)
        self.position = _parse_position(position)
        self.mask_dilation, self.threshold, self.band = int(mask_dilation), int(threshold), int(band)
        self.source = SOURCE.parse(source) if source else None
        self._source_pairs: PairSet | None = None
        self.class_map = parse_class_map(class_map)
        self.device_name = device
        self.loss, self.contents_mode, self.raw_mask = loss, contents, raw_mask
        self.weights = LossWeights()
        self._trained = None
        self._learned: dict[int, str] = {}  # content-source class id -> name, in GAN class order
        self._labels: list[int] = []  # GAN class index -> class id in the task's class map
        self._bases: list[Pair] = []

    def use_sources(self, sources: Mapping[TaskRef, PairSet]) -> None:
        self._source_pairs = sources[self.source] if self.source else None

    def _source(self) -> PairSet:
        """The transfer source's training defects, as handed over by ``use_sources``."""
        if self._source_pairs is None:
            raise BenchError(f"dcdganc source {self.source} was not handed over", "run it through bench run or bench generate")
        return self._source_pairs

    def fingerprint(self) -> str:
        return self._source().content_hash() if self.source else ""

    def _device(self):
        import torch

        if self.device_name == "cuda" and not torch.cuda.is_available():
            raise BenchError("dcdganc device=cuda requested but no CUDA device is available", "use device=cpu or auto")
        return torch.device("cuda" if self.device_name != "cpu" and torch.cuda.is_available() else "cpu")

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        from generators.dcdganc.training import train as train_networks  # deferred: torch loads to train, not to register

        contents_from = self._source() if self.source else train
        pairs = list(contents_from)
        strays = sorted(set(self.class_map) - set(contents_from.classes.values()))
        if strays:
            raise BenchError(f"dcdganc class_map names {', '.join(strays)}, not classes of {contents_from.root}",
                             f"its classes: {', '.join(v for k, v in sorted(contents_from.classes.items()) if k)}")
        present = sorted({int(v) for pair in pairs for v in np.unique(pair.mask) if v
                          and self.class_map.get(contents_from.classes[int(v)]) != NOT_LEARNED})
        if not present:
            raise BenchError(f"dcdganc needs training pairs with defects; {contents_from.root} has none")
        self._learned = {class_id: contents_from.classes[class_id] for class_id in present}
        self._labels = target_classes(self._learned, train.classes, self.class_map, self.source)
        unknown = sorted(set(self.class_counts) - set(self._learned.values()))
        if unknown:
            raise BenchError(f"dcdganc class_counts names {', '.join(unknown)}, not classes of the contents",
                             f"learned classes: {', '.join(self._learned.values())}")
        index = {class_id: n for n, class_id in enumerate(present)}
        if self.contents_mode == "crops":
            contents = sample_crops(pairs, index, self.crop, self.profile.contents_per_class, seed, self.mask_dilation)
        else:
            contents = cut_contents(pairs, index, self.crop, self.mask_dilation)
        if not contents:
            raise BenchError(f"dcdganc found no defect region of 4 pixels or more in {contents_from.root}", "check the masks")
        data_hash = sha256_text(canonical_json({"pairs": contents_from.content_hash(), "dilation": self.mask_dilation,
                                                "contents": self.contents_mode, "seed": seed}))
        key = model_key(self.profile, self.crop, self.weights, self.loss, tuple(self._learned.values()), data_hash, seed)
        folder = cache_dir() / "models" / "dcdganc" / key
        self._trained = train_networks(contents, len(present), self.profile, self.crop, self.weights, seed, self._device(), folder,
                                       loss=self.loss)
        self._bases = backgrounds(train, normals)

    def trained_modules(self) -> dict:
        return {} if self._trained is None else {"generator": self._trained.generator}

    def settings(self) -> dict:
        """Every setting the run uses after the profile: networks, budget, losses, contents, raw mask."""
        p = self.profile
        return {
            "profile": p.name,
            "crop": self.crop,
            "networks": {"latent_dim": p.latent_dim, "base_channels": p.base_channels, "max_channels": p.max_channels,
                         "downsamplings": p.downsamplings, "res_blocks": p.res_blocks},
            "training": {"iterations": p.iterations, "batch_size": p.batch_size, "optimizer": "Adam", "lr": p.lr,
                         "betas": [p.beta1, p.beta2], "augment": "random 90-degree rotations and mirrors",
                         "batches": "drawn with replacement, seeded by (seed, step)"},
            "loss": {"adversarial": self.loss, "weights": asdict(self.weights),
                     "generator": "non-saturating -log D(fake)" if self.loss == "log" else "-D(fake)"},
            "contents": {"mode": self.contents_mode, "per_class": p.contents_per_class if self.contents_mode == "crops" else None,
                         "scale": "native" if self.contents_mode == "crops" else "whole region, scaled down to fit",
                         "mask_dilation": self.mask_dilation},
            "raw_mask": {"method": self.raw_mask, "threshold": self.threshold, "redraws": DRAWS,
                         "grayscale": self.grayscale},
            "classes": dict(self.class_counts) if self.class_counts else ("interpolated" if self.interpolate_to is not None
                                                                           else self.defect_class or "uniform at random"),
            "blend": {"band": self.band, "position": list(self.position) if self.position else "random",
                      "backgrounds": "the split's normals, else its training pairs"},
            "device": self.device_name,
        }

    def deviations(self, train: PairSet) -> tuple[str, ...]:
        """How this run departs from the paper (the only reading with masks and blending; the release trains the GAN
        alone): the raw mask, the profile or its budget, the loss, the contents, the crop and the band."""
        p, paper = self.profile, PROFILES.get("paper")
        out = []
        if self.raw_mask != PAPER_RAW_MASK:
            out.append(f"raw mask by {self.raw_mask} (paper: {PAPER_RAW_MASK})")
        if p.name == paper.name:
            out.append(f"{p.iterations:,} steps at batch {p.batch_size}: the paper's 500 'iterations' read as epochs over 5 classes "
                       f"of about {p.contents_per_class:,} contents (release: 400 epochs)")
        else:
            out.append(f"{p.name} profile: {p.crop} px contents, {p.contents_per_class:,} per class, its own networks, "
                       f"{p.iterations:,} steps at batch {p.batch_size} (paper: {paper.crop} px, about {paper.contents_per_class:,} "
                       f"per class, 500 epochs at batch {paper.batch_size})")
        if self.crop != p.crop:
            out.append(f"contents at {self.crop} px ({p.name} profile: {p.crop})")
        if self.loss != "log":
            out.append(f"{self.loss} adversarial loss (paper: eq. 6, log)")
        if self.contents_mode != "crops":
            out.append("one content per defect region, scaled to fit (paper: constructed native-scale crops)")
        if self.band != BAND_PX:
            out.append(f"blending band {self.band} px (paper: {BAND_PX})")
        return tuple(out)

    def class_weights(self, rng: np.random.Generator, drawn: str | None = None) -> np.ndarray:
        """The class code c: one-hot for one class (``drawn``, ``defect_class`` or one at random), or
        (1 - alpha) c1 + alpha c2 when interpolating."""
        order = list(self._learned)
        weights = np.zeros(len(order), np.float32)
        wanted = drawn or self.defect_class
        if wanted is None:
            weights[rng.integers(len(order))] = 1.0
            return weights
        start = order.index(resolve_class(self._learned, wanted, self.name))
        weights[start] = 1.0 - self.alpha if self.interpolate_to is not None else 1.0
        if self.interpolate_to is not None:
            weights[order.index(resolve_class(self._learned, self.interpolate_to, self.name))] += self.alpha
        return weights

    def contents(self, weights: np.ndarray, seeds: list[int]) -> np.ndarray:
        """Generated contents (n x crop x crop x 3 uint8) for one class code and one noise seed each."""
        import torch

        if self._trained is None:
            raise BenchError("dcdganc sample() called before fit()", "fit the generator on training pairs first")
        model = self._trained.generator
        device = next(model.parameters()).device
        z = torch.stack([torch.randn(model.latent_dim, generator=torch.Generator().manual_seed(s)) for s in seeds]).to(device)
        classes = torch.from_numpy(np.repeat(weights[None], len(seeds), axis=0)).to(device)
        with torch.no_grad():
            images = model(z, classes)
        return ((images.permute(0, 2, 3, 1).cpu().numpy() + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)

    def raw_content(self, weights: np.ndarray, rng: np.random.Generator, where: str) -> tuple[np.ndarray, np.ndarray]:
        """A generated content (grey under ``grayscale``) and its raw defect mask; new noise where the mask comes out
        empty, up to ``DRAWS`` times."""
        for _ in range(DRAWS):
            (content,) = self.contents(weights, [int(rng.integers(2**62))])
            if self.grayscale:
                content = np.repeat(cv2.cvtColor(content, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
            defect = RAW_MASK_FUNCTIONS[self.raw_mask](content, self.threshold)
            if defect.any():
                return content, defect
        raise BenchError(f"dcdganc drew {DRAWS} empty defect contents in a row ({where})",
                         "train longer (profile=short or paper) or lower threshold")

    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        drawn = interleaved(self.class_counts, n) if self.class_counts else [None] * n
        for index in range(n):
            rng = np.random.default_rng([seed, index])
            weights = self.class_weights(rng, drawn[index])
            label = self._labels[int(np.argmax(weights))]  # an interpolated content is filed under its larger share
            content, defect = self.raw_content(weights, rng, f"pair {index}, seed {seed}")
            base = self._bases[rng.integers(len(self._bases))]
            patch = content_patch(content, defect, label, self.band + 1)
            image, mask = blend(base.image, base.mask, patch, self.position, rng, self.band)
            yield Pair(f"dcdganc_{seed}_{index:05d}", image, mask, group="synthetic")


def parse_class_counts(text: str | None) -> dict[str, int]:
    """``"hole=418+scratch=913"`` (``+`` or ``,`` between entries) -> {"hole": 418, "scratch": 913}."""
    counts: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in re.split(r"[+,]", text or ""))):
        name, sep, count = item.partition("=")
        if not sep or not name.strip() or not count.strip().isdigit() or int(count) < 1:
            raise BenchError(f"dcdganc class_counts entry {item!r} is not CLASS=N with N >= 1", "pass e.g. class_counts=hole=418+scratch=913")
        counts[name.strip()] = int(count)
    return counts


def interleaved(counts: Mapping[str, int], n: int) -> list[str]:
    """The class of each of ``n`` pairs: ``counts`` scaled to ``n`` (largest remainders), each class's pairs spread
    evenly over the set so that any stretch of it holds the classes in their shares."""
    total = sum(counts.values())
    exact = {name: n * count / total for name, count in counts.items()}
    scaled = {name: int(value) for name, value in exact.items()}
    for name in sorted(exact, key=lambda k: scaled[k] - exact[k])[: n - sum(scaled.values())]:
        scaled[name] += 1
    slots = sorted(((j + 0.5) / k, order, name) for order, (name, k) in enumerate(scaled.items()) for j in range(k))
    return [name for _, _, name in slots]


def _parse_position(position) -> tuple[int, int] | None:
    """``"top,left"`` or ``[top, left]`` (pixels, top-left corner of the blended patch); None = random."""
    if position is None or position == "random":
        return None
    parts = position.split(",") if isinstance(position, str) else list(position)
    try:
        top, left = (int(p) for p in parts)
    except (TypeError, ValueError):
        raise BenchError(f"dcdganc position {position!r} is not 'top,left'", "pass e.g. position=10,20 or leave it random") from None
    if top < 0 or left < 0:
        raise BenchError(f"dcdganc position {position!r} is negative", "pass pixel offsets >= 0")
    return top, left
