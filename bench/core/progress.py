"""Progress bars for long work: live on a terminal, a line at most every LOG_INTERVAL seconds in a log."""

from __future__ import annotations

import sys

LOG_INTERVAL = 30.0  # seconds between updates when stderr is a file or a pipe (CI logs, nohup)


def progress(iterable=None, enabled: bool = True, **kwargs):
    """A tqdm bar over ``iterable`` (or a manual one with ``total=``); ``enabled=False`` shows nothing."""
    from tqdm import tqdm

    if not sys.stderr.isatty():
        kwargs.setdefault("mininterval", LOG_INTERVAL)
        kwargs.setdefault("maxinterval", LOG_INTERVAL)
    return tqdm(iterable, disable=not enabled, **kwargs)
