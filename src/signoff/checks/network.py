"""PF-NET: is the network ready for this deployment? Pure verdicts over chain facts."""

from __future__ import annotations

from signoff.chain import BlockPin
from signoff.checks import Finding

CHECK_ID = "PF-NET"


def check_chain_id(network: str, expected: int, actual: int) -> list[Finding]:
    if expected == actual:
        return []
    return [
        Finding(
            CHECK_ID,
            network,
            "error",
            (
                f"network {network}: eth_chainId is {actual}, the target expects {expected}. "
                "Next step: fix rpc_url or chain_id in the target file"
            ),
        )
    ]


def check_block_age(network: str, pin: BlockPin, now: int, max_age_seconds: int) -> list[Finding]:
    age = now - pin.timestamp
    if age <= max_age_seconds:
        return []
    return [
        Finding(
            CHECK_ID,
            network,
            "error",
            (
                f"network {network}: latest block {pin.number} is {age:,} s old, more than "
                f"max_block_age_seconds = {max_age_seconds:,}; the node is stale or not syncing. "
                "Next step: use a synced RPC endpoint"
            ),
        )
    ]


def check_balance(network: str, address: str, balance: int, minimum: int, block: int) -> list[Finding]:
    if balance >= minimum:
        return []
    return [
        Finding(
            CHECK_ID,
            address,
            "error",
            (
                f"network {network}: deployer {address} holds {balance:,} wei at block {block}, less than "
                f"min_deployer_balance_wei = {minimum:,} (short by {minimum - balance:,} wei). "
                "Next step: fund the deployer before deploying"
            ),
        )
    ]


def check_has_code(network: str, address: str, code: bytes, block: int) -> list[Finding]:
    if code:
        return []
    return [
        Finding(
            CHECK_ID,
            address,
            "error",
            (
                f"network {network}: governance address {address} has no code at block {block}: it is an "
                "EOA or not deployed yet, and governance must be a contract (Safe or timelock). "
                "Next step: deploy governance first or correct the address"
            ),
        )
    ]
