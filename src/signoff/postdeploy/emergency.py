"""PD-EMG: the emergency drills — pause and back, and a governance rotation — on a writable chain.

A pause drill (``[[postdeploy.emergency]]``) has the role pause the contract, shows that a
normal path (``blocked``) works before, reverts while paused and works again after the role
unpaused it; an unpause that reverts while paused is the worst finding (the pause cannot be
undone). A rotation drill (``[[postdeploy.rotation]]``) hands an AccessControl role, or the
Ownable / Ownable2Step ownership, from the governance to a fresh address and simulates a probe
function as both: the old holder must be refused and the new one accepted. Every step becomes
one evidence row. The drills send through the :class:`~signoff.deploy.rehearsal.Operator` they are
given (the ``drill`` fixture, inside a snapshot) and never import web3 at module import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from signoff.artifacts.abi import encode_call, find_function, signature
from signoff.artifacts.hashing import keccak256
from signoff.errors import ConfigError
from signoff.findings import Finding
from signoff.postdeploy.settings import PauseDrill, RotationDrill

if TYPE_CHECKING:
    from signoff.deploy.rehearsal import Operator
    from signoff.deploy.system import DeployedSystem

CHECK_ID = "PD-EMG"
TABLE = "PD-EMG"
ORDER_STRIDE = 100  # drill i's rows are ordered i*100+1, i*100+2, ... so drills never interleave
DEFAULT_ADMIN_ROLE = "DEFAULT_ADMIN_ROLE"
_ROLE_HEX = re.compile(r"0x[0-9a-fA-F]{64}")

ABI = Sequence[Mapping[str, Any]]


# -- what a drill records -------------------------------------------------------------------------


@dataclass(frozen=True)
class DrillStep:
    """One step of a drill: what was done, what had to happen and what did."""

    order: int
    drill: str  # "pause" or "rotation"
    contract: str
    step: str
    expected: str
    observed: str
    ok: bool

    def row(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "drill": self.drill,
            "contract": self.contract,
            "step": self.step,
            "expected": self.expected,
            "observed": self.observed,
            "verdict": "ok" if self.ok else "FINDING",
        }


@dataclass
class DrillReport:
    """The steps of one drill and the findings they produced."""

    drill: str
    contract: str
    base_order: int
    steps: list[DrillStep] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def record(self, step: str, expected: str, observed: str, *, ok: bool, finding: str = "") -> bool:
        """Add a step; a failed one adds ``finding`` (an error) too. Returns ``ok``."""
        order = self.base_order + len(self.steps) + 1
        self.steps.append(DrillStep(order, self.drill, self.contract, step, expected, observed, ok))
        if not ok and finding:
            self.findings.append(Finding(CHECK_ID, self.contract, "error", finding))
        return ok

    def rows(self) -> list[dict[str, Any]]:
        return [s.row() for s in self.steps]


def drill_order(index: int) -> int:
    """The first order number of drill ``index`` (pause drills first, then rotations)."""
    return (index + 1) * ORDER_STRIDE


# -- pure helpers -----------------------------------------------------------------------------------


def role_id(role: str, getter_value: bytes | None) -> tuple[bytes, str]:
    """The bytes32 id of an AccessControl role and how it was found.

    The contract's own getter (``EMERGENCY_ROLE()``) wins; without one, ``DEFAULT_ADMIN_ROLE``
    is 0, a 0x-hex value is taken as is, and any other name is keccak256(name) (the
    OpenZeppelin convention)."""
    if getter_value is not None:
        return getter_value, f"{role}() of the contract"
    if role == DEFAULT_ADMIN_ROLE:
        return bytes(32), "DEFAULT_ADMIN_ROLE = 0x00"
    if _ROLE_HEX.fullmatch(role):
        return bytes.fromhex(role[2:]), "given as bytes32"
    return keccak256(role.encode()), f'keccak256("{role}")'


def has_getter(abi: ABI, name: str) -> bool:
    """Whether ``abi`` has a no-argument function ``name`` returning one bytes32."""
    return any(
        e.get("type") == "function"
        and e.get("name") == name
        and not e.get("inputs")
        and [o.get("type") for o in e.get("outputs", [])] == ["bytes32"]
        for e in abi
    )


def has_function(abi: ABI, name: str) -> bool:
    return any(e.get("type") == "function" and e.get("name") == name for e in abi)


@dataclass(frozen=True)
class PauseShape:
    """How one contract pauses: the calls that pause and unpause it, and the view (if any) of its state."""

    pause: str  # full signature
    pause_args: tuple[Any, ...]
    unpause: str
    unpause_args: tuple[Any, ...]
    paused: str | None  # a no-argument view returning bool; None: judged by the blocked path alone
    detected: str  # how it was found, for the evidence
    paused_slot: int | None = None  # else the flag in storage: its slot and byte offset
    paused_offset: int = 0

    @property
    def state(self) -> str | None:
        """What shows the paused state, for the evidence; None: only the blocked path does."""
        if self.paused_slot is not None:
            return f"storage slot {hex(self.paused_slot)} byte {self.paused_offset}"
        return self.paused


# (pause, pause args, unpause, unpause args), tried in this order when [[postdeploy.emergency]] names none
_PAUSE_SHAPES: tuple[tuple[str, tuple[Any, ...], str, tuple[Any, ...]], ...] = (
    ("pause()", (), "unpause()", ()),
    ("setPaused(bool)", (True,), "setPaused(bool)", (False,)),
    ("pauseAll()", (), "unpauseAll()", ()),
    ("setPause(bool)", (True,), "setPause(bool)", (False,)),
    ("halt()", (), "resume()", ()),
)
PAUSED_VIEWS = ("paused", "isPaused", "halted", "isHalted", "pausedAll")


def pause_shape(abi: ABI, drill: PauseDrill, where: str) -> PauseShape:
    """The drill's pause shape: what [[postdeploy.emergency]] says, else the first known shape the
    ABI has (pause()/unpause(), setPaused(bool), pauseAll()/unpauseAll() ...). A ConfigError names
    the keys when none fits."""
    signatures = {signature(e) for e in abi if e.get("type") == "function"}
    pause = _shown_call(abi, drill.pause, where) if drill.pause else None
    unpause = _shown_call(abi, drill.unpause, where) if drill.unpause else None
    detected = "[[postdeploy.emergency]] pause/unpause"
    if pause is None or unpause is None:
        found = next(
            (
                shape
                for shape in _PAUSE_SHAPES
                if shape[0] in signatures
                and shape[2] in signatures
                and (pause is None or shape[0] == pause)
                and (unpause is None or shape[2] == unpause)
            ),
            None,
        )
        if found is None:
            raise ConfigError(
                f"{where}: {drill.contract} has none of the pause shapes signoff knows ("
                + ", ".join(f"{p}/{u}" if p != u else p for p, _, u, _ in _PAUSE_SHAPES)
                + '). Next step: name them with pause = "...", unpause = "..." (and pause_args, unpause_args) '
                "in [[postdeploy.emergency]]"
            )
        pause, unpause, detected = (
            found[0],
            found[2],
            f"detected: {found[0]}" + (f" / {found[2]}" if found[2] != found[0] else ""),
        )
        default_pause, default_unpause = found[1], found[3]
    else:
        default_pause = (True,) if pause.endswith("(bool)") else ()
        default_unpause = (False,) if unpause.endswith("(bool)") else ()
    paused: str | None
    if drill.paused and drill.paused_slot is not None:
        raise ConfigError(
            f"{where}: paused and paused_slot both say where the paused state is. Next step: keep one of them"
        )
    if drill.paused:
        paused = _shown_call(abi, drill.paused, where)
    elif drill.paused_slot is not None:
        paused = None
    else:
        paused = next(
            (
                signature(e)
                for name in PAUSED_VIEWS
                for e in abi
                if e.get("type") == "function"
                and e.get("name") == name
                and not e.get("inputs")
                and [o.get("type") for o in e.get("outputs", [])] == ["bool"]
            ),
            None,
        )
    if paused is None and drill.paused_slot is None and drill.blocked is None:
        raise ConfigError(
            f"{where}: {drill.contract} has no paused view ({', '.join(f'{n}()' for n in PAUSED_VIEWS)}) and the "
            "drill names no blocked path, so nothing could show that the pause took effect. Next step: set paused = "
            '"yourView", paused_slot = <slot> (with paused_offset) or blocked = "aFunction" in '
            "[[postdeploy.emergency]]"
        )
    return PauseShape(
        pause,
        drill.pause_args if drill.pause_args is not None else default_pause,
        unpause,
        drill.unpause_args if drill.unpause_args is not None else default_unpause,
        paused,
        detected,
        drill.paused_slot,
        drill.paused_offset,
    )


def irreversible_message(where: str, unpause: str, actor: str, reason: str) -> str:
    return (
        f"{where}: unpause cannot be reached while paused: the pause is irreversible ({reason}); "
        f"{unpause} as {actor} reverted right after the pause succeeded. Next step: let the role call "
        f"{unpause} while the contract is paused (no whenNotPaused on it), redeploy, and rerun the drill"
    )


def still_works_message(where: str, blocked: str) -> str:
    return (
        f"{where}: normal path {blocked} still works while paused (an outsider's call succeeded after "
        f"pause). Next step: guard {blocked} with whenNotPaused, or name a path the pause really stops in "
        "[[postdeploy.emergency]] blocked"
    )


def resolve_actor(system: DeployedSystem, reference: str, governance: str | None, where: str) -> str:
    """``"@Name"`` -> address; the configured governance stands for itself on a live network,
    whose deployments file names contracts only."""
    name = reference.lstrip("@")
    if name in system.names() or reference.startswith("0x"):
        return system.address(reference, where=where)
    is_governance = reference == governance or name.lower() == "governance"
    if is_governance and system.governance:
        return system.governance[0]
    return system.address(reference, where=where)  # raises the clear "unknown name" error


def _bool(data: bytes) -> bool:
    return len(data) >= 32 and int.from_bytes(data[:32], "big") != 0


def _word_address(data: bytes) -> str:
    return "0x" + data[12:32].hex() if len(data) >= 32 else "0x"


# -- the chain side ---------------------------------------------------------------------------------


class _Actions:
    """Calls, simulations and sends through the drill's operator, with revert reasons decoded."""

    def __init__(self, op: Operator) -> None:
        self.op = op
        self.reader = op.outsider(0)  # a funded sender for reads (eth-tester charges eth_call gas)

    def view(self, to: str, data: bytes) -> bytes:
        return self.op.simulate(self.reader, to, data)

    def attempt(self, sender: str, to: str, data: bytes, value: int = 0) -> str | None:
        """Simulate the call as ``sender``: None when it would succeed, else the decoded reason.
        (A rehearsal Safe is funded, so it can be the sender of an eth_call on eth-tester too.)"""
        from signoff.deploy.rehearsal import Reverted

        try:
            self.op.simulate(sender, to, data, value=value)
        except Reverted as exc:
            return self.reason(exc)
        return None

    def send(self, sender: str, to: str, data: bytes, value: int = 0, what: str = "") -> tuple[bool, str]:
        """Send; (True, "succeeded (gas N)") or (False, decoded revert reason)."""
        from signoff.deploy.rehearsal import Reverted

        try:
            sent = self.op.send(sender, to, data, value=value, what=what)
        except Reverted as exc:
            return False, self.reason(exc)
        return True, f"succeeded (gas {sent.gas_used})"

    def reason(self, exc: Exception) -> str:
        from signoff.deploy.rehearsal import decode_revert

        data = getattr(exc, "data", b"")
        if isinstance(data, bytes) and data:
            return decode_revert(data, self.op.abis)
        return str(exc).rsplit(" reverted", 1)[-1].lstrip(": ") or "revert without data"


def _abi(system: DeployedSystem, name: str, where: str) -> ABI:
    contract = system.artifacts.get(name)
    if contract is None:
        known = ", ".join(sorted(system.artifacts)) or "(none)"
        raise ConfigError(
            f"{where}: {name} is not a deployed contract with an artifact in this system ({system.source}); "
            f"known: {known}. Next step: correct the contract name"
        )
    dispatcher = system.dispatcher_of(name)
    if dispatcher is not None:  # its own storage governs nothing: a drill there would prove nothing
        raise ConfigError(
            f"{where}: {name} is a facet routed by {dispatcher} ([[diamonds]]): its functions run in "
            f"{dispatcher}'s storage, where its guards and its pause live, so the drill must call it there. "
            f'Next step: name {dispatcher} instead (contract = "{dispatcher}", or "{dispatcher}.<function>")'
        )
    return system.abi_of(name)  # a dispatcher's routed facets included


def _args_text(args: Sequence[Any]) -> str:
    return "(" + ", ".join(str(a).lower() if isinstance(a, bool) else str(a) for a in args) + ")"


def _shown_call(abi: ABI, function: str, where: str) -> str:
    if "(" in function:
        return function
    return signature(find_function(abi, function, where))


# -- the pause drill ------------------------------------------------------------------------------


def run_pause_drill(op: Operator, drill: PauseDrill, *, index: int, governance: str | None = None) -> DrillReport:
    """Pause -> paused, blocked path reverts, unpause -> not paused, blocked path works again."""
    system = op.system
    where = f"[[postdeploy.emergency]] {drill.contract}"
    report = DrillReport("pause", drill.contract, drill_order(index))
    abi = _abi(system, drill.contract, where)
    address = system.address(drill.contract, where=where)
    actor = resolve_actor(system, drill.role, governance, f"{where} role")
    who = system.name_of(actor)
    acts = _Actions(op)
    label = system.name_of(address)
    shape = pause_shape(abi, drill, where)
    report.data["pause_shape"] = shape.detected
    report.data["paused_state"] = shape.state or "the blocked path"
    pause_text = shape.pause + (f" with {_args_text(shape.pause_args)}" if shape.pause_args else "")
    unpause_text = shape.unpause + (f" with {_args_text(shape.unpause_args)}" if shape.unpause_args else "")
    paused_text = shape.state or "(no paused view)"

    def is_paused() -> tuple[bool | None, str]:
        """The paused view's answer (or the flag's byte in storage); a view that reverts (a whole-contract
        pause) is said so."""
        if shape.paused_slot is not None:
            from eth_utils.address import to_checksum_address

            word = bytes(op.w3.eth.get_storage_at(to_checksum_address(address), shape.paused_slot)).rjust(32, b"\0")
            flag = word[31 - shape.paused_offset]
            return flag != 0, f"{str(flag != 0).lower()} (byte 0x{flag:02x})"
        if shape.paused is None:
            return None, "not read"
        from signoff.deploy.rehearsal import Reverted

        try:
            value = _bool(acts.view(address, encode_call(abi, shape.paused, [], where)))
        except Reverted as exc:
            return None, f"reverted: {acts.reason(exc)}"
        return value, str(value).lower()

    blocked: tuple[str, bytes, int] | None = None
    if drill.blocked is not None:
        args = system.resolve_args(drill.blocked_args, where=f"{where} blocked_args")
        blocked = (
            _shown_call(abi, drill.blocked, where),
            encode_call(abi, drill.blocked, args, where),
            drill.blocked_value,
        )
    outsider = acts.reader

    before, shown = is_paused()
    if shape.state is not None and not report.record(
        f"{paused_text} before the drill",
        "false",
        shown,
        ok=before is False,
        finding=f"{label} is already paused before the drill, so pause and unpause cannot be exercised. "
        "Next step: unpause it (or run the drill on a fork before the pause)",
    ):
        return report
    if blocked is not None:
        text, data, value = blocked
        reason = acts.attempt(outsider, address, data, value)
        if not report.record(
            f"{text} as outsider, before the pause (simulated)",
            "succeeds",
            "succeeds" if reason is None else f"reverted: {reason}",
            ok=reason is None,
            finding=f"{label}: normal path {text} reverts for an outsider even before the pause ({reason}), so "
            "the drill cannot show that the pause stops it. Next step: correct blocked, blocked_args or "
            f"blocked_value in {where}",
        ):
            return report

    pause_data = encode_call(abi, shape.pause, list(shape.pause_args), where)
    ok, observed = acts.send(actor, address, pause_data, what=f"{label}.{pause_text}")
    if not report.record(
        f"{pause_text} as {who}",
        "succeeds",
        observed,
        ok=ok,
        finding=f"{label}: {pause_text} as {who} reverted ({observed}): the emergency role cannot pause. "
        f"Next step: grant the pause right to {who}, or correct role in {where}",
    ):
        return report
    now, shown = is_paused()
    if shape.state is not None:
        report.record(
            f"{paused_text} after the pause",
            "true",
            shown,
            ok=now is True,
            finding=f"{label}: {paused_text} is {shown} right after {pause_text} succeeded (expected true). Next "
            + (
                f"step: correct paused_slot / paused_offset in {where} (the compiler's storage layout gives the "
                f"flag's slot and offset), or make {pause_text} set that flag"
                if shape.paused_slot is not None
                else f"step: make {pause_text} set the state {paused_text} reports, and keep {paused_text} readable "
                "while paused (monitoring reads it)"
            ),
        )
    if blocked is None:  # only the flag was read: say so, never a silent pass
        order = report.base_order + len(report.steps) + 1
        report.steps.append(
            DrillStep(order, "pause", drill.contract, "a normal path while paused", "reverts", "not checked", True)
        )
        report.findings.append(
            Finding(
                CHECK_ID,
                drill.contract,
                "warning",
                f"{label}: the pause drill read only {paused_text}; no normal path was shown to stop while paused. "
                f'Next step: name one with blocked = "aFunction()" (and blocked_args) in {where}',
            )
        )
    if blocked is not None:
        text, data, value = blocked
        reason = acts.attempt(outsider, address, data, value)
        report.record(
            f"{text} as outsider while paused (simulated)",
            "reverts",
            "succeeds" if reason is None else f"reverted: {reason}",
            ok=reason is not None,
            finding=still_works_message(label, text),
        )

    unpause_data = encode_call(abi, shape.unpause, list(shape.unpause_args), where)
    ok, observed = acts.send(actor, address, unpause_data, what=f"{label}.{unpause_text}")
    if not report.record(
        f"{unpause_text} as {who} while paused",
        "succeeds",
        observed if ok else f"reverted: {observed}",
        ok=ok,
        finding=irreversible_message(label, unpause_text, who, observed),
    ):
        return report
    after, shown = is_paused()
    report.record(
        f"{paused_text} after the unpause",
        "false",
        shown,
        ok=after is False or shape.state is None,
        finding=f"{label}: {paused_text} is still true after {unpause_text} succeeded. Next step: make "
        f"{unpause_text} clear the paused state",
    )
    if blocked is not None:
        text, data, value = blocked
        ok, observed = acts.send(outsider, address, data, value=value, what=f"{label}.{text} after unpause")
        report.record(
            f"{text} as outsider after the unpause" + (f" (value {value} wei)" if value else ""),
            "succeeds",
            observed if ok else f"reverted: {observed}",
            ok=ok,
            finding=f"{label}: normal path {text} still reverts after {unpause_text} ({observed}): the "
            "system does not recover from a pause. Next step: find what the pause left behind",
        )
    return report


# -- the rotation drill ------------------------------------------------------------------------------


def run_rotation_drill(
    op: Operator, rotation: RotationDrill, *, index: int, governance: str | None = None
) -> DrillReport:
    """Hand the role (or the ownership) from the governance to a fresh address; probe both."""
    system = op.system
    where = f"[[postdeploy.rotation]] {rotation.contract}"
    report = DrillReport("rotation", rotation.contract, drill_order(index))
    abi = _abi(system, rotation.contract, where)
    address = system.address(rotation.contract, where=where)
    if not system.governance:
        raise ConfigError(
            f"{where}: the rotation hands power from the governance to a new holder, but no governance is "
            "known. Next step: set [postdeploy] governance (or [networks.X] governance on a live network)"
        )
    old = system.governance[0]
    acts = _Actions(op)
    new = op.outsider(1)  # fresh: holds nothing, the drill's "new governance"
    old_who, new_who = system.name_of(old), f"new holder {new}"
    label = system.name_of(address)

    probe_abi = _abi(system, rotation.probe.contract, f"{where} probe")
    probe_to = system.address(rotation.probe.contract, where=f"{where} probe")
    probe_fn = rotation.probe.signature or rotation.probe.function
    probe_args = system.resolve_args(rotation.probe_args, where=f"{where} probe_args")
    probe_data = encode_call(probe_abi, probe_fn, probe_args, f"{where} probe (its arguments: probe_args)")
    probe_text = f"{rotation.probe.contract}.{_shown_call(probe_abi, probe_fn, where)}"

    def probe(step: str, sender: str, who: str, *, allowed: bool, finding: str) -> bool:
        reason = acts.attempt(sender, probe_to, probe_data)
        observed = "succeeds" if reason is None else f"reverted: {reason}"
        return report.record(
            f"{step}: {probe_text} as {who} (simulated)",
            "succeeds" if allowed else "reverts",
            observed,
            ok=(reason is None) == allowed,
            finding=finding.replace("<reason>", str(reason)),
        )

    if not probe(
        "before",
        old,
        old_who,
        allowed=True,
        finding=f"{label}: the probe {probe_text} reverts for the current holder {old_who} (<reason>), so the "
        f"rotation cannot be shown. Next step: name a probe only the holder may call in {where}",
    ):
        return report
    if not probe(
        "before",
        new,
        new_who,
        allowed=False,
        finding=f"{label}: the probe {probe_text} succeeds for a fresh address before the rotation, so it "
        f"proves nothing about who holds the power. Next step: name a restricted probe in {where}",
    ):
        return report

    if rotation.role is not None:
        handed = _rotate_role(acts, report, role=rotation.role, abi=abi, address=address, old=old, new=new, where=where)
    else:
        handed = _rotate_ownership(acts, report, abi=abi, address=address, old=old, new=new, where=where)
    if not handed:
        return report

    probe(
        "after",
        old,
        old_who,
        allowed=False,
        finding=f"{label}: the old holder {old_who} can still call {probe_text} after the rotation: revoking "
        f"did not take its power away. Next step: check who else grants it (other roles, a second owner path)",
    )
    probe(
        "after",
        new,
        new_who,
        allowed=True,
        finding=f"{label}: the new holder cannot call {probe_text} after the rotation (<reason>): the "
        "power does not move with the role or ownership. Next step: gate the function by the rotated "
        "role or the owner",
    )
    return report


def _rotate_role(
    acts: _Actions, report: DrillReport, *, role: str, abi: ABI, address: str, old: str, new: str, where: str
) -> bool:
    missing = [f for f in ("hasRole", "grantRole", "revokeRole") if not has_function(abi, f)]
    if missing:
        raise ConfigError(
            f"{where}: role = {role!r} asks for an AccessControl rotation, but the contract has no "
            f"{', '.join(missing)}. Next step: remove role for an Ownable contract, or correct the contract"
        )
    system = acts.op.system
    label = system.name_of(address)
    getter = encode_call(abi, role, [], where) if has_getter(abi, role) else None
    role_bytes, source = role_id(role, acts.view(address, getter)[:32] if getter is not None else None)
    shown = f"{role} (0x{role_bytes.hex()}, {source})"

    def holds(who: str) -> bool:
        return _bool(acts.view(address, encode_call(abi, "hasRole", [role_bytes, who], where)))

    held = holds(old)
    if not report.record(
        f"hasRole({role}, {system.name_of(old)})",
        "true",
        str(held).lower(),
        ok=held,
        finding=f"{label}: the governance {system.name_of(old)} does not hold {shown}, so it cannot be rotated. "
        f"Next step: correct role in {where}",
    ):
        return False
    for function, holder in (("grantRole", new), ("revokeRole", old)):
        ok, observed = acts.send(
            old, address, encode_call(abi, function, [role_bytes, holder], where), what=f"{label}.{function}"
        )
        shown_holder = "new holder" if holder == new else system.name_of(holder)
        if not report.record(
            f"{function}({role}, {shown_holder}) as {system.name_of(old)}",
            "succeeds",
            observed if ok else f"reverted: {observed}",
            ok=ok,
            finding=f"{label}: the governance cannot {function} {shown} ({observed}). Next step: give the "
            "governance the role's admin role",
        ):
            return False
    new_holds, old_holds = holds(new), holds(old)
    return report.record(
        f"hasRole({role}) after the rotation",
        "new holder true, old false",
        f"new holder {str(new_holds).lower()}, old {str(old_holds).lower()}",
        ok=new_holds and not old_holds,
        finding=f"{label}: after grantRole/revokeRole {shown} did not move to the new holder. Next step: "
        "check the contract's role bookkeeping",
    )


# A single-address holder: (getter, transfer, pending getter, accept), tried in this order.
_HOLDER_MODELS: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("owner", "transferOwnership", "pendingOwner", "acceptOwnership"),
    ("governor", "transferGovernor", "pendingGovernor", "acceptGovernor"),
    ("governor", "setGovernor", None, None),
    ("governance", "transferGovernance", "pendingGovernance", "acceptGovernance"),
    ("governance", "setGovernance", None, None),
)


def holder_model(abi: ABI) -> tuple[str, str, str | None, str | None] | None:
    """The contract's single-address holder model (Ownable, Ownable2Step, Governable ...), or None."""
    for getter, transfer, pending, accept in _HOLDER_MODELS:
        if has_function(abi, getter) and has_function(abi, transfer):
            two_step = bool(pending and accept and has_function(abi, pending) and has_function(abi, accept))
            return getter, transfer, pending if two_step else None, accept if two_step else None
    return None


def _rotate_ownership(
    acts: _Actions, report: DrillReport, *, abi: ABI, address: str, old: str, new: str, where: str
) -> bool:
    model = holder_model(abi)
    if model is None:
        known = ", ".join(f"{g}()/{t}(address)" for g, t, _, _ in _HOLDER_MODELS)
        raise ConfigError(
            f"{where}: without role the rotation hands a single-address holder over, but the contract has none of "
            f'{known}. Next step: give role = "<ROLE>" for an AccessControl contract'
        )
    getter, transfer, pending_getter, accept = model
    system = acts.op.system
    label = system.name_of(address)

    def holder() -> str:
        return _word_address(acts.view(address, encode_call(abi, getter, [], where)))

    current = holder()
    if not report.record(
        f"{getter}()",
        system.name_of(old),
        system.name_of(current),
        ok=current.lower() == old.lower(),
        finding=f"{label}'s {getter}() is {system.name_of(current)}, not the governance {system.name_of(old)}, "
        f"so the governance cannot rotate it. Next step: hand {getter}() to the governance",
    ):
        return False
    ok, observed = acts.send(old, address, encode_call(abi, transfer, [new], where), what=f"{label}.{transfer}")
    if not report.record(
        f"{transfer}(new holder) as {system.name_of(old)}",
        "succeeds",
        observed if ok else f"reverted: {observed}",
        ok=ok,
        finding=f"{label}: the holder cannot {transfer} ({observed}). Next step: check the {getter} functions",
    ):
        return False
    if pending_getter is not None and accept is not None:  # two-step: the new holder must accept
        pending = _word_address(acts.view(address, encode_call(abi, pending_getter, [], where)))
        report.record(
            f"{pending_getter}()",
            "new holder",
            "new holder" if pending.lower() == new.lower() else system.name_of(pending),
            ok=pending.lower() == new.lower(),
            finding=f"{label}: {pending_getter}() is {pending} after {transfer} to {new}",
        )
        ok, observed = acts.send(new, address, encode_call(abi, accept, [], where), what=f"{label}.{accept}")
        if not report.record(
            f"{accept}() as the new holder",
            "succeeds",
            observed if ok else f"reverted: {observed}",
            ok=ok,
            finding=f"{label}: the pending holder cannot {accept} ({observed}). Next step: check the two-step transfer",
        ):
            return False
    final = holder()
    return report.record(
        f"{getter}() after the rotation",
        "new holder",
        "new holder" if final.lower() == new.lower() else system.name_of(final),
        ok=final.lower() == new.lower(),
        finding=f"{label}: {getter}() is {system.name_of(final)} after the transfer to {new}. Next step: check the "
        f"{getter} bookkeeping",
    )
