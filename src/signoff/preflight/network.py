"""PF-NET: is the network ready for this deployment? Pure verdicts over chain facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from signoff.artifacts.hashing import keccak256
from signoff.chain import BlockPin
from signoff.findings import Finding, Severity

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


@dataclass(frozen=True)
class Create2Slot:
    """An address the dispatcher plan predicts for a CREATE2 deployment, and what is there now."""

    name: str
    address: str
    expected_codehash: bytes | None  # the runtime codehash the plan pins; None when it pins none
    code: bytes


def check_create2_readiness(
    network: str,
    factory: str,
    factory_code: bytes,
    *,
    deployer: tuple[str, int, int] | None,  # (address, nonce the plan assumes, nonce on chain)
    slots: list[Create2Slot],
    block: int,
    rewrite_command: str,
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Is the CREATE2 deployer present (or about to land where the plan says), and are the
    predicted addresses still empty (or already holding exactly the planned code)?"""
    rows: list[dict[str, Any]] = []
    findings: list[Finding] = []
    if factory_code:
        rows.append(_row(f"CREATE2 factory {factory}", "contract code", f"{len(factory_code):,} bytes", "pass"))
    elif deployer is None:
        message = (
            f"network {network}: the plan's CREATE2 factory {factory} has no code at block {block}, and the plan "
            "does not say which deployer creates it. Next step: deploy the factory first, or write the plan with "
            f"--deployer and --nonce ({rewrite_command})"
        )
        findings.append(Finding(CHECK_ID, factory, "error", message))
        rows.append(_row(f"CREATE2 factory {factory}", "contract code", "no code", "fail"))
    else:
        address, planned, actual = deployer
        expected = f"not deployed yet: CREATE({address}, nonce {planned})"
        if actual == planned:
            rows.append(_row(f"CREATE2 factory {factory}", expected, f"deployer nonce {actual}", "pass"))
        else:
            severity: Severity = "error" if actual > planned else "warning"
            why = (
                "the factory would land at another address and every CREATE2 prediction in the plan would be wrong"
                if actual > planned
                else f"{planned - actual} other transaction(s) must come first"
            )
            findings.append(
                Finding(
                    CHECK_ID,
                    factory,
                    severity,
                    f"network {network}: deployer {address} has nonce {actual} at block {block}, the plan's factory "
                    f"address {factory} assumes nonce {planned}: {why}. Next step: rewrite the plan for this "
                    f"deployer ({rewrite_command} --deployer {address} --nonce {actual}) or use a fresh deployer",
                )
            )
            rows.append(_row(f"CREATE2 factory {factory}", expected, f"deployer nonce {actual}", severity))
    for slot in slots:
        label = f"predicted {slot.name} {slot.address}"
        if not slot.code:
            rows.append(_row(label, "empty, or the planned code", "empty (ready)", "pass"))
            continue
        codehash = keccak256(slot.code)
        if slot.expected_codehash is None or codehash == slot.expected_codehash:
            rows.append(_row(label, "empty, or the planned code", "already deployed: the planned code", "pass"))
            continue
        findings.append(
            Finding(
                CHECK_ID,
                slot.address,
                "error",
                f"network {network}: the address the plan predicts for {slot.name}, {slot.address}, already holds "
                f"other code at block {block} (codehash 0x{codehash.hex()}, the plan pins "
                f"0x{slot.expected_codehash.hex()}): the CREATE2 deployment cannot land there. Next step: change "
                "the salt or the factory and rewrite the plan",
            )
        )
        rows.append(_row(label, "empty, or the planned code", f"other code ({len(slot.code):,} bytes)", "fail"))
    return rows, findings


def _row(item: str, expected: str, actual: str, verdict: str) -> dict[str, Any]:
    return {"item": item, "expected": expected, "actual": actual, "verdict": verdict}
