"""PD-PLAN: the change plan, the setter calls that would bring the chain to the reviewed config.

The config mapping run the other way: for every key whose on-chain value differs, the setter
(``setter`` in the mapping, else ``set<Getter>`` or ``set<Key>`` found in the ABI) with the
config's value; an address-set becomes one ``(address,bool)`` call per member added or removed,
or one ``(address[])`` call. Each call is routed to who must sign it: a module held by a contract
with a relay (``executeGovernanceCall(address,bytes)``) is called through it, until an account, a
Safe or a timelock is reached. :func:`safe_batch` writes the calls as a Safe Transaction Builder
batch for the signers to review. Pure: the suite reads, simulates and writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from signoff.artifacts.abi import signature
from signoff.postdeploy.control.reading import ParamReading
from signoff.postdeploy.control.settings import ParamMapping
from signoff.postdeploy.ownership import call_data, functions, inputs_of

Abi = Sequence[Mapping[str, Any]]
Label = Callable[[str], str]


@dataclass(frozen=True)
class Setter:
    signature: str
    types: tuple[str, ...]
    mode: str  # value | pair | list


def find_setter(abi: Abi, param: ParamMapping) -> Setter | str:
    """The setter of ``param`` in ``abi``, or why there is none."""
    last = param.key.rsplit(".", 1)[-1]
    names = [param.setter] if param.setter else list(dict.fromkeys([f"set{_cap(param.getter)}", f"set{_cap(last)}"]))
    for name in names:
        for entry in functions(abi, name):
            ins = inputs_of(entry)
            if param.unit == "address-set":
                if ins == ["address", "bool"]:
                    return Setter(signature(entry), tuple(ins), "pair")
                if ins == ["address[]"]:
                    return Setter(signature(entry), tuple(ins), "list")
            elif len(ins) == 1 and _fits(param.unit, ins[0]):
                return Setter(signature(entry), tuple(ins), "value")
    tried = " or ".join(names)
    return (
        f"{param.contract} has no setter {tried} taking "
        + ("(address,bool) or (address[])" if param.unit == "address-set" else f"one {param.unit} value")
        + f". Next step: name it with setter = ... in [[control.file]] keys.{param.key}"
    )


def _cap(name: str) -> str:
    return name[:1].upper() + name[1:]


def _fits(unit: str, abi_type: str) -> bool:
    if unit == "address":
        return abi_type == "address"
    if unit == "bool":
        return abi_type == "bool"
    return abi_type.startswith(("uint", "int")) and "[" not in abi_type


@dataclass(frozen=True)
class PlannedCall:
    """One transaction of the change plan, as the signer will send it."""

    param: str  # "fee-pool.json:burnPct"
    contract: str
    module: str  # the module's address
    function: str  # "setBurnPct(uint256)"
    args: tuple[Any, ...]
    to: str  # after relays: what the signer calls
    data: bytes  # after relays
    signer: str  # who must approve and send it
    route: tuple[str, ...]  # "FeePool.setBurnPct(uint256)" <- "SystemPause.executeGovernanceCall" <- signer
    execute: bytes | None = None  # behind a timelock: ``data`` schedules, this executes after the delay


def calls_for(reading: ParamReading, setter: Setter) -> list[tuple[Any, ...]]:
    """The argument tuples that bring ``reading``'s actual value to the expected one."""
    expected, actual = reading.expected, reading.actual
    if expected is None or actual == expected:
        return []
    if setter.mode == "value":
        return [(expected,)]
    assert isinstance(expected, frozenset)
    have = actual if isinstance(actual, frozenset) else frozenset()
    if setter.mode == "list":
        return [(sorted(expected, key=str.lower),)]
    added = sorted(expected - have, key=str.lower)
    removed = sorted(have - expected, key=str.lower)
    return [(a, True) for a in added] + [(a, False) for a in removed]


@dataclass(frozen=True)
class Relay:
    """A contract that forwards governance's calls to the modules it holds."""

    address: str
    name: str
    function: str  # "executeGovernanceCall(address,bytes)"


def route(
    module: str, data: bytes, holder_of: Callable[[str], str | None], relays: Mapping[str, Relay], label: Label
) -> tuple[str, bytes, str, tuple[str, ...]]:
    """(to, data, signer, hops): wrap ``data`` through every relay that holds the target, until the
    holder is not a relay. At most 5 hops (a cycle ends there)."""
    to, payload, hops = module, data, []
    holder = holder_of(module)
    for _ in range(5):
        if holder is None or holder.lower() not in relays:
            break
        relay = relays[holder.lower()]
        payload = call_data(relay.function, ["address", "bytes"], [to, payload])
        hops.append(f"{relay.name}.{relay.function.split('(')[0]}")
        to = relay.address
        holder = holder_of(relay.address)
    signer = holder or "(nobody: the module has no readable owner)"
    return to, payload, signer, tuple(hops)


def through_timelock(timelock: str, to: str, data: bytes, delay: int, salt: bytes) -> tuple[bytes, bytes]:
    """(schedule, execute) calldata of an OpenZeppelin TimelockController operation calling ``to``."""
    operation = [to, 0, data, b"\0" * 32, salt]
    schedule = call_data(
        "schedule(address,uint256,bytes,bytes32,bytes32,uint256)",
        ["address", "uint256", "bytes", "bytes32", "bytes32", "uint256"],
        [*operation, delay],
    )
    execute = call_data(
        "execute(address,uint256,bytes,bytes32,bytes32)",
        ["address", "uint256", "bytes", "bytes32", "bytes32"],
        operation,
    )
    return schedule, execute


def detect_relay(abi: Abi) -> str | None:
    """The authority's forwarding function: its only non-view function taking (address, bytes)."""
    found = [
        signature(e)
        for e in abi
        if e.get("type") == "function"
        and inputs_of(e) == ["address", "bytes"]
        and e.get("stateMutability") in ("nonpayable", "payable")
    ]
    return found[0] if len(found) == 1 else None


def safe_batch(
    chain_id: int, safe: str, calls: Sequence[PlannedCall], *, name: str, description: str
) -> dict[str, Any]:
    """A Safe Transaction Builder batch (``version`` 1.0) of ``calls`` for ``safe`` to review."""
    return {
        "version": "1.0",
        "chainId": str(chain_id),
        "createdAt": 0,
        "meta": {
            "name": name,
            "description": description,
            "txBuilderVersion": "1.16.5",
            "createdFromSafeAddress": safe,
            "createdFromOwnerAddress": "",
        },
        "transactions": [
            {
                "to": call.to,
                "value": "0",
                "data": "0x" + call.data.hex(),
                "contractMethod": None,
                "contractInputsValues": None,
            }
            for call in calls
        ],
    }


def shown_args(args: Sequence[Any], label: Label) -> str:
    parts = []
    for arg in args:
        if isinstance(arg, str) and arg.startswith("0x") and len(arg) == 42:
            parts.append(label(arg))
        elif isinstance(arg, list):
            parts.append("[" + ", ".join(label(a) for a in arg) + "]")
        elif isinstance(arg, bool):
            parts.append("true" if arg else "false")
        else:
            parts.append(str(arg))
    return ", ".join(parts)
