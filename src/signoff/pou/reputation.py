"""PU-REP: the reputation model. Seven dimensions, each an exponentially weighted moving
average new = (1 - a) * old + a * x, a = 0.2 by default (CRITERIA.md; [pou.model] ewma_alpha);
a dimension without an observation keeps its value; ``updated_at`` moves forward on every
settlement (or finalization: [pou.model] reputation_moves_at). Values may be numeric strings,
judged to the precision they are written in ("0.9500": half of 0.0001)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from signoff.findings import Finding
from signoff.pou.dialect import as_number, resolution

CHECK_ID = "PU-REP"
ALPHA = 0.2
DIMENSIONS = ("q", "t", "r", "s", "v", "i", "e")


def ewma(old: float, observation: float, alpha: float = ALPHA) -> float:
    return (1 - alpha) * old + alpha * observation


def ewma_findings(
    before: Any, after: Any, observed: Mapping[str, float], alpha: float = ALPHA, moment: str = "settlement"
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Rows (case, expected, actual, ok) for each dimension and updated_at, and the findings."""
    rows: list[dict[str, Any]] = []
    findings: list[Finding] = []
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        findings.append(Finding(CHECK_ID, "reputation", "error", "the broker returned no reputation object"))
        return rows, findings
    for dim in DIMENSIONS:
        old, new = as_number(before.get(dim)), as_number(after.get(dim))
        if old is None or new is None:
            shown = f"{before.get(dim)!r} -> {after.get(dim)!r}"
            findings.append(Finding(CHECK_ID, dim, "error", f"dimension {dim}: not a number ({shown})"))
            continue
        want = ewma(old, observed[dim], alpha) if dim in observed else old
        tolerance = resolution(before.get(dim)) + resolution(after.get(dim))
        ok = math.isclose(new, want, rel_tol=1e-9, abs_tol=tolerance)
        how = (
            f"{1 - alpha:g} * {old:.6g} + {alpha:g} * {observed[dim]}"
            if dim in observed
            else "unchanged (no observation)"
        )
        rows.append({"case": f"dimension {dim}", "expected": f"{want:.9g} = {how}", "actual": f"{new:.9g}", "ok": ok})
        if not ok:
            findings.append(
                Finding(CHECK_ID, dim, "error", f"dimension {dim}: expected {want:.9g} ({how}), broker has {new!r}")
            )
    old_at, new_at = str(before.get("updated_at", "")), str(after.get("updated_at", ""))
    moved = bool(new_at) and new_at > old_at
    rows.append({"case": "updated_at", "expected": f"later than {old_at}", "actual": new_at, "ok": moved})
    if not moved:
        findings.append(
            Finding(CHECK_ID, "updated_at", "error", f"updated_at did not move on {moment} ({old_at} -> {new_at})")
        )
    return rows, findings
