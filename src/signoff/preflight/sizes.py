"""PF-SIZE: EIP-170 runtime and EIP-3860 initcode limits.

Runtime code may be at most 24,576 bytes (EIP-170) and initcode, constructor arguments
included, at most 49,152 bytes (EIP-3860); exactly at the limit passes. A library
placeholder counts as the 20-byte address it will become. Headroom under
``warn_headroom`` is a warning in the evidence, not a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from signoff.artifacts.loader import Contract
from signoff.findings import Finding

CHECK_ID = "PF-SIZE"
RUNTIME_LIMIT = 24_576  # EIP-170
INITCODE_LIMIT = 49_152  # EIP-3860

Verdict = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class SizeResult:
    """The numbers behind one contract's size verdict (one row of the evidence table)."""

    contract: str
    runtime: int
    initcode: int
    constructor_args: int
    runtime_headroom: int
    initcode_headroom: int
    libraries: tuple[str, ...]
    verdict: Verdict
    findings: tuple[Finding, ...]

    def row(self) -> dict[str, object]:
        return {
            "contract": self.contract,
            "runtime": self.runtime,
            "runtime_limit": RUNTIME_LIMIT,
            "runtime_headroom": self.runtime_headroom,
            "initcode": self.initcode,
            "constructor_args": self.constructor_args,
            "initcode_limit": INITCODE_LIMIT,
            "initcode_headroom": self.initcode_headroom,
            "libraries": ", ".join(self.libraries),
            "verdict": self.verdict,
        }


def check_size(contract: Contract, *, warn_headroom: int, constructor_args_size: int = 0) -> SizeResult:
    """Measure ``contract`` against both limits; ``constructor_args_size`` is in bytes."""
    runtime = contract.runtime.size
    initcode = contract.creation.size + constructor_args_size
    libraries = tuple(sorted({link.library for link in (*contract.creation.links, *contract.runtime.links)}))
    linked_note = _placeholder_note(contract)
    findings: list[Finding] = []

    runtime_headroom = RUNTIME_LIMIT - runtime
    initcode_headroom = INITCODE_LIMIT - initcode
    if runtime_headroom < 0:
        findings.append(
            Finding(
                CHECK_ID,
                contract.fqn,
                "error",
                (
                    f"{contract.fqn}: runtime code is {runtime:,} bytes, over the EIP-170 limit of "
                    f"{RUNTIME_LIMIT:,} by {-runtime_headroom:,} byte{_s(-runtime_headroom)}{linked_note}; "
                    "the deployment would fail. Next step: move functions into facets or libraries, "
                    "or lower the optimizer runs"
                ),
            )
        )
    if initcode_headroom < 0:
        args = (
            f" (creation code {contract.creation.size:,} + constructor arguments {constructor_args_size:,})"
            if constructor_args_size
            else ""
        )
        findings.append(
            Finding(
                CHECK_ID,
                contract.fqn,
                "error",
                (
                    f"{contract.fqn}: initcode is {initcode:,} bytes{args}, over the EIP-3860 limit of "
                    f"{INITCODE_LIMIT:,} by {-initcode_headroom:,} byte{_s(-initcode_headroom)}{linked_note}; "
                    "the deployment would be rejected. Next step: shrink the constructor (large "
                    "constants, inlined child contracts) or deploy the parts separately"
                ),
            )
        )
    if not findings:
        for label, headroom, limit in (
            ("runtime", runtime_headroom, RUNTIME_LIMIT),
            ("initcode", initcode_headroom, INITCODE_LIMIT),
        ):
            if headroom < warn_headroom:
                findings.append(
                    Finding(
                        CHECK_ID,
                        contract.fqn,
                        "warning",
                        (
                            f"{contract.fqn}: {label} headroom is {headroom:,} bytes under the "
                            f"{limit:,}-byte limit, less than warn_headroom = {warn_headroom:,}"
                        ),
                    )
                )
    verdict: Verdict = "fail" if any(f.is_error for f in findings) else ("warn" if findings else "pass")
    return SizeResult(
        contract=contract.fqn,
        runtime=runtime,
        initcode=initcode,
        constructor_args=constructor_args_size,
        runtime_headroom=runtime_headroom,
        initcode_headroom=initcode_headroom,
        libraries=libraries,
        verdict=verdict,
        findings=tuple(findings),
    )


def _placeholder_note(contract: Contract) -> str:
    count = contract.runtime.placeholder_count
    if not count:
        return ""
    libraries = sorted({link.library for link in contract.runtime.links}) or ["an unnamed library"]
    return (
        f" (including {count} unlinked library placeholder{_s(count)} for "
        f"{', '.join(libraries)}, counted as 20 bytes each)"
    )


def _s(count: int) -> str:
    return "" if count == 1 else "s"
