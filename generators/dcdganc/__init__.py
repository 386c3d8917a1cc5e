"""DCDGANc (Wei et al., CVPRW 2023): class-controllable defect contents, blended onto normal images.

Importing the package registers ``dcdganc``; the networks and torch load only when it trains or samples.
"""

from generators.dcdganc.generator import DCDGANc

__all__ = ["DCDGANc"]
