"""PF-COMP: the comparisons, and the real suite on the reference and its defective fixtures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from signoff.artifacts.loader import Bytecode, CompilerSettings, Contract
from signoff.preflight.compiler import check_compiler, check_consistency, version_matches
from signoff.target import CompilerPins
from tests.conftest import FIXTURES, SuiteRun

PINS = CompilerPins(version="0.8.30", via_ir=True, optimizer=True, optimizer_runs=200, evm_version="prague")
GOOD = CompilerSettings("0.8.30+commit.73712a01", True, True, 200, "prague", "build-info x.json")
PING = FIXTURES / "reference" / "artifacts" / "contracts" / "facets" / "PingFacet.sol" / "PingFacet.json"


def _contract(runtime: str = "00", name: str = "X") -> Contract:
    return Contract(
        f"contracts/{name}.sol",
        name,
        (),
        Bytecode("00"),
        Bytecode(runtime),
        Path(f"{name}.json"),
        "hardhat",
        lambda: None,
    )  # type: ignore[arg-type,return-value]


def _settings(**changes: object) -> CompilerSettings:
    values = {**GOOD.__dict__, **changes}
    return CompilerSettings(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pin", "actual", "matches"),
    [
        ("0.8.30", "0.8.30+commit.73712a01", True),
        ("0.8.30", "0.8.30", True),
        ("v0.8.30", "0.8.30+commit.73712a01", True),
        ("0.8.30+commit.73712a01", "0.8.30+commit.73712a01", True),
        ("0.8.30+commit.deadbeef", "0.8.30+commit.73712a01", False),
        ("0.8.30+commit.73712a01", "0.8.30", False),  # the commit cannot be confirmed
        ("0.8.30", "0.8.29+commit.ab55807c", False),
        ("0.8.3", "0.8.30+commit.73712a01", False),
        ("0.8", "0.8.30+commit.73712a01", False),
        ("0.8.31", "0.8.31-nightly.2025.5.1+commit.1234abcd", False),
    ],
)
def test_version_pin_comparison(pin: str, actual: str, matches: bool) -> None:
    assert version_matches(pin, actual) is matches


def test_matching_build_passes() -> None:
    result = check_compiler(_contract(), PINS, GOOD)
    assert (result.verdict, result.findings) == ("pass", ())
    assert result.row()["version"] == "0.8.30+commit.73712a01"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"version": "0.8.29+commit.ab55807c"},
            "contracts/X.sol:X: solc version is 0.8.29+commit.ab55807c, expected 0.8.30 "
            "([compiler] version; read from build-info x.json).",
        ),
        (
            {"via_ir": False},
            "contracts/X.sol:X: viaIR is false, expected true ([compiler] via_ir; read from build-info x.json).",
        ),
        (
            {"optimizer_enabled": False},
            "contracts/X.sol:X: optimizer enabled is false, expected true ([compiler] optimizer;",
        ),
        (
            {"optimizer_runs": 1000},
            "contracts/X.sol:X: optimizer runs is 1000, expected 200 ([compiler] optimizer_runs;",
        ),
        (
            {"evm_version": "cancun"},
            "contracts/X.sol:X: evmVersion is cancun, expected prague ([compiler] evm_version;",
        ),
        (
            {"evm_version": None},
            "contracts/X.sol:X: evmVersion is not recorded in build-info x.json, expected prague "
            "([compiler] evm_version); a gate cannot vouch for a setting it cannot read.",
        ),
    ],
)
def test_each_pinned_key_is_compared(change: dict[str, object], message: str) -> None:
    result = check_compiler(_contract(), PINS, _settings(**change))
    assert result.verdict == "fail"
    assert [f.message[: len(message)] for f in result.findings] == [message]
    assert "Next step:" in result.findings[0].message


def test_evm_version_compares_case_insensitively() -> None:
    assert check_compiler(_contract(), PINS, _settings(evm_version="Prague")).verdict == "pass"


def test_only_pinned_keys_are_judged() -> None:
    odd = _settings(version="0.7.6+commit.7338295f", via_ir=False, optimizer_enabled=False, evm_version=None)
    assert check_compiler(_contract(), CompilerPins(), odd).verdict == "pass"
    only_runs = check_compiler(_contract(), CompilerPins(optimizer_runs=200), _settings(optimizer_runs=999))
    assert [f.message.split(":")[2].strip() for f in only_runs.findings] == [
        "optimizer runs is 999, expected 200 ([compiler] optimizer_runs; read from build-info x.json). Next step"
    ]


def test_a_loose_version_pin_says_pins_are_exact() -> None:
    result = check_compiler(_contract(), CompilerPins(version="^0.8.0"), GOOD)
    assert "([compiler] version (a pin is one exact version, e.g. 0.8.30);" in result.findings[0].message


def test_no_metadata_is_a_finding_naming_the_contract() -> None:
    result = check_compiler(_contract(), PINS, None)
    assert result.verdict == "fail"
    assert result.findings[0].message.startswith(
        "contracts/X.sol:X: no compiler metadata: X.json (hardhat) has no build-info and no metadata JSON, so its "
        "version, viaIR, optimizer and evmVersion are unknown; a gate cannot vouch for an unknown build."
    )
    assert result.row()["origin"] == "none: no build-info or metadata"


def test_no_metadata_still_shows_the_cbor_version() -> None:
    runtime = json.loads(PING.read_text())["deployedBytecode"][2:]
    result = check_compiler(_contract(runtime), PINS, None)
    assert "its runtime CBOR names solc 0.8.30 but nothing else" in result.findings[0].message
    assert result.row()["version"] == "0.8.30 (runtime CBOR only)"


def test_unreadable_build_info_is_a_finding() -> None:
    result = check_compiler(_contract(), PINS, None, "x.json: build-info cannot be read (boom)")
    assert [f.message for f in result.findings] == [
        "contracts/X.sol:X: its compiler settings cannot be read, so its build is unknown: "
        "x.json: build-info cannot be read (boom)"
    ]


def test_build_info_that_disagrees_with_the_bytecode_cbor_is_a_finding() -> None:
    runtime = json.loads(PING.read_text())["deployedBytecode"][2:]  # CBOR says 0.8.30
    result = check_compiler(_contract(runtime), CompilerPins(), _settings(version="0.8.29+commit.ab55807c"))
    assert [f.message for f in result.findings] == [
        "contracts/X.sol:X: build-info x.json says solc 0.8.29+commit.ab55807c, but the runtime code's CBOR metadata "
        "says 0.8.30: the build-info does not describe this bytecode. Next step: rebuild the artifacts so "
        "build-info and bytecode come from one compilation"
    ]


def test_consistency_flags_unpinned_keys_that_differ() -> None:
    builds = [
        ("contracts/A.sol:A", GOOD),
        ("contracts/B.sol:B", _settings(version="0.8.29+commit.ab55807c", via_ir=False)),
    ]
    result = check_consistency(builds, CompilerPins(), project_contracts=2, scope="artifacts")
    assert [f.message.split(";")[0] for f in result.findings] == [
        "mixed solc version among the project contracts: 0.8.29+commit.ab55807c in contracts/B.sol:B, "
        "0.8.30+commit.73712a01 in contracts/A.sol:A",
        "mixed viaIR among the project contracts: false in contracts/B.sol:B, true in contracts/A.sol:A",
    ]
    pinned = check_consistency(builds, PINS, project_contracts=2, scope="artifacts")
    assert pinned.findings == ()  # pinned keys fail per contract instead
    assert {row["verdict"] for row in pinned.rows} == {"pinned: judged per contract"}


def test_consistency_groups_a_commitless_version_with_its_release() -> None:
    builds = [("contracts/A.sol:A", GOOD), ("contracts/B.sol:B", _settings(version="0.8.30"))]
    assert check_consistency(builds, CompilerPins(), project_contracts=2, scope="artifacts").findings == ()


def test_consistency_with_no_project_contract_fails() -> None:
    result = check_consistency([], PINS, project_contracts=0, scope="artifacts")
    assert result.findings[0].message.startswith(
        "no project contract to check in artifacts: every deployable contract matches [compiler] exclude"
    )


# -- the real suite -------------------------------------------------------------------------------

REFERENCE_CONTRACTS = (
    "ManifestDispatcher",
    "PingFacet",
    "VaultFacet",
    "DeterministicChunkFactory",
    "PayRoxProxyRouter",
    "ReentrancyAttacker",
)


def test_reference_passes_with_a_row_per_project_contract(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "compiler")
    assert run.result.ret == 0, run.output
    evidence = run.evidence()
    rows = evidence["tables"]["PF-COMP"]["rows"]
    assert sorted(row["contract"].rsplit(":", 1)[1] for row in rows) == sorted(REFERENCE_CONTRACTS)
    assert not any(row["contract"].startswith("@openzeppelin/") for row in rows)  # [compiler] exclude
    for row in rows:
        assert (row["version"], row["via_ir"], row["optimizer"], row["runs"], row["evm_version"], row["verdict"]) == (
            "0.8.30+commit.73712a01",
            "true",
            "true",
            "200",
            "prague",
            "pass",
        )
        assert row["origin"].startswith("build-info ")
    consistency = evidence["tables"]["PF-COMP-consistency"]["rows"]
    assert len(consistency) == 5
    checks = [c for c in evidence["checks"] if c["check"] == "PF-COMP"]
    assert len(checks) == len(REFERENCE_CONTRACTS) + 1


DEFECTS = {
    "compiler-mixed-versions": (
        "test_pf_comp_consistency",
        "mixed solc version among the project contracts: 0.8.29+commit.ab55807c in contracts/Legacy.sol:Legacy, "
        "0.8.30+commit.73712a01 in contracts/Current.sol:Current; one system must come from one build "
        "configuration. Next step: rebuild every project contract with one solc version and pin it as "
        "[compiler] version",
    ),
    "compiler-viair-off": (
        "test_pf_comp[contracts/Treasury.sol:Treasury]",
        "contracts/Treasury.sol:Treasury: viaIR is false, expected true ([compiler] via_ir; read from build-info "
        "32893962bae185d098136909eb87b49f.json). Next step: rebuild it with viaIR true like the rest of the "
        "project, or correct the pin if this build is the intended one",
    ),
    "compiler-no-metadata": (
        "test_pf_comp[contracts/Bare.sol:Bare]",
        "contracts/Bare.sol:Bare: no compiler metadata: Bare.json (hardhat) has no build-info and no metadata "
        "JSON, so its version, viaIR, optimizer and evmVersion are unknown; its runtime CBOR names solc 0.8.30 "
        "but nothing else; a gate cannot vouch for an unknown build.",
    ),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defective_fixture_fails_exactly_its_check(run_suite, defect: str) -> None:
    failing_test, message = DEFECTS[defect]
    # PF-ADDR runs too: it must pass on a compiler defect
    run: SuiteRun = run_suite("-m", "compiler or addresses", target=FIXTURES / "defective" / defect / "signoff.toml")
    run.assert_fails_only(failing_test, message)


def test_mixed_versions_fixture_really_holds_two_compilers() -> None:
    build_infos = sorted(
        (FIXTURES / "defective" / "compiler-mixed-versions" / "artifacts" / "build-info").glob("*.json")
    )
    versions = sorted(json.loads(p.read_text())["solcLongVersion"] for p in build_infos)
    assert [v.split("+")[0] for v in versions] == ["0.8.29", "0.8.30"]


def test_damaged_build_info_fails_that_contract_without_a_traceback(run_suite, tmp_path: Path) -> None:
    target = tmp_path / "viair-off"
    shutil.copytree(FIXTURES / "defective" / "compiler-viair-off", target)
    (target / "signoff.toml").write_text((target / "signoff.toml").read_text().replace("via_ir = true\n", ""))
    vault_info = target / "artifacts" / "build-info" / "88055271af19e870f93cece5868849df.json"
    vault_info.write_text(vault_info.read_text()[:500])
    run: SuiteRun = run_suite("-m", "compiler", target=target / "signoff.toml")
    assert run.result.ret == 1, run.output
    failed = sorted(test for test, outcome in run.outcomes().items() if outcome != "passed")
    assert failed == ["test_pf_comp[contracts/Vault.sol:Vault]"]
    assert "contracts/Vault.sol:Vault: its compiler settings cannot be read, so its build is unknown: " in run.output
    assert "build-info cannot be read" in run.output
    assert "Traceback" not in run.output


def test_excluding_everything_is_a_failure_not_a_green_report(run_suite, tmp_path: Path) -> None:
    target = tmp_path / "signoff.toml"
    target.write_text(
        f'[target]\nname = "all excluded"\nartifacts = "{FIXTURES / "reference" / "artifacts"}"\n'
        '[compiler]\nexclude = ["@openzeppelin/**", "contracts/**"]\n'
    )
    run: SuiteRun = run_suite("-m", "compiler or addresses", target=target)
    assert run.result.ret == 1, run.output
    failed = sorted(test for test, outcome in run.outcomes().items() if outcome == "failed")
    assert failed == ["test_pf_addr_allowlist", "test_pf_comp_consistency"]
    assert "so PF-COMP would pass on nothing" in run.output
    assert "PF-ADDR would pass on nothing" in run.output
