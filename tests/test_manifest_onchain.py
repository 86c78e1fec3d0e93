"""PF-MRK's plans are the ones the reference dispatcher accepts, proved on a fresh eth-tester.

The factory is deployed by the first account with its first transaction, so it lands where
the reference plan says; the facets go through ``deployDeterministic`` with the plan's salts;
then commit -> apply -> activate with the plan's root and proofs. The defective plans are
rejected on chain for the reasons PF-MRK gives before any transaction: a wrong codehash with
CodehashMismatch, a proof for another root with BadProof.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from signoff.artifacts.hashing import keccak256
from signoff.artifacts.loader import load_artifacts
from signoff.deploy.manifest import Plan, PlanRoute, checksum, hx, leaf_hash, load_plan
from tests.conftest import FIXTURES

ARTIFACTS = FIXTURES / "reference" / "artifacts"
PLANS = {
    "reference": FIXTURES / "reference" / "dispatcher.plan.json",
    "fake-codehash": FIXTURES / "defective" / "manifest-fake-codehash" / "dispatcher.plan.json",
    "wrong-proof": FIXTURES / "defective" / "manifest-wrong-proof" / "dispatcher.plan.json",
}
ACTIVATION_DELAY = 3600


def _error_selector(signature: str) -> bytes:
    return keccak256(signature.encode())[:4]


def _revert_data(action: Callable[[], Any]) -> bytes:
    """Run ``action``, which must revert; return the revert data (eth-tester puts it in the
    message as a bytes repr, an HTTP node in ``.data``)."""
    from signoff.chain.backends import is_revert

    try:
        action()
    except Exception as exc:
        if not is_revert(exc):
            raise
        data = getattr(exc, "data", None)
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        raw = exc.args[0] if exc.args else b""
        if isinstance(raw, bytes):
            return raw
        text = str(raw).removeprefix("execution reverted: ")
        if text.startswith(("b'", 'b"')):
            value = ast.literal_eval(text)
            assert isinstance(value, bytes)
            return value
        return bytes.fromhex(text[2:]) if text.startswith("0x") else text.encode()
    pytest.fail("expected a revert, the call succeeded")


def _apply_args(routes: tuple[PlanRoute, ...]) -> list[list[Any]]:
    assert all(r.proof is not None and r.is_right is not None for r in routes)
    return [
        [r.selector for r in routes],
        [checksum(r.address) for r in routes],
        [r.codehash for r in routes],
        [list(r.proof or ()) for r in routes],
        [list(r.is_right or ()) for r in routes],
    ]


class Rehearsal:
    def __init__(self) -> None:
        from signoff.chain.backends import open_eth_tester

        self.chain = open_eth_tester()
        self.w3 = self.chain.w3
        self.gov = self.w3.eth.accounts[0]
        self.artifacts = load_artifacts(ARTIFACTS)

    def abi(self, name: str) -> list[dict[str, Any]]:
        return [dict(entry) for entry in self.artifacts.resolve(name).abi]

    def deploy(self, name: str, *args: Any) -> Any:
        contract = self.artifacts.resolve(name)
        factory = self.w3.eth.contract(abi=self.abi(name), bytecode=hx(contract.creation.to_bytes()))
        receipt = self.send(factory.constructor(*args))
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=self.abi(name))

    def send(self, call: Any) -> Any:
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": self.gov}))
        assert receipt["status"] == 1
        return receipt

    def close(self) -> None:
        self.chain.close()


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {name: load_plan(path) for name, path in PLANS.items()}


@pytest.fixture(scope="module")
def rehearsal() -> Iterator[Rehearsal]:
    r = Rehearsal()
    yield r
    r.close()


def test_commit_apply_activate_with_the_reference_plan(rehearsal: Rehearsal, plans: dict[str, Plan]) -> None:
    r, plan = rehearsal, plans["reference"]
    assert plan.factory is not None and plan.factory.deployer is not None
    assert r.gov == checksum(plan.factory.deployer)
    assert r.w3.eth.get_transaction_count(r.gov) == plan.factory.nonce == 0

    factory = r.deploy("DeterministicChunkFactory", r.gov)
    assert factory.address == checksum(plan.factory.address), "the factory is not where the plan says"

    for facet in plan.facets:
        assert facet.salt is not None and facet.init_code_hash is not None
        creation = r.artifacts.resolve(facet.name).creation.to_bytes()
        assert keccak256(creation) == facet.init_code_hash
        assert factory.functions.predict(facet.salt, facet.init_code_hash).call() == checksum(facet.address)
        r.send(factory.functions.deployDeterministic(facet.salt, creation))
        runtime = bytes(r.w3.eth.get_code(checksum(facet.address)))
        assert runtime == r.artifacts.resolve(facet.name).runtime.to_bytes()
    codehashes = {route.facet: route.codehash for route in plan.routes}
    for facet in plan.facets:
        assert keccak256(bytes(r.w3.eth.get_code(checksum(facet.address)))) == codehashes[facet.name]

    dispatcher = r.deploy("ManifestDispatcher", r.gov, ACTIVATION_DELAY)
    for route in plan.routes:  # the on-chain leaf is the documented encoding
        assert dispatcher.functions.leafHash(route.selector, checksum(route.address), route.codehash).call() == (
            leaf_hash(route.selector, route.address, route.codehash)
        )

    # A plan whose codehashes are not the facets' real ones: its own proofs verify, the codehash does not.
    fake = plans["fake-codehash"]
    r.send(dispatcher.functions.commitRoot(fake.root, fake.epoch))
    data = _revert_data(lambda: dispatcher.functions.applyRoutes(*_apply_args(fake.routes)).transact({"from": r.gov}))
    assert data[:4] == _error_selector("CodehashMismatch(bytes4,bytes32,bytes32)"), data.hex()
    assert data[4:8] == fake.routes[0].selector  # the first route is refused

    # The reference root replaces the pending one; a proof made for another root is refused.
    r.send(dispatcher.functions.commitRoot(plan.root, plan.epoch))
    assert dispatcher.functions.pendingRoot().call() == plan.root
    stale = next(w for w, ok in zip(plans["wrong-proof"].routes, plan.routes, strict=True) if w.proof != ok.proof)
    data = _revert_data(lambda: dispatcher.functions.applyRoutes(*_apply_args((stale,))).transact({"from": r.gov}))
    assert data == _error_selector("BadProof(bytes4)") + stale.selector + bytes(28), data.hex()

    receipt = r.send(dispatcher.functions.applyRoutes(*_apply_args(plan.routes)))
    from web3.logs import DISCARD

    applied = dispatcher.events.RoutesApplied().process_receipt(receipt, errors=DISCARD)
    assert [(bytes(e["args"]["root"]), e["args"]["count"]) for e in applied] == [(plan.root, len(plan.routes))]

    ping = r.w3.eth.contract(address=dispatcher.address, abi=r.abi("PingFacet"))
    data = _revert_data(lambda: ping.functions.ping().call())
    assert data[:4] == _error_selector("UnknownSelector(bytes4)")  # not live before activation

    r.chain.time_travel(ACTIVATION_DELAY + 1)
    r.send(dispatcher.functions.activateCommittedRoot())
    assert dispatcher.functions.activeRoot().call() == plan.root
    assert dispatcher.functions.activeEpoch().call() == plan.epoch
    assert ping.functions.ping().call() == bytes.fromhex("5c36b186")
    assert ping.functions.echo(b"signoff").call() == b"signoff"
    vault = r.w3.eth.contract(address=dispatcher.address, abi=r.abi("VaultFacet"))
    assert vault.functions.vaultBalanceOf(r.gov).call() == 0
    routed = {hx(bytes(s)) for s in dispatcher.functions.knownSelectors().call()}
    assert routed == {hx(route.selector) for route in plan.routes}
    assert json.loads(PLANS["reference"].read_text())["root"] == hx(plan.root)
