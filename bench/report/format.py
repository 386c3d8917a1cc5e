"""How numbers look in every table and command: one formatter for percentages, one for plain values."""

from __future__ import annotations

import math


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def percent(value, signed: bool = False, digits: int = 2, sign: str = "") -> str:
    """A fraction in [0, 1] as a percentage (``0.4567`` -> ``45.67``); ``n/a`` when undefined."""
    if _missing(value):
        return "n/a"
    return f"{100 * value:{'+' if signed else ''}.{digits}f}{sign}"


def mean_std(mean, std) -> str:
    """Mean ± sample std over seeds, in percent; the std is left out when there is one seed."""
    if _missing(mean):
        return "n/a"
    return percent(mean) if _missing(std) else f"{percent(mean)} ± {percent(std)}"


def interval(low, high) -> str:
    return "n/a" if _missing(low) else f"[{percent(low, True)}, {percent(high, True)}]"


def plain_mean_std(mean, std) -> str:
    """Mean ± std of a value that is not a fraction (FID, KID, IS): four significant digits."""
    if _missing(mean):
        return "n/a"
    return f"{mean:.4g}" if _missing(std) else f"{mean:.4g} ± {std:.2g}"


def p_value(p) -> str:
    if _missing(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def seeds_text(seeds) -> str:
    """Seeds as a sorted list: ``0, 1, 2``."""
    return ", ".join(str(int(s)) for s in sorted(set(seeds))) or "none"


def number(value) -> str:
    """A setting's value in a label, exact enough that distinct settings never print alike."""
    return f"{value:.12g}"
