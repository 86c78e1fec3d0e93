"""PF-ADDR: no hard-coded address literal in a project contract outside [[addresses.allow]].

One test per deployable project contract (outside ``[compiler] exclude``): PUSH20 constants
of its runtime code and, where the build-info carries the AST, address literals of its
sources. One more test lists the allow-list and what each entry covered.
"""

from pathlib import Path

import pytest

from signoff.artifacts.loader import ArtifactError, Contract
from signoff.findings import Finding
from signoff.preflight import addresses
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import ContractCase, contract_cases

CHECK_ID = addresses.CHECK_ID
pytestmark = [pytest.mark.preflight, pytest.mark.addresses]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "addr_case" in metafunc.fixturenames:
        settings = settings_of(metafunc.config)
        cases = contract_cases(settings.artifacts, settings.is_project_contract)
        metafunc.parametrize("addr_case", cases, ids=[case.id for case in cases])


_AST_INDEXES: dict[Path, addresses.AstIndex] = {}


def _scan(contract: Contract) -> tuple[addresses.AstScan | None, str | None]:
    if contract.build_info_path is None:
        return None, f"the {contract.format} artifact points at no build-info"
    try:
        index = _AST_INDEXES.get(contract.build_info_path)
        if index is None:
            index = _AST_INDEXES[contract.build_info_path] = addresses.AstIndex(contract.build_info())
    except ArtifactError as exc:
        return None, str(exc)
    except (AttributeError, TypeError, ValueError) as exc:  # a build-info of an unexpected shape
        return None, f"build-info {contract.build_info_path.name} cannot be read ({type(exc).__name__})"
    scan = index.scan(contract.source, contract.name)
    return (None, scan) if isinstance(scan, str) else (scan, None)


def test_pf_addr(addr_case: ContractCase, signoff_settings: SessionSettings, evidence) -> None:
    contract = addr_case.require()
    result = addresses.check_addresses(contract, signoff_settings.target.address_allow, *_scan(contract))
    evidence.row("PF-ADDR", result.summary)
    for row in result.literals:
        evidence.row("PF-ADDR-literals", row)
    evidence.attach("walk", result.walk)
    evidence.attach("not_addresses", list(result.ignored[:50]))
    evidence.check(result.findings)


def test_pf_addr_allowlist(signoff_settings: SessionSettings, evidence) -> None:
    allow = signoff_settings.target.address_allow
    covered: dict[str, list[str]] = {}
    scanned = 0
    for contract in signoff_settings.artifacts.contracts:
        if signoff_settings.is_project_contract(contract):
            scanned += 1
            for address in addresses.check_addresses(contract, allow, *_scan(contract)).allowed:
                covered.setdefault(address, []).append(contract.fqn)
    for entry in allow:
        evidence.row(
            "PF-ADDR-allow",
            {
                "address": entry.value,
                "reason": entry.reason,
                "contracts": ", ".join(entry.contracts) or "any",
                "covered": ", ".join(covered.get(entry.value.lower(), [])) or "nothing",
            },
        )
    if not allow:
        none = "(none): every address literal found is a finding"
        evidence.row("PF-ADDR-allow", {"address": none, "reason": "-", "contracts": "-", "covered": "-"})
    evidence.attach("contracts_scanned", scanned)
    findings = addresses.unused_allow_entries(allow, set(covered))
    if scanned == 0:
        findings.append(
            Finding(
                CHECK_ID,
                str(signoff_settings.artifacts.root),
                "error",
                (
                    f"no project contract was scanned for address literals in {signoff_settings.artifacts.root}: "
                    "PF-ADDR would pass on nothing. Next step: check [target] artifacts and [compiler] exclude"
                ),
            )
        )
    evidence.check(findings)
