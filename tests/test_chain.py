"""One backend interface over eth-tester and anvil: reverts, snapshots, time travel,
impersonation (where the backend has it) and read-only live networks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signoff.chain import Endpoint
from signoff.chain.anvil import ANVIL_CHAIN_ID, AnvilNode, find_anvil
from signoff.chain.backends import IMPERSONATE, Chain, is_revert, open_endpoint, open_eth_tester
from signoff.errors import ChainError
from tests.conftest import FIXTURES, REPO, anvil_available

ARTIFACTS = FIXTURES / "reference" / "artifacts" / "contracts"


def _artifact(path: str) -> dict[str, Any]:
    return json.loads((ARTIFACTS / path).read_text())


@pytest.fixture(params=["eth-tester", "anvil"])
def any_chain(request: pytest.FixtureRequest) -> Iterator[Chain]:
    if request.param == "eth-tester":
        chain = open_eth_tester()
        yield chain
        return
    if not anvil_available():
        pytest.skip("anvil not installed: run `npm ci`")
    with AnvilNode(find_anvil(REPO)) as node:
        chain = open_endpoint(Endpoint("anvil", node.url, ANVIL_CHAIN_ID, "anvil"))
        yield chain


def _deploy_dispatcher(chain: Chain, delay: int = 3600) -> Any:
    w3 = chain.w3
    artifact = _artifact("dispatcher/ManifestDispatcher.sol/ManifestDispatcher.json")
    governance = w3.eth.accounts[0]
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = factory.constructor(governance, delay).transact({"from": governance})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    assert receipt["status"] == 1
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


def test_reverts_are_recognised_on_every_backend(any_chain: Chain) -> None:
    dispatcher = _deploy_dispatcher(any_chain)
    governance = any_chain.w3.eth.accounts[0]
    with pytest.raises(Exception) as caught:
        dispatcher.functions.commitRoot(b"\x11" * 32, 7).call({"from": governance})  # BadEpoch: expected 1
    assert is_revert(caught.value), type(caught.value)
    outsider = any_chain.w3.eth.accounts[3]
    with pytest.raises(Exception) as caught:
        dispatcher.functions.pause().call({"from": outsider})
    assert is_revert(caught.value)
    assert not is_revert(ValueError("not a revert"))


def test_snapshot_revert_and_time_travel(any_chain: Chain) -> None:
    w3 = any_chain.w3
    dispatcher = _deploy_dispatcher(any_chain, delay=3600)
    governance = w3.eth.accounts[0]
    snapshot = any_chain.snapshot()
    w3.eth.wait_for_transaction_receipt(dispatcher.functions.commitRoot(b"\x22" * 32, 1).transact({"from": governance}))
    assert dispatcher.functions.pendingEpoch().call() == 1
    with pytest.raises(Exception) as caught:
        dispatcher.functions.activateCommittedRoot().call({"from": governance})
    assert is_revert(caught.value)
    before = w3.eth.get_block("latest")["timestamp"]
    any_chain.time_travel(3601)
    assert w3.eth.get_block("latest")["timestamp"] >= before + 3601
    dispatcher.functions.activateCommittedRoot().call({"from": governance})  # now it would succeed
    any_chain.revert(snapshot)
    assert dispatcher.functions.pendingEpoch().call() == 0


def test_impersonation_is_a_declared_capability(any_chain: Chain) -> None:
    stranger = "0x00000000000000000000000000000000000000A1"
    if IMPERSONATE not in any_chain.capabilities:
        with pytest.raises(ChainError, match="cannot impersonate"):
            any_chain.impersonate(stranger)
        return
    any_chain.impersonate(stranger)
    any_chain.request("anvil_setBalance", stranger, hex(10**18))
    tx = any_chain.w3.eth.send_transaction({"from": stranger, "to": any_chain.w3.eth.accounts[0], "value": 1})
    assert any_chain.w3.eth.wait_for_transaction_receipt(tx)["status"] == 1


@pytest.mark.skipif(not anvil_available(), reason="anvil not installed: run `npm ci`")
def test_live_networks_are_read_only_and_pinned() -> None:
    with AnvilNode(find_anvil(REPO)) as node:
        live = open_endpoint(Endpoint("stage", node.url, ANVIL_CHAIN_ID, "live"))
        assert live.read_only and live.capabilities == frozenset()
        with pytest.raises(ChainError, match="refused to send eth_sendTransaction"):
            live.w3.eth.send_transaction({"from": live.w3.eth.accounts[0], "to": live.w3.eth.accounts[1], "value": 1})
        with pytest.raises(ChainError, match=r"read-only|cannot"):
            live.time_travel(10)
        assert live.w3.eth.default_block == live.pinned.number


def _deploy_raw(chain: Chain, artifact_path: Path) -> int:
    creation = json.loads(artifact_path.read_text())["bytecode"]
    w3 = chain.w3
    try:
        tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "data": creation, "gas": 29_000_000})
    except Exception as exc:
        return -1 if "exceeds EIP-3860 limit of 49152" in str(exc) else -2
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    return len(w3.eth.get_code(receipt["contractAddress"])) if receipt["status"] == 1 else 0


def test_py_evm_draws_the_line_where_pf_size_does(tmp_path: Path) -> None:
    """The size fixtures are real code: the EVM accepts 24,576 and refuses 24,577 and 49,153."""
    chain = open_eth_tester()

    def artifact(folder: str, name: str) -> Path:
        return next((FIXTURES / folder / "artifacts").rglob(f"{name}.json"))

    assert _deploy_raw(chain, artifact("boundary/runtime-24576", "Edge")) == 24_576
    assert _deploy_raw(chain, artifact("defective/runtime-24577", "Big")) == 0  # EIP-170: status 0, no code
    heavy = artifact("defective/initcode-49153", "Heavy")
    assert _deploy_raw(chain, heavy) == -1  # EIP-3860: refused at send
    trimmed = json.loads(heavy.read_text())
    trimmed["bytecode"] = trimmed["bytecode"][:-2]  # the same initcode one byte shorter: 49,152
    at_limit = tmp_path / "AtLimit.json"
    at_limit.write_text(json.dumps(trimmed))
    assert _deploy_raw(chain, at_limit) == 100
