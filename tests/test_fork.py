"""AnvilNode as a fork of another node pinned at a block (how a live network is rehearsed):
the fork starts at the pinned block with the upstream's block hash, and accounts can be
impersonated on the fork without the upstream seeing anything."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from signoff.chain.anvil import AnvilNode, find_anvil
from tests.conftest import REPO, anvil_available, rpc

pytestmark = pytest.mark.skipif(not anvil_available(), reason="anvil not installed: run `npm ci`")

PINNED = 2
OUTSIDER = "0x00000000219ab540356cBB839Cbe05303d7705Fa"  # holds no key on either node


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """A node standing in for the live network, three blocks past genesis."""
    with AnvilNode(find_anvil(REPO)) as node:
        for _ in range(3):
            rpc(node.url, "evm_mine")
        yield node.url


@pytest.fixture(scope="module")
def fork(upstream: str) -> Iterator[str]:
    with AnvilNode(find_anvil(REPO), ["--fork-url", upstream, "--fork-block-number", str(PINNED)]) as node:
        yield node.url


def block_hash(url: str, number: int) -> str:
    block = rpc(url, "eth_getBlockByNumber", hex(number), False)
    assert isinstance(block, dict), f"{url} has no block {number}"
    return str(block["hash"])


def test_fork_starts_at_the_pinned_block_of_the_upstream(upstream: str, fork: str) -> None:
    assert rpc(upstream, "eth_blockNumber") == "0x3"
    assert rpc(fork, "eth_blockNumber") == hex(PINNED)
    assert block_hash(fork, PINNED) == block_hash(upstream, PINNED)
    assert rpc(fork, "eth_getBlockByNumber", hex(PINNED + 1), False) is None  # nothing past the pin


def test_impersonated_account_sends_on_the_fork_only(upstream: str, fork: str) -> None:
    rpc(fork, "anvil_setBalance", OUTSIDER, hex(10**18))
    rpc(fork, "anvil_impersonateAccount", OUTSIDER)
    recipient = rpc(fork, "eth_accounts")
    assert isinstance(recipient, list)
    tx = rpc(fork, "eth_sendTransaction", {"from": OUTSIDER, "to": recipient[1], "value": hex(12345)})
    receipt: object = None
    for _ in range(100):
        receipt = rpc(fork, "eth_getTransactionReceipt", tx)
        if receipt:
            break
        time.sleep(0.02)
    assert isinstance(receipt, dict) and receipt["status"] == "0x1"
    assert str(receipt["from"]).lower() == OUTSIDER.lower()
    assert int(str(receipt["blockNumber"]), 16) == PINNED + 1
    rpc(fork, "anvil_stopImpersonatingAccount", OUTSIDER)
    # the upstream never saw any of it
    assert rpc(upstream, "eth_getBalance", OUTSIDER, "latest") == "0x0"
    assert rpc(upstream, "eth_blockNumber") == "0x3"


def test_writes_on_a_fork_send_only_reads_upstream(upstream: str) -> None:
    """Rehearsing on a fork of a live network is itself read-only towards that network (RP-RO)."""
    from signoff.chain.proxy import RecordingRpcProxy

    with (
        RecordingRpcProxy(upstream) as proxy,
        AnvilNode(find_anvil(REPO), ["--fork-url", proxy.url, "--fork-block-number", str(PINNED)]) as node,
    ):
        rpc(node.url, "anvil_impersonateAccount", OUTSIDER)
        rpc(node.url, "anvil_setBalance", OUTSIDER, hex(10**18))
        rpc(node.url, "eth_sendTransaction", {"from": OUTSIDER, "to": OUTSIDER, "value": "0x1"})
        rpc(node.url, "evm_mine")
    assert proxy.methods(), "the fork never asked its upstream anything"
    assert proxy.write_methods() == ()
