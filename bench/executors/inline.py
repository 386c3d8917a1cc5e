"""One run after another in this process: the simplest to debug, and the default on CPU."""

from __future__ import annotations

from typing import Iterator, Sequence

from bench.executors.base import ATTEMPTS, EXECUTORS, Executor, Finished, Job, RunFailed, compute


@EXECUTORS.register
class InlineExecutor(Executor):
    name = "inline"

    def run(self, tasks: Sequence[Job], progress: bool) -> Iterator[Finished]:
        for task in tasks:
            error = None
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    yield Finished(task, compute(task, self.options.threads, progress), attempts=attempt)
                    break
                except RunFailed as exc:
                    error = str(exc)
            else:
                yield Finished(task, None, error, ATTEMPTS)
