"""PD-RULE and PD-EVT: the handbook's rules over the read control plane.

PD-RULE: a treasury (a mapped address key named ``*treasury*``) never equals an owner or a
governance: the owner-control file's targets, any module's holder, or who finally controls it.
PD-EVT: control events since the deployment block. Ownership and governance changes of every
module are listed; one that hands control to an address neither declared nor the deployer's fails.
Roster events (``event`` of an address-set key) that add a member the config does not list fail,
even when it was removed again later. Pure judges (the events are read by signoff.postdeploy.event_logs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from signoff.findings import Finding
from signoff.postdeploy.event_logs import Seen

if TYPE_CHECKING:
    from signoff.postdeploy.control.plane import ControlPlane

RULE_ID = "PD-RULE"
EVENTS_ID = "PD-EVT"
Label = Callable[[str], str]
_PROPOSALS = ("Started", "Pending", "Proposed", "Nominated")  # a transfer under way, not a hand-over
_SUBJECTS = ("ownership", "owner", "governance", "governor", "admin")
_CHANGES = ("transfer", "updated", "changed", "set", "new", "granted", "started", "accepted", "proposed", "nominated")


def controllers(plane: ControlPlane) -> dict[str, str]:
    """Every address that holds control (lower case -> who it is): what a treasury must never be. The
    owner-control file's targets, each module's holder, and whoever finally controls it (with a Safe's
    owners)."""
    found: dict[str, str] = {}
    control = plane.owner_control
    if control is not None:
        for what, address in (("the declared governance", control.governance), ("the declared owner", control.owner)):
            if address:
                found.setdefault(address.lower(), f"{what} ({control.source.name})")
    for name, facts in plane.modules.items():
        if facts.holder:
            found.setdefault(facts.holder.lower(), f"the holder of {name} ({facts.holder_getter})")
        path = plane.paths.get(name)
        if path is not None and path.end is not None:
            found.setdefault(path.end.address.lower(), f"who finally controls {name}")
            for owner in path.end.owners:
                found.setdefault(owner.lower(), f"an owner of the Safe that controls {name}")
    return found


def expected_recipients(
    plane: ControlPlane, governance: Sequence[str], authority: str | None, deployers: Sequence[str]
) -> dict[str, str]:
    """Who may receive control in an event (lower case -> why): the owner-control file's holders, the
    configured governance, the pause authority, and the deployer(s) who hold contracts until handing over."""
    allowed: dict[str, str] = {}
    control = plane.owner_control
    if control is not None:
        for what, address in (("declared governance", control.governance), ("declared owner", control.owner)):
            if address:
                allowed[address.lower()] = what
        for key, declared in control.modules.items():
            for address in (declared.owner, declared.governance, declared.pending):
                if address:
                    allowed[address.lower()] = f"declared for {key}"
    for address in governance:
        allowed.setdefault(address.lower(), "the configured governance")
    if authority:
        allowed[authority.lower()] = "the pause authority"
    for address in deployers:
        allowed.setdefault(address.lower(), "the deployer")
    return allowed


def judge_treasury(
    key: str, treasury: str | None, forbidden: Mapping[str, str], label: Label
) -> tuple[dict[str, Any], tuple[Finding, ...]]:
    """``forbidden``: address (lower case) -> who holds control there."""
    row: dict[str, Any] = {"key": key, "treasury": label(treasury) if treasury else "unreadable"}
    if treasury is None:
        row.update(clash="", verdict="fail")
        return row, (Finding(RULE_ID, key, "error", f"{key}: the treasury could not be read (see PD-CFG)"),)
    clash = forbidden.get(treasury.lower())
    if clash is None:
        row.update(clash="none", verdict="pass")
        return row, ()
    row.update(clash=clash, verdict="fail")
    message = (
        f"{key}: the treasury {label(treasury)} is also {clash}: treasury must never equal an owner or a "
        "governance (fees would flow to the party that controls the system). Next step: point the treasury at "
        "a separate account in the config and apply it"
    )
    return row, (Finding(RULE_ID, key, "error", message),)


def is_control_event(name: str) -> bool:
    """An event that moves control: its name has a subject (owner, governance, admin) and a change
    (transferred, updated, set, granted, ...): ``OwnershipTransferred``, ``GovernanceUpdated``,
    ``AdminChanged``, ``RoleGranted``; not ``GovernanceCallExecuted``."""
    lowered = name.lower()
    return lowered == "rolegranted" or (
        any(subject in lowered for subject in _SUBJECTS) and any(change in lowered for change in _CHANGES)
    )


def judge_control_events(
    seen: Sequence[Seen], allowed: Mapping[str, str], label: Label, *, hint: str = ""
) -> tuple[list[dict[str, Any]], tuple[Finding, ...]]:
    """``allowed``: address (lower case) -> why it may receive control; ``hint`` is added to a
    finding (the key that names the deployer when none is configured)."""
    rows, findings = [], []
    for event in seen:
        holder = event.new_holder()
        proposal = any(word in event.event for word in _PROPOSALS)
        ok = proposal or holder is None or holder.lower() in allowed or int(holder, 16) == 0
        rows.append(
            {
                "block": event.block,
                "contract": event.contract,
                "event": event.event,
                "to": label(holder) if holder else "",
                "why": "a proposal only (PD-CTL judges a pending transfer)"
                if proposal
                else (allowed.get(holder.lower(), "") if holder else ""),
                "verdict": "info" if proposal else ("pass" if ok else "fail"),
            }
        )
        if not ok:
            findings.append(
                Finding(
                    EVENTS_ID,
                    event.contract,
                    "error",
                    f"{event.contract}: {event.event} at block {event.block} handed control to {label(holder or '')}, "
                    f"which is neither a declared owner/governance nor the deployer{hint}. Next step: find out who "
                    "made that change; rotate control back through governance",
                )
            )
    return rows, tuple(findings)


def judge_roster_events(
    key: str, seen: Sequence[Seen], expected: frozenset[str], label: Label
) -> tuple[list[dict[str, Any]], tuple[Finding, ...]]:
    rows, findings = [], []
    members = {a.lower() for a in expected}
    for event in seen:
        addresses = [v for v in event.values.values() if isinstance(v, str) and len(v) == 42]
        flags = [v for v in event.values.values() if isinstance(v, bool)]
        if not addresses:
            continue
        who, added = addresses[0], (flags[0] if flags else True)
        ok = not added or who.lower() in members
        rows.append(
            {
                "block": event.block,
                "contract": event.contract,
                "event": event.event,
                "to": f"{'+' if added else '-'} {label(who)}",
                "why": key if ok else "not in the config",
                "verdict": "pass" if ok else "fail",
            }
        )
        if not ok:
            findings.append(
                Finding(
                    EVENTS_ID,
                    key,
                    "error",
                    f"{key}: {event.contract}.{event.event} at block {event.block} added {label(who)}, which the "
                    "reviewed config does not list: an unexpected on-chain addition. Next step: remove it through "
                    "governance and find out who added it",
                )
            )
    return rows, tuple(findings)
