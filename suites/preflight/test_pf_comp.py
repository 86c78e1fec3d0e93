"""PF-COMP: every project contract was built with the pinned compiler settings, consistently.

One test per deployable project contract (outside ``[compiler] exclude``) against the pins,
and one test across the project: keys left unpinned must agree (mixed versions, viaIR on in
one build and off in another).
"""

import pytest

from signoff.preflight import compiler
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import ContractCase, contract_cases
from signoff.target import excluded_by

CHECK_ID = compiler.CHECK_ID
pytestmark = [pytest.mark.preflight, pytest.mark.compiler]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "comp_case" in metafunc.fixturenames:
        settings = settings_of(metafunc.config)
        cases = contract_cases(settings.artifacts, settings.is_project_contract)
        metafunc.parametrize("comp_case", cases, ids=[case.id for case in cases])


def test_pf_comp(comp_case: ContractCase, signoff_settings: SessionSettings, evidence) -> None:
    contract = comp_case.require()
    settings, problem = compiler.read_settings(contract)
    result = compiler.check_compiler(contract, signoff_settings.target.compiler, settings, problem)
    evidence.row("PF-COMP", result.row())
    evidence.check(result.findings)


def test_pf_comp_consistency(signoff_settings: SessionSettings, evidence) -> None:
    builds, scoped_out, in_scope = [], [], 0
    for contract in signoff_settings.artifacts.contracts:
        pattern = excluded_by(contract.source, signoff_settings.target.compiler.exclude)
        if not contract.deployable:
            scoped_out.append(f"{contract.fqn}: no code (interface or abstract)")
        elif pattern:
            scoped_out.append(f"{contract.fqn}: [compiler] exclude {pattern!r}")
        else:
            in_scope += 1
            settings, _ = compiler.read_settings(contract)
            if settings is not None:  # an unknown build fails its own test
                builds.append((contract.fqn, settings))
    result = compiler.check_consistency(
        builds,
        signoff_settings.target.compiler,
        project_contracts=in_scope,
        scope=str(signoff_settings.artifacts.root),
    )
    for row in result.rows:
        evidence.row("PF-COMP-consistency", row)
    evidence.attach("builds_compared", result.compared)
    evidence.attach("not_in_scope", scoped_out)
    evidence.check(result.findings)
