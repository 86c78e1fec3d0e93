"""One backend interface over eth-tester and anvil: reverts, snapshots, time travel,
impersonation (where the backend has it) and read-only live networks."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signoff.chain import Endpoint
from signoff.chain.anvil import ANVIL_CHAIN_ID, AnvilNode, find_anvil
from signoff.chain.backends import IMPERSONATE, Chain, is_revert, open_endpoint, open_eth_tester
from signoff.errors import ChainError
from tests.conftest import FIXTURES, REPO, anvil_available, node_available

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


def _deploy_raw(chain: Chain, artifact_path: Path) -> tuple[int | None, int]:
    """Send an artifact's creation code: (receipt status, bytes of code at the new address),
    or (None, 0) when the node refuses the transaction at send (EIP-3860)."""
    creation = json.loads(artifact_path.read_text())["bytecode"]
    w3 = chain.w3
    try:
        tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "data": creation, "gas": 29_000_000})
    except Exception as exc:
        assert "exceeds EIP-3860 limit of 49152" in str(exc), exc
        return None, 0
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    address = receipt["contractAddress"]
    return receipt["status"], len(w3.eth.get_code(address)) if address else 0


def _code_sizes(artifact_path: Path) -> tuple[int, int]:
    """(runtime, initcode) bytes of a Hardhat artifact, read from its hex."""
    data = json.loads(artifact_path.read_text())
    return len(data["deployedBytecode"]) // 2 - 1, len(data["bytecode"]) // 2 - 1


def _size_fixture_generator() -> Any:
    """fixtures/tools/make_size_fixtures.py as a module (it rebuilds a fixture's contract)."""
    path = FIXTURES / "tools" / "make_size_fixtures.py"
    spec = importlib.util.spec_from_file_location("make_size_fixtures", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_py_evm_draws_the_line_where_pf_size_does(tmp_path: Path) -> None:
    """The size fixtures are real solc builds: the EVM accepts 24,576 and refuses 24,577 and 49,153."""
    chain = open_eth_tester()

    def artifact(folder: str, name: str) -> Path:
        return FIXTURES / folder / "artifacts" / "contracts" / f"{name}.sol" / f"{name}.json"

    edge = artifact("boundary/runtime-24576", "Edge")
    assert _code_sizes(edge)[0] == 24_576
    assert _deploy_raw(chain, edge) == (1, 24_576)
    big = artifact("defective/runtime-24577", "Big")
    assert _code_sizes(big)[0] == 24_577
    assert _deploy_raw(chain, big) == (0, 0)  # EIP-170: status 0, no code
    heavy = artifact("defective/initcode-49153", "Heavy")
    heavy_runtime, heavy_initcode = _code_sizes(heavy)
    assert heavy_initcode == 49_153 and heavy_runtime < 24_576
    assert _deploy_raw(chain, heavy) == (None, 0)  # EIP-3860: refused at send

    # The same contract one byte of initcode lighter: its filler's first word gets one more zero byte.
    if not node_available():
        pytest.skip("node/solc-js absent (run `npm ci`): the 49,152-byte variant of Heavy is not rebuilt")
    generator = _size_fixture_generator()
    source = FIXTURES / "defective" / "initcode-49153" / "contracts" / "Heavy.sol"
    length, zeros = generator.read_filler(source.read_text())
    lighter = generator.measure(generator.SPECS["defective/initcode-49153"], length, zeros + 1, tmp_path)
    assert _code_sizes(lighter.artifact) == (heavy_runtime, 49_152)
    assert _deploy_raw(chain, lighter.artifact) == (1, heavy_runtime)
