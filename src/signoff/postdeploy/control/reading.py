"""Reads of the control plane at one block (the pinned one on a live network): never a transaction.

:func:`read_param` reads one mapped getter in the shape its unit needs; :func:`read_module` reads a
module's authority (its type detected from the ABI, the holder, a pending owner, the pauser, the
pause flag and ``version()``). Everything goes through a
:class:`~signoff.postdeploy.ownership.ChainReader`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from signoff.artifacts.abi import signature
from signoff.errors import ChainError
from signoff.postdeploy.control.settings import ParamMapping
from signoff.postdeploy.control.values import Value
from signoff.postdeploy.emergency import PAUSED_VIEWS
from signoff.postdeploy.ownership import (
    ChainReader,
    call_data,
    decode_single,
    functions,
    has_function,
    has_getter,
    has_role,
    inputs_of,
    outputs_of,
    role_id,
)

Abi = Sequence[Mapping[str, Any]]
ZERO = "0x" + "00" * 20
MODULE_TYPES = ("ownable", "ownable2step", "governable", "access-control")


def _numeric(abi_type: str) -> bool:
    return abi_type.startswith(("uint", "int")) and "[" not in abi_type


_SCALAR = {"address": lambda t: t == "address", "bool": lambda t: t == "bool"}


def getter_shape(abi: Abi, param: ParamMapping) -> tuple[Mapping[str, Any] | None, str]:
    """The ABI entry that reads ``param`` and how ("value", "list", "predicate"), or (None, why not)."""
    entries = functions(abi, param.getter)
    if not entries:
        return None, f"{param.contract} has no function {param.getter}"
    for entry in entries:
        ins, outs = inputs_of(entry), outputs_of(entry)
        if param.unit == "address-set":
            if not ins and outs == ["address[]"]:
                return entry, "list"
            if ins == ["address"] and outs == ["bool"]:
                return entry, "predicate"
        elif not ins and len(outs) == 1 and _SCALAR.get(param.unit, _numeric)(outs[0]):
            return entry, "value"
    shapes = ", ".join(f"{signature(e)} returns ({', '.join(outputs_of(e))})" for e in entries)
    wanted = (
        "an address[] view or an (address) -> bool predicate"
        if param.unit == "address-set"
        else f"a view without arguments returning one {param.unit if param.unit in _SCALAR else 'integer'}"
    )
    return None, f"{param.contract}.{param.getter} is {shapes}, not {wanted}"


@dataclass(frozen=True)
class ParamReading:
    """What the chain says for one mapped key."""

    param: ParamMapping
    expected: Value | None
    actual: Value | None = None
    how: str = "value"  # value | list | predicate
    problem: str | None = None  # unreadable, getter missing, config value invalid


def read_param(reader: ChainReader, param: ParamMapping, address: str, abi: Abi, expected: Value) -> ParamReading:
    entry, how = getter_shape(abi, param)
    if entry is None:
        return ParamReading(param, expected, problem=how)
    what = f"{param.contract}.{signature(entry)}"
    try:
        if how == "value":
            raw = reader.call(address, call_data(signature(entry)), what)
            value = decode_single(outputs_of(entry)[0], raw, what)
            return ParamReading(param, expected, _normal(value), how)
        if how == "list":
            raw = reader.call(address, call_data(signature(entry)), what)
            members = decode_single("address[]", raw, what)
            return ParamReading(param, expected, frozenset(_checksum(m) for m in members), how)
        assert isinstance(expected, frozenset)
        confirmed = set()
        for member in sorted(expected):
            raw = reader.call(address, call_data(signature(entry), ["address"], [member]), f"{what} for {member}")
            if decode_single("bool", raw, what):
                confirmed.add(member)
        return ParamReading(param, expected, frozenset(confirmed), how)
    except ChainError as exc:
        return ParamReading(param, expected, how=how, problem=str(exc))


def _normal(value: Any) -> Value:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    return _checksum(str(value))


def _checksum(value: str) -> str:
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(value))


def detect_type(abi: Abi) -> str | None:
    """The module type its ABI shows: access-control, governable, ownable2step, ownable, or None."""
    if has_function(abi, "hasRole", ["bytes32", "address"], ["bool"]) and has_getter(
        abi, "DEFAULT_ADMIN_ROLE", "bytes32"
    ):
        return "access-control"
    if has_getter(abi, "governance", "address") and any(
        inputs_of(e) == ["address"] for e in functions(abi, "setGovernance")
    ):
        return "governable"
    if (
        has_getter(abi, "owner", "address")
        and has_getter(abi, "pendingOwner", "address")
        and functions(abi, "acceptOwnership")
    ):
        return "ownable2step"
    if has_getter(abi, "owner", "address"):
        return "ownable"
    if has_getter(abi, "governance", "address"):
        return "governable"
    return None


@dataclass(frozen=True)
class ModuleFacts:
    """One module's authority on chain."""

    name: str
    address: str
    kind: str | None  # detected type
    holder: str | None = None  # governance() for governable, owner() otherwise; DEFAULT_ADMIN_ROLE: None
    holder_getter: str = ""
    pending: str | None = None  # Ownable2Step pendingOwner(), None when zero or absent
    pauser: str | None = None  # who holds the pause right through a getter (pauser(), brake(), guardian())
    has_pauser: bool = False
    pauser_getter: str = ""  # "pauser()" / "brake()"; "" when the right is a role or absent
    pause_role: str | None = None  # "PAUSER_ROLE": the pause right is an AccessControl role
    paused: bool | None = None
    paused_view: str = ""  # "paused()", "isHalted()", ...
    version: int | None = None
    problems: tuple[str, ...] = ()

    def holds_admin(self, reader: ChainReader, who: str) -> bool:
        return self.holds_role(reader, "DEFAULT_ADMIN_ROLE", who)

    def holds_role(self, reader: ChainReader, role: str, who: str) -> bool:
        """``hasRole(role, who)``; the role id is read from the role's constant getter."""
        role_hash = role_id(reader, self.name, self.address, role)
        return has_role(reader, self.address, who, role_hash, label=f"{self.name}.hasRole({role})")


PAUSER_GETTERS = ("pauser", "brake", "guardian", "pauseGuardian", "emergencyBrake", "pauseAuthority")


def _first_view(abi: Abi, names: Sequence[str], returns: str) -> str | None:
    for name in names:
        if any(not inputs_of(e) and outputs_of(e) == [returns] for e in functions(abi, name)):
            return name
    return None


def pause_role(abi: Abi) -> str | None:
    """The AccessControl role that may pause (a ``*_ROLE`` constant naming pause, halt or guard)."""
    for entry in abi:
        name = str(entry.get("name", ""))
        upper = name.upper()
        if (
            entry.get("type") == "function"
            and name.endswith("_ROLE")
            and not inputs_of(entry)
            and any(word in upper for word in ("PAUSE", "HALT", "GUARD", "EMERGENCY"))
        ):
            return name
    return None


def read_module(
    reader: ChainReader, name: str, address: str, abi: Abi, pauser_getters: Sequence[str] = PAUSER_GETTERS
) -> ModuleFacts:
    kind = detect_type(abi)
    problems: list[str] = []
    values: dict[str, Any] = {}
    getter = "governance" if kind == "governable" else "owner"
    reads = [(getter, "address")] if kind in ("ownable", "ownable2step", "governable") else []
    if kind == "ownable2step":
        reads.append(("pendingOwner", "address"))
    pauser_view = _first_view(abi, pauser_getters, "address")
    paused_view = _first_view(abi, PAUSED_VIEWS, "bool")
    for view, kind_out in ((pauser_view, "address"), (paused_view, "bool"), ("version", "uint256")):
        if view and any(not inputs_of(e) for e in functions(abi, view)):
            reads.append((view, kind_out))
    for view, out in reads:
        what = f"{name}.{view}()"
        try:
            entry = next(e for e in functions(abi, view) if not inputs_of(e))
            out_type = outputs_of(entry)[0] if outputs_of(entry) else out
            values[view] = _normal(decode_single(out_type, reader.call(address, call_data(f"{view}()"), what), what))
        except (ChainError, StopIteration) as exc:
            problems.append(str(exc) or f"{what} could not be read")
    pending = values.get("pendingOwner")
    pauser = values.get(pauser_view) if pauser_view else None
    paused = values.get(paused_view) if paused_view else None
    return ModuleFacts(
        name=name,
        address=address,
        kind=kind,
        holder=values.get(getter) if kind != "access-control" else None,
        holder_getter=f"{getter}()" if kind != "access-control" else "DEFAULT_ADMIN_ROLE",
        pending=None if pending in (None, ZERO) else str(pending),
        pauser=pauser if isinstance(pauser, str) else None,
        has_pauser=bool(pauser_view) and pauser_view in values,
        pauser_getter=f"{pauser_view}()" if pauser_view else "",
        pause_role=pause_role(abi) if kind == "access-control" else None,
        paused=paused if isinstance(paused, bool) else None,
        paused_view=f"{paused_view}()" if paused_view else "",
        version=values.get("version") if isinstance(values.get("version"), int) else None,
        problems=tuple(problems),
    )
