"""PD-CODE: the runtime code at every deployed address is the artifact's, immutables included.

One test per deployed contract: the deploy plan's ``deploy`` steps on a rehearsal chain, the
deployments file on a live network (read locally at collection, so collection never touches
RPC). Each reads the code at the system's block (the pinned block on a live network), compares
it with the artifact (:mod:`signoff.postdeploy.bytecode`) and checks the immutables written into it
against the configured constructor arguments. Read-only: runs unchanged on live networks.
"""

from typing import NoReturn

import pytest

from signoff.errors import SignoffError
from signoff.findings import Finding
from signoff.postdeploy import code as pd_code
from signoff.postdeploy.bytecode import verify
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable

CHECK_ID = pd_code.CHECK_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.bytecode]
UNREADABLE = "deployments-unreadable"


def deployed_names(settings: SessionSettings) -> list[str]:
    """Contract names to check, from local files only: the plan's deploy steps or the deployments file.

    On a live network the governance entry of the deployments file is left to PD-OWN when it has
    no artifact (a Safe or a timelock is not one of the project's contracts); a
    :class:`SignoffError` from reading the file propagates (see :func:`pytest_generate_tests`).
    """
    if not settings.is_live:
        plan = settings.deploy_plan
        if plan is None:
            return []
        from signoff.deploy.plan import DeployStep

        return [step.alias for step in plan.steps if isinstance(step, DeployStep)]
    network = settings.network_settings
    if network is None or network.deployments is None:
        return []
    from signoff.postdeploy.deployments import load_deployments

    book = load_deployments(network.deployments, expected_chain_id=network.chain_id)
    governance = (settings.postdeploy.governance or "") if settings.postdeploy else ""
    names = []
    for name in book.addresses:
        if name == governance.removeprefix("@") and _artifact_problem(settings, name) is not None:
            continue
        names.append(name)
    return names


def _artifact_problem(settings: SessionSettings, name: str) -> str | None:
    """Why the artifacts cannot give ``name`` (not there, ambiguous), or ``None``."""
    try:
        settings.artifacts.resolve(name)
    except (SignoffError, LookupError) as exc:  # resolve() raises LookupError naming the candidates
        return str(exc)
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "contract_name" not in metafunc.fixturenames:
        return
    settings = settings_of(metafunc.config)
    try:
        names: list[str | None] = list(deployed_names(settings))
        ids = [str(name) for name in names]
    except SignoffError:
        names, ids = [None], [UNREADABLE]  # the test fails with the reason; collection must not crash
    if not names:
        names, ids = [None], ["not-configured"]
    metafunc.parametrize("contract_name", names, ids=ids)


def test_pd_code(
    contract_name: str | None, signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence
) -> None:
    if contract_name is None:
        _not_configured(signoff_settings)
    system = request.getfixturevalue("deployed_system")
    chain = request.getfixturevalue("chain")
    address = system.addresses.get(contract_name)
    if address is None:
        evidence.check(
            [
                Finding(
                    CHECK_ID,
                    contract_name,
                    "error",
                    f"{contract_name} has no address in the deployed system ({system.source}). Next step: deploy "
                    "it, or remove it from the deploy plan",
                )
            ]
        )
        return
    contract = system.artifacts.get(contract_name)
    if contract is None:
        detail = _artifact_problem(signoff_settings, contract_name) or "not resolved"
        evidence.row("PD-CODE", pd_code.missing_row(contract_name, address, "no artifact"))
        evidence.check([pd_code.missing_artifact(contract_name, address, system.source, detail)])
        return
    # The system's own block: the pinned one on a live network, the end of the rehearsal otherwise
    # (drills revert their changes, but reading there keeps this check independent of them).
    block = chain.pinned.number if chain.read_only else (system.block.number if system.block else "latest")
    onchain = bytes(chain.w3.eth.get_code(address, block_identifier=block))
    evidence.attach("address", address)
    evidence.attach("artifact", contract.fqn)
    evidence.attach("block", block)
    try:
        verification = verify(
            contract,
            onchain,
            pd_code.constructor_args_for(contract, system.expected_args.get(contract_name)),
            address,
        )
    except SignoffError as exc:
        evidence.row("PD-CODE", pd_code.missing_row(contract_name, address, f"not comparable: {exc}"))
        evidence.check([pd_code.not_checkable(contract_name, address, contract, exc)])
        return
    evidence.row("PD-CODE", pd_code.code_row(contract_name, address, contract, verification))
    for row in pd_code.immutable_rows(contract_name, verification):
        evidence.row("PD-CODE-immutables", row)
    evidence.attach("verdict", verification.comparison.verdict)
    evidence.check(pd_code.code_findings(contract_name, address, contract, verification))


def _not_configured(settings: SessionSettings) -> NoReturn:
    network = settings.network_settings
    if settings.is_live and network is not None and network.deployments is not None:
        try:
            deployed_names(settings)
        except SignoffError as exc:
            pytest.fail(f"{CHECK_ID}: {exc}", pytrace=False)
        not_applicable(
            f"{network.deployments} names no contract of the project: PD-CODE has nothing to compare "
            "(only the governance, which PD-OWN checks)"
        )
    if settings.is_live:
        not_applicable(
            f"[networks.{settings.network}] has no deployments file, so PD-CODE does not know "
            "which addresses to check. Next step: add deployments = 'deployments/<network>.json'"
        )
    not_applicable(
        f"{settings.target.path} has no [deploy] plan with deploy steps, so nothing is deployed on "
        f"{settings.network} to compare. Next step: describe the deployment in [deploy], or check a live network "
        "with --network NAME"
    )
