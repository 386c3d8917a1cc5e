"""The ``defectdiffu`` generator: fit the DiT once per (settings, data, seed), sample many times.

torch and the hub libraries are imported only when the generator fits, so listing generators stays cheap.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict
from typing import Annotated, Iterator

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.jsonfile import write_json_atomic
from bench.core.pairset import NORMAL_GROUP, Pair, PairSet
from bench.core.params import OneOf, Range, check_params
from bench.core.paths import cache_dir
from generators.base import Generator
from generators.defectdiffu import weights
from generators.defectdiffu.config import (
    BETA_END,
    BETA_START,
    GOOD,
    GUIDANCE_NAMES,
    LAMBDA,
    LATENT_CHANNELS,
    MASK_BELOW,
    NAMINGS,
    PROFILE_NAMES,
    PROFILES,
    R_RANGE,
    READING_NAMES,
    READINGS,
    TIMESTEPS,
    model_key,
    prompt_names,
    prompts,
    weight_users,
)
from generators.registry import GENERATORS

DEVICES = ("auto", "cpu", "cuda")
FALLBACK_PRODUCT = "product"  # the product word when the training set does not name its category


@GENERATORS.register
class DefectDiffu(Generator):
    """DefectDiffu: a DiT with text-conditioned background / defect / fusion blocks, double-free guidance and a mask head."""

    name = "defectdiffu"
    aliases = ("defect-diffu",)
    schedule_profiles = {"short": "toy"}  # the default `bench run` schedule on a CPU: the toy profile
    kind = "learned"
    needs_training = True

    def __init__(
        self,
        profile: Annotated[str, OneOf(*PROFILE_NAMES)] = "toy",
        reading: Annotated[str | None, OneOf(*READING_NAMES)] = None,
        guidance: Annotated[str | None, OneOf(*GUIDANCE_NAMES)] = None,
        scales: tuple = (0.5, 1.0, 1.5, 2.0, 2.5),
        w_p: Annotated[float, Range(0, None)] = 1.0,
        steps: Annotated[int | None, Range(1, TIMESTEPS)] = None,
        names: Annotated[str, OneOf(*NAMINGS)] = "unified",
        device: Annotated[str, OneOf(*DEVICES)] = "auto",
    ):
        values = dict(profile=profile, reading=reading, guidance=guidance, scales=scales, w_p=w_p, steps=steps, names=names, device=device)
        check_params(f"generator '{self.name}'", self.declared(), values)
        if not scales or not all(isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s) and s >= 0 for s in scales):
            raise BenchError(f"generator '{self.name}': scales={scales!r} must be a non-empty list of numbers >= 0", "e.g. scales=[1.0, 2.0]")
        self.profile = PROFILES.get(profile)
        self.reading = READINGS.get(reading or self.profile.reading)
        self.guidance_name = guidance or self.reading.guidance
        self.scales = tuple(float(s) for s in scales)
        self.w_p = float(w_p)
        self.steps = steps or self.profile.steps or self.reading.steps
        self.names = names
        self.device_name = device
        if self.profile.weights:
            weights.require(self.profile.weights, self.profile.name)  # before any data is read or trained on
        self._state: dict = {}

    @classmethod
    def expected_weights(cls) -> list[dict]:
        return weights.listing(weight_users())

    # --- settings -------------------------------------------------------------------------------
    def settings(self) -> dict:
        """Every effective setting: the profile and reading in full, the sampler and the constants."""
        return {
            "profile": asdict(self.profile),
            "reading": asdict(self.reading),
            "guidance": self.guidance_name,
            "scales": list(self.scales),
            "w_p": self.w_p,
            "steps": self.steps,
            "names": self.names,
            "device": self.device_name,
            "schedule": {"betas": "linear", "beta_start": BETA_START, "beta_end": BETA_END, "timesteps": TIMESTEPS},
            "sampler": "DDPM ancestral, linspace respacing (diffusers DDPMScheduler)",
            "variance": "learned_range" if self.reading.learn_sigma else "fixed_large",
            "lambda": LAMBDA,
            "r_range": list(R_RANGE),
            "mask_below": MASK_BELOW,
            "mask_threshold": "iterative (isodata), grey = 0.299 R + 0.587 G + 0.114 B",
        }

    def fingerprint(self) -> str:
        """The effective settings and the weight files, so the generation cache follows what actually runs."""
        return sha256_text(canonical_json({"settings": self.settings(), "weights": weights.fingerprint(self.profile.weights)}))[:20]

    def _device(self):
        import torch

        if self.device_name == "cuda" and not torch.cuda.is_available():
            raise BenchError(f"{self.name} device=cuda requested but no CUDA device is available", "use device=cpu or auto")
        return torch.device("cuda" if self.device_name != "cpu" and torch.cuda.is_available() else "cpu")

    # --- fit ------------------------------------------------------------------------------------
    def _defect_types(self, train: PairSet) -> tuple[list, dict[int, str]]:
        """Training items of the defect pairs and class id -> prompt word (the pair's dominant class,
        named after the defect type it was filed under, else its class name)."""
        import numpy as np

        from generators.defectdiffu.training import Item  # deferred: training loads torch

        pairs = [p for p in train if p.mask.any()]
        if not pairs:
            raise BenchError(f"generator '{self.name}' needs training pairs with defects; {train.root} has none")
        dominant = [int(np.bincount(p.mask[p.mask > 0]).argmax()) for p in pairs]
        filed: dict[int, Counter] = {}
        for pair, class_id in zip(pairs, dominant):
            filed.setdefault(class_id, Counter())[pair.group if pair.group and pair.group != NORMAL_GROUP else train.classes[class_id]] += 1
        words = prompt_names({k: c.most_common(1)[0][0] for k, c in sorted(filed.items())}, self.names)
        items = [Item(p.image, p.mask > 0, words[k]) for p, k in zip(pairs, dominant)]
        return items, words

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        """Train (or load from the model cache) the DiT on the defect pairs, and the normals as ``good``
        where the reading trains on them."""
        import numpy as np
        import torch

        # deferred: the networks load torch; listing generators needs none of it
        from generators.defectdiffu.dit import DiT, DiTConfig, load_public_dit, read_checkpoint
        from generators.defectdiffu.text import BANK, TextBank, build_bank
        from generators.defectdiffu.training import Item, encode_items, load_checkpoint, pictures, train_dit
        from generators.defectdiffu.vae import fit_tiny_vae, pretrained_vae

        profile, reading = self.profile, self.reading
        device = self._device()
        items, words = self._defect_types(train)
        data_hashes = [train.content_hash()]
        if reading.normals:
            extra = [p for p in train if not p.mask.any()] + (list(normals) if normals is not None else [])
            items += [Item(p.image, np.zeros(p.mask.shape, bool), GOOD) for p in extra]
            data_hashes.append(normals.content_hash() if normals is not None else None)
        product = (train.meta.get("source") or {}).get("category") or FALLBACK_PRODUCT
        texts = sorted({text for word in [*words.values(), GOOD] for p in (product, None) for text in prompts(word, p)})
        key = model_key(profile, reading, sha256_text(canonical_json(data_hashes)), texts, weights.fingerprint(profile.weights), seed)
        directory = cache_dir() / "models" / "defectdiffu" / key
        directory.mkdir(parents=True, exist_ok=True)
        write_json_atomic(directory / "settings.json", {**self.settings(), "prompts": texts, "seed": seed})

        if profile.vae == "tiny":
            images, mask_images, _ = pictures(items, profile.resolution)
            vae = fit_tiny_vae(profile, torch.cat([images, mask_images]), seed, device, directory / "vae")
        else:
            vae = pretrained_vae(profile)
        vae = vae.to(device)
        bank = TextBank.load(directory / BANK)
        if bank is None:
            bank = build_bank(profile, texts, seed)
            bank.save(directory / BANK)

        factor = 2 ** (len(vae.config.block_out_channels) - 1)
        latent = profile.resolution // factor
        if latent % profile.patch:
            raise BenchError(f"defectdiffu profile '{profile.name}': latent side {latent} is not a multiple of patch {profile.patch}")
        config = DiTConfig(
            input_size=latent, patch_size=profile.patch, in_channels=LATENT_CHANNELS, hidden_size=profile.hidden,
            num_heads=profile.heads, blocks=profile.blocks, text_dim=bank.text_dim, context_dim=bank.context_dim,
            context=reading.context, learn_sigma=reading.learn_sigma, gelu=reading.gelu,
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = DiT(config)
        iterations = profile.epochs * max(1, len(items) // profile.batch_size)
        checkpoint = load_checkpoint(directory)
        if checkpoint is None and profile.dit:
            path = weights.root() / profile.dit
            load_public_dit(model, read_checkpoint(path), str(path))
        model = model.to(device)
        if checkpoint is not None and checkpoint["step"] >= iterations and checkpoint["config"] == asdict(config):
            model.load_state_dict(checkpoint["model"])
        else:
            data = encode_items(vae, items, profile.resolution, profile.patch, device, sample=profile.vae != "tiny")
            train_dit(
                directory, model, data, bank, reading, product, iterations, profile.batch_size, profile.lr,
                profile.weight_decay, profile.checkpoint_every, seed, device,
            )
        sizes = Counter(p.image.shape[:2] for p in train if p.mask.any())
        self._state = {
            "model": model.eval(), "vae": vae, "bank": bank, "product": product,
            "types": sorted(words.items()), "size": sizes.most_common(1)[0][0],
        }

    def trained_modules(self) -> dict:
        return {name: self._state[name] for name in ("model", "vae")} if self._state else {}

    # --- sample ---------------------------------------------------------------------------------
    def condition_of(self, index: int) -> tuple[int, str, float]:
        """Pair ``index``'s (class id, defect word, strength scale): types cycle fastest, then scales."""
        types = self._state["types"]
        class_id, word = types[index % len(types)]
        return class_id, word, self.scales[(index // len(types)) % len(self.scales)]

    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        if not self._state:
            raise BenchError(f"generator '{self.name}' must be fitted before sampling", "call fit() first")
        import cv2
        import numpy as np
        import torch

        # deferred: sampling loads torch
        from generators.defectdiffu.guidance import GUIDANCES
        from generators.defectdiffu.sampling import binarize, denoise, sample_generators

        state = self._state
        model = state["model"]
        device = next(model.parameters()).device
        guidance = GUIDANCES.get(self.guidance_name)
        height, width = state["size"]
        for start in range(0, n, self.profile.sample_batch):
            indices = range(start, min(n, start + self.profile.sample_batch))
            chosen = [self.condition_of(i) for i in indices]
            images, masks = denoise(
                model, state["vae"], state["bank"], guidance, self.reading, self.steps,
                [word for _, word, _ in chosen], state["product"], torch.tensor([s for _, _, s in chosen]),
                self.w_p, sample_generators(seed, indices), device,
            )
            pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
            for index, picture, defect, (class_id, _, _) in zip(indices, pixels, binarize(masks), chosen):
                image = cv2.resize(np.ascontiguousarray(picture), (width, height), interpolation=cv2.INTER_LINEAR)
                mask = cv2.resize(defect.astype(np.uint8) * np.uint8(class_id), (width, height), interpolation=cv2.INTER_NEAREST)
                yield Pair(f"{self.name}_{seed}_{index:05d}", image, mask, group="synthetic")
