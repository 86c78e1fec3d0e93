"""PU-REP: the reputation model. Seven dimensions, each an exponentially weighted moving
average new = (1 - a) * old + a * x, a = 0.2 (CRITERIA.md); a dimension without an
observation keeps its value; ``updated_at`` moves forward on every settlement."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from signoff.findings import Finding

CHECK_ID = "PU-REP"
ALPHA = 0.2
DIMENSIONS = ("q", "t", "r", "s", "v", "i", "e")


def ewma(old: float, observation: float, alpha: float = ALPHA) -> float:
    return (1 - alpha) * old + alpha * observation


def ewma_findings(
    before: Any, after: Any, observed: Mapping[str, float], alpha: float = ALPHA
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Rows (case, expected, actual, ok) for each dimension and updated_at, and the findings."""
    rows: list[dict[str, Any]] = []
    findings: list[Finding] = []
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        findings.append(Finding(CHECK_ID, "reputation", "error", "the broker returned no reputation object"))
        return rows, findings
    for dim in DIMENSIONS:
        old, new = before.get(dim), after.get(dim)
        if not isinstance(old, int | float) or not isinstance(new, int | float):
            findings.append(Finding(CHECK_ID, dim, "error", f"dimension {dim}: not a number ({old!r} -> {new!r})"))
            continue
        want = ewma(float(old), observed[dim], alpha) if dim in observed else float(old)
        ok = math.isclose(float(new), want, rel_tol=1e-9, abs_tol=1e-9)
        how = f"0.8 * {old:.6g} + 0.2 * {observed[dim]}" if dim in observed else "unchanged (no observation)"
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
            Finding(CHECK_ID, "updated_at", "error", f"updated_at did not move on settlement ({old_at} -> {new_at})")
        )
    return rows, findings
