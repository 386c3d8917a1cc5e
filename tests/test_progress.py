"""Progress bars: live on a terminal, a line at most every LOG_INTERVAL seconds in a log."""

from __future__ import annotations

import io

from bench.core import progress as progress_module
from bench.core.progress import LOG_INTERVAL, progress


class Log(io.StringIO):
    def isatty(self) -> bool:
        return False


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_sparse_updates_and_a_terminal_live_ones(monkeypatch):
    monkeypatch.setattr(progress_module.sys, "stderr", Log())
    bar = progress(range(3), file=Log())
    assert bar.mininterval == LOG_INTERVAL and bar.maxinterval == LOG_INTERVAL
    monkeypatch.setattr(progress_module.sys, "stderr", Terminal())
    bar = progress(range(3), file=Terminal())
    assert bar.mininterval < 1


def test_disabled_shows_nothing():
    out = Log()
    list(progress(range(10), enabled=False, file=out))
    assert out.getvalue() == ""
