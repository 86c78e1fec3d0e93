"""Governance on real chains: a real Safe 1.4.1 (from safe-eth-py) deployed,
driven and read on eth-tester and anvil; OpenZeppelin's TimelockController read; the policy
findings exact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.contract import Contract
from web3.types import RPCEndpoint

from signoff.artifacts.abi import selector
from signoff.chain.anvil import AnvilNode, find_anvil
from signoff.chain.backends import estimates_run_once
from signoff.deploy import governance
from signoff.deploy.governance import (
    GovernanceFacts,
    SafeCallReverted,
    SafeRefused,
    check_governance,
    deploy_safe,
    find_safe_artifacts,
    read_governance,
    safe_exec,
)
from signoff.errors import ConfigError
from tests.conftest import FIXTURES, REPO, anvil_available

FACTORY_ARTIFACT = (
    FIXTURES / "reference/artifacts/contracts/factory/DeterministicChunkFactory.sol/DeterministicChunkFactory.json"
)
TIMELOCK_ARTIFACT = REPO / "node_modules/@openzeppelin/contracts/build/contracts/TimelockController.json"
POLICY: dict[str, Any] = {"min_threshold": 3, "min_owners": 5, "min_delay_seconds": None}


def call(name: str) -> bytes:
    """Calldata of a no-argument function."""
    return bytes.fromhex(selector(f"{name}()")[2:])


def deploy(w3: Web3, artifact: Path, *args: Any, sender: str) -> Contract:
    loaded = json.loads(artifact.read_text())
    factory = w3.eth.contract(abi=loaded["abi"], bytecode=loaded["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor(*args).transact({"from": sender}))
    assert receipt["status"] == 1
    return w3.eth.contract(address=receipt["contractAddress"], abi=loaded["abi"])


def _exec_without_signatures(safe: str) -> bytes:
    """execTransaction with no signatures: the Safe itself refuses (GS020, signatures too short)."""
    return governance._calldata(
        "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)",
        ["address", "uint256", "bytes", "uint8", "uint256", "uint256", "uint256", "address", "address", "bytes"],
        [safe, 0, b"", 0, 0, 0, 0, governance.ZERO_ADDRESS, governance.ZERO_ADDRESS, b""],
    )


@pytest.fixture(scope="module")
def artifacts() -> Path:
    return find_safe_artifacts()


@pytest.fixture(scope="module")
def w3() -> Web3:
    return Web3(EthereumTesterProvider())


@pytest.fixture(scope="module")
def owners(w3: Web3) -> list[str]:
    return list(w3.eth.accounts[1:6])


@pytest.fixture(scope="module")
def safe(w3: Web3, owners: list[str], artifacts: Path) -> str:
    """A 3-of-5 Safe shared by the tests that do not change it."""
    return deploy_safe(w3, deployer=w3.eth.accounts[0], owners=owners, threshold=3, artifacts=artifacts)


def test_safe_artifacts_come_from_safe_eth_py_not_npm() -> None:
    found = find_safe_artifacts()
    assert "node_modules" not in found.parts
    assert found.parts[-4:] == ("safe_eth", "eth", "contracts", "abis")
    assert json.loads((found / "Safe_V1_4_1.json").read_text())["bytecode"].startswith("0x")


def test_find_safe_artifacts_missing_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"were not found.*Next step: `pip install safe-eth-py`"):
        find_safe_artifacts()


def test_three_of_five_safe_reads_back_and_passes(w3: Web3, safe: str, owners: list[str]) -> None:
    facts = read_governance(w3, safe)
    assert facts.kind == "safe"
    assert facts.owners == tuple(owners)
    assert (facts.threshold, facts.version, facts.modules) == (3, "1.4.1", ())
    assert 0 < facts.code_size < 500  # the proxy, not the singleton
    assert check_governance(facts, **POLICY) == []


def test_one_of_five_safe_fails_with_the_exact_message(w3: Web3, owners: list[str], artifacts: Path) -> None:
    weak = deploy_safe(w3, deployer=w3.eth.accounts[0], owners=owners, threshold=1, artifacts=artifacts, salt_nonce=1)
    assert check_governance(read_governance(w3, weak), **POLICY) == [
        f"Safe {weak} threshold 1 of 5 is below the required 3 of 5"
    ]
    assert check_governance(read_governance(w3, weak), min_threshold=1, min_owners=6, min_delay_seconds=None) == [
        f"Safe {weak} has 5 owners, fewer than the required 6"
    ]


def test_an_eoa_fails(w3: Web3) -> None:
    eoa = w3.eth.accounts[7]
    facts = read_governance(w3, eoa)
    assert facts == GovernanceFacts(address=eoa, kind="eoa", code_size=0)
    assert check_governance(facts, **POLICY) == [
        f"governance {eoa} is an EOA (no code): a single key controls the system"
    ]


def test_an_unknown_contract_fails(w3: Web3, safe: str) -> None:
    factory = deploy(w3, FACTORY_ARTIFACT, safe, sender=w3.eth.accounts[0])
    facts = read_governance(w3, factory.address)
    assert facts.kind == "contract"
    assert check_governance(facts, **POLICY) == [
        f"governance {factory.address} is a contract ({facts.code_size} bytes) that is neither a Safe nor a "
        "timelock: who controls it cannot be verified"
    ]


def test_safe_exec_calls_the_target_and_surfaces_its_revert(w3: Web3, safe: str, owners: list[str]) -> None:
    factory = deploy(w3, FACTORY_ARTIFACT, safe, sender=w3.eth.accounts[0])
    receipt = safe_exec(w3, safe, owners=owners, to=factory.address, data=call("pause"))
    assert receipt["status"] == 1
    assert factory.functions.paused().call() is True

    factory_unpaused = deploy(w3, FACTORY_ARTIFACT, safe, sender=w3.eth.accounts[0])
    nonce_before = int.from_bytes(w3.eth.call({"to": safe, "data": call("nonce")}))
    with pytest.raises(SafeCallReverted, match="would revert: 0x8dfc202b; nothing was sent") as caught:
        safe_exec(w3, safe, owners=owners, to=factory_unpaused.address, data=call("unpause"))
    assert caught.value.revert_data == bytes.fromhex(selector("ExpectedPause()")[2:])
    assert caught.value.target == factory_unpaused.address
    assert int.from_bytes(w3.eth.call({"to": safe, "data": call("nonce")})) == nonce_before


def test_safe_exec_with_an_executor_that_is_not_an_owner(w3: Web3, safe: str, owners: list[str]) -> None:
    factory = deploy(w3, FACTORY_ARTIFACT, safe, sender=w3.eth.accounts[0])
    # Five owners offered, exactly three approve; the relayer holds no key of the Safe.
    safe_exec(w3, safe, owners=owners, to=factory.address, data=call("pause"), executor=w3.eth.accounts[9])
    assert factory.functions.paused().call() is True


def test_safe_exec_rejects_strangers_and_too_few_owners(w3: Web3, safe: str, owners: list[str]) -> None:
    stranger = w3.eth.accounts[8]
    with pytest.raises(ConfigError, match=f"not owners of Safe {safe}: {stranger}"):
        safe_exec(w3, safe, owners=[*owners[:2], stranger], to=safe, data=b"")
    with pytest.raises(ConfigError, match="needs 3 signing owners, 2 given"):
        safe_exec(w3, safe, owners=owners[:2], to=safe, data=b"")


def test_the_safe_refusing_is_told_apart(w3: Web3, safe: str, owners: list[str]) -> None:
    with pytest.raises(SafeRefused, match="refused execTransaction") as caught:
        governance._execute(w3, safe, safe, owners[0], _exec_without_signatures(safe))
    assert caught.value.code == "GS020"


def test_ownable2step_handover_to_the_safe(w3: Web3, safe: str, owners: list[str]) -> None:
    deployer = w3.eth.accounts[0]
    factory = deploy(w3, FACTORY_ARTIFACT, deployer, sender=deployer)
    assert read_governance(w3, factory.functions.owner().call()).kind == "eoa"
    factory.functions.transferOwnership(safe).transact({"from": deployer})
    assert factory.functions.owner().call() == deployer  # two-step: nothing changes until accepted
    assert factory.functions.pendingOwner().call() == safe
    safe_exec(w3, safe, owners=owners, to=factory.address, data=call("acceptOwnership"))
    assert factory.functions.owner().call() == safe
    assert check_governance(read_governance(w3, factory.functions.owner().call()), **POLICY) == []


def test_reads_follow_the_pinned_block_and_modules_are_flagged(w3: Web3, owners: list[str], artifacts: Path) -> None:
    before = w3.eth.block_number
    safe = deploy_safe(w3, deployer=w3.eth.accounts[0], owners=owners, threshold=3, artifacts=artifacts, salt_nonce=2)
    deployed_at = w3.eth.block_number
    change = governance._calldata("changeThreshold(uint256)", ["uint256"], [4])
    safe_exec(w3, safe, owners=owners, to=safe, data=change)  # the Safe governs itself
    module = w3.eth.accounts[9]
    enable = governance._calldata("enableModule(address)", ["address"], [module])
    safe_exec(w3, safe, owners=owners, to=safe, data=enable)

    assert read_governance(w3, safe, block_identifier=before).kind == "eoa"
    pinned = read_governance(w3, safe, block_identifier=deployed_at)
    assert (pinned.threshold, pinned.modules) == (3, ())
    latest = read_governance(w3, safe)
    assert (latest.threshold, latest.modules) == (4, (module,))
    assert check_governance(latest, **POLICY) == [
        f"Safe {safe} has 1 module(s) enabled ({module}): a module executes without the owners' signatures, "
        "so the threshold does not bound it"
    ]


def test_singleton_and_factory_are_deployed_once_per_chain(owners: list[str], artifacts: Path) -> None:
    w3 = Web3(EthereumTesterProvider())
    deployer = w3.eth.accounts[0]
    start = w3.eth.block_number
    snapshot = w3.provider.make_request(RPCEndpoint("evm_snapshot"), [])["result"]
    deploy_safe(w3, deployer=deployer, owners=owners, threshold=2, artifacts=artifacts)
    assert w3.eth.block_number - start == 3  # singleton, factory, proxy
    deploy_safe(w3, deployer=deployer, owners=owners, threshold=2, artifacts=artifacts, salt_nonce=1)
    assert w3.eth.block_number - start == 4  # the proxy alone
    w3.provider.make_request(RPCEndpoint("evm_revert"), [snapshot])  # the cached pair is gone
    again = deploy_safe(w3, deployer=deployer, owners=owners, threshold=2, artifacts=artifacts)
    assert w3.eth.block_number - start == 3
    assert read_governance(w3, again).threshold == 2


def test_deploy_safe_rejects_a_bad_threshold(w3: Web3, owners: list[str], artifacts: Path) -> None:
    with pytest.raises(ConfigError, match="threshold 6 is not between 1 and the 5 owners"):
        deploy_safe(w3, deployer=w3.eth.accounts[0], owners=owners, threshold=6, artifacts=artifacts)


@pytest.mark.skipif(not TIMELOCK_ARTIFACT.is_file(), reason="@openzeppelin/contracts not installed: run `npm ci`")
def test_timelock_min_delay(w3: Web3) -> None:
    proposer = w3.eth.accounts[1]
    timelock = deploy(
        w3, TIMELOCK_ARTIFACT, 60, [proposer], [proposer], governance.ZERO_ADDRESS, sender=w3.eth.accounts[0]
    )
    facts = read_governance(w3, timelock.address)
    assert (facts.kind, facts.min_delay) == ("timelock", 60)
    assert check_governance(facts, min_threshold=3, min_owners=5, min_delay_seconds=86400) == [
        f"timelock {timelock.address} min delay 60 s is below the required 86400 s"
    ]
    assert check_governance(facts, min_threshold=3, min_owners=5, min_delay_seconds=60) == []


def test_an_inconsistent_policy_is_a_config_error() -> None:
    facts = GovernanceFacts(address=governance.ZERO_ADDRESS, kind="eoa", code_size=0)
    with pytest.raises(ConfigError, match="inconsistent"):
        check_governance(facts, min_threshold=3, min_owners=2, min_delay_seconds=None)


@pytest.fixture(scope="module")
def anvil_w3() -> Iterator[Web3]:
    if not anvil_available():
        pytest.skip("anvil not installed: run `npm ci`")
    with AnvilNode(find_anvil(REPO)) as node:
        yield Web3(HTTPProvider(node.url))


def test_on_anvil(anvil_w3: Web3, artifacts: Path) -> None:
    w3 = anvil_w3
    accounts = w3.eth.accounts
    owners = list(accounts[1:4])
    safe = deploy_safe(w3, deployer=accounts[0], owners=owners, threshold=2, artifacts=artifacts)
    facts = read_governance(w3, safe, block_identifier=w3.eth.block_number)
    assert (facts.kind, facts.owners, facts.threshold, facts.version) == ("safe", tuple(owners), 2, "1.4.1")
    assert check_governance(facts, min_threshold=2, min_owners=3, min_delay_seconds=None) == []

    factory = deploy(w3, FACTORY_ARTIFACT, safe, sender=accounts[0])
    safe_exec(w3, safe, owners=owners, to=factory.address, data=call("pause"))
    assert factory.functions.paused().call() is True
    with pytest.raises(SafeCallReverted) as caught:
        safe_exec(w3, safe, owners=owners, to=factory.address, data=call("pause"))
    assert caught.value.revert_data == bytes.fromhex(selector("EnforcedPause()")[2:])
    with pytest.raises(SafeRefused) as refused:
        governance._execute(w3, safe, safe, owners[0], _exec_without_signatures(safe))
    assert refused.value.code == "GS020"
    assert read_governance(w3, accounts[5]).kind == "eoa"


def test_whether_a_call_succeeds_is_one_run_on_eth_tester(
    w3: Web3, safe: str, owners: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """estimates_run_once: eth_estimateGas runs the call once at the block gas limit (py-evm's own estimate
    searches for the smallest limit, a dozen runs): a success answers its limit, a revert fails exactly as
    the search's does, and the chain's estimator is back afterwards."""
    factory = deploy(w3, FACTORY_ARTIFACT, safe, sender=w3.eth.accounts[0])
    pause = {"from": safe, "to": factory.address, "data": call("pause"), "gasPrice": 0}
    unpause = {**pause, "data": call("unpause")}
    searched = w3.eth.estimate_gas(pause)
    state_class = w3.provider.ethereum_tester.backend.chain.get_vm().get_state_class()  # type: ignore[attr-defined]
    applied = []
    original = state_class.apply_transaction
    monkeypatch.setattr(state_class, "apply_transaction", lambda self, tx: applied.append(tx) or original(self, tx))
    with estimates_run_once(w3):
        limit = w3.eth.estimate_gas(pause)
        assert len(applied) == 1 and limit > 10 * searched  # the run's limit, not the smallest that works
        with pytest.raises(Exception) as once:
            w3.eth.estimate_gas(unpause)
    with pytest.raises(Exception) as search:
        w3.eth.estimate_gas(unpause)
    assert len(applied) > 3  # the search, for comparison
    assert (type(once.value), once.value.args) == (type(search.value), search.value.args)
    assert w3.eth.estimate_gas(pause) == searched
