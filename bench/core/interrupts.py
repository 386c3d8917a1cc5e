"""SIGTERM as an exception, so a terminated process unwinds like Ctrl-C: every ``finally`` and atomic
write cleans up on the way out."""

from __future__ import annotations

import signal
import threading


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""

    exit_code = 143  # 128 + SIGTERM, what shells report for a terminated process


def _raise_terminated(signum, frame):
    raise Terminated()


def terminate_on_sigterm() -> None:
    """Install the handler (main thread only, where Python delivers signals)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)
