"""The embedded chain answers reads at the latest block from one py-evm state per block
(signoff.chain.backends._latest_state_backend). It must answer exactly as eth-tester's own path
does: the same outputs, the same errors in the same shape, the same balances, nonces and code,
after sends, snapshots, reverts and time travel."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3

from signoff.chain.backends import open_eth_tester

# Runtime code, hand-assembled: no compiler needed.
# STORE: no calldata -> return slot 0; calldata -> slot 0 := its first word.
STORE = bytes.fromhex(
    "".join(["36", "600f", "57", "6000", "54", "6000", "52", "6020", "6000", "f3"])  # no calldata: return slot 0
    + "".join(["5b", "6000", "35", "6000", "55", "00"])  # 0x0f: slot 0 := the first word of calldata
)
# ECHO_REVERT: reverts with its calldata as the revert data.
ECHO_REVERT = bytes.fromhex("".join(["36", "6000", "6000", "37", "36", "6000", "fd"]))
STORE_AT = "0x" + "11" * 20
REVERT_AT = "0x" + "22" * 20
GENESIS = {STORE_AT: STORE, REVERT_AT: ECHO_REVERT}

ERROR_STRING = bytes.fromhex("08c379a0") + encode(["string"], ["not the owner"])
PANIC = bytes.fromhex("4e487b71") + encode(["uint256"], [0x11])
CUSTOM = bytes.fromhex("deadbeef") + encode(["address"], ["0x" + "33" * 20])
BAD_STRING = bytes.fromhex("08c379a0") + b"\x01\x02"


def _stock() -> Web3:
    """eth-tester exactly as web3 ships it, with the same genesis."""
    state = PyEVMBackend.generate_genesis_state(num_accounts=10)
    for address, code in GENESIS.items():
        state[bytes.fromhex(address[2:])] = {"balance": 0, "nonce": 1, "code": code, "storage": {}}
    return Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend(genesis_state=state))))


def _answer(read: Callable[[], Any]) -> Any:
    """What a read gives: its value, or its error as type, message and data."""
    try:
        return ("value", read())
    except Exception as exc:  # the shape of the error is what is compared
        return ("error", type(exc).__name__, str(exc), getattr(exc, "data", None))


def _reads(w3: Web3) -> list[Any]:
    sender = w3.eth.accounts[0]
    store, revert = Web3.to_checksum_address(STORE_AT), Web3.to_checksum_address(REVERT_AT)
    calls: list[dict[str, Any]] = [
        {"from": sender, "to": store, "data": b""},
        {"from": sender, "to": store, "data": b"", "value": 5},
        {"from": sender, "to": store, "data": b"", "gas": 30_000},
        {"to": store, "data": b""},  # web3 fills the sender
        {"from": sender, "to": revert, "data": b""},
        {"from": sender, "to": revert, "data": ERROR_STRING},
        {"from": sender, "to": revert, "data": PANIC},
        {"from": sender, "to": revert, "data": CUSTOM},
        {"from": sender, "to": revert, "data": BAD_STRING},
        {"from": sender, "to": store, "data": b"", "gas": 21_000},  # out of gas
        {"from": w3.eth.accounts[9], "to": store, "data": b"", "value": 10**30},  # more than it holds
    ]
    answers = [_answer(lambda call=call: w3.eth.call(call)) for call in calls]
    for account in (sender, store, revert, "0x" + "44" * 20):
        address = Web3.to_checksum_address(account)
        answers.append(_answer(lambda a=address: w3.eth.get_balance(a)))
        answers.append(_answer(lambda a=address: w3.eth.get_transaction_count(a)))
        answers.append(_answer(lambda a=address: bytes(w3.eth.get_code(a))))
    return answers


@pytest.fixture
def worlds() -> list[Web3]:
    """eth-tester as web3 ships it, and signoff's embedded chain, with the same genesis."""
    return [_stock(), open_eth_tester(GENESIS).w3]


def _each(worlds: list[Web3], step: Callable[[Web3], Any]) -> None:
    for w3 in worlds:
        step(w3)


def _same(worlds: list[Web3]) -> list[Any]:
    stock, ours = (_reads(w3) for w3 in worlds)
    assert ours == stock
    return ours


def test_reads_at_the_latest_block_answer_as_eth_tester_does(worlds: list[Web3]) -> None:
    first = _same(worlds)
    assert first[0] == ("value", bytes(32))
    assert first[5][0] == "error" and "not the owner" in first[5][2]  # the reason, as eth-tester words it

    def write(w3: Web3, value: int) -> None:
        w3.eth.send_transaction(
            {"from": w3.eth.accounts[0], "to": Web3.to_checksum_address(STORE_AT), "data": value.to_bytes(32, "big")}
        )

    _each(worlds, lambda w3: write(w3, 7))  # a new block: the cached state must not answer for it
    after_send = _same(worlds)
    assert after_send[0] == ("value", (7).to_bytes(32, "big"))

    snapshots = [w3.provider.make_request("evm_snapshot", []) for w3 in worlds]
    _each(worlds, lambda w3: write(w3, 9))
    assert _same(worlds)[0] == ("value", (9).to_bytes(32, "big"))
    for w3, snapshot in zip(worlds, snapshots, strict=True):
        w3.provider.make_request("evm_revert", [snapshot["result"]])
    assert _same(worlds)[0] == ("value", (7).to_bytes(32, "big"))  # back to the snapshot's block

    def travel(w3: Web3) -> None:
        w3.provider.make_request("testing_timeTravel", [w3.eth.get_block("latest")["timestamp"] + 600])

    _each(worlds, travel)
    _same(worlds)
    _each(worlds, lambda w3: w3.provider.make_request("evm_mine", []))
    _same(worlds)


def test_reads_at_an_earlier_block_take_eth_tester_s_own_path(worlds: list[Web3]) -> None:
    for w3 in worlds:
        w3.eth.send_transaction(
            {"from": w3.eth.accounts[0], "to": Web3.to_checksum_address(STORE_AT), "data": (3).to_bytes(32, "big")}
        )
    at = [
        _answer(lambda w3=w3: w3.eth.call({"to": Web3.to_checksum_address(STORE_AT), "data": b""}, 0))
        for w3 in worlds
    ]
    assert at[0] == at[1] == ("value", bytes(32))


def _old_send(w3: Web3, tx: dict[str, Any]) -> Any:
    """How signoff sent on eth-tester before: an eth_call first (a revert raises with its reason),
    then the send with an explicit gas limit."""
    from signoff.chain.backends import EMBEDDED_GAS_LIMIT

    w3.eth.call(tx)  # type: ignore[arg-type]
    return w3.eth.send_transaction({**tx, "gas": EMBEDDED_GAS_LIMIT})  # type: ignore[typeddict-item]


def _outcome(w3: Web3, send: Callable[[Web3, dict[str, Any]], Any], tx: dict[str, Any]) -> Any:
    """What a send gives: the receipt's status, gas and logs, or the error as type, message and data;
    then the block number and the sender's nonce either way (a refused send mines nothing)."""
    try:
        receipt = w3.eth.wait_for_transaction_receipt(send(w3, tx))
        answer: Any = ("mined", receipt["status"], receipt["gasUsed"], len(receipt["logs"]))
    except Exception as exc:  # the shape of the error is what is compared
        # what the sender "needs" counts the gas limit the check ran with: the call's, or the send's
        message = re.sub(r"needs \d+", "needs (value + gas)", str(exc))
        answer = ("error", type(exc).__name__, message, getattr(exc, "data", None))
    return answer, w3.eth.block_number, w3.eth.get_transaction_count(tx["from"])


def test_a_checked_send_runs_once_and_answers_as_the_call_before_it_did(worlds: list[Web3]) -> None:
    """``send_checked`` on the embedded chain executes a transaction once: a failure is refused with
    the reason the eth_call before the send used to give, and nothing is mined; a success is mined as
    before. eth-tester as web3 ships it, sent the old way, is the reference."""
    from signoff.chain.backends import send_checked

    stock, ours = worlds
    backend = ours.provider.ethereum_tester.backend  # type: ignore[attr-defined]
    calls: list[Any] = []
    plain_call = backend.call
    backend.call = lambda *args, **kwargs: calls.append(args) or plain_call(*args, **kwargs)

    def txs(w3: Web3) -> list[dict[str, Any]]:
        sender = w3.eth.accounts[0]
        store, revert = Web3.to_checksum_address(STORE_AT), Web3.to_checksum_address(REVERT_AT)
        return [
            {"from": sender, "to": store, "data": (7).to_bytes(32, "big")},
            {"from": sender, "to": revert, "data": ERROR_STRING},
            {"from": sender, "to": revert, "data": CUSTOM},
            {"from": sender, "to": revert, "data": PANIC},
            {"from": sender, "to": revert, "data": b""},
            {"from": sender, "to": store, "data": b"", "value": 5},
            {"from": w3.eth.accounts[9], "to": store, "data": b"", "value": 10**30},  # more than it holds
            {"from": sender, "to": store, "data": (9).to_bytes(32, "big")},
        ]

    expected = [_outcome(stock, _old_send, tx) for tx in txs(stock)]
    answered = [_outcome(ours, send_checked, tx) for tx in txs(ours)]
    assert answered == expected
    assert [a[0][0] for a in answered] == ["mined", "error", "error", "error", "error", "mined", "error", "mined"]
    assert "not the owner" in answered[1][0][2]
    assert calls == []  # no eth_call before the send: one execution per transaction
    plain = _stock()  # eth-tester as web3 ships it has no refusing mode: send_checked calls first there
    assert [_outcome(plain, send_checked, tx) for tx in txs(plain)] == expected
    assert _reads(ours) == _reads(stock)  # and the chains agree afterwards
