"""Events as signoff reads them from a chain: which events of an ABI to look for (:func:`event_specs`),
their logs over a block range in windows a provider accepts (:func:`read_logs`), and the logs decoded by
the event's own parameter names (:func:`decode_logs`). Used by PD-EVT (control and roster events) and
PD-MON (a dispatcher's commits and activations)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from signoff.artifacts.abi import canonical_type
from signoff.artifacts.hashing import keccak256

if TYPE_CHECKING:
    from web3 import Web3

Abi = Sequence[Mapping[str, Any]]
WINDOW = 50_000  # blocks per eth_getLogs request


@dataclass(frozen=True)
class EventSpec:
    name: str
    signature: str
    topic: bytes
    inputs: tuple[tuple[str, str, bool], ...]  # (name, type, indexed)


def event_specs(abi: Abi, wanted: Callable[[str], bool]) -> list[EventSpec]:
    specs = []
    for entry in abi:
        if entry.get("type") != "event" or not wanted(str(entry.get("name", ""))):
            continue
        inputs = tuple(
            (str(p.get("name", "")), canonical_type(p), bool(p.get("indexed"))) for p in entry.get("inputs", [])
        )
        sig = f"{entry['name']}({','.join(t for _, t, _ in inputs)})"
        specs.append(EventSpec(str(entry["name"]), sig, keccak256(sig.encode()), inputs))
    return specs


@dataclass(frozen=True)
class Seen:
    """One decoded event."""

    contract: str
    event: str
    block: int
    values: Mapping[str, Any]

    def new_holder(self) -> str | None:
        """The address control went to: ``new*``/``next*``/``account`` parameters, else the last address."""
        addresses = [
            (k, v) for k, v in self.values.items() if isinstance(v, str) and v.startswith("0x") and len(v) == 42
        ]
        for key, value in addresses:
            if key.lower().lstrip("_").startswith(("new", "next", "account", "pending")):
                return value
        return addresses[-1][1] if addresses else None


def decode_logs(contract: str, spec: EventSpec, logs: Iterable[Mapping[str, Any]]) -> list[Seen]:
    from eth_abi.abi import decode
    from eth_utils.address import to_checksum_address

    found = []
    for log in logs:
        topics = [bytes(t) for t in log.get("topics", [])]
        if not topics or topics[0] != spec.topic:
            continue
        plain = [t for _, t, indexed in spec.inputs if not indexed]
        try:
            data = list(decode(plain, bytes(log.get("data", b""))))
        except Exception:
            data = None
        if data is None:
            continue
        values: dict[str, Any] = {}
        topic_index = 1
        for name, abi_type, indexed in spec.inputs:
            if indexed:
                raw = topics[topic_index] if topic_index < len(topics) else b""
                topic_index += 1
                value: Any = (
                    decode([abi_type], raw)[0]
                    if abi_type in ("address", "bool") or abi_type.startswith(("uint", "int", "bytes32"))
                    else "0x" + raw.hex()
                )
            else:
                value = data.pop(0)
            if abi_type == "address":
                value = str(to_checksum_address(value))
            values[name or f"arg{len(values)}"] = value
        found.append(Seen(contract, spec.name, int(log.get("blockNumber", 0)), values))
    return found


def read_logs(w3: Web3, address: str, topic: bytes, start: int, end: int) -> list[Any]:
    """The logs of ``address`` with first topic ``topic`` in blocks ``start``..``end``, ``WINDOW`` blocks a request."""
    found: list[Any] = []
    for low in range(start, end + 1, WINDOW):
        high = min(end, low + WINDOW - 1)
        found += w3.eth.get_logs(
            {"address": address, "fromBlock": low, "toBlock": high, "topics": ["0x" + topic.hex()]}  # type: ignore[typeddict-item]
        )
    return found
