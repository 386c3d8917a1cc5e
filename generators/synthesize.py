"""Run a generator against a task's training data, with a cache keyed by everything that shapes its output.

The key is the generator spec (name + parameters), the content hashes of the training pairs and
normals, n, the seed, and the generator's fingerprint of outside inputs (an import folder's files, a
transfer source's pairs). Pairs of other tasks a generator learns from are loaded by the caller and
handed in as ``sources``.
Every generated set gets a sanity report (``sanity.json``, see generators/sanity.py) next to its pairs.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.pairset import Pair, PairSet, write_pairset
from bench.core.paths import cache_dir
from bench.core.specs import GeneratorSpec, TaskRef
from generators.base import Generator
from generators.registry import build, source_tasks
from generators.sanity import sanity_report, write_report

log = logging.getLogger("bench.generate")

SANITY_FILE = "sanity.json"


def cache_key(
    spec: GeneratorSpec, train: PairSet, normals: PairSet | None, n: int, seed: int, fingerprint: str = ""
) -> str:
    key = {
        "generator": spec.to_dict(),
        "train": train.content_hash(),
        "normals": normals.content_hash() if normals is not None else None,
        "n": n,
        "seed": seed,
    }
    if fingerprint:
        key["inputs"] = fingerprint
    return sha256_text(canonical_json(key))[:20]


def cache_path(spec: GeneratorSpec, generator: Generator, train: PairSet, normals: PairSet | None, n: int, seed: int) -> Path:
    folder = spec.name.replace(":", "-")  # "import:seas" -> a portable folder name
    return cache_dir() / "generated" / folder / cache_key(spec, train, normals, n, seed, generator.fingerprint())


def synthesize(
    spec: GeneratorSpec,
    train: PairSet,
    normals: PairSet | None,
    n: int,
    seed: int,
    progress: bool = False,
    sources: Mapping[TaskRef, PairSet] | None = None,
) -> tuple[PairSet, bool]:
    """The generated pair set and whether it came from the cache. ``sources``: the training pairs of the
    tasks the generator's ``Task`` parameters name (``source_tasks(spec)``)."""
    t0 = time.perf_counter()
    generator = build(spec)
    sources = sources or {}
    missing = [str(task) for task in source_tasks(spec) if task not in sources]
    if missing:
        raise BenchError(f"generator '{spec.name}' learns from {', '.join(missing)}, which was not loaded", "load it and pass it in sources")
    generator.use_sources(sources)
    target = cache_path(spec, generator, train, normals, n, seed)
    if (target / "meta.json").is_file():
        log.info("generator cache hit: %s (%.3f s)", target, time.perf_counter() - t0)
        return PairSet.open(target), True
    log.info("generator cache miss: %s %s n=%d seed=%d", spec, target.name, n, seed)
    generator.fit(train, normals, seed)
    source = {"generator": spec.to_dict(), "train": train.content_hash(), "n": n}
    pairs = _exactly(generator.sample(n, seed), n, spec.name)
    generated = write_pairset(target, pairs, train.classes, source, seed=seed, progress=progress)
    write_report(sanity_report(generated, train, progress=progress), target / SANITY_FILE)
    log.info("generated %d pairs in %.2f s -> %s", len(generated), time.perf_counter() - t0, target)
    return generated, False


def read_sanity(generated: PairSet) -> dict | None:
    """The sanity report stored with a generated set, if it has one."""
    path = generated.root / SANITY_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def _exactly(pairs: Iterable[Pair], n: int, name: str) -> Iterator[Pair]:
    """Pass pairs through; a generator that yields a different count fails before its set is cached."""
    count = 0
    for pair in pairs:
        count += 1
        if count > n:
            raise BenchError(f"generator '{name}' produced more than the {n} pairs asked for")
        yield pair
    if count < n:
        raise BenchError(f"generator '{name}' produced {count} pairs, {n} were asked for")
