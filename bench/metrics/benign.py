"""Benign-product decisions: turn a defect mask into accept / reject with per-product size rules.

A practitioner does not reject every product with a defect: small stains may pass, any crack may not.
The rules (YAML, ``bench/protocols/rules/``) give, per product and defect class, the largest area in
pixels that still passes; 0 means any pixel of that class rejects. The same rule applied to the
ground-truth mask and to the predicted mask gives the decision that should have been made and the one
the segmenter makes; recall of defective products and the false-reject rate follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import yaml

from bench.core.errors import BenchError

RULES_DIR = Path(__file__).resolve().parents[1] / "protocols" / "rules"
DEFAULT_RULES = "defect-spectrum"
ANY_CLASS = "*"


@dataclass(frozen=True)
class BenignRules:
    name: str
    products: Mapping[str, Mapping[str, int]]
    default: Mapping[str, int]

    def limits(self, product: str) -> Mapping[str, int]:
        return self.products.get(product, self.default)

    def limit(self, product: str, class_name: str) -> int:
        limits = self.limits(product)
        if class_name in limits:
            return limits[class_name]
        return limits.get(ANY_CLASS, self.default.get(ANY_CLASS, 0))

    def to_dict(self) -> dict:
        return {"name": self.name, "products": {p: dict(v) for p, v in self.products.items()}, "default": dict(self.default)}


def _limits(table, where: Path) -> dict[str, int]:
    if not isinstance(table, dict) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in table.values()):
        raise BenchError(f"benign rules {where}: limits must map class names to pixel counts >= 0", "see docs/protocols.md")
    return {str(k): int(v) for k, v in table.items()}


def load_rules(name_or_path: str | Path = DEFAULT_RULES) -> BenignRules:
    """A shipped rule set by name (``defect-spectrum``) or a YAML file of the same form."""
    path = Path(name_or_path)
    if not path.suffix:
        path = RULES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in RULES_DIR.glob("*.yaml")))
        raise BenchError(f"benign rules {path} not found", f"pass a YAML file or one of: {shipped}")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise BenchError(f"benign rules {path} is not valid YAML ({str(exc).splitlines()[0]})", "fix the file") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("products", {}), dict):
        raise BenchError(f"benign rules {path} must be a mapping with 'products' and 'default'", "see docs/protocols.md")
    products = {str(p): _limits(t, path) for p, t in (doc.get("products") or {}).items()}
    default = _limits(doc.get("default") or {ANY_CLASS: 0}, path)
    return BenignRules(str(doc.get("name", path.stem)), products, default)


def class_areas(mask: np.ndarray, num_classes: int) -> np.ndarray:
    """Pixels per class id in one mask (ignored pixels, 255, not counted)."""
    mask = np.asarray(mask).ravel()
    return np.bincount(mask[mask < num_classes].astype(np.int64), minlength=num_classes)


def rejects_areas(areas, classes: Mapping[int, str], product: str, rules: BenignRules) -> bool:
    """True when any defect class covers more pixels than the product's rule allows."""
    return any(areas[k] > rules.limit(product, name) for k, name in classes.items() if k > 0)


def rejects(mask: np.ndarray, classes: Mapping[int, str], product: str, rules: BenignRules) -> bool:
    return rejects_areas(class_areas(mask, max(classes) + 1), classes, product, rules)


def benign_summary(should_reject: np.ndarray, rejected: np.ndarray) -> dict:
    """Recall of defective products and false-reject rate of benign ones (fractions; NaN if undefined)."""
    should = np.asarray(should_reject, dtype=bool)
    got = np.asarray(rejected, dtype=bool)
    n_defective, n_benign = int(should.sum()), int((~should).sum())
    caught, false_rejects = int((should & got).sum()), int((~should & got).sum())
    return {
        "n_defective": n_defective,
        "n_benign": n_benign,
        "caught": caught,
        "false_rejects": false_rejects,
        "recall": caught / n_defective if n_defective else float("nan"),
        "false_reject_rate": false_rejects / n_benign if n_benign else float("nan"),
    }


def pooled_summary(summaries) -> dict:
    """Several products' summaries as one: counts add up, rates are recomputed from them."""
    keys = ("n_defective", "caught", "n_benign", "false_rejects")
    total = {k: sum(s[k] for s in summaries) for k in keys}
    return {
        **total,
        "recall": total["caught"] / total["n_defective"] if total["n_defective"] else float("nan"),
        "false_reject_rate": total["false_rejects"] / total["n_benign"] if total["n_benign"] else float("nan"),
    }


def benign_from_areas(gt_areas, pred_areas, classes: Mapping[int, str], product: str, rules: BenignRules) -> dict:
    """Decisions from per-image class areas (as run records keep them), so any rule set can be applied later."""
    should = np.array([rejects_areas(a, classes, product, rules) for a in gt_areas], dtype=bool)
    got = np.array([rejects_areas(a, classes, product, rules) for a in pred_areas], dtype=bool)
    return {"product": product, "rules": rules.name, **benign_summary(should, got)}


def benign_decisions(gt_masks, pred_masks, classes: Mapping[int, str], product: str, rules: BenignRules) -> dict:
    """Per image decisions from ground-truth and predicted masks, and their summary."""
    n = max(classes) + 1
    return benign_from_areas(
        [class_areas(g, n) for g in gt_masks], [class_areas(p, n) for p in pred_masks], classes, product, rules
    )
