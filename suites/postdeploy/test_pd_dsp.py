"""PD-DSP: the dispatcher's manifest lifecycle on the deployed system.

One test per aspect, so a defect fails exactly the aspect it breaks: ``live-routes`` reads the
chain (and runs on live networks); the other aspects are drills that send governance
transactions on the rehearsal chain or a fork, undone after each test.
"""

from typing import Any

import pytest

from signoff.deploy.system import DeployedSystem
from signoff.errors import SignoffError
from signoff.findings import Finding
from signoff.postdeploy import dispatcher as dsp
from signoff.redaction import redact
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable

CHECK_ID = dsp.CHECK_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.dispatcher]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "diamond" in metafunc.fixturenames:
        diamonds = list(settings_of(metafunc.config).target.diamonds)
        metafunc.parametrize("diamond", diamonds or [None], ids=[d.dispatcher for d in diamonds] or ["not-configured"])
    if "aspect" in metafunc.fixturenames:
        settings = settings_of(metafunc.config)
        values = [
            pytest.param(aspect, marks=[pytest.mark.drill] if aspect in dsp.DRILLS else [], id=aspect)
            for aspect in dsp.ASPECTS
        ]
        if settings.target.manifest is None:
            values = [pytest.param(None, id="not-configured")]
        elif dsp.interface_problem(settings) is not None:  # said once, not once per aspect
            values = [pytest.param("interface", id="interface")]
        metafunc.parametrize("aspect", values)


@pytest.fixture(scope="module")
def dispatcher(signoff_settings: SessionSettings, deployed_system: DeployedSystem) -> dsp.DispatcherContext:
    """The deployed [manifest] dispatcher and the plan it must serve."""
    problem = ""
    try:
        return dsp.load_context(signoff_settings, deployed_system)
    except SignoffError as exc:
        problem = redact(str(exc))
    pytest.fail(problem, pytrace=False)  # outside the except: no chained traceback


def test_pd_dsp(
    aspect: str | None,
    signoff_settings: SessionSettings,
    request: pytest.FixtureRequest,
    evidence,
) -> None:
    if aspect is None:
        not_applicable(
            f"no [manifest] in {signoff_settings.target.path}: PD-DSP drills a Merkle-manifest dispatcher. To check "
            'one, add [manifest] plan = "dispatcher.plan.json" and dispatcher = "<Name>"'
        )
    if aspect == "interface":
        problem = dsp.interface_problem(signoff_settings) or ""
        if problem.startswith("error: "):
            pytest.fail(redact(problem.removeprefix("error: ")), pytrace=False)
        not_applicable(f"PD-DSP drives the dispatcher's manifest lifecycle, but {problem}")
    system: DeployedSystem = request.getfixturevalue("deployed_system")
    ctx: dsp.DispatcherContext = request.getfixturevalue("dispatcher")
    if not ctx.plan.routes:
        evidence.check([Finding(CHECK_ID, ctx.plan.label, "error", f"{ctx.plan.label} has no routes to check")])
    try:
        if aspect == "live-routes":
            result = dsp.check_live_routes(request.getfixturevalue("chain").w3, ctx, system)
        else:
            # Requested here, not in the signature: on a live network without a fork it skips with its reason.
            drill = request.getfixturevalue("drill")
            if aspect == "commit-epoch":
                result = dsp.drill_commit_epoch(drill, ctx)
            elif aspect == "apply-proofs":
                result = dsp.drill_apply_proofs(drill, ctx, system)
            elif aspect == "activation-delay":
                result = dsp.drill_activation_delay(drill, ctx)
            else:
                result = dsp.drill_no_early_routes(drill, ctx, system)
    except SignoffError as exc:
        result = dsp.AspectResult(aspect, ctx.label)
        result.fail(redact(str(exc)))
    for row in result.rows:
        evidence.row("PD-DSP", row)
    for name, value in result.data.items():
        evidence.attach(name, value)
    evidence.check(result.findings)


def test_pd_dsp_declared_routes(
    diamond: Any, signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence
) -> None:
    """Every function of every [[diamonds]] facet routes to that facet's deployed address (the route view),
    and the EIP-2535 loupe lists nothing else: a plain diamond's routes, or a manifest dispatcher's."""
    from signoff.deploy.lifecycle import detect
    from signoff.postdeploy import routes

    if diamond is None:
        not_applicable(
            f"no [[diamonds]] in {signoff_settings.target.path}: there is no dispatcher whose routes to compare. "
            'To check one, add [[diamonds]] dispatcher = "<Name>" and facets = [...]'
        )
    system: DeployedSystem = request.getfixturevalue("deployed_system")
    name = signoff_settings.artifacts.resolve(diamond.dispatcher).name
    if name not in system.addresses:
        not_applicable(f"{name} ([[diamonds]] dispatcher) is not deployed on {system.network}: no routes to read")
    manifest = signoff_settings.target.manifest
    mapping = manifest.interface if manifest is not None and manifest.dispatcher == diamond.dispatcher else {}
    abi = system.abi_of(name)
    problem = ""
    try:
        lifecycle = detect(name, abi, mapping)
    except SignoffError as exc:
        problem = redact(str(exc))
    if problem:  # a mapped signature the ABI lacks: test_pd_dsp[interface] says how; said here too, no traceback
        evidence.check([Finding(CHECK_ID, name, "error", problem)])
        return
    route_view, loupe = lifecycle.function("route_of"), lifecycle.function("loupe")
    if route_view is None:
        not_applicable(
            f"{name} has no route view (facetAddress(bytes4), routeOf(bytes4) ...), with its facets' functions, so "
            'the routes cannot be read. Map one with [manifest.interface] route_of = "yourView(bytes4)"'
        )
    chain = request.getfixturevalue("chain")
    routed = system.routed.get(name, {})
    read = _reader(chain, system.addresses[name], abi, [c.abi for c in signoff_settings.artifacts.contracts])
    try:
        result = routes.check_declared_routes(
            name,
            {f: [e for e in entries if e.get("type", "function") == "function"] for f, entries in routed.items()},
            system.addresses,
            route_view,
            loupe,
            read,
            system.name_of,
        )
    except SignoffError as exc:  # a view that reverts, or an RPC that does not answer
        problem = redact(str(exc))
    if problem:  # outside the except: no chained traceback
        evidence.check([Finding(CHECK_ID, name, "error", problem)])
        return
    for row in result.rows:
        evidence.row("PD-DSP-routes", row)
    evidence.attach("route_view", route_view)
    evidence.attach("loupe", loupe or "not present: routes beyond [[diamonds]] cannot be listed")
    evidence.check(result.findings)


def _reader(chain: Any, address: str, abi: Any, abis: Any) -> Any:
    """``read(signature, args)``: one view of the dispatcher at the chain's pinned block, decoded."""
    from eth_abi.abi import decode

    from signoff.artifacts.abi import canonical_type, encode_call, find_function
    from signoff.postdeploy.ownership import ChainReader

    reader = ChainReader(chain.w3, chain.w3.eth.default_block, abis)

    def read(function: str, args: Any) -> Any:
        entry = find_function(abi, function, f"PD-DSP declared routes {function}")
        raw = reader.call(address, encode_call(abi, function, args, function), f"{address}.{function}")
        values = decode([canonical_type(o) for o in entry.get("outputs", [])], raw)
        return values[0] if len(values) == 1 else values

    return read
