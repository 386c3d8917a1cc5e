"""Several runs at once on this machine, each in its own process: packed by cores on CPU, by memory on a GPU."""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Iterable, Iterator, Sequence

from bench.core.interrupts import Terminated
from bench.executors.base import ATTEMPTS, EXECUTORS, Executor, Finished, Job, RunFailed, compute
from bench.executors.packing import Admission, cpu_cores, gpu_budget_bytes

GPU_MAX_RUNS = 16  # a ceiling on processes sharing one GPU, whatever the memory says
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent: int) -> None:
    """Ask Linux to send this worker SIGTERM when its parent dies, however the parent dies (even SIGKILL)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: workers still stop with a parent that exits normally
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


_busy = False  # per worker process: is a run executing right now (read by the SIGTERM handler)


def _work(task: Job, threads: int) -> dict:
    global _busy
    _busy = True
    try:
        return compute(task, threads)
    finally:
        _busy = False


def _on_sigterm(parent: int):
    def handler(signum, frame):
        if _busy and os.getppid() == parent:
            raise Terminated()  # the run unwinds: its temporary files and folders are removed
        os._exit(Terminated.exit_code)  # idle, or orphaned: go now (leftovers are swept as stale)

    return handler


def _init_worker(threads: int, parent: int) -> None:
    import torch

    signal.signal(signal.SIGTERM, _on_sigterm(parent))
    _die_with_parent(parent)
    torch.set_num_threads(threads)


def startable(pending: Iterable[Job], running: list[Job], fitted: set[tuple], admission: Admission) -> list[Job]:
    """The pending runs to start now, in their order: those the admission policy lets in beside the running
    ones, except a run that would only wait on a running run training the generator it shares (its slot goes
    to a later run until one run of that fitting has finished and cached it)."""
    started: list[Job] = []
    for task in pending:
        now = running + started
        if task.fitting is not None and task.fitting not in fitted and any(t.fitting == task.fitting for t in now):
            continue
        if admission.admits(task.memory, [t.memory for t in now]):
            started.append(task)
    return started


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's processes now: shutdown() alone lets running runs go on after an interrupt."""
    for process in list(getattr(pool, "_processes", {}).values()):  # the pool keeps no public handle on them
        if process.is_alive():
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


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

    def run(self, tasks: Sequence[Job], progress: bool) -> Iterator[Finished]:
        admission, threads = self.plan()
        pending = deque(tasks)
        attempts = {task.run_id: 0 for task in tasks}
        running: dict[Future, Job] = {}
        fitted: set[tuple] = set()  # fittings a finished run has trained (and cached) in this grid
        pool = self._pool(admission.slots, threads)
        try:
            while pending or running:
                for task in startable(pending, list(running.values()), fitted, admission):
                    pending.remove(task)
                    attempts[task.run_id] += 1
                    running[pool.submit(_work, task, threads)] = task
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
                    admission.learn(task.memory, record)
                    if task.fitting is not None:
                        fitted.add(task.fitting)
                    yield Finished(task, record, attempts=attempts[task.run_id])
                if broken:  # every run of a broken pool is lost with it; they retry in a fresh one
                    for task in running.values():
                        yield from self._retry_or_report(task, "its worker process died (out of memory?)", attempts[task.run_id], pending)
                    running.clear()
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = self._pool(admission.slots, threads)
        except BaseException:  # interrupted or terminated: no worker outlives the grid driver
            _stop_workers(pool)
            raise
        pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _retry_or_report(task: Job, error: str, attempts: int, pending: deque) -> Iterator[Finished]:
        if attempts < ATTEMPTS:
            pending.appendleft(task)
        else:
            yield Finished(task, None, error, attempts)

    @staticmethod
    def _pool(slots: int, threads: int) -> ProcessPoolExecutor:
        # spawn: CUDA cannot be used in forked children, and a clean interpreter per worker is reproducible
        return ProcessPoolExecutor(
            slots, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker, initargs=(threads, os.getpid())
        )
