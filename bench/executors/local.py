"""Several runs at once on this machine, each in its own process: packed by cores on CPU, by memory on a GPU."""

from __future__ import annotations

import multiprocessing
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Iterator, Sequence

from bench.executors.base import ATTEMPTS, EXECUTORS, Executor, Finished, RunFailed, RunTask, compute
from bench.executors.packing import Admission, cpu_cores, gpu_budget_bytes, memory_key

GPU_MAX_RUNS = 16  # a ceiling on processes sharing one GPU, whatever the memory says


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


@EXECUTORS.register
class LocalExecutor(Executor):
    name = "local"

    def plan(self) -> tuple[Admission, int]:
        """The admission policy and torch threads per run."""
        cores = cpu_cores()
        opts = self.options
        if opts.device == "cuda":
            slots = opts.jobs or min(cores, GPU_MAX_RUNS)
            admission = Admission(slots, gpu_budget_bytes(), dict(opts.peaks))
        else:
            slots = opts.jobs or max(1, cores // (opts.threads or 1))
            admission = Admission(slots)
        return admission, opts.threads or max(1, cores // slots)

    def run(self, tasks: Sequence[RunTask], progress: bool) -> Iterator[Finished]:
        admission, threads = self.plan()
        pending = deque(tasks)
        attempts = {task.run_id: 0 for task in tasks}
        running: dict[Future, RunTask] = {}
        pool = self._pool(admission.slots, threads)
        try:
            while pending or running:
                for task in list(pending):
                    if admission.admits(memory_key(task.spec), [memory_key(t.spec) for t in running.values()]):
                        pending.remove(task)
                        attempts[task.run_id] += 1
                        running[pool.submit(compute, task, threads)] = task
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                broken = False
                for future in done:
                    task = running.pop(future)
                    try:
                        record = future.result()
                    except BrokenProcessPool:
                        broken = True
                        running[future] = task  # handled with the rest of the broken pool below
                        continue
                    except RunFailed as exc:
                        yield from self._retry_or_report(task, str(exc), attempts[task.run_id], pending)
                        continue
                    admission.learn(memory_key(task.spec), record)
                    yield Finished(task, record, attempts=attempts[task.run_id])
                if broken:  # every run of a broken pool is lost with it; they retry in a fresh one
                    for task in running.values():
                        yield from self._retry_or_report(task, "its worker process died (out of memory?)", attempts[task.run_id], pending)
                    running.clear()
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = self._pool(admission.slots, threads)
        finally:
            pool.shutdown(wait=not running, cancel_futures=True)

    @staticmethod
    def _retry_or_report(task: RunTask, error: str, attempts: int, pending: deque) -> Iterator[Finished]:
        if attempts < ATTEMPTS:
            pending.appendleft(task)
        else:
            yield Finished(task, None, error, attempts)

    @staticmethod
    def _pool(slots: int, threads: int) -> ProcessPoolExecutor:
        # spawn: CUDA cannot be used in forked children, and a clean interpreter per worker is reproducible
        return ProcessPoolExecutor(slots, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker, initargs=(threads,))
