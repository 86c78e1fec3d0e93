"""PF-COMP: every project contract was built the way ``[compiler]`` pins it, and consistently.

Settings come from the artifact model (Hardhat build-info, else solc's metadata JSON). A key
is judged per contract only when ``[compiler]`` pins it; a pinned version ``0.8.30`` matches
``0.8.30+commit.73712a01`` (a pin with a commit must match the commit too). Across the
project, keys left unpinned must still agree: two compiler versions, or viaIR on in one build
and off in another, are a finding even without a pin. A contract whose build cannot be read
is a finding of its own: a gate cannot vouch for an unknown build. The runtime code's CBOR
trailer, when present, cross-checks the version a build-info claims.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from signoff.artifacts.evm import split_metadata
from signoff.artifacts.loader import CompilerSettings, Contract
from signoff.errors import ArtifactError
from signoff.findings import Finding
from signoff.target import CompilerPins

CHECK_ID = "PF-COMP"

Key = Literal["version", "via_ir", "optimizer", "optimizer_runs", "evm_version"]
KEYS: tuple[Key, ...] = ("version", "via_ir", "optimizer", "optimizer_runs", "evm_version")
LABELS: Mapping[Key, str] = {
    "version": "solc version",
    "via_ir": "viaIR",
    "optimizer": "optimizer enabled",
    "optimizer_runs": "optimizer runs",
    "evm_version": "evmVersion",
}
Verdict = Literal["pass", "fail"]
Value = str | bool | int | None


def read_settings(contract: Contract) -> tuple[CompilerSettings | None, str | None]:
    """``(settings, problem)``: the artifact model parses build-info lazily, and may fail."""
    try:
        return contract.compiler, None
    except ArtifactError as exc:
        return None, str(exc)


def base_version(version: str) -> str:
    """``0.8.30+commit.73712a01`` -> ``0.8.30`` (pre-release tags are kept)."""
    return version.strip().removeprefix("v").split("+", 1)[0]


def version_matches(pin: str, actual: str) -> bool:
    """A pin without a commit matches any build of that release; with one, only that build."""
    pin, actual = pin.strip().removeprefix("v"), actual.strip().removeprefix("v")
    if "+" in pin:
        return actual == pin
    return base_version(actual) == pin


def pinned(pins: CompilerPins, key: Key) -> Value:
    return {
        "version": pins.version,
        "via_ir": pins.via_ir,
        "optimizer": pins.optimizer,
        "optimizer_runs": pins.optimizer_runs,
        "evm_version": pins.evm_version,
    }[key]


def actual(settings: CompilerSettings, key: Key) -> Value:
    return {
        "version": settings.version,
        "via_ir": settings.via_ir,
        "optimizer": settings.optimizer_enabled,
        "optimizer_runs": settings.optimizer_runs,
        "evm_version": settings.evm_version,
    }[key]


def show(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "not recorded" if value is None else str(value)


@dataclass(frozen=True)
class CompilerResult:
    """One contract's build settings and verdict (one row of the evidence table)."""

    contract: str
    settings: CompilerSettings | None
    cbor_version: str | None
    verdict: Verdict
    findings: tuple[Finding, ...]

    def row(self) -> dict[str, object]:
        s = self.settings
        version = s.version if s else (f"{self.cbor_version} (runtime CBOR only)" if self.cbor_version else None)
        return {
            "contract": self.contract,
            "version": version or "unknown",
            "via_ir": show(s.via_ir) if s else "unknown",
            "optimizer": show(s.optimizer_enabled) if s else "unknown",
            "runs": show(s.optimizer_runs) if s else "unknown",
            "evm_version": show(s.evm_version) if s else "unknown",
            "origin": s.origin if s else "none: no build-info or metadata",
            "verdict": self.verdict,
        }


def cbor_version(contract: Contract) -> str | None:
    """The solc version named in the runtime code's CBOR metadata trailer, if it has one."""
    if contract.runtime.is_empty:
        return None
    _, metadata = split_metadata(contract.runtime.to_bytes())
    return metadata.solc if metadata else None


def check_compiler(
    contract: Contract,
    pins: CompilerPins,
    settings: CompilerSettings | None,
    problem: str | None = None,
) -> CompilerResult:
    """Judge one project contract's build against the pinned keys of ``[compiler]``."""
    name = contract.fqn
    from_cbor = cbor_version(contract)
    findings: list[Finding] = []
    if problem is not None:
        findings.append(
            Finding(
                CHECK_ID,
                name,
                "error",
                f"{name}: its compiler settings cannot be read, so its build is unknown: {problem}",
            )
        )
    elif settings is None:
        seen = f"; its runtime CBOR names solc {from_cbor} but nothing else" if from_cbor else ""
        findings.append(
            Finding(
                CHECK_ID,
                name,
                "error",
                (
                    f"{name}: no compiler metadata: {contract.artifact_path.name} ({contract.format}) has no "
                    f"build-info and no metadata JSON, so its version, viaIR, optimizer and evmVersion are "
                    f"unknown{seen}; a gate cannot vouch for an unknown build. Next step: rebuild keeping "
                    "build-info (Hardhat) or metadata (Foundry, solc standard-JSON) beside the artifacts"
                ),
            )
        )
    else:
        for key in KEYS:
            expected = pinned(pins, key)
            if expected is None:
                continue
            found = actual(settings, key)
            if found is None:
                findings.append(
                    Finding(
                        CHECK_ID,
                        name,
                        "error",
                        (
                            f"{name}: {LABELS[key]} is not recorded in {settings.origin}, expected {show(expected)} "
                            f"([compiler] {key}); a gate cannot vouch for a setting it cannot read. Next step: "
                            f"set {LABELS[key]} explicitly in the compiler settings and rebuild"
                        ),
                    )
                )
            elif not _same(key, expected, found):
                hint = (
                    " (a pin is one exact version, e.g. 0.8.30)"
                    if key == "version" and not _looks_exact(str(expected))
                    else ""
                )
                findings.append(
                    Finding(
                        CHECK_ID,
                        name,
                        "error",
                        (
                            f"{name}: {LABELS[key]} is {show(found)}, expected {show(expected)} "
                            f"([compiler] {key}{hint}; read from {settings.origin}). Next step: rebuild it with "
                            f"{LABELS[key]} {show(expected)} like the rest of the project, or correct the pin "
                            "if this build is the intended one"
                        ),
                    )
                )
        if settings.version and from_cbor and base_version(settings.version) != base_version(from_cbor):
            findings.append(
                Finding(
                    CHECK_ID,
                    name,
                    "error",
                    (
                        f"{name}: {settings.origin} says solc {settings.version}, but the runtime code's CBOR "
                        f"metadata says {from_cbor}: the build-info does not describe this bytecode. Next step: "
                        "rebuild the artifacts so build-info and bytecode come from one compilation"
                    ),
                )
            )
    verdict: Verdict = "fail" if findings else "pass"
    return CompilerResult(name, settings, from_cbor, verdict, tuple(findings))


def _same(key: Key, expected: Value, found: Value) -> bool:
    if key == "version":
        return version_matches(str(expected), str(found))
    if key == "evm_version":
        return str(expected).lower() == str(found).lower()
    return expected == found


def _looks_exact(pin: str) -> bool:
    parts = base_version(pin).split("-", 1)[0].split(".")
    return len(parts) == 3 and all(part.isdigit() for part in parts)


# -- across the project -------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsistencyResult:
    """How the unpinned keys vary across the project's builds."""

    rows: tuple[dict[str, object], ...]
    compared: int
    findings: tuple[Finding, ...]


def check_consistency(
    builds: Sequence[tuple[str, CompilerSettings]], pins: CompilerPins, *, project_contracts: int, scope: str
) -> ConsistencyResult:
    """Keys that ``[compiler]`` leaves unpinned must have one value across ``builds``.

    Pinned keys are judged per contract by :func:`check_compiler`; here they are only listed.
    ``project_contracts`` counts every in-scope contract, readable or not: zero is a finding
    (nothing was checked), whereas unreadable builds already fail their own test.
    """
    findings: list[Finding] = []
    rows: list[dict[str, object]] = []
    if project_contracts == 0:
        findings.append(
            Finding(
                CHECK_ID,
                scope,
                "error",
                (
                    f"no project contract to check in {scope}: every deployable contract matches [compiler] "
                    "exclude (or none could be read), so PF-COMP would pass on nothing. Next step: narrow "
                    "[compiler] exclude to the dependency paths (e.g. @openzeppelin/**, lib/**)"
                ),
            )
        )
    for key in KEYS:
        groups: dict[str, list[str]] = {}
        for contract, settings in builds:
            value = actual(settings, key)
            if value is not None:
                groups.setdefault(_group_key(key, value), []).append(contract)
        if key == "version":
            groups = _merge_commitless(groups)
        pin = pinned(pins, key)
        values = "; ".join(f"{value} ({len(names)})" for value, names in sorted(groups.items())) or "none recorded"
        mixed = len(groups) > 1
        if pin is not None:
            verdict = "pinned: judged per contract"
        else:
            verdict = "fail" if mixed else "pass"
        rows.append(
            {
                "key": LABELS[key],
                "pin": show(pin) if pin is not None else "not pinned",
                "values": values,
                "verdict": verdict,
            }
        )
        if pin is None and mixed:
            listed = ", ".join(f"{value} in {_names(names)}" for value, names in sorted(groups.items()))
            findings.append(
                Finding(
                    CHECK_ID,
                    LABELS[key],
                    "error",
                    (
                        f"mixed {LABELS[key]} among the project contracts: {listed}; one system must come from "
                        f"one build configuration. Next step: rebuild every project contract with one "
                        f"{LABELS[key]} and pin it as [compiler] {key}"
                    ),
                )
            )
    return ConsistencyResult(tuple(rows), len(builds), tuple(findings))


def _group_key(key: Key, value: Value) -> str:
    if key == "version":
        return str(value).strip().removeprefix("v")
    if key == "evm_version":
        return str(value).lower()
    return show(value)


def _merge_commitless(groups: dict[str, list[str]]) -> dict[str, list[str]]:
    """``0.8.30`` (no commit recorded) belongs with the one ``0.8.30+commit.*`` build, if unique."""
    merged = {v: list(n) for v, n in groups.items() if "+" in v}
    for version, names in groups.items():
        if "+" in version:
            continue
        homes = [v for v in merged if base_version(v) == version]
        merged.setdefault(homes[0] if len(homes) == 1 else version, []).extend(names)
    return merged


def _names(names: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(sorted(names)[:limit])
    more = len(names) - limit
    return shown + (f" and {more} more" if more > 0 else "")
