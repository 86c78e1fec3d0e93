"""PF-NET: the network is ready: reachable, the right chain, synced, deployer funded and
governance deployed. Runs on a named network or anvil; all reads at the pinned block."""

import time

import pytest

from signoff.chain import BlockPin, Endpoint
from signoff.chain.rpc import JsonRpcClient
from signoff.deploy.manifest import WRITE_COMMAND, PlanError, checksum, load_target_plan
from signoff.findings import Finding
from signoff.preflight import network as net
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable, safe_id

CHECK_ID = net.CHECK_ID
pytestmark = [pytest.mark.preflight, pytest.mark.network]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    ns = settings_of(metafunc.config).readiness
    if "deployer" in metafunc.fixturenames:
        configured = ns is not None and ns.deployer and ns.min_deployer_balance_wei is not None
        values = [(ns.deployer, ns.min_deployer_balance_wei)] if configured else [None]
        metafunc.parametrize("deployer", values, ids=[safe_id(v[0] if v else None) for v in values])
    if "governance" in metafunc.fixturenames:
        addresses = list(ns.governance) if ns is not None and ns.governance else [None]
        metafunc.parametrize("governance", addresses, ids=[safe_id(a) for a in addresses])


def test_pf_net_reachable(signoff_endpoint: Endpoint, signoff_rpc: JsonRpcClient, evidence) -> None:
    started = time.perf_counter()
    version = signoff_rpc.call("web3_clientVersion")
    latency_ms = (time.perf_counter() - started) * 1000
    evidence.attach("client_version", version)
    evidence.attach("latency_ms", round(latency_ms, 1))
    evidence.row(
        "PF-NET",
        {
            "item": "RPC reachable",
            "expected": "answers JSON-RPC",
            "actual": f"{version} in {latency_ms:.0f} ms",
            "verdict": "pass",
        },
    )


def test_pf_net_chain_id(signoff_endpoint: Endpoint, signoff_rpc: JsonRpcClient, evidence) -> None:
    actual = signoff_rpc.chain_id()
    findings = net.check_chain_id(signoff_endpoint.network, signoff_endpoint.expected_chain_id, actual)
    evidence.row(
        "PF-NET",
        {
            "item": "chain id",
            "expected": signoff_endpoint.expected_chain_id,
            "actual": actual,
            "verdict": "fail" if findings else "pass",
        },
    )
    evidence.check(findings)


def test_pf_net_block_fresh(
    signoff_endpoint: Endpoint, signoff_pin: BlockPin, signoff_settings: SessionSettings, evidence
) -> None:
    ns = signoff_settings.readiness
    max_age = ns.max_block_age_seconds if ns else 300
    now = int(time.time())
    findings = net.check_block_age(signoff_endpoint.network, signoff_pin, now, max_age)
    evidence.row(
        "PF-NET",
        {
            "item": f"pinned block {signoff_pin.number} age",
            "expected": f"<= {max_age} s",
            "actual": f"{now - signoff_pin.timestamp} s",
            "verdict": "fail" if findings else "pass",
        },
    )
    evidence.check(findings)


def test_pf_net_deployer_funded(
    deployer, signoff_endpoint: Endpoint, signoff_rpc: JsonRpcClient, signoff_pin: BlockPin, evidence
) -> None:
    if deployer is None:
        evidence.attach(
            "nothing_to_check",
            f"no deployer and min_deployer_balance_wei in [networks.{signoff_endpoint.network}]: nothing to check",
        )
        return
    address, minimum = deployer
    balance = signoff_rpc.balance(address, signoff_pin.number)
    findings = net.check_balance(signoff_endpoint.network, address, balance, minimum, signoff_pin.number)
    evidence.row(
        "PF-NET",
        {
            "item": f"deployer {address} balance",
            "expected": f">= {minimum:,} wei",
            "actual": f"{balance:,} wei",
            "verdict": "fail" if findings else "pass",
        },
    )
    evidence.check(findings)


def test_pf_net_governance_has_code(
    governance, signoff_endpoint: Endpoint, signoff_rpc: JsonRpcClient, signoff_pin: BlockPin, evidence
) -> None:
    if governance is None:
        evidence.attach(
            "nothing_to_check", f"no governance addresses in [networks.{signoff_endpoint.network}]: nothing to check"
        )
        return
    code = signoff_rpc.code(governance, signoff_pin.number)
    findings = net.check_has_code(signoff_endpoint.network, governance, code, signoff_pin.number)
    evidence.row(
        "PF-NET",
        {
            "item": f"governance {governance} code",
            "expected": "contract code",
            "actual": f"{len(code):,} bytes",
            "verdict": "fail" if findings else "pass",
        },
    )
    evidence.check(findings)


def test_pf_net_create2_ready(
    signoff_endpoint: Endpoint,
    signoff_rpc: JsonRpcClient,
    signoff_pin: BlockPin,
    signoff_settings: SessionSettings,
    evidence,
) -> None:
    """The CREATE2 deployer is present (or will land where the plan says) and the addresses the
    dispatcher plan predicts are still empty (or hold exactly the planned code)."""
    manifest = signoff_settings.target.manifest
    if manifest is None:
        not_applicable("no [manifest] plan in the target: no CREATE2 predictions to check on this network")
    try:
        plan = load_target_plan(manifest)
    except PlanError as exc:
        evidence.check([Finding(CHECK_ID, str(manifest.plan), "error", str(exc))])
        return
    if plan.factory is None:
        not_applicable(f"{manifest.plan} names no CREATE2 factory: its facet addresses are not predictions")
    factory = checksum(plan.factory.address)
    block = signoff_pin.number
    deployer = None
    if plan.factory.deployer is not None and plan.factory.nonce is not None:
        address = checksum(plan.factory.deployer)
        deployer = (address, plan.factory.nonce, signoff_rpc.nonce(address, block))
    codehashes = {route.facet: route.codehash for route in plan.routes}
    slots = [
        net.Create2Slot(
            facet.name,
            checksum(facet.address),
            codehashes.get(facet.name),
            signoff_rpc.code(checksum(facet.address), block),
        )
        for facet in plan.facets
    ]
    rows, findings = net.check_create2_readiness(
        signoff_endpoint.network,
        factory,
        signoff_rpc.code(factory, block),
        deployer=deployer,
        slots=slots,
        block=block,
        rewrite_command=WRITE_COMMAND,
    )
    for row in rows:
        evidence.row("PF-NET", row)
    evidence.check(findings)
