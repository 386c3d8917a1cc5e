"""Run a generator against a task's training data, with a cache keyed by everything that shapes its output.

The key is the generator spec (name + parameters), the backend's version once past its first, the content
hashes of the training pairs and normals, n, the seed (and the fitting seed where it differs), and the
generator's fingerprint of outside inputs (an import folder's files, a transfer source's pairs). Pairs of other tasks a generator learns from are
loaded by the caller and handed in as ``sources``.
Every generated set gets a sanity report (``sanity.json``, see generators/sanity.py) next to its pairs.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.pairset import Pair, PairSet, write_pairset
from bench.core.paths import cache_dir
from bench.core.specs import BASE_VERSION, GeneratorSpec, TaskRef
from generators.base import Generator
from generators.registry import build, source_tasks
from generators.sanity import degenerate_masks, sanity_report, write_report
from generators.state import state_digest

log = logging.getLogger("bench.generate")

SANITY_FILE = "sanity.json"
FITTED_STATE = "fitted_state"  # the generated set's meta: the digest of the networks that made it (generators.state)
SPACE_MARGIN = 256 * 2**20  # room left for the pool caches, models and records beside the generated set


def cache_key(
    spec: GeneratorSpec, train: PairSet, normals: PairSet | None, n: int, seed: int, fingerprint: str = "",
    version: str = BASE_VERSION, fit_seed: int | None = None,
) -> str:
    key = {
        "generator": spec.to_dict(),
        "train": train.content_hash(),
        "normals": normals.content_hash() if normals is not None else None,
        "n": n,
        "seed": seed,
    }
    if fit_seed is not None and fit_seed != seed:  # sets fitted at their sampling seed keep their keys
        key["fit_seed"] = fit_seed
    if fingerprint:
        key["inputs"] = fingerprint
    if version != BASE_VERSION:  # first-version sets keep the keys they had before versions existed
        key["version"] = version
    return sha256_text(canonical_json(key))[:20]


def cache_path(
    spec: GeneratorSpec, generator: Generator, train: PairSet, normals: PairSet | None, n: int, seed: int,
    fit_seed: int | None = None,
) -> Path:
    folder = spec.name.replace(":", "-")  # "import:seas" -> a portable folder name
    key = cache_key(spec, train, normals, n, seed, generator.fingerprint(), generator.version, fit_seed)
    return cache_dir() / "generated" / folder / key


def synthesize(
    spec: GeneratorSpec,
    train: PairSet,
    normals: PairSet | None,
    n: int,
    seed: int,
    progress: bool = False,
    sources: Mapping[TaskRef, PairSet] | None = None,
    fit_seed: int | None = None,
    generator: Generator | None = None,
) -> tuple[PairSet, bool]:
    """The generated pair set and whether it came from the cache. ``sources``: the training pairs of the
    tasks the generator's ``Task`` parameters name (``source_tasks(spec)``); ``fit_seed``: the seed the
    generator fits with (``seed`` when None), so runs of several seeds can share one trained generator;
    ``generator``: the spec's backend where the caller has built it already (a run builds it once), fitted here
    on a cache miss."""
    t0 = time.perf_counter()
    generator = generator or build(spec)
    sources = sources or {}
    missing = [str(task) for task in source_tasks(spec) if task not in sources]
    if missing:
        raise BenchError(f"generator '{spec.name}' learns from {', '.join(missing)}, which was not loaded", "load it and pass it in sources")
    generator.use_sources(sources)
    fit_seed = seed if fit_seed is None else fit_seed
    target = cache_path(spec, generator, train, normals, n, seed, fit_seed)
    if (target / "meta.json").is_file():
        log.info("generator cache hit: %s (%.3f s)", target, time.perf_counter() - t0)
        return PairSet.open(target), True
    log.info("generator cache miss: %s %s n=%d seed=%d", spec, target.name, n, seed)
    check_space(target, n, train)
    with fit_lock(spec, generator, train, normals, fit_seed):
        generator.fit(train, normals, fit_seed)
    fitted = state_digest(generator.trained_modules())
    source = {"generator": spec.to_dict(), "train": train.content_hash(), "n": n, **({FITTED_STATE: fitted} if fitted else {})}
    pairs = _exactly(generator.sample(n, seed), n, spec.name)
    generated = write_pairset(target, pairs, train.classes, source, seed=seed, progress=progress)
    write_report(sanity_report(generated, train, progress=progress), target / SANITY_FILE)
    log.info("generated %d pairs in %.2f s -> %s", len(generated), time.perf_counter() - t0, target)
    return generated, False


@contextmanager
def fit_lock(spec: GeneratorSpec, generator: Generator, train: PairSet, normals: PairSet | None, fit_seed: int):
    """Hold the lock of one fitting (generator, data, fitting seed) for the block: parallel runs that share a
    trained generator (several sampling seeds, several segmenters, the products of one model over several:
    ``Generator.shared_fitting``) wait for the first to train and cache it instead of each training it again."""
    shared = generator.shared_fitting(train, normals, fit_seed)
    key = shared or cache_key(spec, train, normals, 0, fit_seed, generator.fingerprint(), generator.version)
    path = cache_dir() / "locks" / f"fit-{spec.name.replace(':', '-')}-{key}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        started = time.perf_counter()
        fcntl.flock(handle, fcntl.LOCK_EX)
        waited = time.perf_counter() - started
        if waited > 1:
            log.info("waited %.0f s for another process fitting %s on the same data", waited, spec)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def planned_bytes(n: int, train: PairSet) -> int:
    """What ``n`` pairs the size of the training images take on disk at most (PNG of noise is about raw size)."""
    height, width = train.image(train.ids[0]).shape[:2] if len(train) else (0, 0)
    return int(n * height * width * 4 * 1.05)


def check_space(target: Path, n: int, train: PairSet) -> None:
    """Refuse a generation the cache's disk cannot hold, before anything is fitted or written."""
    need = planned_bytes(n, train) + SPACE_MARGIN
    folder = target
    while not folder.exists():
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if need > free:
        raise BenchError(
            f"generating {n} pairs needs about {need / 2**30:.1f} GiB in the cache {cache_dir()}, {free / 2**30:.1f} GiB are free",
            "lower --ratio / --n, free disk space or point BENCH_CACHE at a larger disk",
        )


def fitted_state(generated: PairSet) -> str | None:
    """The digest of the fitting that made a generated set; None for generators that learn nothing and for
    sets written before digests were kept."""
    return (generated.meta.get("source") or {}).get(FITTED_STATE)


def read_sanity(generated: PairSet) -> dict | None:
    """The sanity report stored with a generated set, if it has one."""
    path = generated.root / SANITY_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def mask_findings(generated: PairSet) -> dict:
    """The degenerate-mask counts of a generated set (``generators.sanity.degenerate_masks``): from its stored
    sanity report, or counted now for a set cached before the report had them."""
    report = read_sanity(generated) or {}
    return report.get("degenerate_masks") or degenerate_masks(generated)


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
