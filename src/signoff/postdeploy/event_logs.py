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
from signoff.findings import Finding

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


@dataclass(frozen=True)
class Unreadable:
    """A log with the event's topic that does not decode as the artifact declares the event."""

    contract: str
    event: str  # its signature
    block: int
    why: str


_ELEMENTARY = ("uint", "int", "address", "bool", "bytes")


def _one_word(abi_type: str) -> bool:
    """An elementary type of one 32-byte word (``bytes`` alone and arrays are not)."""
    return abi_type.startswith(_ELEMENTARY) and abi_type != "bytes" and "[" not in abi_type and "(" not in abi_type


def _shape_problem(spec: EventSpec, topics: Sequence[bytes], data: bytes) -> str | None:
    """Why a log with ``spec``'s topic is not the event the ABI declares, or None."""
    indexed = sum(1 for _, _, is_indexed in spec.inputs if is_indexed)
    if len(topics) - 1 != indexed:
        return f"{indexed} indexed topic{'' if indexed == 1 else 's'} declared, the log has {len(topics) - 1}"
    plain = [abi_type for _, abi_type, is_indexed in spec.inputs if not is_indexed]
    if all(_one_word(abi_type) for abi_type in plain) and len(data) != 32 * len(plain):
        return f"the data is {len(data)} bytes, {32 * len(plain)} declared"
    return None


def decode_logs(
    contract: str, spec: EventSpec, logs: Iterable[Mapping[str, Any]]
) -> tuple[list[Seen], list[Unreadable]]:
    """The logs of ``spec``'s topic decoded by its parameter names, and those that do not decode as the
    artifact declares the event (another indexing, other data): never skipped in silence."""
    from eth_abi.abi import decode
    from eth_utils.address import to_checksum_address

    found: list[Seen] = []
    unreadable: list[Unreadable] = []
    for log in logs:
        topics = [bytes(t) for t in log.get("topics", [])]
        if not topics or topics[0] != spec.topic:
            continue
        block = int(log.get("blockNumber", 0))
        raw_data = bytes(log.get("data", b""))
        problem = _shape_problem(spec, topics, raw_data)
        values: dict[str, Any] = {}
        if problem is None:
            try:
                data = list(decode([t for _, t, indexed in spec.inputs if not indexed], raw_data))
                topic_index = 1
                for name, abi_type, indexed in spec.inputs:
                    if indexed:
                        raw = topics[topic_index]
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
            except Exception as exc:  # eth_abi's errors: data another event's encoding
                problem = f"it does not decode ({type(exc).__name__}: {exc})"
        if problem is not None:
            unreadable.append(Unreadable(contract, spec.signature, block, problem))
            continue
        found.append(Seen(contract, spec.name, block, values))
    return found, unreadable


def unreadable_findings(check_id: str, unreadable: Sequence[Unreadable]) -> list[Finding]:
    """One failing finding for the logs that could not be read, per check (none when every log was
    read): a history signoff could not read is not a clean one."""
    if not unreadable:
        return []
    by_event: dict[tuple[str, str], list[Unreadable]] = {}
    for item in unreadable:
        by_event.setdefault((item.contract, item.event), []).append(item)
    parts = [
        f"{contract}: {len(items)} {event} log{'' if len(items) == 1 else 's'} do"
        f"{'es' if len(items) == 1 else ''} not decode as the artifact declares the event ("
        + "; ".join(f"block {item.block}: {item.why}" for item in items[:5])
        + ("; ..." if len(items) > 5 else "")
        + ")"
        for (contract, event), items in sorted(by_event.items())
    ]
    return [
        Finding(
            check_id,
            "logs",
            "error",
            "; ".join(parts) + ", so signoff cannot judge them. Next step: check that the artifact is the build "
            "deployed there (PD-CODE) and that its ABI declares the event as the contract emits it",
        )
    ]


def read_logs(w3: Web3, address: str, topic: bytes, start: int, end: int) -> list[Any]:
    """The logs of ``address`` with first topic ``topic`` in blocks ``start``..``end``, ``WINDOW`` blocks a request."""
    found: list[Any] = []
    for low in range(start, end + 1, WINDOW):
        high = min(end, low + WINDOW - 1)
        found += w3.eth.get_logs(
            {"address": address, "fromBlock": low, "toBlock": high, "topics": ["0x" + topic.hex()]}  # type: ignore[typeddict-item]
        )
    return found
