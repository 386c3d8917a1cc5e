"""The ``defectdiffu`` generator: fit the DiT once per (settings, data, seed), sample many times.

One model learns every product it is handed (``training``): the run's own, the products of its dataset it
is co-trained with (``cotrained_tasks``, ``use_sources``) and, in a transfer, the target product of the
normals. Sampling conditions on the product of the normals, so a transfer is the paper's eq. 12: the
target's product prompt with the source's defect prompts.

torch and the hub libraries are imported only when the generator fits, so listing generators stays cheap.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, replace
from typing import Annotated, Any, Callable, Iterator, Mapping, Sequence

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.jsonfile import write_json_atomic
from bench.core.pairset import NORMAL_GROUP, Pair, PairSet
from bench.core.params import OneOf, Range, check_params
from bench.core.paths import cache_dir
from bench.core.specs import TaskRef
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
    MASK_FLOOR,
    NAMINGS,
    PROFILE_NAMES,
    PROFILES,
    R_RANGE,
    READING_NAMES,
    READINGS,
    TIMESTEPS,
    TRAININGS,
    model_key,
    prompt_names,
    prompts,
    weight_users,
)
from generators.registry import GENERATORS

DEVICES = ("auto", "cpu", "cuda")
FALLBACK_PRODUCT = "product"  # the product word when the training set does not name its category
DEFAULT_PROFILE = "toy"
# What both sources train and sample at, for the deviations: the released code's DiT-XL/2 and budget (the paper
# gives none and the paper profile takes them), the paper's 512 px and the released 256 px.
REFERENCE = PROFILES.get("paper")
SIDES = {"paper": 512, "released": 256}


def product_of(pairs: PairSet) -> str:
    """The product a pair set shows: the category its pool was imported from."""
    return (pairs.meta.get("source") or {}).get("category") or FALLBACK_PRODUCT


@dataclass(frozen=True)
class Entry:
    """One training picture of one product, by its pair set and id; ``hash`` is its content."""

    product: str
    hash: str
    pairs: PairSet
    pair_id: str


@GENERATORS.register
class DefectDiffu(Generator):
    """DefectDiffu: a DiT with text-conditioned background / defect / fusion blocks, double-free guidance and a mask head."""

    name = "defectdiffu"
    aliases = ("defect-diffu",)
    schedule_profiles = {"short": "toy", "cpu": "toy"}  # the default `bench run` schedule on a CPU: the toy profile
    kind = "learned"
    needs_training = True
    # 2: one model over several products (training=cross-product), every picture under its own product's prompt,
    # eq. 12 for a transfer, and an empty mask where the mask head reads no defect anywhere (MASK_FLOOR)
    version = "2"
    transfers = "eq. 12: the target product's prompt with the source's defect prompts, the target's normals learned as good"

    def __init__(
        self,
        profile: Annotated[str, OneOf(*PROFILE_NAMES)] = "toy",
        reading: Annotated[str | None, OneOf(*READING_NAMES)] = None,
        guidance: Annotated[str | None, OneOf(*GUIDANCE_NAMES)] = None,
        scales: tuple = (0.5, 1.0, 1.5, 2.0, 2.5),
        w_p: Annotated[float, Range(0, None)] = 1.0,
        steps: Annotated[int | None, Range(1, TIMESTEPS)] = None,
        names: Annotated[str, OneOf(*NAMINGS)] = "unified",
        training: Annotated[str | None, OneOf(*TRAININGS)] = None,
        device: Annotated[str, OneOf(*DEVICES)] = "auto",
    ):
        values = dict(profile=profile, reading=reading, guidance=guidance, scales=scales, w_p=w_p, steps=steps, names=names,
                      training=training, device=device)
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
        self.training = training or self.profile.training
        self.device_name = device
        if self.profile.weights:
            weights.require(self.profile.weights, self.profile.name)  # before any data is read or trained on
        self._sources: dict[TaskRef, PairSet] = {}
        self._state: dict = {}

    @classmethod
    def _resolved(cls, params: Mapping[str, Any], key: str) -> str:
        """A parameter that defaults to its profile's value (``reading``, ``training``), from checked parameters."""
        return params.get(key) or getattr(PROFILES.get(params.get("profile") or DEFAULT_PROFILE), key)

    @classmethod
    def transfer_method(cls, params: Mapping[str, Any]) -> str:
        """Eq. 12 needs a model that learned the target's normals; the released reading trains on defect pairs only."""
        return cls.transfers if READINGS.get(cls._resolved(params, "reading")).normals else ""

    @classmethod
    def cotrained_tasks(cls, params: Mapping[str, Any], task: TaskRef, categories: Callable[[], Sequence[str]]) -> tuple[TaskRef, ...]:
        """Cross-product: every category of the task's dataset under the task's split; per product: the task alone
        (in a transfer, the source, whose normals the model learns with its defects)."""
        if cls._resolved(params, "training") == "per-product":
            return (task,)
        return tuple(replace(task, category=category) for category in sorted(categories()))  # at the task's picture size

    def use_sources(self, sources: Mapping[TaskRef, PairSet]) -> None:
        self._sources = dict(sources)

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
            "training": self.training,
            "products": sorted({ref.category for ref in self._sources}),
            "device": self.device_name,
            "schedule": {"betas": "linear", "beta_start": BETA_START, "beta_end": BETA_END, "timesteps": TIMESTEPS},
            "sampler": "DDPM ancestral, linspace respacing (diffusers DDPMScheduler)",
            "variance": "learned_range" if self.reading.learn_sigma else "fixed_large",
            "lambda": LAMBDA,
            "r_range": list(R_RANGE),
            "mask_below": MASK_BELOW,
            "mask_floor": MASK_FLOOR,
            "mask_threshold": f"iterative (isodata), grey = 0.299 R + 0.587 G + 0.114 B; empty where no pixel reaches {MASK_FLOOR:g}",
        }

    def fingerprint(self) -> str:
        """The effective settings, the weight files and the co-trained products' pairs, so the generation cache
        follows what actually runs."""
        sources = {str(ref): pairs.content_hash() for ref, pairs in sorted(self._sources.items(), key=lambda kv: str(kv[0]))}
        return sha256_text(canonical_json({"settings": self.settings(), "weights": weights.fingerprint(self.profile.weights),
                                           **({"sources": sources} if sources else {})}))[:20]

    def shared_fitting(self, train: PairSet, normals: PairSet | None, seed: int) -> str:
        """One model over every product: the runs of each product wait on one lock (training fields, data, seed)."""
        if self.training != "cross-product":
            return ""
        data = {product: sorted(e.hash for e in entries) for product, entries in self._entries(train, normals).items()}
        reading = {k: v for k, v in asdict(self.reading).items() if k not in ("guidance", "guided_channels", "mask_average", "steps")}
        return sha256_text(canonical_json({"profile": self.profile.training_dict(), "reading": reading, "names": self.names,
                                           "data": data, "seed": seed}))[:20]

    def deviations(self, train: PairSet) -> tuple[str, ...]:
        """Where this run departs from the reading it follows (the paper, or the released code) and from both,
        a few words each (docs/defectdiffu.md gives each against its sources): one model per product, the
        self-contained profiles' sizes, networks and budget, the sampling steps, guidance or names changed from
        the reading's, the empty-mask floor, a resize to the pairs' size, bf16 on CUDA and, in the released
        reading, shuffled batches and a CLIP text encoder other than RN50."""
        p, r, ref = self.profile, self.reading, REFERENCE
        names = "unified" if r.name == "paper" else "original"  # Supplementary Table 2; the release prompts its folder names
        checks = [
            (self.training == "per-product", "per-product model"),
            (p.resolution != SIDES[r.name], f"{p.resolution} px"),
            ((p.hidden, p.blocks, p.patch) != (ref.hidden, ref.blocks, ref.patch),
             f"DiT {p.hidden} wide, {'+'.join(map(str, p.blocks))} blocks, patch {p.patch}"),
            (p.dit is None, "random-init DiT"),
            (p.vae == "tiny", "tiny fitted VAE"),
            (p.text == "tiny", "tiny random text encoder"),
            (p.text != "tiny" and r.name == "released", "CLIP text encoder, not RN50"),
            ((p.epochs, p.batch_size, p.lr) != (ref.epochs, ref.batch_size, ref.lr),
             f"{p.epochs} epochs, batch {p.batch_size}, lr {p.lr:g}"),
            (p.weight_decay != ref.weight_decay, f"weight decay {p.weight_decay:g}"),
            (self.steps != r.steps, f"{self.steps} steps"),
            (self.guidance_name != r.guidance, f"{self.guidance_name} guidance"),
            (self.names != names, f"{self.names} defect names"),
            (True, f"empty mask below grey {MASK_FLOOR:g}"),
            (r.name == "released", "shuffled batches"),
        ]
        out = [text for applies, text in checks if applies]
        sizes = Counter(train.image(i).shape[:2] for i in train.ids)
        if sizes:
            height, width = sizes.most_common(1)[0][0]
            if (height, width) != (p.resolution, p.resolution):
                out.append(f"resized {p.resolution} px <-> {width}x{height}")
        if self._device().type == "cuda":
            out.append("bf16 autocast")
        return tuple(out)

    def _device(self):
        import torch

        if self.device_name == "cuda" and not torch.cuda.is_available():
            raise BenchError(f"{self.name} device=cuda requested but no CUDA device is available", "use device=cpu or auto")
        return torch.device("cuda" if self.device_name != "cpu" and torch.cuda.is_available() else "cpu")

    # --- fit ------------------------------------------------------------------------------------
    def _entries(self, train: PairSet, normals: PairSet | None) -> dict[str, list[Entry]]:
        """Every picture the model learns, per product (sorted), each once and in content order: the training
        pairs, the co-trained products' pairs and normals, and the normals (a transfer's target product). A
        model over several products is then the same whichever product's run fits it."""
        sets = [train, *(pairs for _, pairs in sorted(self._sources.items(), key=lambda kv: str(kv[0])))]
        if normals is not None:
            sets.append(normals)
        found: dict[str, dict[str, Entry]] = {}
        for pairs in sets:
            product = product_of(pairs)
            for pair_id in pairs.ids:
                digest = pairs.hash(pair_id)
                found.setdefault(product, {}).setdefault(digest, Entry(product, digest, pairs, pair_id))
        return {product: sorted(found[product].values(), key=lambda e: e.hash) for product in sorted(found)}

    def _words(self, pairs: Sequence) -> dict[int, str]:
        """Class id -> prompt word for one product's defect pairs (pair, class map): the pair's dominant class,
        named after the defect type it was filed under, else its class name."""
        import numpy as np

        filed: dict[int, Counter] = {}
        for pair, classes, group in pairs:
            class_id = int(np.bincount(pair.mask[pair.mask > 0]).argmax())
            filed.setdefault(class_id, Counter())[group if group and group != NORMAL_GROUP else classes[class_id]] += 1
        return prompt_names({k: c.most_common(1)[0][0] for k, c in sorted(filed.items())}, self.names)

    def _items(self, train: PairSet, normals: PairSet | None) -> tuple[list, dict[str, dict[int, str]], str]:
        """The training items of every product (defect pairs, then normals as ``good`` where the reading trains
        on them), each product's class id -> defect word, and a hash of what the items are."""
        import numpy as np

        from generators.defectdiffu.training import Item  # deferred: training loads torch

        items, words, listed = [], {}, []
        for product, entries in self._entries(train, normals).items():
            loaded = [(e, e.pairs.pair(e.pair_id)) for e in entries]
            defects = [(e, p) for e, p in loaded if p.mask.any()]
            kept = defects + ([(e, p) for e, p in loaded if not p.mask.any()] if self.reading.normals else [])
            words[product] = self._words([(p, e.pairs.classes, e.pairs.group(e.pair_id)) for e, p in defects])
            for e, pair in kept:
                word = words[product][int(np.bincount(pair.mask[pair.mask > 0]).argmax())] if pair.mask.any() else GOOD
                items.append(Item(pair.image, pair.mask > 0, word, product))
                listed.append([product, word, e.hash])
        return items, words, sha256_text(canonical_json(listed))

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        """Train (or load from the model cache) the DiT on the defect pairs of every product it is handed, and
        their normals as ``good`` where the reading trains on them; sample the product of the normals."""
        import torch

        # deferred: the networks load torch; listing generators needs none of it
        from generators.defectdiffu.dit import DiT, DiTConfig, load_public_dit, read_checkpoint
        from generators.defectdiffu.text import BANK, TextBank, build_bank
        from generators.defectdiffu.training import encode_items, load_checkpoint, pictures, train_dit
        from generators.defectdiffu.vae import fit_tiny_vae, pretrained_vae

        profile, reading = self.profile, self.reading
        if self.training == "cross-product" and product_of(train) not in {ref.category for ref in self._sources}:
            raise BenchError(f"defectdiffu training=cross-product learns every product of the dataset, but {product_of(train)}'s "
                             "were not handed over", "run it through bench run, bench generate or a protocol, or use training=per-product")
        device = self._device()
        own = product_of(train)
        target = product_of(normals) if normals is not None and len(normals) else own
        items, words, data_hash = self._items(train, normals)
        if not words.get(own):
            raise BenchError(f"generator '{self.name}' needs training pairs with defects; {train.root} has none")
        products = sorted(words)
        every_word = sorted({w for ws in words.values() for w in ws.values()} | {GOOD})
        texts = sorted({text for word in every_word for p in [*products, None] for text in prompts(word, p)})
        key = model_key(profile, reading, data_hash, texts, weights.fingerprint(profile.weights), seed)
        directory = cache_dir() / "models" / "defectdiffu" / key
        directory.mkdir(parents=True, exist_ok=True)
        write_json_atomic(directory / "settings.json", {**self.settings(), "products": products, "prompts": texts, "seed": seed})

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
                directory, model, data, bank, reading, iterations, profile.batch_size, profile.lr,
                profile.weight_decay, profile.checkpoint_every, seed, device,
            )
        sizes = Counter(train.image(i).shape[:2] for i in train.ids if train.mask(i).any())
        self._state = {
            "model": model.eval(), "vae": vae, "bank": bank, "product": target,
            "types": sorted(words[own].items()), "size": sizes.most_common(1)[0][0],
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
