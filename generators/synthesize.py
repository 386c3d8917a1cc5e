"""Run a generator against a task's training data, with a cache keyed by everything that shapes its output."""

from __future__ import annotations

import logging

from bench.pairset import PairSet, canonical_json, sha256_text, write_pairset
from bench.paths import cache_dir
from generators.base import GeneratorSpec, build

log = logging.getLogger("bench.generate")


def cache_key(spec: GeneratorSpec, train: PairSet, normals: PairSet | None, n: int, seed: int) -> str:
    return sha256_text(
        canonical_json(
            {
                "generator": spec.to_dict(),
                "train": train.content_hash(),
                "normals": normals.content_hash() if normals is not None else None,
                "n": n,
                "seed": seed,
            }
        )
    )[:20]


def synthesize(
    spec: GeneratorSpec, train: PairSet, normals: PairSet | None, n: int, seed: int, progress: bool = False
) -> tuple[PairSet, bool]:
    """The generated pair set and whether it came from the cache."""
    target = cache_dir() / "generated" / spec.name / cache_key(spec, train, normals, n, seed)
    if (target / "meta.json").is_file():
        log.info("generator cache hit: %s", target)
        return PairSet.open(target), True
    generator = build(spec)
    generator.fit(train, normals, seed)
    source = {"generator": spec.to_dict(), "train": train.content_hash(), "n": n}
    pairs = generator.sample(n, seed)
    return write_pairset(target, pairs, train.classes, source, seed=seed, progress=progress), False
