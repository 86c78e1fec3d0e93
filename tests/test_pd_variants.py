"""The postdeploy defective variants really are defective, and the reference really is not.

Each ``fixtures/defective/pd-*`` fixture is the reference with one contract replaced by its
``overlay/contracts`` copy, compiled by ``fixtures/tools/build_variant.sh``. Here every variant is
deployed from its committed artifacts on one eth-tester chain and its defect is shown by behaviour
(a drained vault, a stranger's write, a pause with no way out, a wrong CREATE2 prediction, a route
answering before activation, a route applied over the wrong codehash, a different runtime), next
to the reference contract doing the right thing. The committed artifacts are checked to come from
the current overlay and reference sources (always) and, when node and solc-js are installed, to be
exactly what a rebuild gives.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from functools import cache, partial
from pathlib import Path
from typing import Any

import pytest

from signoff.artifacts.hashing import keccak256
from signoff.artifacts.loader import ArtifactSet, Contract, load_artifacts
from signoff.deploy.manifest import (
    PlanRoute,
    assemble,
    checksum,
    create2_address,
    function_selectors,
    runtime_codehash,
)
from tests.conftest import FIXTURES, node_available

DEFECTIVE = FIXTURES / "defective"
REFERENCE_CONTRACTS = FIXTURES / "reference" / "contracts"
BUILD_VARIANT = FIXTURES / "tools" / "build_variant.sh"
ACTIVATION_DELAY = 3600
ETHER = 10**18
# The fixture names are put together, never spelled out, so tests/test_meta.py keeps asking for
# the self-test that runs the postdeploy checks on each fixture: this file proves the contracts only.
NAMES = (
    "code-differs",
    "reentrant-withdraw",
    "unprotected-setter",
    "pause-irreversible",
    "factory-prediction-off",
    "routes-live-before-activation",
    "apply-accepts-wrong-codehash",
)
# Where each variant's build lives inside its fixture (pd-code-differs keeps the reference as its
# own artifacts; the build that was "deployed instead" is beside it).
BUILD_DIR = {"code-differs": "deployed-build"}


def fixture_dir(name: str) -> Path:
    return DEFECTIVE / f"pd-{name}"


def build_root(name: str) -> Path:
    """The directory holding the variant's ``artifacts``."""
    sub = BUILD_DIR.get(name)
    return fixture_dir(name) / sub if sub else fixture_dir(name)


@cache
def artifacts(name: str) -> ArtifactSet:
    """A variant's artifacts, or the reference's for ``"reference"``."""
    location = FIXTURES / "reference" / "artifacts" if name == "reference" else build_root(name) / "artifacts"
    loaded = load_artifacts(location)
    assert not loaded.problems, loaded.problems
    return loaded


def error_selector(signature: str) -> bytes:
    return keccak256(signature.encode())[:4]


def revert_data(action: Callable[[], Any]) -> bytes:
    """Run ``action``, which must revert; return the revert data."""
    from signoff.chain.backends import is_revert
    from signoff.chain.backends import revert_data as attached

    try:
        action()
    except Exception as exc:
        if not is_revert(exc):
            raise
        return attached(exc)
    pytest.fail("expected a revert, the call succeeded")


def logs(event: Any, receipt: Any) -> list[Any]:
    """``event``'s logs in ``receipt``; other contracts' logs are skipped, not warned about."""
    from web3.logs import DISCARD

    return list(event().process_receipt(receipt, errors=DISCARD))


def encode_error(signature: str, *args: Any) -> bytes:
    from eth_abi import encode

    types = signature[signature.index("(") + 1 : -1].split(",") if not signature.endswith("()") else []
    return error_selector(signature) + encode(types, list(args))


class Bench:
    """One eth-tester chain shared by every test: deployments from any variant's artifacts."""

    def __init__(self) -> None:
        from signoff.chain.backends import open_eth_tester

        self.chain = open_eth_tester()
        self.w3 = self.chain.w3
        self.gov = self.w3.eth.accounts[0]
        self.stranger = self.w3.eth.accounts[7]
        self.gas: dict[str, int] = {}
        # Anything with code will do as the router's dispatcher; the router never reaches it here.
        self.any_dispatcher = self.deploy("reference", "PingFacet").address

    def contract(self, variant: str, name: str) -> Contract:
        return artifacts(variant).resolve(name)

    def deploy(self, variant: str, name: str, *args: Any) -> Any:
        contract = self.contract(variant, name)
        abi = [dict(entry) for entry in contract.abi]
        factory = self.w3.eth.contract(abi=abi, bytecode="0x" + contract.creation.to_bytes().hex())
        receipt = self.send(factory.constructor(*args))
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=abi)

    def at(self, variant: str, name: str, address: str) -> Any:
        """``address`` seen through ``name``'s ABI (a facet's functions at the dispatcher)."""
        return self.w3.eth.contract(address=address, abi=[dict(e) for e in self.contract(variant, name).abi])

    def send(self, call: Any, *, sender: str | None = None, value: int = 0, gas_key: str = "") -> Any:
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender or self.gov, "value": value}))
        assert receipt["status"] == 1
        if gas_key:
            self.gas[gas_key] = receipt["gasUsed"]
        return receipt

    def router(self, variant: str) -> Any:
        return self.deploy(variant, "PayRoxProxyRouter", self.gov, self.any_dispatcher)


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    b = Bench()
    yield b
    b.chain.close()


# ---------------------------------------------------------------- the sources behind the artifacts


def overlay_files(name: str) -> dict[str, Path]:
    """Source unit name ("contracts/router/X.sol") -> the overlay file replacing it."""
    root = fixture_dir(name) / "overlay"
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*.sol"))}


@pytest.mark.parametrize("name", NAMES)
def test_variant_is_a_small_marked_change_of_a_reference_file(name: str) -> None:
    overlays = overlay_files(name)
    assert overlays, f"{fixture_dir(name)}/overlay/contracts holds no .sol file"
    for unit, path in overlays.items():
        reference = FIXTURES / "reference" / unit
        assert reference.is_file(), f"{path} replaces nothing: {reference} does not exist"
        text = path.read_text()
        assert text != reference.read_text(), f"{path} is identical to the reference file"
        assert "// DEFECT:" in text, f"{path}: mark the change with a `// DEFECT:` comment"
    readme = (fixture_dir(name) / "README.md").read_text()
    assert readme.count("\n") <= 1 and readme.startswith("PD-"), readme


@pytest.mark.parametrize("name", NAMES)
def test_committed_artifacts_were_built_from_the_current_sources(name: str) -> None:
    """Every source in the variant's build-info is the reference file or, where the fixture has
    one, its overlay: a stale build after an edit to either shows here without a compiler."""
    builds = {c.build_info_path for c in artifacts(name).contracts}
    assert len(builds) == 1, f"{name}: expected one build-info, found {builds}"
    contract = artifacts(name).resolve("PayRoxProxyRouter")
    sources = contract.build_info()["input"]["sources"]
    overlays = overlay_files(name)
    next_step = f"Next step: sh fixtures/tools/build_variant.sh {fixture_dir(name).relative_to(FIXTURES.parent)}"
    next_step += f" {BUILD_DIR[name]}" if name in BUILD_DIR else ""
    for unit, path in overlays.items():
        assert sources.get(unit, {}).get("content") == path.read_text(), f"{unit} differs from {path}. {next_step}"
    for path in sorted(REFERENCE_CONTRACTS.rglob("*.sol")):
        unit = "contracts/" + path.relative_to(REFERENCE_CONTRACTS).as_posix()
        if unit not in overlays:
            assert sources.get(unit, {}).get("content") == path.read_text(), f"{unit} is stale. {next_step}"


@pytest.mark.parametrize("name", NAMES)
def test_only_the_overlaid_contract_changes_and_its_interface_stays(name: str) -> None:
    """Same constructors and ABIs as the reference (so the same deploy plan works), except the
    one added setter; every contract outside the overlay compiles to the very same code."""
    reference = {c.fqn: c for c in artifacts("reference").contracts}
    variant = {c.fqn: c for c in artifacts(name).contracts}
    assert set(variant) == set(reference)
    changed = sorted(fqn for fqn, c in variant.items() if c.runtime.hex != reference[fqn].runtime.hex)
    assert changed == sorted(f"{unit}:{Path(unit).stem}" for unit in overlay_files(name))
    for fqn in changed:
        added = [e for e in variant[fqn].abi if e not in reference[fqn].abi]
        removed = [e for e in reference[fqn].abi if e not in variant[fqn].abi]
        assert removed == []
        expected = ["setWithdrawLimit"] if name == "unprotected-setter" else []
        assert [e.get("name") for e in added] == expected


# ---------------------------------------------------------------- the defects, on chain


def test_code_differs_runtime_is_not_the_reference_build(bench: Bench) -> None:
    """PD-CODE: the router deployed from deployed-build/ matches that build, not the reference
    artifact, even with the immutable (the dispatcher address) masked out."""
    router = bench.router("code-differs")
    on_chain = bytes(bench.w3.eth.get_code(router.address))
    deployed = bench.contract("code-differs", "PayRoxProxyRouter")
    reference = bench.contract("reference", "PayRoxProxyRouter")

    def masked(code: bytes, contract: Contract) -> bytes:
        out = bytearray(code)
        for refs in (contract.immutable_references or {}).values():
            for ref in refs:
                out[ref["start"] : ref["start"] + ref["length"]] = bytes(ref["length"])
        return bytes(out)

    assert masked(on_chain, deployed) == deployed.runtime.to_bytes()
    assert masked(on_chain, reference) != reference.runtime.to_bytes()
    assert keccak256(deployed.runtime.to_bytes()) != keccak256(reference.runtime.to_bytes())
    # ... and it behaves differently: the error's arguments come back swapped.
    wanted = 5
    got = {}
    for variant, deployed_router in (("code-differs", router), ("reference", bench.router("reference"))):
        withdraw = deployed_router.functions.withdraw(wanted)
        got[variant] = revert_data(partial(withdraw.transact, {"from": bench.stranger}))
    sig = "InsufficientBalance(uint256,uint256)"
    assert got["reference"] == encode_error(sig, 0, wanted)
    assert got["code-differs"] == encode_error(sig, wanted, 0)


@pytest.mark.parametrize("variant", ["reentrant-withdraw", "reference"])
def test_reentrant_withdraw_is_drained_by_the_attacker(bench: Bench, variant: str) -> None:
    """PD-REE: the attacker's re-entered withdraw succeeds on the variant and takes another
    depositor's ether; the reference rejects it with ReentrancyGuardReentrantCall."""
    router = bench.router(variant)
    victim = bench.w3.eth.accounts[3]
    bench.send(router.functions.deposit(), sender=victim, value=ETHER)
    attacker = bench.deploy("reference", "ReentrancyAttacker", router.address)
    deposit = router.encode_abi("deposit")
    withdraw = router.encode_abi("withdraw", args=[ETHER])
    bench.send(attacker.functions.attack(deposit, withdraw), value=ETHER, gas_key=f"attack {variant}")

    assert attacker.functions.reentered().call()
    vault = bench.w3.eth.get_balance(router.address)
    if variant == "reference":
        assert attacker.functions.innerSucceeded().call() is False
        assert attacker.functions.innerRevertData().call() == error_selector("ReentrancyGuardReentrantCall()")
        assert vault == ETHER
    else:
        assert attacker.functions.innerSucceeded().call() is True
        assert vault == 0, "the victim's ether should have gone to the attacker"
        assert router.functions.balanceOf(victim).call() == ETHER  # owed, but no longer there


def test_unprotected_setter_accepts_anyone(bench: Bench) -> None:
    """PD-ACL: a random account changes the router's state through setWithdrawLimit."""
    router = bench.router("unprotected-setter")
    assert router.functions.owner().call() == bench.gov != bench.stranger
    bench.send(router.functions.setWithdrawLimit(12345), sender=bench.stranger, gas_key="setWithdrawLimit")
    layout = bench.contract("unprotected-setter", "PayRoxProxyRouter").build_info()["output"]["contracts"]
    storage = layout["contracts/router/PayRoxProxyRouter.sol"]["PayRoxProxyRouter"]["storageLayout"]["storage"]
    slot = next(int(s["slot"]) for s in storage if s["label"] == "_withdrawLimit")
    assert int.from_bytes(bench.w3.eth.get_storage_at(router.address, slot), "big") == 12345
    # The reference has no such function: its router falls back to forwarding, which fails here.
    assert "setWithdrawLimit" not in {e.get("name") for e in bench.contract("reference", "PayRoxProxyRouter").abi}


@pytest.mark.parametrize("variant", ["pause-irreversible", "reference"])
def test_pause_can_or_cannot_be_undone(bench: Bench, variant: str) -> None:
    """PD-EMG: once paused, the variant's unpause reverts with EnforcedPause for the owner too."""
    router = bench.router(variant)
    bench.send(router.functions.pause())
    assert router.functions.paused().call() is True
    if variant == "reference":
        bench.send(router.functions.unpause())
        assert router.functions.paused().call() is False
        return
    data = revert_data(lambda: router.functions.unpause().transact({"from": bench.gov}))
    assert data == error_selector("EnforcedPause()")
    assert router.functions.paused().call() is True
    assert revert_data(lambda: router.functions.deposit().transact({"from": bench.gov, "value": 1})) == (
        error_selector("EnforcedPause()")
    )


@pytest.mark.parametrize("variant", ["factory-prediction-off", "reference"])
def test_factory_prediction_against_the_real_create2_address(bench: Bench, variant: str) -> None:
    """PD-C2: the variant's predict() is not where deployDeterministic lands; deployments and
    their idempotency still work (they use the real address internally)."""
    factory = bench.deploy(variant, "DeterministicChunkFactory", bench.gov)
    salt = keccak256(f"signoff.pd-variants.{variant}".encode())
    init_code = bench.contract("reference", "PingFacet").creation.to_bytes()
    real = checksum(create2_address(bytes.fromhex(factory.address[2:]), salt, keccak256(init_code)))
    predicted = factory.functions.predict(salt, keccak256(init_code)).call()

    deploy = factory.functions.deployDeterministic(salt, init_code)
    first = logs(factory.events.Deployed, bench.send(deploy, gas_key=f"deployDeterministic {variant}"))
    again = logs(factory.events.Deployed, bench.send(deploy, gas_key=f"deployDeterministic again {variant}"))
    assert (first[0]["args"]["at"], first[0]["args"]["fresh"]) == (real, True)
    assert (again[0]["args"]["at"], again[0]["args"]["fresh"]) == (real, False)
    assert bytes(bench.w3.eth.get_code(real)) == bench.contract("reference", "PingFacet").runtime.to_bytes()

    data = b"pd-variants chunk"
    staged = logs(factory.events.ChunkStaged, bench.send(factory.functions.stage(data)))
    chunk_predicted = factory.functions.predictChunk(data).call()
    if variant == "reference":
        assert predicted == real
        assert chunk_predicted == staged[0]["args"]["chunk"]
    else:
        wrong = keccak256(b"\xfe" + bytes.fromhex(factory.address[2:]) + salt + keccak256(init_code))[12:]
        assert predicted == checksum(wrong) != real
        assert chunk_predicted != staged[0]["args"]["chunk"]
        assert bench.w3.eth.get_code(predicted) == b""


def _ping_routes(bench: Bench, ping_address: str, codehash: bytes | None = None) -> list[PlanRoute]:
    """Routes for every PingFacet function at ``ping_address``, pinned to ``codehash`` (the real
    runtime codehash when None)."""
    contract = bench.contract("reference", "PingFacet")
    pinned = codehash or runtime_codehash(contract)
    address = bytes.fromhex(ping_address[2:])
    return [PlanRoute(0, sel, text, "PingFacet", address, pinned) for sel, text in function_selectors(contract).items()]


def _commit_and_apply(bench: Bench, dispatcher: Any, routes: list[PlanRoute], gas_prefix: str = "") -> Any:
    """Commit the manifest of ``routes`` for epoch 1 and apply all of them; the apply call is
    returned unsent when it is expected to revert."""
    plan = assemble("pd-variants", "ManifestDispatcher", 1, routes)
    bench.send(dispatcher.functions.commitRoot(plan.root, 1), gas_key=f"{gas_prefix}commit" if gas_prefix else "")
    return dispatcher.functions.applyRoutes(
        [r.selector for r in plan.routes],
        [checksum(r.address) for r in plan.routes],
        [r.codehash for r in plan.routes],
        [list(r.proof or ()) for r in plan.routes],
        [list(r.is_right or ()) for r in plan.routes],
    )


@pytest.mark.parametrize("variant", ["routes-live-before-activation", "reference"])
def test_routes_answer_before_activation(bench: Bench, variant: str) -> None:
    """PD-DSP: after apply, before activateCommittedRoot, the variant already answers ping()."""
    dispatcher = bench.deploy(variant, "ManifestDispatcher", bench.gov, ACTIVATION_DELAY)
    ping = bench.deploy("reference", "PingFacet")
    apply = _commit_and_apply(bench, dispatcher, _ping_routes(bench, ping.address), gas_prefix=f"{variant} ")
    bench.send(apply, gas_key=f"{variant} apply (2 selectors)")
    assert dispatcher.functions.activeEpoch().call() == 0
    assert dispatcher.functions.activeRoot().call() == bytes(32)
    through = bench.at("reference", "PingFacet", dispatcher.address)
    if variant == "reference":
        assert revert_data(lambda: through.functions.ping().call()) == encode_error(
            "UnknownSelector(bytes4)", error_selector("ping()")
        )
    else:
        assert through.functions.ping().call() == error_selector("ping()")
        assert through.functions.echo(b"live too early").call() == b"live too early"


@pytest.mark.parametrize("variant", ["apply-accepts-wrong-codehash", "reference"])
def test_apply_with_a_wrong_codehash(bench: Bench, variant: str) -> None:
    """PD-DSP: a route proven for a codehash that is not the facet's is applied by the variant
    (and answers once activated); the reference rejects it with CodehashMismatch."""
    dispatcher = bench.deploy(variant, "ManifestDispatcher", bench.gov, ACTIVATION_DELAY)
    ping = bench.deploy("reference", "PingFacet")
    wrong = keccak256(b"not PingFacet's runtime code")
    real = keccak256(bytes(bench.w3.eth.get_code(ping.address)))
    assert real == runtime_codehash(bench.contract("reference", "PingFacet")) != wrong
    apply = _commit_and_apply(bench, dispatcher, _ping_routes(bench, ping.address, wrong))
    if variant == "reference":
        data = revert_data(lambda: apply.transact({"from": bench.gov}))
        assert data[:4] == error_selector("CodehashMismatch(bytes4,bytes32,bytes32)")
        assert data[36:] == wrong + real
        return
    receipt = bench.send(apply)
    assert len(logs(dispatcher.events.SelectorRouted, receipt)) == 2
    assert tuple(dispatcher.functions.routeOf(error_selector("ping()")).call()) == (ping.address, 1)
    bench.chain.time_travel(ACTIVATION_DELAY + 1)
    bench.send(dispatcher.functions.activateCommittedRoot())
    assert bench.at("reference", "PingFacet", dispatcher.address).functions.ping().call() == error_selector("ping()")


# ---------------------------------------------------------------- the committed build is current


@pytest.mark.slow
@pytest.mark.skipif(
    not node_available(),
    reason="node or node_modules/solc is missing (run `npm ci`); the variant cannot be rebuilt",
)
def test_build_variant_reproduces_the_committed_artifacts(tmp_path: Path) -> None:
    """A rebuild of one variant (the one with an output subdirectory) into a scratch copy of
    its fixture is byte-identical to the committed build."""
    name = "code-differs"
    scratch = tmp_path / fixture_dir(name).name
    shutil.copytree(fixture_dir(name) / "overlay", scratch / "overlay")
    done = subprocess.run(
        ["sh", str(BUILD_VARIANT), str(scratch), BUILD_DIR[name]],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    committed = files(build_root(name) / "artifacts")
    rebuilt = files(scratch / BUILD_DIR[name] / "artifacts")
    assert committed and sorted(committed) == sorted(rebuilt)
    differing = [path for path in committed if committed[path] != rebuilt[path]]
    assert differing == [], (
        f"{len(differing)} file(s) differ from a fresh build: {differing}. Next step: "
        f"sh fixtures/tools/build_variant.sh fixtures/defective/{fixture_dir(name).name} {BUILD_DIR[name]}"
    )
