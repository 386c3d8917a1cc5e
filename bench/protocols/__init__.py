"""Protocols: the experiments of the papers, each one unit (its options, how its grid expands, its record kind,
its table forms) registered in ``PROTOCOLS``. ``bench protocol NAME`` and ``bench sweep`` expand a grid through
it and run every point through the executors and one resume loop, so finished points are skipped; ``bench
report`` reads every record through the forms of the protocol that asked for it.
"""

from bench.protocols.base import PROTOCOLS, Form, Grid, Protocol
from bench.protocols.options import Option

__all__ = ["PROTOCOLS", "Form", "Grid", "Option", "Protocol"]
