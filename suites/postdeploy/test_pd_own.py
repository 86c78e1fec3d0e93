"""PD-OWN: owners and admins of every deployed contract are the governance; the governance is
a Safe or timelock that meets its minimum, never an EOA.

One test per deployed contract (named from the deploy plan, ``[postdeploy] contracts`` or the
network's deployments file, all read without touching a chain), plus one for the governance
itself. Read-only: every call is an ``eth_call`` at the pinned block on a live network.
"""

import pytest

from signoff.deploy.system import DeployedSystem
from signoff.errors import SignoffError
from signoff.findings import Finding
from signoff.postdeploy import ownership as own
from signoff.redaction import redact
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable

CHECK_ID = own.CHECK_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.ownership]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "contract" in metafunc.fixturenames:
        names: list[str | None] = list(own.planned_contracts(settings_of(metafunc.config)))
        if not names:
            names = [None]
        metafunc.parametrize("contract", names, ids=[name or "not-configured" for name in names])


@pytest.fixture(scope="module")
def reader(chain, signoff_settings: SessionSettings) -> own.ChainReader:
    """Reads at the chain's default block: the pinned block on a live network."""
    abis = [c.abi for c in signoff_settings.artifacts.contracts]
    return own.ChainReader(chain.w3, chain.w3.eth.default_block, abis)


def _accounts(settings: SessionSettings, system: DeployedSystem) -> dict[str, str]:
    deployer = settings.network_settings.deployer if settings.network_settings else None
    return own.probe_accounts(system.accounts, deployer)


def test_pd_own(
    contract: str | None,
    signoff_settings: SessionSettings,
    request: pytest.FixtureRequest,
    evidence,
) -> None:
    if contract is None:
        if signoff_settings.is_live:
            request.getfixturevalue("deployed_system")  # an unreadable deployments file fails here, with why
        source = "deployments file" if signoff_settings.is_live else "[deploy] plan"
        not_applicable(
            f"no deployed contract is known for {signoff_settings.target.path}: PD-OWN checks every contract of "
            f"the {source}. To check some, add deploy steps, a deployments file, or [postdeploy] contracts = [...]"
        )
    system: DeployedSystem = request.getfixturevalue("deployed_system")
    dispatcher = system.dispatcher_of(contract)
    if dispatcher is not None:
        not_applicable(
            f"{contract} is a facet routed by {dispatcher} ([[diamonds]]): its functions run in {dispatcher}'s "
            f"storage, so its authority is {dispatcher}'s, judged in test_pd_own[{dispatcher}] with the facets' "
            "functions (the facet's own storage governs nothing)"
        )
    control = signoff_settings.control
    if control is not None:
        from signoff.postdeploy.control.owners import declared_names

        key = declared_names(control.owner_control, control.module_name).get(contract)
        if key is not None:
            not_applicable(
                f"{contract} is module {key} of the owner-control file {control.owner_control}: its holder is the "
                f"one that file declares for its type, judged in test_pd_ctl[{contract}] (PD-CTL), not "
                "[postdeploy] governance"
            )
    reader: own.ChainReader = request.getfixturevalue("reader")
    accounts = _accounts(signoff_settings, system)
    label = own.with_names(system.name_of, accounts)
    try:
        address = system.address(contract, where=f"{signoff_settings.target.path}: PD-OWN")
        artifact = system.artifacts.get(contract)
        if artifact is None:
            evidence.check(
                [
                    Finding(
                        CHECK_ID,
                        contract,
                        "error",
                        f"{contract} at {address} has no artifact, so "
                        "its ABI is unknown. Next step: compile it into [target] artifacts",
                    )
                ]
            )
            return
        governance = tuple(system.governance)
        if own.is_timelock(system.abi_of(contract)):  # a timelock may (and should) administer itself
            governance = (*governance, address)
        probe = [*governance, *accounts.values()]
        facts = own.read_ownership(reader, contract, address, system.abi_of(contract), probe)
    except SignoffError as exc:
        evidence.check([Finding(CHECK_ID, contract, "error", redact(str(exc)))])
        return
    result = own.judge_ownership(facts, governance, label, accounts=accounts)
    for row in result.rows:
        evidence.row("PD-OWN", row)
    evidence.attach("address", address)
    evidence.attach("authority", result.summary)
    evidence.attach("probed", [label(a) for a in facts.probed] if facts.authority.access_control else [])
    evidence.check(result.findings)


def test_pd_own_governance(signoff_settings: SessionSettings, deployed_system: DeployedSystem, chain, evidence) -> None:
    from signoff.deploy.governance import check_governance, read_governance

    settings = signoff_settings.postdeploy
    assert settings is not None  # resolve_session always reads [postdeploy]
    policy = own.GovernancePolicy(
        settings.min_safe_threshold, settings.min_safe_owners, settings.min_timelock_delay_seconds
    )
    evidence.attach("policy", policy.describe())
    if not deployed_system.governance:
        evidence.row(
            "PD-OWN-governance", {"governance": "(not configured)", "required": policy.describe(), "verdict": "fail"}
        )
        evidence.check(
            [own.no_governance(str(signoff_settings.target.path), signoff_settings.network, signoff_settings.is_live)]
        )
        return
    label = own.with_names(deployed_system.name_of, deployed_system.accounts)
    findings: list[Finding] = []
    for address in deployed_system.governance:
        try:
            facts = read_governance(chain.w3, address, block_identifier=chain.w3.eth.default_block)
            problems = check_governance(
                facts,
                min_threshold=policy.min_threshold,
                min_owners=policy.min_owners,
                min_delay_seconds=policy.min_delay_seconds,
            )
        except SignoffError as exc:
            findings.append(Finding(CHECK_ID, address, "error", redact(str(exc))))
            evidence.row("PD-OWN-governance", {"governance": label(address), "verdict": "fail"})
            continue
        row, found = own.judge_governance(facts, problems, policy, label)
        evidence.row("PD-OWN-governance", row)
        findings.extend(found)
    evidence.check(findings)
