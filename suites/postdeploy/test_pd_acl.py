"""PD-ACL: privileged functions reject outsiders and accept their role; nothing else is open.

One test per ``[[postdeploy.privileged]]`` entry (the role's simulated call succeeds, the
outsider's identical call reverts) and one discovery test (every state-changing function of
every deployed contract, called from an unprivileged address with generated arguments; what
succeeds must be listed ``public``). All of it is ``eth_call``: on a live network it runs
read-only at the pinned block. Only on eth-tester, whose ``eth_call`` charges gas even to a
simulation, a role without ether is given some inside the ``drill`` snapshot.
"""

from dataclasses import dataclass
from typing import Any

import pytest

from signoff.deploy.system import DeployedSystem
from signoff.errors import SignoffError
from signoff.findings import Finding
from signoff.postdeploy import access_control as acl
from signoff.postdeploy.settings import Privileged
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable

CHECK_ID = acl.CHECK_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.access_control]
GAS_MONEY = 10**18  # what a role gets on eth-tester to pay for its simulated calls


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "privileged" in metafunc.fixturenames:
        postdeploy = settings_of(metafunc.config).postdeploy
        entries = list(postdeploy.privileged) if postdeploy else []
        metafunc.parametrize(
            "privileged", entries or [None], ids=[str(e.function) for e in entries] or ["not-configured"]
        )


@dataclass(frozen=True)
class AclContext:
    simulator: acl.Simulator
    outsider: str
    addresses: tuple[str, ...]  # the system's own addresses: generated arguments lean on them
    effects: acl.Effects | None  # a writable chain: what a succeeding call does, sent in a snapshot


@pytest.fixture(scope="module")
def acl_context(request: pytest.FixtureRequest, signoff_settings: SessionSettings) -> AclContext:
    from signoff.deploy.rehearsal import Operator

    chain = request.getfixturevalue("chain")
    system: DeployedSystem = request.getfixturevalue("deployed_system")
    embedded = chain.kind == "embedded"
    simulator = acl.eth_call_simulator(
        chain.w3, [c.abi for c in signoff_settings.artifacts.contracts], override_balances=not embedded
    )
    known = (*system.names().values(), *system.governance)
    # eth-tester: an unused funded account; elsewhere a fixed keyless address (state overrides fund it).
    outsider = Operator(chain, system).outsider(0) if embedded else acl.live_outsider(known)
    effects = None
    if not chain.read_only:  # eth-tester, anvil or a fork: a succeeding call may be sent, then undone
        watched = {address: name for name, address in system.names().items()}
        effects = acl.sent_effects(Operator(chain, system), watched)
    return AclContext(simulator, outsider, tuple(dict.fromkeys(known)), effects)


def test_pd_acl_privileged(
    privileged: Privileged | None, request: pytest.FixtureRequest, signoff_settings: SessionSettings, evidence
) -> None:
    if privileged is None:
        not_applicable(
            f"no [[postdeploy.privileged]] in {signoff_settings.target.path}: nothing is declared privileged. "
            'To check one, add [[postdeploy.privileged]] function = "Contract.fn" and role = "@Governance"'
        )
    system: DeployedSystem = request.getfixturevalue("deployed_system")
    context: AclContext = request.getfixturevalue("acl_context")
    problem = ""
    try:
        target = _target(system, privileged.function.contract)
        role = system.address(privileged.role, where="[[postdeploy.privileged]] role")
        args = None if privileged.args is None else _args(system, privileged.args, evidence)
        _gas_money(request, role)
    except SignoffError as exc:
        problem = str(exc)
    if problem:  # outside the except: the failure carries no chained traceback
        evidence.check([Finding(CHECK_ID, str(privileged.function), "error", problem)])
        return
    result = acl.check_privileged(
        privileged,
        target,
        role,
        f"{privileged.role} ({role})",
        context.outsider,
        context.simulator,
        args=args,
        examples=signoff_settings.postdeploy.discovery_examples,
        addresses=context.addresses,
        routed_by=system.dispatcher_of(privileged.function.contract),
    )
    evidence.row("PD-ACL", result.row)
    evidence.attach("calldata", "0x" + result.calldata.hex())
    evidence.attach("outsider", context.outsider)
    evidence.check(result.findings)


def test_pd_acl_discovery(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    if signoff_settings.target.raw_postdeploy is None:
        not_applicable(
            f"no [postdeploy] in {signoff_settings.target.path}: the discovery needs the list of functions anyone "
            'may call. To run it, add [postdeploy] public = ["Contract.fn", ...]'
        )
    system: DeployedSystem = request.getfixturevalue("deployed_system")
    context: AclContext = request.getfixturevalue("acl_context")
    postdeploy = signoff_settings.postdeploy
    listed = postdeploy.contracts or system.contract_names()
    problems = acl.missing_targets(listed, system.addresses, system.artifacts)
    unprobed = sorted(set(system.addresses) - set(listed) - set(system.artifacts))
    problems += [
        Finding(CHECK_ID, n, "warning", f"{n} ({system.addresses[n]}) has no artifact: the discovery skipped it")
        for n in unprobed
    ]
    blocked = {f.subject for f in problems}
    targets = [acl.ProbeTarget(n, system.addresses[n], system.artifacts[n].abi) for n in listed if n not in blocked]
    routed = _routed_targets(system)
    runtimes = [system.artifacts[n].runtime.to_bytes() for n in listed if n in system.artifacts]
    constants = acl.collect_constants([*targets, *routed], runtimes, context.simulator, context.outsider)
    result = acl.discover(
        [*targets, *routed],
        public=postdeploy.public,
        privileged=[p.function for p in postdeploy.privileged],
        outsider=context.outsider,
        simulator=context.simulator,
        examples=postdeploy.discovery_examples,
        addresses=context.addresses,
        constants=constants,
        effects=context.effects,
    )
    for row in result.rows:
        evidence.row("PD-ACL-discovery", row)
    evidence.attach(
        "discovery",
        {
            "outsider": context.outsider,
            "contracts": result.contracts,
            "functions": result.functions,
            "calls": result.calls,
            "examples_per_function": postdeploy.discovery_examples,
            "routed_through": sorted({t.via for t in routed if t.via}),
            "constants": {"bytes32": len(constants.words), "numbers": len(constants.numbers)},
        },
    )
    evidence.check([*problems, *result.findings])


def _routed_targets(system: DeployedSystem) -> list[acl.ProbeTarget]:
    """Each [[diamonds]] facet's functions, called at its deployed dispatcher's address: in the
    dispatcher's storage, where the facet's guards really run."""
    return [
        acl.ProbeTarget(facet, system.addresses[dispatcher], entries, via=dispatcher)
        for dispatcher, facets in system.routed.items()
        for facet, entries in facets.items()
    ]


def _target(system: DeployedSystem, name: str) -> acl.ProbeTarget:
    if name not in system.addresses or name not in system.artifacts:
        raise SignoffError(
            f"[[postdeploy.privileged]] names {name}, which is not a deployed contract with an artifact "
            f"({', '.join(system.contract_names()) or 'none'}). Next step: correct the contract name"
        )
    return acl.ProbeTarget(name, system.addresses[name], system.abi_of(name))  # routed facets included


def _args(system: DeployedSystem, args: tuple[Any, ...], evidence) -> tuple[Any, ...]:
    """``args`` with "@Name" resolved; on a live network a name it does not know (a rehearsal account such
    as @Deployer) becomes a keyless stand-in address: any address serves to prove who may call."""
    where = "[[postdeploy.privileged]] args"
    if system.rehearsed:
        return system.resolve_args(args, where=where)
    known, stand_ins = system.names(), {}

    def resolve(value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [resolve(item) for item in value]
        if not (isinstance(value, str) and value.startswith("@")) or value[1:] in known:
            return system.resolve_args([value], where=where)[0]
        stand_ins[value] = acl.stand_in(value[1:])
        return stand_ins[value]

    resolved = tuple(resolve(value) for value in args)
    if stand_ins:
        evidence.attach("stand_ins", stand_ins)
    return resolved


def _gas_money(request: pytest.FixtureRequest, role: str) -> None:
    """eth-tester charges a simulated call's gas to its sender (base fee > 0): a role without ether
    (a contract) is given some, inside the drill snapshot."""
    chain = request.getfixturevalue("chain")
    if chain.kind != "embedded" or int(chain.w3.eth.get_balance(role)) >= GAS_MONEY // 2:
        return
    drill = request.getfixturevalue("drill")  # the top-up is undone after the test
    drill.send(drill.outsider(1), role, b"", value=GAS_MONEY, what=f"gas money for simulating as {role}")
