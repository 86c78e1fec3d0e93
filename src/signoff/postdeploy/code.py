"""PD-CODE: findings and evidence rows from a :class:`signoff.postdeploy.bytecode.Verification`.

The comparison itself lives in :mod:`signoff.postdeploy.bytecode`; this module only says what its answer
means for a sign-off: ``exact`` passes, ``match`` (same executable code, other metadata) passes
with a warning that names both metadata trailers, ``mismatch`` fails with the first differing
offset and both sizes. Every immutable read from the on-chain code that differs from the
configured constructor argument fails, naming the immutable, both values and the argument;
one whose value cannot be derived from the constructor is a warning, never a silent pass.
Pure: no web3, no pytest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from signoff.artifacts.loader import Contract
from signoff.findings import Finding
from signoff.postdeploy.bytecode import (
    EXACT,
    IMMUTABLE_DIFFERS,
    IMMUTABLE_OK,
    MATCH,
    NOT_DERIVABLE,
    NOT_IN_CODE,
    ImmutableCheck,
    Metadata,
    Verification,
)

CHECK_ID = "PD-CODE"
# Row verdicts the report colours; the bytecode verdict (exact/match/mismatch) leads the reason.
_ROW_VERDICT = {EXACT: "pass", MATCH: "warn"}
_IMMUTABLE_VERDICT = {IMMUTABLE_OK: "pass", IMMUTABLE_DIFFERS: "fail", NOT_DERIVABLE: "warn", NOT_IN_CODE: "pass"}


def constructor_args_for(contract: Contract, configured: Sequence[Any] | None) -> Sequence[Any] | None:
    """The arguments to derive immutables from: the configured ones, or none for a constructor without inputs.

    ``None`` (unknown) makes every immutable "not derivable"; a contract whose constructor takes
    nothing needs no configuration for its literal-initialised immutables to be checked.
    """
    if configured is not None:
        return configured
    constructor = next((item for item in contract.abi if item.get("type") == "constructor"), None)
    return () if constructor is None or not constructor.get("inputs") else None


def code_findings(name: str, address: str, contract: Contract, verification: Verification) -> tuple[Finding, ...]:
    """The code verdict and every immutable's, as findings (an exact code with right immutables: none)."""
    comparison = verification.comparison
    findings: list[Finding] = []
    if comparison.verdict == MATCH:
        findings.append(
            Finding(
                CHECK_ID,
                name,
                "warning",
                f"{name} at {address}: verdict match against {contract.fqn}: {comparison.reason}. Next step: "
                "nothing blocks the sign-off, but a block explorer or Sourcify verifies it only as a partial match "
                "unless given the sources and settings of the deployed build",
            )
        )
    elif comparison.verdict != EXACT:
        findings.append(_mismatch(name, address, contract, verification))
    for check in verification.immutables:
        finding = _immutable_finding(name, address, contract, check)
        if finding is not None:
            findings.append(finding)
    return tuple(findings)


def _mismatch(name: str, address: str, contract: Contract, verification: Verification) -> Finding:
    comparison = verification.comparison
    fqn = contract.fqn
    if comparison.onchain_size == 0 and comparison.onchain_metadata is None:
        message = (
            f"{name} at {address}: no code at the address, but artifact {fqn} ({comparison.artifact_size} bytes) "
            f"was expected: {comparison.reason}. Next step: check the address in the deployments file, or "
            "deploy the contract"
        )
    else:
        # The plain "code differs from byte N" reason repeats the offset and sizes; others explain more.
        why = "" if comparison.reason.startswith("code ") else f": {comparison.reason}"
        message = (
            f"{name} at {address}: on-chain runtime differs from artifact {fqn} at byte "
            f"{comparison.first_difference} (on-chain {comparison.onchain_size} bytes, artifact "
            f"{comparison.artifact_size} bytes, metadata trailers aside){why}. Next step: deploy the code of the "
            "checked artifacts, or check the artifacts of the build that was deployed ([target] artifacts) if "
            "that build is the one to sign off"
        )
    return Finding(CHECK_ID, name, "error", message)


def _immutable_finding(name: str, address: str, contract: Contract, check: ImmutableCheck) -> Finding | None:
    label = f"immutable {check.name} ({check.type_string})"
    if check.status == IMMUTABLE_DIFFERS:
        return Finding(
            CHECK_ID,
            name,
            "error",
            f"{name} at {address}: {label} is {show(check.onchain)} on chain, but {show(check.expected)} is "
            f"expected from {_origin(check, contract)}. Next step: redeploy {name} with the intended "
            f"constructor arguments, or correct [contracts.{contract.name}] constructor_args if the deployed "
            "value is the intended one",
        )
    if check.status == NOT_DERIVABLE:
        return Finding(
            CHECK_ID,
            name,
            "warning",
            f"{name} at {address}: {label} is {show(check.onchain)} on chain and cannot be checked against the "
            f"constructor arguments ({_origin(check)}). Next step: confirm the value by hand; it is listed in "
            "the PD-CODE-immutables table",
        )
    return None


def _origin(check: ImmutableCheck, contract: Contract | None = None) -> str:
    """Where the expected value comes from ("constructor argument 1 (x_)"), or why there is none."""
    origin = check.origin or check.detail
    if contract is not None and origin.startswith("constructor argument"):
        return f"{origin} in [contracts.{contract.name}] constructor_args"
    return origin


def missing_artifact(name: str, address: str, source: str, detail: str) -> Finding:
    """A deployed name the artifacts do not have: its code cannot be judged, so it fails.

    ``detail`` says why the artifacts cannot give it (absent or ambiguous, with the candidates).
    """
    return Finding(
        CHECK_ID,
        name,
        "error",
        f"{name} at {address} is deployed according to {source}, but there is no artifact to compare its code "
        f"with: {detail}. Next step: compile {name} into the artifacts, or name the entry after its contract in "
        "the deployments file",
    )


def not_checkable(name: str, address: str, contract: Contract, error: Exception) -> Finding:
    """:func:`signoff.postdeploy.bytecode.verify` refused (references off the artifact, wrong argument count...)."""
    return Finding(CHECK_ID, name, "error", f"{name} at {address} against {contract.fqn}: {error}")


def code_row(name: str, address: str, contract: Contract, verification: Verification) -> dict[str, Any]:
    """The PD-CODE row: sizes of the whole code, first difference, metadata, verdict."""
    comparison = verification.comparison
    artifact_meta, onchain_meta = comparison.artifact_metadata, comparison.onchain_metadata
    artifact_total = comparison.artifact_size + (len(artifact_meta.raw) if artifact_meta else 0)
    onchain_total = comparison.onchain_size + (len(onchain_meta.raw) if onchain_meta else 0)
    return {
        "contract": name,
        "address": address,
        "onchain_bytes": onchain_total,
        "artifact_bytes": artifact_total,
        "first_difference": "" if comparison.first_difference is None else comparison.first_difference,
        "metadata": metadata_cell(artifact_meta, onchain_meta),
        "reason": f"{comparison.verdict}: {comparison.reason}",
        "verdict": _ROW_VERDICT.get(comparison.verdict, "fail"),
    }


def missing_row(name: str, address: str, reason: str) -> dict[str, Any]:
    """The PD-CODE row of a contract that could not be compared at all."""
    return {
        "contract": name,
        "address": address,
        "onchain_bytes": "",
        "artifact_bytes": "",
        "first_difference": "",
        "metadata": "",
        "reason": reason,
        "verdict": "fail",
    }


def metadata_cell(artifact: Metadata | None, onchain: Metadata | None) -> str:
    """``equal: ipfs Qm… solc 0.8.30``, or both sides when they differ."""
    if artifact is not None and onchain is not None and artifact.raw == onchain.raw:
        return f"equal: {artifact.describe()}"
    if artifact is None and onchain is None:
        return "none on either side"
    mine = artifact.describe() if artifact else "none"
    theirs = onchain.describe() if onchain else "none"
    return f"artifact {mine}; on-chain {theirs}"


def immutable_rows(name: str, verification: Verification) -> tuple[dict[str, Any], ...]:
    """One PD-CODE-immutables row per immutable: on-chain value, expected value and where it comes from."""
    return tuple(
        {
            "contract": name,
            "immutable": f"{check.name} ({check.type_string})",
            "onchain": "(not in runtime code)" if check.status == NOT_IN_CODE else show(check.onchain),
            "expected": _expected_cell(check),
            "verdict": _IMMUTABLE_VERDICT.get(check.status, "fail"),
        }
        for check in verification.immutables
    )


def _expected_cell(check: ImmutableCheck) -> str:
    if check.status in (NOT_DERIVABLE, NOT_IN_CODE) or check.expected is None:
        return _origin(check) if check.status == NOT_DERIVABLE else "-"
    return f"{show(check.expected)} ({_origin(check)})"


def show(value: Any) -> str:
    """A value for people: ints in decimal, bytes in hex, addresses as they are."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def summary(verifications: Mapping[str, Verification]) -> dict[str, str]:
    """Contract -> verdict, for the evidence data."""
    return {name: verification.comparison.verdict for name, verification in verifications.items()}
