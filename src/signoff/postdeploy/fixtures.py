"""Fixtures of the postdeploy suite: the deployed system, and a writable chain for drills.

On eth-tester and anvil the system comes from a rehearsal of the target's ``[deploy]`` plan;
on a live network from its deployments file, read at the pinned block. Drills (anything
that sends a transaction) run on the rehearsal chain, or with ``--signoff-fork`` on an anvil
fork of the live network at the pinned block; without a fork they are reported as not run.
web3 is imported inside the fixtures only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from signoff.deploy.system import DEPLOYMENTS_FILE, DeployedSystem
from signoff.errors import SignoffError
from signoff.evidence.collector import TABLES
from signoff.postdeploy.control.fixtures import control_plane  # noqa: F401  (registered with this plugin)
from signoff.postdeploy.tables import PD_TABLES
from signoff.redaction import redact
from signoff.session import SessionSettings

if TYPE_CHECKING:
    from signoff.chain.backends import Chain
    from signoff.deploy.rehearsal import Operator

TABLES.update(PD_TABLES)  # the postdeploy evidence tables: registered by the phase, the core names none

NO_FORK = (
    "NOT RUN on live network {network}: this drill sends transactions, and signoff never changes a live "
    "chain. Next step: add --signoff-fork to run it on an anvil fork of {network} at the pinned block"
)


@pytest.fixture(scope="session")
def deployed_system(request: pytest.FixtureRequest, signoff_settings: SessionSettings) -> DeployedSystem:
    """The system under check: rehearsed from [deploy], or read from the network's deployments file."""
    chain: Chain = request.getfixturevalue("chain")
    from signoff.deploy.system import attach_routes

    problem = ""
    try:
        if signoff_settings.is_live:
            system = system_from_deployments(signoff_settings, chain)
        else:
            system = _rehearse(request, signoff_settings, chain)
        attach_routes(system, signoff_settings.target.diamonds, signoff_settings.artifacts)
        return system
    except (SignoffError, LookupError) as exc:
        problem = redact(str(exc))
    pytest.fail(problem, pytrace=False)  # outside the except: no chained traceback


def _rehearse(request: pytest.FixtureRequest, settings: SessionSettings, chain: Chain) -> DeployedSystem:
    from signoff.deploy.rehearsal import rehearse

    plan = settings.deploy_plan
    if plan is None:
        pytest.fail(
            f"{settings.target.path} has no [deploy] plan, so there is nothing to rehearse on {settings.network}. "
            "Next step: describe the deployment in [deploy] (see the README), or check a deployed system with "
            "--network NAME",
            pytrace=False,
        )
    governance = settings.postdeploy.governance if settings.postdeploy else None
    return rehearse(chain, settings.target, settings.artifacts, plan, governance=governance)


def system_from_deployments(settings: SessionSettings, chain: Chain) -> DeployedSystem:
    """A live network's system: names and addresses from its deployments file, artifacts by name."""
    from signoff.postdeploy.deployments import load_deployments

    network = settings.network_settings
    assert network is not None
    if network.deployments is None:
        raise SignoffError(
            f"{settings.target.path}: [networks.{network.name}] has no deployments file, so signoff does not know "
            "what is deployed. Next step: add deployments = 'deployments/<network>.json' (an address book, a "
            "hardhat-deploy folder or a Foundry broadcast run-latest.json)"
        )
    book = load_deployments(network.deployments, expected_chain_id=network.chain_id)
    artifacts = {}
    for name in book.addresses:
        try:
            artifacts[name] = settings.artifacts.resolve(name)
        except (SignoffError, LookupError):
            continue  # reported by the checks that need an artifact (PD-CODE lists it)
    system = DeployedSystem(
        origin=DEPLOYMENTS_FILE,
        source=str(book.source),
        network=settings.network,
        chain_id=chain.chain_id,
        addresses=dict(book.addresses),
        artifacts=artifacts,
        expected_args={},
        block=chain.pinned,
        deployed_blocks=dict(book.blocks),
    )
    governance = settings.postdeploy.governance if settings.postdeploy else None
    name = governance[1:] if governance and governance.startswith("@") else "Governance"
    if name in system.addresses:
        system.governance = (system.addresses[name],)
    elif network.governance:
        system.governance = tuple(network.governance)
        system.aliases[name] = network.governance[0]  # "@Governance" in constructor args and role lists
    elif governance and governance.startswith("0x"):
        system.governance = (governance,)
    for alias, contract in artifacts.items():
        configured = settings.target.contract_settings(contract.fqn)
        if configured is not None and configured.constructor_args is not None:
            system.expected_args[alias] = system.resolve_args(
                configured.constructor_args, where=f"[contracts.{contract.name}] constructor_args"
            )
    return system


@pytest.fixture(scope="session")
def drill_chain(
    request: pytest.FixtureRequest, signoff_settings: SessionSettings, deployed_system: DeployedSystem
) -> Iterator[Chain]:
    """A chain drills may change: the rehearsal chain, or an anvil fork of the live network."""
    if not signoff_settings.is_live:
        yield request.getfixturevalue("chain")
        return
    if not signoff_settings.fork:
        pytest.skip(NO_FORK.format(network=signoff_settings.network))
    from signoff.chain import Endpoint
    from signoff.chain.anvil import AnvilNode, find_anvil
    from signoff.chain.backends import open_endpoint
    from signoff.chain.proxy import RecordingRpcProxy

    network = signoff_settings.network_settings
    assert network is not None and deployed_system.block is not None
    # anvil reads the live network through a loopback proxy: the RPC URL (and any key in it) never
    # appears on a process command line, and the proxy refuses any write method on the way up.
    upstream = RecordingRpcProxy(network.rpc_url, refuse_writes=True)
    node = AnvilNode(
        find_anvil(request.config.rootpath, request.config.invocation_params.dir),
        ["--fork-url", upstream.start(), "--fork-block-number", str(deployed_system.block.number)],
        chain_id=network.chain_id,
    )

    def stop() -> None:
        node.stop()
        upstream.stop()

    fork: Chain | None = None
    problem = ""
    try:
        url = node.start()
        fork = open_endpoint(
            Endpoint(f"{network.name} (fork)", url, network.chain_id, "anvil", network.request_timeout_seconds),
            close=stop,
        )
    except SignoffError as exc:
        stop()
        problem = redact(f"could not fork {network.name} at block {deployed_system.block.number}: {exc}")
    if fork is None:
        pytest.fail(problem, pytrace=False)  # outside the except: no chained traceback
    try:
        yield fork
    finally:
        fork.close()


@pytest.fixture
def drill(drill_chain: Chain, deployed_system: DeployedSystem, signoff_settings: SessionSettings) -> Iterator[Operator]:
    """Acts as the system's accounts on the drill chain; every change is reverted afterwards."""
    from signoff.deploy.rehearsal import Operator

    snapshot = drill_chain.snapshot()
    try:
        yield Operator(drill_chain, deployed_system, abis=[c.abi for c in signoff_settings.artifacts.contracts])
    finally:
        drill_chain.revert(snapshot)
