"""Where a grid's runs execute: ``inline`` (this process), ``local`` (packed processes), ``ray`` (a Ray cluster)."""

from bench.executors.base import EXECUTORS, Executor, Finished, Job, RunTask

__all__ = ["EXECUTORS", "Executor", "Finished", "Job", "RunTask"]
