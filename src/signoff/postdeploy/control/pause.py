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
    facts: ModuleFacts, authority: str, authority_name: str, label: Label
) -> tuple[dict[str, Any], tuple[Finding, ...]]:
    row: dict[str, Any] = {
        "module": facts.name,
        "holder": label(facts.holder) if facts.holder else facts.holder_getter,
        "pauser": label(facts.pauser) if facts.pauser else ("(no pauser())" if not facts.has_pauser else "none"),
        "paused": "" if facts.paused is None else ("PAUSED" if facts.paused else "running"),
    }
    findings = []
    if facts.holder is None or facts.holder.lower() != authority.lower():
        findings.append(
            Finding(
                CHECK_ID,
                facts.name,
                "error",
                f"{facts.name}: {facts.holder_getter} is {label(facts.holder) if facts.holder else 'not readable'}, "
                f"not the pause authority {authority_name}: every module must be owned by it, or the handbook's "
                f"refreshPausers()/pauseAll() cannot reach this module in an incident. Next step: hand {facts.name} "
                f"to {authority_name} and run its refreshPausers()",
            )
        )
    if facts.has_pauser and (facts.pauser is None or facts.pauser.lower() != authority.lower()):
        findings.append(
            Finding(
                CHECK_ID,
                facts.name,
                "error",
                f"{facts.name}: pauser() is {label(facts.pauser) if facts.pauser else 'unset'}, not the pause "
                f"authority {authority_name}, which therefore cannot pause it. Next step: run "
                f"{authority_name}.refreshPausers() through governance",
            )
        )
    if facts.paused:
        findings.append(
            Finding(
                CHECK_ID,
                facts.name,
                "error",
                f"{facts.name} is paused at the pinned block. Next step: find out why; unpause through "
                f"{authority_name} when the incident is over",
            )
        )
    row["verdict"] = "fail" if findings else "pass"
    return row, tuple(findings)
