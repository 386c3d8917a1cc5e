"""The grid as Ray tasks: a local Ray by default, any cluster by ``--address``.

Each run is one task asking for its CPU threads and, on CUDA, a fraction of a GPU sized from its measured
peak memory (a whole GPU until a run of its kind has been measured). Ray retries a failed task once.
Records come back to the driver, which writes them, so a cluster needs no shared results folder; the
dataset root (and the weights folder) must exist at the same path on every node.
"""

from __future__ import annotations

import math
import os
from typing import Iterator, Sequence

from bench.core.errors import BenchError
from bench.executors.base import ATTEMPTS, EXECUTORS, Executor, Finished, Job, RunFailed, compute, error_line
from bench.executors.packing import CUDA_CONTEXT_BYTES

# The driver's cache, results and weights folders, so workers read and write where the driver does.
FORWARDED_ENV = ("BENCH_CACHE", "BENCH_RESULTS", "BENCH_WEIGHTS")


@EXECUTORS.register
class RayExecutor(Executor):
    name = "ray"

    def gpu_fraction(self, task: Job, gpu_total_bytes: int | None) -> float:
        """The share of one GPU a run reserves: its measured peak plus a CUDA context, in hundredths."""
        if self.options.device != "cuda":
            return 0.0
        peak = self.options.peaks.get(task.memory)
        if peak is None or not gpu_total_bytes:
            return 1.0
        return min(1.0, math.ceil(100 * (peak + CUDA_CONTEXT_BYTES) / gpu_total_bytes) / 100)

    def order(self, tasks: Sequence[Job]) -> list[Job]:
        """Seed-major: Ray queues every task at once, so its first wave should train different generators
        (whose fittings then serve the later seeds) rather than hold several seeds of one waiting on its lock."""
        return sorted(tasks, key=lambda task: task.seed)

    def run(self, tasks: Sequence[Job], progress: bool) -> Iterator[Finished]:
        ray = import_ray()
        started = not ray.is_initialized()
        if started:
            try:
                ray.init(address=self.options.address, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.options.address or "a local Ray instance"
                raise BenchError(f"cannot start or join Ray at {where}: {str(exc).splitlines()[0]}",
                                 "check --address (ray://host:10001 or host:6379), or leave it out for a local Ray") from None
        threads = self.options.threads or 1
        remote = ray.remote(max_retries=ATTEMPTS - 1, retry_exceptions=True)(compute)
        gpu_total = _gpu_total_bytes() if self.options.device == "cuda" else None
        env = {"env_vars": {k: v for k, v in os.environ.items() if k in FORWARDED_ENV}}
        refs = {
            remote.options(num_cpus=threads, num_gpus=self.gpu_fraction(task, gpu_total), runtime_env=env,
                           name=f"bench-run-{task.run_id}").remote(task, threads): task
            for task in tasks
        }
        try:
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1)
                task = refs.pop(ready[0])
                try:
                    yield Finished(task, ray.get(ready[0]))
                except ray.exceptions.RayTaskError as exc:
                    cause = exc.cause if isinstance(exc.cause, RunFailed) else None
                    yield Finished(task, None, str(cause) if cause else error_line(exc), ATTEMPTS)
                except ray.exceptions.RayError as exc:  # a worker or node lost after its retry
                    yield Finished(task, None, error_line(exc), ATTEMPTS)
        finally:
            for ref in refs:  # interrupted: do not leave the cluster busy with runs nobody will collect
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()


def import_ray():
    """Ray, set to start its workers with this interpreter.

    Started under `uv run`, Ray would launch its workers through `uv run` as well, which re-resolves the
    environment; workers must use this interpreter, as they do under a plain Python. The switch is read
    when Ray is imported, so bench imports Ray only here.
    """
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    try:
        import ray
    except ImportError:
        raise BenchError("--executor ray needs the ray package", "install it (`pip install 'ray>=2.40'`)") from None
    return ray


def _gpu_total_bytes() -> int | None:
    import torch

    return torch.cuda.get_device_properties(0).total_memory if torch.cuda.is_available() else None
