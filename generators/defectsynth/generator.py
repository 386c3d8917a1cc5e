"""The ``defectsynth`` generator: HMI masks (stage 1), a fine-tuned ControlNet on frozen SD 1.5 (stage 2).

Torch and the hub libraries load only when the generator fits, so registering the name stays cheap.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, fields
from typing import Annotated, Iterator

import numpy as np

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, files_fingerprint, sha256_text
from bench.core.pairset import Pair, PairSet
from bench.core.params import OneOf, Range
from bench.core.paths import cache_dir, weights_dir
from bench.core.progress import progress as progress_bar
from generators.base import Generator, backgrounds, defect_pairs
from generators.defectsynth.config import (
    CHOICES,
    PROFILE_NAMES,
    PROFILES,
    READING_NAMES,
    READINGS,
    WEIGHTS_FILES,
    WEIGHTS_FOLDER,
    WEIGHTS_SOURCE,
    check_geometry,
    model_key,
    resolve,
    sd_folder,
)
from generators.hmi import HMIMaskSource
from generators.registry import GENERATORS

DEVICES = ("auto", "cpu", "cuda")
PROMPT = "a {category} with {defect} defects"  # the released prompt list's form: "A bottle with large broken defects"
NORMAL_PROMPT = "a {category}"  # stand-in pretraining caption of a normal image
PUBLISHED_SCALE = PROFILES.get("paper")[0]  # IV-A4 and the released train.py agree: SD 1.5, 512 px, 2000 epochs, batch 2, lr 1e-5
# How a scale field that departs from the published one reads in a label.
SCALE_WORDS = {
    "resolution": lambda v, p: f"{v} px, not {p}",
    "epochs": lambda v, p: f"{v} ControlNet epochs, not {p}",
    "batch_size": lambda v, p: f"ControlNet batch {v}, not {p}",
    "lr": lambda v, p: f"lr {v:g}, not {p:g}",
}
# What the released reading does that bench does not, whatever the settings (docs/defectsynth.md).
RELEASED_ONLY = (
    "one ControlNet per category on the split's training pairs, not one on every MVTec defect image",
    "SAE reference drawn at random, not the mask's own source image",
)


def _choice(name: str):
    return Annotated[str | None, OneOf(*CHOICES[name])]


@GENERATORS.register
class DefectSynth(Generator):
    """DefectSynth: HMI masks, then a ControlNet fine-tuned on frozen Stable Diffusion 1.5 with SAE and SFF."""

    name = "defectsynth"
    schedule_profiles = {"short": "toy", "cpu": "toy"}  # the default `bench run` schedule on a CPU: the toy profile
    kind = "learned"
    version = "2"  # the paper reading generates onto a normal picture (blend=paper); version 1 generated whole pictures
    needs_training = True
    needs_weights = False  # only its sd15 profiles (short, paper, released) read weights: expected_weights() lists them

    @classmethod
    def expected_weights(cls) -> list[dict]:
        root = weights_dir()
        try:
            present = bool(sd_folder())
        except BenchError:
            present = False
        parts = ", ".join(sorted({f.split("/")[0] for f in WEIGHTS_FILES}))
        return [{
            "file": WEIGHTS_FOLDER,
            "present": present,
            "used_by": "defectsynth (profiles short, paper, released)",
            "path": str(root / WEIGHTS_FOLDER) if root else f"$BENCH_WEIGHTS/{WEIGHTS_FOLDER}",
            "source": f"{WEIGHTS_SOURCE} (diffusers format: {parts})",
        }]

    def __init__(
        self,
        profile: Annotated[str, OneOf(*PROFILE_NAMES)] = "paper",
        reading: Annotated[str | None, OneOf(*READING_NAMES)] = None,
        resolution: Annotated[int | None, Range(16, 2048)] = None,
        epochs: Annotated[int | None, Range(1, 100_000)] = None,
        lr: Annotated[float | None, Range(0, 1, low_open=True)] = None,
        beta_schedule: _choice("beta_schedule") = None,
        steps: Annotated[int | None, Range(1, 1000)] = None,
        eta: Annotated[float | None, Range(0, 1)] = None,
        guidance: Annotated[float | None, Range(1, 50)] = None,
        sae: _choice("sae") = None,
        sff: _choice("sff") = None,
        sff_batch: Annotated[int | None, Range(1, 16)] = None,
        blend: _choice("blend") = None,
        hist_match: Annotated[float | None, Range(0, 1)] = None,
        hmi: _choice("hmi") = None,
        tau: Annotated[float | None, Range(0, 1)] = None,
        hmi_frames: Annotated[int | None, Range(1, 100)] = None,
        prompt: str = PROMPT,
        device: Annotated[str, OneOf(*DEVICES)] = "auto",
    ):
        """``profile`` sets the scale and, unless ``reading`` is given, the reading; every other ``None`` keeps
        the profile's value (``settings()`` lists them all)."""
        overrides = dict(
            resolution=resolution, epochs=epochs, lr=lr, beta_schedule=beta_schedule, steps=steps, eta=eta,
            guidance=guidance, sae=sae, sff=sff, sff_batch=sff_batch, blend=blend, hist_match=hist_match, hmi=hmi,
            tau=tau, hmi_frames=hmi_frames,
        )
        self.profile = profile
        self.scale, self.reading = resolve(profile, reading, overrides)
        try:
            prompt.format(category="", defect="")
        except (KeyError, IndexError, ValueError):
            raise BenchError(f"defectsynth prompt {prompt!r} may use only {{category}} and {{defect}}") from None
        self.prompt = prompt
        self.device_name = device
        self._fitted = None
        self.timings: dict[str, float] = {}  # seconds of the last fit's stages (training, or loading from the cache)

    def settings(self) -> dict:
        """Every setting this generator runs with, after profile, reading and overrides."""
        return {
            "profile": self.profile,
            "scale": asdict(self.scale),
            "reading": asdict(self.reading),
            "prompt": self.prompt,
            "device": self.device_name,
        }

    def deviations(self, train: PairSet) -> tuple[str, ...]:
        """How this run departs from the reading it names and from both published readings: the scale (the
        stand-in for SD 1.5, size, training budget), reading fields set away from the named reading, a prompt
        of its own, what the released code does that bench does not, and the resize to the pairs' size."""
        scale, reading = self.scale, self.reading
        named = READINGS.get(reading.name)
        out = ["tiny stand-in for SD 1.5, pretrained on the split"] if scale.weights != PUBLISHED_SCALE.weights else []
        out += [words(getattr(scale, k), getattr(PUBLISHED_SCALE, k)) for k, words in SCALE_WORDS.items()
                if getattr(scale, k) != getattr(PUBLISHED_SCALE, k)]
        out += [f"{f.name} {getattr(reading, f.name)}, not the {named.name} reading's {getattr(named, f.name)}"
                for f in fields(reading) if f.name != "name" and getattr(reading, f.name) != getattr(named, f.name)]
        if self.prompt != PROMPT:
            out.append(f"prompt '{self.prompt}'")
        if reading.name == "released":
            out += RELEASED_ONLY
            if reading.hmi != "image":
                out.append("latent HMI sampled by DDIM, not PNDM")
        height, width = _output_size(defect_pairs(train, self.name))
        if (height, width) != (scale.resolution, scale.resolution):
            out.append(f"{scale.resolution} px output resized to {width}x{height}")
        return tuple(out)

    def fingerprint(self) -> str:
        """The effective settings and, for real weights, the weights folder's files: part of the cache key."""
        weights = files_fingerprint(sd_folder()) if self.scale.weights == "sd15" else ""
        return sha256_text(canonical_json({"settings": self.settings(), "weights": weights}))[:20]

    def torch_device(self):
        import torch

        if self.device_name == "cuda" and not torch.cuda.is_available():
            raise BenchError("defectsynth device=cuda requested but no CUDA device is available", "use device=cpu or auto")
        return torch.device("cuda" if self.device_name != "cpu" and torch.cuda.is_available() else "cpu")

    def prompts(self, train: PairSet) -> dict[int, str]:
        category = _category(train)
        return {k: self.prompt.format(category=category, defect=v.replace("_", " ")) for k, v in train.defect_classes.items()}

    def _frozen_parts(self, train: PairSet, normals: PairSet | None, data: list, prompts: dict[int, str], device):
        """The frozen SD parts and their identity: the weights folder, or the stand-in pretrained on the split."""
        # deferred: the networks load torch, diffusers and transformers; listing generators needs none of them
        from generators.defectsynth.models import load_parts
        from generators.defectsynth.training import standin_data, train_standin

        scale, reading = self.scale, self.reading
        if scale.weights == "sd15":
            folder = sd_folder()
            return load_parts(folder, device), files_fingerprint(folder)
        clock = time.perf_counter()
        normal_prompt = NORMAL_PROMPT.format(category=_category(train))
        vocabulary = [*prompts.values(), normal_prompt, *(READINGS.get(r).prompt_suffix for r in READING_NAMES)]
        stand_in = standin_data(list(normals or []), data, normal_prompt, scale.resolution)
        key = model_key("standin", {
            "scale": scale.standin_dict(),
            "data": [train.content_hash(), normals.content_hash() if normals is not None else None],
            "prompts": sorted(vocabulary),
            "beta_schedule": reading.beta_schedule,
        })
        root = cache_dir() / "models" / "defectsynth" / f"standin-{key}"
        folder = train_standin(root, scale, stand_in, vocabulary, reading.beta_schedule, device)
        self.timings["stand_in_s"] = time.perf_counter() - clock
        return load_parts(folder, device), key

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        """Load the frozen parts (or pretrain the stand-in), fine-tune the ControlNet (or load it), set up HMI."""
        # deferred: training and sampling load torch and diffusers
        from generators.defectsynth.latent_hmi import LatentMasks
        from generators.defectsynth.sampling import Sampler
        from generators.defectsynth.training import examples, train_controlnet

        pairs = defect_pairs(train, self.name)
        scale, reading = self.scale, self.reading
        device = self.torch_device()
        prompts = self.prompts(train)
        data = examples(pairs, prompts)
        parts, base = self._frozen_parts(train, normals, data, prompts, device)
        check_geometry(scale.resolution, parts.factor, len(parts.unet.config.block_out_channels))
        key = model_key("controlnet", {
            "base": base, "training": scale.training_dict(), "beta_schedule": reading.beta_schedule,
            "prompts": [e.prompt for e in data], "data": train.content_hash(), "seed": seed,
        })
        clock = time.perf_counter()
        directory = cache_dir() / "models" / "defectsynth" / f"controlnet-{key}"
        controlnet, _ = train_controlnet(directory, parts, data, scale, reading.beta_schedule, seed)
        self.timings["controlnet_s"] = time.perf_counter() - clock
        latent = None
        if reading.hmi != "image":
            prior = "scaled-linear" if scale.weights == "sd15" else reading.beta_schedule  # what the UNet learned under
            latent = LatentMasks(parts, prior, reading.steps, reading.mask_threshold, reading.attention_mix, scale.resolution,
                                 released=reading.hmi_post == "released")
        masks = HMIMaskSource(pairs, reading.hmi_gap, reading.hmi, reading.tau, latent, reading.hmi_post)
        self._fitted = (
            Sampler(parts, controlnet, reading, scale.resolution),
            masks,
            backgrounds(train, normals),
            prompts,
            _output_size(pairs),
        )

    def trained_modules(self) -> dict:
        return {} if self._fitted is None else {"controlnet": self._fitted[0].controlnet}

    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        if self._fitted is None:
            raise BenchError("generator 'defectsynth' must be fitted before sampling", "call fit() first")
        from generators.defectsynth.sampling import Condition, finish  # deferred: sampling loads torch and diffusers

        sampler, masks, bases, prompts, size = self._fitted
        reading = self.reading
        group = reading.sff_batch
        copies = group if reading.sff_keep == "first" else 1  # released: one pair's copies fused, the first kept
        per_group = group // copies  # pairs per SFF group
        stream = masks.stream(seed, reading.hmi_frames)
        total = -(-n // per_group) * per_group  # whole groups; the extra pairs of the last one are dropped
        batch_pairs = self.scale.sample_batch * per_group
        bar = progress_bar(total=n, desc="defectsynth sampling", unit="pair", leave=False)
        for start in range(0, total, batch_pairs):
            indices = range(start, min(total, start + batch_pairs))
            conditions, drawn, labels = [], [], []
            for index in indices:
                hmi = next(stream)  # the index-th mask of the seed's stream
                rng = np.random.default_rng([seed, index, 1])
                background = bases[rng.integers(len(bases))]
                sources = masks.by_class[hmi.class_id]
                reference = sources[rng.integers(len(sources))]
                drawn.append(hmi)
                labels.append(background.mask)
                for copy in range(copies):
                    conditions.append(Condition(hmi.shape, background.image, reference, prompts[hmi.class_id], (seed, index, copy)))
            sff_seeds = [(seed, start // per_group + k, 2) for k in range(len(conditions) // group)]
            images = sampler.images(conditions, group, sff_seeds)
            for k, (index, hmi) in enumerate(zip(indices, drawn)):
                if index >= n:
                    continue
                image = finish(images[k * copies : (k + 1) * copies], conditions[k * copies].background, reading.hist_match, size)
                # a blended background shows through with its own labels (training images stand in for missing normals)
                mask = _resized(labels[k], size, np.uint8) if reading.blend != "off" else np.zeros(size, np.uint8)
                mask[_resized(hmi.shape, size, bool)] = hmi.class_id
                bar.update(1)
                yield Pair(f"defectsynth_{seed}_{index:05d}", image, mask, group="synthetic")
        bar.close()


def _category(train: PairSet) -> str:
    """The product's name for the prompt: the pool's category, or a neutral word for sets without one."""
    return (train.meta.get("source") or {}).get("category") or "object"


def _output_size(pairs: list[Pair]) -> tuple[int, int]:
    """The training pairs' most common (height, width): the size generated pairs are resized to."""
    return Counter(p.image.shape[:2] for p in pairs).most_common(1)[0][0]


def _resized(mask: np.ndarray, size: tuple[int, int], dtype) -> np.ndarray:
    """A mask (boolean or class ids) at ``size``, nearest neighbour."""
    import cv2

    if mask.shape == tuple(size):
        return mask.astype(dtype)
    return cv2.resize(mask.astype(np.uint8), size[::-1], interpolation=cv2.INTER_NEAREST).astype(dtype)
