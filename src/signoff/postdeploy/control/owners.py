"""PD-CTL: ownership by the type the team declares in its owner-control file.

The file (``{"governance": 0x…, "owner": 0x…, "modules": {key: {"type": ..., "owner"|"governance"?,
"pendingOwner"?}}}``) says what each module is (ownable, ownable2step, governable,
access-control) and who must hold it: the module's own ``owner``/``governance``, else the file's
(``governance`` for governable modules, ``owner`` for the others). :func:`judge_module` compares
that with what the chain says (:class:`~signoff.postdeploy.control.reading.ModuleFacts`) and the
type the ABI shows; statuses: ok, mismatch, missing-address, missing-expected, type-drift,
undeclared, pending-stranger, eoa. Who finally controls a module is followed through contracts of
the system (a module held by the pause authority is controlled by the authority's governance)
down to a Safe, a timelock, another contract or an EOA (:class:`ControlPath`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signoff.errors import ConfigError
from signoff.findings import Finding
from signoff.postdeploy.control.reading import MODULE_TYPES, ModuleFacts
from signoff.postdeploy.control.values import _address, as_mapping

if TYPE_CHECKING:
    from signoff.deploy.governance import GovernanceFacts

CHECK_ID = "PD-CTL"
Label = Callable[[str], str]
_MODULE_KEYS = ("type", "owner", "governance", "pendingOwner", "address")


@dataclass(frozen=True)
class Declared:
    key: str
    type: str
    owner: str | None = None
    governance: str | None = None
    pending: str | None = None  # the expected next owner of a two-step transfer under way
    address: str | None = None


@dataclass(frozen=True)
class OwnerControl:
    source: Path
    governance: str | None
    owner: str | None
    modules: Mapping[str, Declared]

    def expected(self, declared: Declared) -> str | None:
        if declared.type == "governable":
            return declared.governance or declared.owner or self.governance or self.owner
        return declared.owner or declared.governance or self.owner or self.governance


def parse_owner_control(data: Any, source: Path) -> OwnerControl:
    """The owner-control file, validated: a ConfigError names the key and the valid choices."""
    top = as_mapping(data, source, "owner-control file")
    modules_raw = top.get("modules", {})
    if not isinstance(modules_raw, dict):
        raise ConfigError(f'{source}: "modules" must be an object of module key -> {{"type": ...}}. Next step: fix it')
    modules = {}
    for key, entry in modules_raw.items():
        if not isinstance(entry, dict):
            raise ConfigError(f'{source}: modules.{key} must be an object with "type". Next step: fix it')
        kind = entry.get("type")
        if kind not in MODULE_TYPES:
            raise ConfigError(
                f"{source}: modules.{key}.type = {kind!r} is not one of {', '.join(MODULE_TYPES)}. "
                "Next step: declare the module's real type"
            )
        unknown = sorted(set(entry) - set(_MODULE_KEYS))
        if unknown:
            raise ConfigError(
                f"{source}: modules.{key} has key(s) {', '.join(unknown)} signoff does not know (valid: "
                f"{', '.join(_MODULE_KEYS)}). Next step: remove them or tell us what they mean"
            )
        modules[str(key)] = Declared(
            key=str(key),
            type=str(kind),
            owner=_optional_address(entry.get("owner"), source, f"modules.{key}.owner"),
            governance=_optional_address(entry.get("governance"), source, f"modules.{key}.governance"),
            pending=_optional_address(entry.get("pendingOwner"), source, f"modules.{key}.pendingOwner"),
            address=_optional_address(entry.get("address"), source, f"modules.{key}.address"),
        )
    return OwnerControl(
        source=source,
        governance=_optional_address(top.get("governance"), source, "governance"),
        owner=_optional_address(top.get("owner"), source, "owner"),
        modules=modules,
    )


def _optional_address(value: Any, source: Path, key: str) -> str | None:
    if value in (None, ""):
        return None
    return _address(value, f"{source}: {key} = {json.dumps(value)}")


@dataclass(frozen=True)
class ControlPath:
    """Who finally controls a module: the contracts of the system in between, then the end."""

    hops: tuple[str, ...]  # addresses from the module's holder down to the end
    end: GovernanceFacts | None

    def describe(self, label: Label) -> str:
        if self.end is None:
            return " -> ".join(label(h) for h in self.hops) or "nobody"
        parts = [label(h) for h in self.hops[:-1]]
        return " -> ".join([*parts, describe_end(self.end, label)])


def describe_end(end: GovernanceFacts, label: Label) -> str:
    if end.kind == "safe":
        return f"{label(end.address)} (Safe {end.threshold} of {len(end.owners)})"
    if end.kind == "timelock":
        return f"{label(end.address)} (timelock, min delay {end.min_delay} s)"
    if end.kind == "eoa":
        return f"{label(end.address)} (EOA: a single key)"
    return f"{label(end.address)} (a contract that is neither a Safe nor a timelock)"


def judge_module(
    key: str | None,
    name: str,
    declared: Declared | None,
    facts: ModuleFacts | None,
    control: OwnerControl,
    *,
    path: ControlPath | None,
    label: Label,
    admin_held: bool | None = None,
    extra_admins: tuple[str, ...] = (),
    policy_problems: tuple[str, ...] = (),
) -> tuple[dict[str, Any], tuple[Finding, ...]]:
    """The PD-CTL row of one module and its findings. ``policy_problems``: what the Safe or timelock
    that finally controls it lacks against ``[postdeploy] min_safe_threshold`` and friends."""
    where = control.source
    expected = control.expected(declared) if declared is not None else None
    row: dict[str, Any] = {
        "module": f"{key} ({name})" if key else name,
        "address": label(facts.address) if facts else "",
        "declared": declared.type if declared else "(not declared)",
        "detected": (facts.kind or "none") if facts else "",
        "holder": f"{facts.holder_getter} {label(facts.holder)}" if facts and facts.holder else "",
        "expected": label(expected) if expected else "",
        "pending": label(facts.pending) if facts and facts.pending else "none",
        "controlled_by": path.describe(label) if path else "",
    }
    findings: list[Finding] = []

    def fail(status: str, message: str) -> None:
        findings.append(Finding(CHECK_ID, name, "error", message))
        row.setdefault("status", status)

    if facts is None:
        fail(
            "missing-address",
            f"{where}: module {key} ({name}) is declared but has no deployed address. Next step: deploy it, add it "
            "to the network's deployments file, or map the key to its deployed name in [control.modules]",
        )
    elif declared is None:
        fail(
            "undeclared",
            f"{name} ({label(facts.address)}) is deployed and has an owner, but {where} does not declare it: "
            f'its control is not reviewed. Next step: add modules.<key> = {{"type": "{facts.kind}"}} to '
            f"{where.name} (and map the key in [control.modules] if it is not {name[:1].lower() + name[1:]})",
        )
    else:
        for problem in facts.problems:
            fail("unreadable", f"{name}: {problem}")
        if facts.kind != declared.type:
            fail(
                "type-drift",
                f"{where}: modules.{key}.type is {declared.type}, but {name}'s ABI is {facts.kind or 'ownerless'}"
                f"{_type_hint(facts.kind)}. Next step: declare the type the code has (the rotation procedure "
                "depends on it)",
            )
        if expected is None:
            fail(
                "missing-expected",
                f"{where}: nobody is declared to hold {key} ({name}): neither modules.{key}."
                f"{'governance' if declared.type == 'governable' else 'owner'} nor the file's top-level one. "
                "Next step: declare the expected holder",
            )
        elif facts.kind == "access-control":
            if admin_held is False:
                fail(
                    "mismatch",
                    f"{name}: {label(expected)} does not hold DEFAULT_ADMIN_ROLE, as {where.name} declares. "
                    "Next step: grant it, then renounce the deployer's",
                )
            if extra_admins:
                fail(
                    "mismatch",
                    f"{name}: DEFAULT_ADMIN_ROLE is also held by {', '.join(label(a) for a in extra_admins)}, which "
                    f"{where.name} does not declare: each holder can grant itself every role. Next step: revoke it "
                    "(revokeRole, or renounceRole from that account)",
                )
        elif facts.holder is not None and facts.holder.lower() != expected.lower():
            fail(
                "mismatch",
                f"{name}: {facts.holder_getter} is {label(facts.holder)}, but {where.name} declares "
                f"{label(expected)}. Next step: hand {name} to {label(expected)}, or correct the file if the "
                "chain is right",
            )
        if facts.pending is not None:
            allowed = {a.lower() for a in (declared.pending, expected) if a}
            if facts.pending.lower() not in allowed:
                fail(
                    "pending-stranger",
                    f"{name}: a two-step ownership transfer to {label(facts.pending)} is under way, and "
                    f"{where.name} expects neither it nor a pending owner: once it calls acceptOwnership(), "
                    f"{label(facts.pending)} owns {name}. Next step: cancel it "
                    f"(transferOwnership({label(expected or facts.holder or '')}) from the owner), or declare "
                    f"modules.{key}.pendingOwner if it is intended",
                )
    if path is not None and path.end is not None and path.end.kind in ("eoa", "contract") and facts is not None:
        end = describe_end(path.end, label)
        fail(
            "eoa" if path.end.kind == "eoa" else "unverifiable",
            f"{name} is finally controlled by {end}: governance and owner targets must be a multisig or a "
            "timelock. Next step: hand control to a Safe or a timelock"
            + (f" ({where.name} declares {label(expected)})" if expected else ""),
        )
    for problem in policy_problems if facts is not None else ():
        fail(
            "weak-governance",
            f"{name} is finally controlled by {problem}. Next step: raise it to the policy of [postdeploy] "
            "(min_safe_threshold, min_safe_owners, min_timelock_delay_seconds)",
        )
    row.setdefault("status", "ok")
    row["verdict"] = "pass" if row["status"] == "ok" else "fail"
    return row, tuple(findings)


def _type_hint(kind: str | None) -> str:
    return {
        "governable": " (governance() with a one-step setGovernance)",
        "ownable2step": " (owner() with pendingOwner/acceptOwnership)",
        "ownable": " (owner() with a one-step transferOwnership)",
        "access-control": " (AccessControl roles)",
    }.get(kind or "", "")


def declared_names(owner_control: Path | None, module_name: Callable[[str], str]) -> dict[str, str]:
    """Deployed name -> module key of every module the owner-control file declares; empty when there is
    no file or it cannot be read (PD-CTL reports why)."""
    if owner_control is None:
        return {}
    from signoff.postdeploy.control.values import read_json

    try:
        control = parse_owner_control(read_json(owner_control, "owner-control file"), owner_control)
    except ConfigError:
        return {}
    return {module_name(key): key for key in control.modules}
