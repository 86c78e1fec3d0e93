"""The runtime code a contract with immutables will have at a given address.

An immutable is written into the runtime code by the constructor, so a facet whose code keeps its
own address (the common ``address(this)`` self-guard) has a codehash that the artifact alone does
not give. The creation code is run twice on a fresh eth-tester chain, from two senders (so at two
addresses); each immutable slot that holds the contract's own address in both runs is set to the
wanted address, and each slot that holds the same value in both runs is a constant. Any other slot
(a block number, a timestamp, a value that depends on the sender) is unknown, and the answer is
None with the reason: a codehash is then never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from signoff.artifacts.hashing import keccak256
from signoff.artifacts.loader import Contract


@dataclass(frozen=True)
class Filled:
    """The runtime code at ``address``, or why it is not known (``code`` None)."""

    code: bytes | None
    reason: str  # what was filled, or why nothing could be


def slots(references: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[tuple[int, int]]:
    """(start, length) of every immutable occurrence in the runtime code, in order."""
    return sorted((int(r["start"]), int(r["length"])) for refs in references.values() for r in refs)


def runtime_at(contract: Contract, address: bytes) -> Filled:
    """``contract``'s runtime code as deployed (without constructor arguments) at ``address``."""
    references = contract.immutable_references or {}
    if not references:
        return Filled(contract.runtime.to_bytes(), "no immutables")
    if any(e.get("type") == "constructor" and e.get("inputs") for e in contract.abi):
        return Filled(None, "its constructor takes arguments, so its immutables depend on them")
    runs = _deploy_twice(contract.creation.to_bytes())
    if isinstance(runs, str):
        return Filled(None, runs)
    (first, at_first), (second, at_second) = runs
    code = bytearray(first)
    own = 0
    for start, length in slots(references):
        one, two = first[start : start + length], second[start : start + length]
        if one == at_first.rjust(length, b"\0") and two == at_second.rjust(length, b"\0"):
            code[start : start + length] = address.rjust(length, b"\0")
            own += 1
        elif one != two:
            return Filled(
                None, f"the immutable at byte {start} holds a value that differs from one deployment to another"
            )
    if len(first) != len(contract.runtime.to_bytes()):
        return Filled(None, "the deployed runtime code is not the artifact's deployedBytecode")
    kept = len(slots(references)) - own
    return Filled(bytes(code), f"immutables filled: {own} with its own address, {kept} constant")


def deployed_codehash(contract: Contract, address: bytes) -> tuple[bytes | None, str]:
    """keccak256 of ``contract``'s runtime code at ``address`` and, for a contract with immutables, how they
    were filled, or why they cannot be (then ``None``: nothing is guessed)."""
    if not contract.immutable_references:
        return keccak256(contract.runtime.to_bytes()), ""
    filled = runtime_at(contract, address)
    return (None if filled.code is None else keccak256(filled.code)), filled.reason


@lru_cache(maxsize=64)  # one scratch chain per creation code, however many routes or plans ask
def _deploy_twice(init_code: bytes) -> tuple[tuple[bytes, bytes], tuple[bytes, bytes]] | str:
    """The runtime code returned by ``init_code`` deployed from two accounts, with each deployed address."""
    from eth_utils.address import to_canonical_address

    from signoff.chain.backends import open_eth_tester

    chain = open_eth_tester()
    try:
        w3 = chain.w3
        runs = []
        for sender in w3.eth.accounts[:2]:
            tx_hash = w3.eth.send_transaction({"from": sender, "data": init_code, "gas": 29_000_000})
            receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
            if receipt["status"] != 1 or not receipt["contractAddress"]:
                return "its creation code reverts on a fresh chain"
            address = receipt["contractAddress"]
            runs.append((bytes(w3.eth.get_code(address)), to_canonical_address(address)))
        return runs[0], runs[1]
    except Exception as exc:  # a creation that cannot even be sent
        return f"its creation code could not be run ({type(exc).__name__}: {exc})"
    finally:
        chain.close()
