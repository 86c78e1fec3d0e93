"""PD-PSE: the pause authority owns every module of the pause set and holds their pauser rights;
its drill pauses them all, the normal paths revert, and unpausing restores them. Pure judges."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from signoff.findings import Finding
from signoff.postdeploy.control.reading import ModuleFacts

CHECK_ID = "PD-PSE"
Label = Callable[[str], str]


def judge_pause_rights(
    facts: ModuleFacts,
    authority: str,
    authority_name: str,
    label: Label,
    *,
    require_ownership: bool = True,
    pause_role: tuple[str, bool] | None = None,
) -> tuple[dict[str, Any], tuple[Finding, ...]]:
    """One module of the pause set. The pause right is a getter (``pauser()``, ``brake()``), a role
    (``PAUSER_ROLE``), or, when the module has neither, its owner's. ``require_ownership`` is the
    handbook's rule that the authority also owns the module."""
    owned = facts.holder is not None and facts.holder.lower() == authority.lower()
    if facts.has_pauser:
        right = label(facts.pauser) if facts.pauser else "unset"
        can_pause = facts.pauser is not None and facts.pauser.lower() == authority.lower()
        how = f"{facts.pauser_getter} is {right}"
    elif pause_role is not None:
        role, held = pause_role
        right = f"{role}: {'held' if held else 'NOT held'} by {authority_name}"
        can_pause = held
        how = f"{authority_name} does not hold {role}"
    else:
        right = "(the owner pauses)"
        can_pause = owned
        how = f"it has no pauser of its own and {authority_name} does not own it"
    row: dict[str, Any] = {
        "module": facts.name,
        "holder": label(facts.holder) if facts.holder else facts.holder_getter,
        "pauser": right,
        "paused": "" if facts.paused is None else ("PAUSED" if facts.paused else "running"),
    }
    findings = []
    if require_ownership and not owned:
        findings.append(
            Finding(
                CHECK_ID,
                facts.name,
                "error",
                f"{facts.name}: {facts.holder_getter} is {label(facts.holder) if facts.holder else 'not readable'}, "
                f"not the pause authority {authority_name}: every module must be owned by it, or the handbook's "
                f"refreshPausers()/pauseAll() cannot reach this module in an incident. Next step: hand {facts.name} "
                f"to {authority_name} and run its refreshPausers() (or set [control.pause] require_ownership = false "
                "if your authority only holds pause rights)",
            )
        )
    if not can_pause:
        findings.append(
            Finding(
                CHECK_ID,
                facts.name,
                "error",
                f"{facts.name}: {how}, so the pause authority {authority_name} cannot pause it. Next step: give "
                f"{authority_name} the pause right (its refreshPausers(), setPauser or grantRole through governance)",
            )
        )
    if facts.paused:
        findings.append(
            Finding(
                CHECK_ID,
                facts.name,
                "error",
                f"{facts.name} is paused at the pinned block ({facts.paused_view} is true). Next step: find out why; "
                f"unpause through {authority_name} when the incident is over",
            )
        )
    row["verdict"] = "fail" if findings else "pass"
    return row, tuple(findings)
