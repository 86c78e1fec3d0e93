"""FL-HLT and FL-LAT: pure judges of what the service answered."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from signoff.findings import Finding
from signoff.flows.settings import Probe

HEALTH_ID = "FL-HLT"
LATENCY_ID = "FL-LAT"
_MISSING = object()


def field(body: Any, dotted: str) -> Any:
    """``body["db"]["ok"]`` for ``"db.ok"``; ``_MISSING`` when any step is absent."""
    value = body
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def judge_health(
    url: str, status: int, body: bytes, expectations: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """The health endpoint is judged by its body: every expected field must hold, whatever the status."""
    rows: list[dict[str, Any]] = [
        {
            "field": "HTTP status",
            "expected": "2xx",
            "observed": status,
            "verdict": "pass" if 200 <= status < 300 else "fail",
        }
    ]
    findings: list[Finding] = []
    if not 200 <= status < 300:
        findings.append(
            Finding(
                HEALTH_ID,
                url,
                "error",
                f"GET {url} answered {status}: the service reports itself unhealthy. Next step: look at its logs",
            )
        )
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        parsed = _MISSING
    if expectations and not isinstance(parsed, dict):
        findings.append(
            Finding(
                HEALTH_ID,
                url,
                "error",
                f"GET {url} answered {status} with a body that is not a JSON object ({body[:80]!r}), so "
                "its health cannot be judged. Next step: return JSON, or correct [service] health",
            )
        )
        return rows, findings
    for name, expected in expectations.items():
        observed = field(parsed, name)
        ok = observed is not _MISSING and observed == expected
        shown = "(absent)" if observed is _MISSING else json.dumps(observed)
        rows.append(
            {"field": name, "expected": json.dumps(expected), "observed": shown, "verdict": "pass" if ok else "fail"}
        )
        if not ok:
            masked = " while its status says healthy" if 200 <= status < 300 else ""
            findings.append(
                Finding(
                    HEALTH_ID,
                    name,
                    "error",
                    f"GET {url} answered {status} with {name} = {shown}, expected {json.dumps(expected)}{masked}: a "
                    "health endpoint that is judged by its status alone would have passed. Next step: fix what "
                    f"{name} reports (the database, a dependency), and make the endpoint answer 503 when it is false",
                )
            )
    return rows, findings


@dataclass(frozen=True)
class Sample:
    seconds: float
    status: int | None  # None: no answer (refused, timed out)
    error: str = ""


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 20 samples is the 19th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def judge_probe(url: str, probe: Probe, samples: Sequence[Sample]) -> tuple[dict[str, Any], list[Finding]]:
    times = [s.seconds * 1000 for s in samples]
    errors = [s for s in samples if s.status is None or not 200 <= s.status < 300]
    rate = len(errors) / len(samples) if samples else 1.0
    p50, p95, worst = percentile(times, 0.5), percentile(times, 0.95), max(times)
    row = {
        "endpoint": url,
        "requests": len(samples),
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(worst, 1),
        "errors": f"{len(errors)} ({rate:.1%})",
        "budget": f"p95 < {probe.p95_ms:g} ms, errors <= {probe.max_error_rate:.1%}"
        + (f", max < {probe.max_ms:g} ms" if probe.max_ms is not None else ""),
    }
    findings = []
    if p95 > probe.p95_ms:
        findings.append(
            Finding(
                LATENCY_ID,
                url,
                "error",
                f"GET {url}: p95 {p95:.0f} ms over {len(samples)} requests exceeds the budget of {probe.p95_ms:g} ms "
                f"(p50 {p50:.0f} ms, max {worst:.0f} ms). Next step: find the regression before release",
            )
        )
    if rate > probe.max_error_rate:
        kinds = sorted({str(s.status) if s.status is not None else s.error for s in errors})
        findings.append(
            Finding(
                LATENCY_ID,
                url,
                "error",
                f"GET {url}: {len(errors)} of {len(samples)} requests failed ({rate:.1%}, budget "
                f"{probe.max_error_rate:.1%}): {', '.join(kinds)}. Next step: look at the service's errors",
            )
        )
    if probe.max_ms is not None and worst > probe.max_ms:
        findings.append(
            Finding(
                LATENCY_ID,
                url,
                "error",
                f"GET {url}: the slowest request took {worst:.0f} ms, over the {probe.max_ms:g} ms ceiling",
            )
        )
    row["verdict"] = "fail" if findings else "pass"
    return row, findings
