"""Judging broker answers in the thin e2e_pou suite modules: one evidence row per request,
one finding per answer that breaks the rule (any 5xx is always a finding)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from signoff.checks import Finding
from signoff.evidence import Evidence

if TYPE_CHECKING:  # the client imports httpx; collection of the artifact-only preflight must not
    from signoff.pou.client import Answer


class Expect:
    """Collects rows and findings for one check; ``check()`` gives the verdict."""

    def __init__(self, evidence: Evidence, check: str) -> None:
        self.evidence = evidence
        self.check_id = check
        self.findings: list[Finding] = []
        self.count = 0

    def row(self, case: str, request: str, expected: str, actual: str, ok: bool) -> None:
        self.count += 1
        self.evidence.row(
            "PU-API",
            {
                "order": f"{self.check_id}-{self.count:04d}",
                "check": self.check_id,
                "case": case,
                "request": request,
                "expected": expected,
                "actual": actual,
                "verdict": "pass" if ok else "fail",
            },
        )

    def fail(self, case: str, message: str) -> None:
        self.findings.append(Finding(self.check_id, case, "error", f"{case}: {message}"))

    def answer(  # noqa: PLR0917 - reads as a sentence: case, request, answer, expected status
        self,
        case: str,
        request: str,
        answer: Answer,
        status: int | Collection[int],
        fields: Mapping[str, Any] | None = None,
        contains: str | None = None,
    ) -> bool:
        """``answer`` must have ``status`` (one code, or a set), the ``fields`` values and ``contains``."""
        allowed = {status} if isinstance(status, int) else set(status)
        problems = []
        if answer.status not in allowed:
            problems.append(f"status {answer.status}, expected {_codes(allowed)}")
        for key, value in (fields or {}).items():
            if answer.field(key) != value:
                problems.append(f"{key} = {answer.field(key)!r}, expected {value!r}")
        if contains is not None and contains not in str(answer.body):
            problems.append(f"body does not contain {contains!r}")
        if answer.status >= 500:
            problems.append("a 5xx is never an acceptable answer")
        expected = _codes(allowed) + "".join(f" {k}={v!r}" for k, v in (fields or {}).items())
        if contains:
            expected += f" containing {contains!r}"
        self.row(case, request, expected, answer.short(), not problems)
        if problems:
            self.fail(case, f"{request} answered {answer.short()}: {'; '.join(problems)}")
        return not problems

    def that(self, case: str, ok: bool, expected: str, actual: str, request: str = "") -> bool:
        self.row(case, request, expected, actual, ok)
        if not ok:
            self.fail(case, f"expected {expected}, found {actual}")
        return ok

    def check(self) -> None:
        """Apply the verdict: fail the test (no traceback) when any expectation failed."""
        self.evidence.check(self.findings)


def _codes(codes: Collection[int]) -> str:
    """``400 or 404``; a whole class of codes reads as ``4xx`` (the report stays legible)."""
    remaining = set(codes)
    parts = []
    for hundred in range(100, 600, 100):
        block = set(range(hundred, hundred + 100))
        if block <= remaining:
            parts.append(f"{hundred // 100}xx")
            remaining -= block
    parts.extend(str(c) for c in sorted(remaining))
    return " or ".join(parts)
