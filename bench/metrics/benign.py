"""Benign-product decisions: turn a defect mask into accept / reject with per-product size rules.

A practitioner does not reject every product with a defect: small stains may pass, any crack may not.
The rules (YAML, ``bench/protocols/rules/``) give, per product and defect class, the largest area in
pixels that still passes; 0 means any pixel of that class rejects. The same rule applied to the
ground-truth mask and to the predicted mask gives the decision that should have been made and the one
the segmenter makes; recall of defective products and the false-reject rate follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import yaml

from bench.core.errors import BenchError

RULES_DIR = Path(__file__).resolve().parents[1] / "protocols" / "rules"
DEFAULT_RULES = "defect-spectrum"
ANY_CLASS = "*"
SUMMED = "summed"  # a product table's key for limits on the summed area of several classes


@dataclass(frozen=True)
class ProductRule:
    """One product's standard: a pixel limit per class (``*`` for the classes it does not list) and limits
    on the summed area of groups of classes (a zipper's fabric defect, whichever fabric class it is)."""

    limits: Mapping[str, int]
    summed: Mapping[str, tuple[tuple[str, ...], int]] = field(default_factory=dict)

    def named(self) -> set[str]:
        """Every class name the rule mentions."""
        return {c for c in self.limits if c != ANY_CLASS} | {c for classes, _ in self.summed.values() for c in classes}

    def to_dict(self) -> dict:
        out: dict = dict(self.limits)
        if self.summed:
            out[SUMMED] = {name: {"classes": list(classes), "limit": limit} for name, (classes, limit) in self.summed.items()}
        return out


@dataclass(frozen=True)
class BenignRules:
    """Product tables are keyed ``PRODUCT`` (for the datasets the file names under ``datasets``, all when it
    names none) or ``DATASET/PRODUCT`` (that dataset only, taking precedence); any other product gets
    ``default``."""

    name: str
    products: Mapping[str, ProductRule]
    default: ProductRule
    datasets: tuple[str, ...] = ()  # the datasets whose class names the plain PRODUCT tables use
    source: str = ""

    def rule(self, product: str, dataset: str | None = None) -> ProductRule:
        if dataset is not None and f"{dataset}/{product}" in self.products:
            return self.products[f"{dataset}/{product}"]
        if product in self.products and (dataset is None or not self.datasets or dataset in self.datasets):
            return self.products[product]
        return self.default

    def limits(self, product: str, dataset: str | None = None) -> Mapping[str, int]:
        return self.rule(product, dataset).limits

    def limit(self, product: str, class_name: str, dataset: str | None = None) -> int:
        """The largest area of one class that passes; a class in a summed group is limited by its group."""
        rule = self.rule(product, dataset)
        for classes, limit in rule.summed.values():
            if class_name in classes:
                return limit
        if class_name in rule.limits:
            return rule.limits[class_name]
        return rule.limits.get(ANY_CLASS, self.default.limits.get(ANY_CLASS, 0))

    def check(self, classes: Mapping[int, str], product: str, dataset: str | None = None) -> None:
        """A rule naming a class the category does not have would never fire: that is an error, not a no-op."""
        rule = self.rule(product, dataset)
        names = {name for k, name in classes.items() if k > 0}
        unknown = sorted(rule.named() - names)
        if unknown:
            where = f"{dataset}/{product}" if dataset else product
            raise BenchError(
                f"benign rules {self.source or self.name}: the rule for '{where}' names class(es) {', '.join(unknown)} "
                f"that its class map does not have (classes: {', '.join(sorted(names))})",
                "fix the class names in the rules file",
            )

    def to_dict(self) -> dict:
        return {"name": self.name, "datasets": list(self.datasets), "products": {p: r.to_dict() for p, r in self.products.items()},
                "default": self.default.to_dict()}


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _rule(table, where: Path, product: str) -> ProductRule:
    fix = "see docs/protocols.md#benign"
    if not isinstance(table, dict):
        raise BenchError(f"benign rules {where}: product '{product}' must map class names to pixel counts", fix)
    table = dict(table)
    groups = table.pop(SUMMED, None) or {}
    if not all(_count(v) for v in table.values()):
        raise BenchError(f"benign rules {where}: limits must map class names to pixel counts >= 0 (product '{product}')", fix)
    summed = {}
    for name, group in (groups.items() if isinstance(groups, dict) else [(None, None)]):
        if not (isinstance(group, dict) and set(group) == {"classes", "limit"} and _count(group["limit"])
                and isinstance(group["classes"], list) and group["classes"]):
            raise BenchError(f"benign rules {where}: '{SUMMED}' of product '{product}' must map names to "
                             "{classes: [CLASS, ...], limit: PIXELS}", fix)
        classes = tuple(str(c) for c in group["classes"])
        if set(classes) & set(table):
            raise BenchError(f"benign rules {where}: product '{product}' limits {', '.join(sorted(set(classes) & set(table)))} "
                             f"both alone and in the summed group '{name}'", "give each class one limit")
        summed[str(name)] = (classes, group["limit"])
    return ProductRule({str(k): int(v) for k, v in table.items()}, summed)


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
    if not isinstance(doc, dict) or not isinstance(doc.get("products", {}), dict) or not isinstance(doc.get("datasets", []), list):
        raise BenchError(f"benign rules {path} must be a mapping with 'products', 'default' and optionally 'datasets'",
                         "see docs/protocols.md#benign")
    products = {str(p): _rule(t, path, str(p)) for p, t in (doc.get("products") or {}).items()}
    default = _rule(doc.get("default") or {ANY_CLASS: 0}, path, "default")
    datasets = tuple(str(d) for d in doc.get("datasets") or ())
    return BenignRules(str(doc.get("name", path.stem)), products, default, datasets, str(path))


def class_areas(mask: np.ndarray, num_classes: int) -> np.ndarray:
    """Pixels per class id in one mask (ignored pixels, 255, not counted)."""
    mask = np.asarray(mask).ravel()
    return np.bincount(mask[mask < num_classes].astype(np.int64), minlength=num_classes)


def rejects_areas(areas, classes: Mapping[int, str], product: str, rules: BenignRules, dataset: str | None = None) -> bool:
    """True when a defect class alone, or a summed group of classes, covers more pixels than the rule allows."""
    rule = rules.rule(product, dataset)
    grouped = {c for group, _ in rule.summed.values() for c in group}
    if any(areas[k] > rules.limit(product, name, dataset) for k, name in classes.items() if k > 0 and name not in grouped):
        return True
    by_name = {name: areas[k] for k, name in classes.items() if k > 0}
    return any(sum(by_name.get(c, 0) for c in group) > limit for group, limit in rule.summed.values())


def rejects(mask: np.ndarray, classes: Mapping[int, str], product: str, rules: BenignRules, dataset: str | None = None) -> bool:
    return rejects_areas(class_areas(mask, max(classes) + 1), classes, product, rules, dataset)


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


def benign_from_areas(gt_areas, pred_areas, classes: Mapping[int, str], product: str, rules: BenignRules,
                      dataset: str | None = None) -> dict:
    """Decisions from per-image class areas (as run records keep them), so any rule set can be applied later;
    the rule is first checked against the class map."""
    rules.check(classes, product, dataset)
    should = np.array([rejects_areas(a, classes, product, rules, dataset) for a in gt_areas], dtype=bool)
    got = np.array([rejects_areas(a, classes, product, rules, dataset) for a in pred_areas], dtype=bool)
    return {"product": product, "rules": rules.name, **benign_summary(should, got)}


def benign_decisions(gt_masks, pred_masks, classes: Mapping[int, str], product: str, rules: BenignRules,
                     dataset: str | None = None) -> dict:
    """Per image decisions from ground-truth and predicted masks, and their summary."""
    n = max(classes) + 1
    return benign_from_areas(
        [class_areas(g, n) for g in gt_masks], [class_areas(p, n) for p in pred_masks], classes, product, rules, dataset
    )
