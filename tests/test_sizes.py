"""PF-SIZE on the real suite: the reference passes; each defective fixture fails exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from signoff.artifacts.loader import Bytecode, Contract
from signoff.preflight.sizes import INITCODE_LIMIT, RUNTIME_LIMIT, check_size
from tests.conftest import FIXTURES, SuiteRun


def _contract(runtime: int, creation: int) -> Contract:
    return Contract(
        "contracts/X.sol",
        "X",
        (),
        Bytecode("00" * creation),
        Bytecode("00" * runtime),
        Path("X.json"),
        "hardhat",
        lambda: None,
    )  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize(
    ("runtime", "creation", "args", "verdict"),
    [
        (RUNTIME_LIMIT, 100, 0, "warn"),
        (RUNTIME_LIMIT + 1, 100, 0, "fail"),
        (100, INITCODE_LIMIT, 0, "warn"),
        (100, INITCODE_LIMIT + 1, 0, "fail"),
        (100, INITCODE_LIMIT - 32, 32, "warn"),
        (100, INITCODE_LIMIT - 31, 32, "fail"),
        (RUNTIME_LIMIT - 1024, INITCODE_LIMIT - 1024, 0, "pass"),
        (RUNTIME_LIMIT - 1023, 1000, 0, "warn"),
    ],
)
def test_limits_are_inclusive_and_args_count(runtime: int, creation: int, args: int, verdict: str) -> None:
    result = check_size(_contract(runtime, creation), warn_headroom=1024, constructor_args_size=args)
    assert result.verdict == verdict
    assert result.initcode == creation + args


def test_placeholder_counts_as_twenty_bytes() -> None:
    placeholder = "__$" + "ab" * 17 + "$__"
    code = Bytecode("00" + placeholder + "00")
    assert code.size == 22
    assert code.to_bytes(b"\x11" * 20) == b"\x00" + b"\x11" * 20 + b"\x00"


def test_reference_passes_and_reports_every_contract(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "eip170")
    assert run.result.ret == 0, run.output
    evidence = run.evidence()
    rows = evidence["tables"]["PF-SIZE"]["rows"]
    names = {row["contract"] for row in rows}
    for expected in ("ManifestDispatcher", "DeterministicChunkFactory", "PayRoxProxyRouter", "PingFacet", "VaultFacet"):
        assert any(name.endswith(f":{expected}") for name in names), (expected, names)
    assert all(row["verdict"] in {"pass", "warn"} for row in rows)
    assert all(0 < row["runtime"] <= RUNTIME_LIMIT for row in rows)
    dispatcher = next(r for r in rows if r["contract"].endswith(":ManifestDispatcher"))
    assert dispatcher["constructor_args"] == 64  # (address, uint64) from [contracts.ManifestDispatcher]
    not_checked = evidence["tables"]["PF-SIZE-inventory"]["rows"]
    assert any("interface" in row["reason"] for row in not_checked)
    # one test per contract, plus the inventory
    size_tests = [c for c in evidence["checks"] if c["check"] == "PF-SIZE"]
    assert len(size_tests) == len(rows) + 1


DEFECTS = {
    "runtime-24577": (
        "test_pf_size[contracts/Big.sol:Big]",
        "contracts/Big.sol:Big: runtime code is 24,577 bytes, over the EIP-170 limit of 24,576 by 1 byte; "
        "the deployment would fail.",
    ),
    "initcode-49153": (
        "test_pf_size[contracts/Heavy.sol:Heavy]",
        "contracts/Heavy.sol:Heavy: initcode is 49,153 bytes, over the EIP-3860 limit of 49,152 by 1 byte; "
        "the deployment would be rejected.",
    ),
    "unlinked-library": (
        "test_pf_size[contracts/Linked.sol:Linked]",
        "contracts/Linked.sol:Linked: runtime code is 24,577 bytes, over the EIP-170 limit of 24,576 by 1 byte "
        "(including 1 unlinked library placeholder for contracts/lib/MathLib.sol:MathLib, counted as 20 bytes each)",
    ),
    "truncated-artifact": (
        "test_pf_size[unreadable:contracts/facets/VaultFacet.sol/VaultFacet.json]",
        "VaultFacet.json: not valid JSON (Unterminated string starting at: line 115 column 15 (char 2353)); "
        "the file is truncated or corrupted.",
    ),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defective_fixture_fails_exactly_its_check(run_suite, defect: str) -> None:
    failing_test, message = DEFECTS[defect]
    run: SuiteRun = run_suite("-m", "eip170", target=FIXTURES / "defective" / defect / "signoff.toml")
    run.assert_fails_only(failing_test, message)


UNREADABLE = "unreadable:contracts/facets/VaultFacet.sol/VaultFacet.json"
SIZE_FIXTURES = ["boundary/runtime-24576", *(f"defective/{name}" for name in sorted(DEFECTS))]


@pytest.mark.parametrize("fixture", SIZE_FIXTURES)
def test_size_fixtures_fail_only_pf_size_under_full_preflight(run_suite, fixture: str) -> None:
    """Real builds: under every preflight check a size fixture fails PF-SIZE and nothing else."""
    run: SuiteRun = run_suite("-m", "preflight", target=FIXTURES / fixture / "signoff.toml")
    checks = run.evidence()["checks"]
    assert "Traceback" not in run.output
    # the other artifact checks really ran on these artifacts (and passed), not skipped
    ran = {c["check"] for c in checks if c["outcome"] == "passed"}
    assert {"PF-SIZE", "PF-COMP", "PF-ABI", "PF-ADDR"} <= ran, checks
    not_passed = sorted(
        (c["check"], c["nodeid"].split("::", 1)[1]) for c in checks if c["outcome"] not in {"passed", "skipped"}
    )
    defect = fixture.removeprefix("defective/")
    if defect not in DEFECTS:  # the boundary: 24,576 bytes pass
        assert run.result.ret == 0, run.output
        assert not_passed == []
        return
    assert run.result.ret == 1, run.output
    if defect == "truncated-artifact":
        # The one unreadable file is a failing case of every per-contract check (by design: it
        # can never shrink a check into a green report); nothing about the intact PingFacet fails.
        assert all(test.endswith(f"[{UNREADABLE}]") for _, test in not_passed), not_passed
        assert {check for check, _ in not_passed} == {"PF-SIZE", "PF-COMP", "PF-ABI", "PF-ADDR"}, not_passed
        assert ("PF-SIZE", DEFECTS[defect][0]) in not_passed
        return
    assert not_passed == [("PF-SIZE", DEFECTS[defect][0])], not_passed


def test_exactly_at_the_limit_passes_with_a_warning(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "eip170", target=FIXTURES / "boundary" / "runtime-24576" / "signoff.toml")
    assert run.result.ret == 0, run.output
    row = run.evidence()["tables"]["PF-SIZE"]["rows"][0]
    assert (row["runtime"], row["runtime_headroom"], row["verdict"]) == (24_576, 0, "warn")
    assert "runtime headroom is 0 bytes under the 24,576-byte limit" in run.output


def test_no_deployable_contract_is_a_failure_not_a_green_report(run_suite, tmp_path: Path) -> None:
    interface = FIXTURES / "reference" / "artifacts" / "contracts"
    target = tmp_path / "signoff.toml"
    target.write_text(
        f'[target]\nname = "only excluded"\nartifacts = "{interface}"\n[sizes]\nexclude = ["contracts/**"]\n'
    )
    run: SuiteRun = run_suite("-m", "eip170", target=target)
    assert run.result.ret == 1, run.output
    assert "no deployable contract was size-checked" in run.output
