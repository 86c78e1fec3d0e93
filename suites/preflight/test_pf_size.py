"""PF-SIZE: every deployable contract fits EIP-170 (runtime) and EIP-3860 (initcode).

One test per contract, so the report reads as a checklist; an inventory test lists what was
not size-checked (interfaces, abstract contracts, excluded paths) and fails if nothing was.
"""

import pytest

from signoff.findings import Finding
from signoff.preflight import sizes
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import ContractCase, contract_cases

CHECK_ID = sizes.CHECK_ID
pytestmark = [pytest.mark.preflight, pytest.mark.eip170]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "size_case" in metafunc.fixturenames:
        settings = settings_of(metafunc.config)
        cases = contract_cases(settings.artifacts, lambda c: c.deployable and not settings.size_excluded(c))
        metafunc.parametrize("size_case", cases, ids=[case.id for case in cases])


def test_pf_size(size_case: ContractCase, signoff_settings: SessionSettings, evidence) -> None:
    contract = size_case.require()
    result = sizes.check_size(
        contract,
        warn_headroom=signoff_settings.target.sizes.warn_headroom,
        constructor_args_size=signoff_settings.constructor_args_size.get(contract.fqn, 0),
    )
    evidence.row("PF-SIZE", result.row())
    evidence.check(result.findings)


def test_pf_size_inventory(signoff_settings: SessionSettings, evidence) -> None:
    checked, skipped = 0, []
    for contract in signoff_settings.artifacts.contracts:
        pattern = signoff_settings.size_excluded(contract)
        if not contract.deployable:
            skipped.append(
                {"contract": contract.fqn, "reason": "not deployable: no creation code (interface or abstract)"}
            )
        elif pattern:
            skipped.append({"contract": contract.fqn, "reason": f"excluded by [sizes] exclude = {pattern!r}"})
        else:
            checked += 1
    for row in skipped:
        evidence.row("PF-SIZE-inventory", row)
    evidence.attach("contracts_size_checked", checked)
    evidence.attach("contracts_not_size_checked", len(skipped))
    findings = []
    if checked == 0:
        findings.append(
            Finding(
                CHECK_ID,
                str(signoff_settings.artifacts.root),
                "error",
                (
                    f"no deployable contract was size-checked among {len(signoff_settings.artifacts.contracts)} "
                    f"in {signoff_settings.artifacts.root}: PF-SIZE would pass on nothing. Next step: "
                    "check [target] artifacts and [sizes] exclude"
                ),
            )
        )
    evidence.check(findings)
