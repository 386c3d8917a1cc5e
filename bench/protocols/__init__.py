"""Protocols: the experiments of the papers as grids of runs (or, for ``quality``, of generated sets).

Each module registers one protocol in ``PROTOCOLS``; ``bench protocol NAME`` and ``bench sweep`` expand a
grid through it and run every point through the same runner, so finished points are skipped.
"""

from bench.protocols.base import PROTOCOLS, Grid, Protocol

__all__ = ["PROTOCOLS", "Grid", "Protocol"]
