"""Where a target is checked: one small interface over eth-tester, anvil and live RPC.

:mod:`signoff.chain.rpc` and :mod:`signoff.chain.anvil` need no web3: network readiness
checks and the session-start chain-id guard run on raw JSON-RPC. Everything that imports
web3 lives in :mod:`signoff.chain.backends` and is imported only by fixtures that need it.
"""

from __future__ import annotations

from dataclasses import dataclass

WRITE_METHODS = frozenset(
    {
        "eth_sendTransaction",
        "eth_sendRawTransaction",
        "eth_sign",
        "eth_signTransaction",
        "personal_sendTransaction",
    }
)
WRITE_PREFIXES = ("anvil_", "hardhat_", "evm_", "debug_setHead", "miner_")


def is_write_method(method: str) -> bool:
    """True for every RPC method that changes chain state (never sent to a live network)."""
    return method in WRITE_METHODS or method.startswith(WRITE_PREFIXES)


@dataclass(frozen=True)
class BlockPin:
    """The block every read of a session is pinned to, recorded in the evidence."""

    number: int
    hash: str
    timestamp: int


@dataclass(frozen=True)
class Endpoint:
    """A JSON-RPC endpoint and the chain id it must answer with."""

    network: str
    url: str  # secret for live networks: show redaction.display_url(url)
    expected_chain_id: int
    kind: str  # "anvil" (local node we started) or "live" (read-only)
    request_timeout: float = 30.0  # seconds for one whole JSON-RPC exchange ([networks.NAME] request_timeout_seconds)
