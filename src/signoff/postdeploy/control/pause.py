"""PD-PSE: the pause authority owns every module of the pause set and holds their pauser rights;
its drill pauses them all, the normal paths revert, and unpausing restores them. Pure judges."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from signoff.artifacts.abi import encode_call
from signoff.errors import ChainError
from signoff.findings import Finding
from signoff.postdeploy.control.reading import ModuleFacts
from signoff.postdeploy.ownership import call_data, functions, inputs_of

if TYPE_CHECKING:
    from signoff.deploy.rehearsal import Operator
    from signoff.deploy.system import DeployedSystem
    from signoff.postdeploy.control.plane import ControlPlane

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


PAUSE_ALL = ("pauseAll", "pauseAllModules", "haltAll", "emergencyPause", "freezeAll", "pause")
UNPAUSE_ALL = ("unpauseAll", "unpauseAllModules", "resumeAll", "emergencyUnpause", "unfreezeAll", "unpause")


def argument_free(abi: Sequence[Mapping[str, Any]], configured: str | None, candidates: Sequence[str]) -> str | None:
    """``name()`` of the configured function, else of the first candidate the ABI has without arguments."""
    for name in [configured] if configured else candidates:
        if any(not inputs_of(entry) for entry in functions(abi, name)):
            return f"{name}()"
    return None


@dataclass
class Drill:
    """The pause-all drill's rows (PD-PSE-drill) and findings."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def step(self, name: str, expected: str, observed: str, ok: bool) -> None:
        self.rows.append(
            {"step": name, "expected": expected, "observed": observed, "verdict": "pass" if ok else "fail"}
        )
        if not ok:
            self.findings.append(
                Finding(CHECK_ID, name, "error", f"pause drill, {name}: expected {expected}, observed {observed}")
            )


def run_pause_drill(
    operator: Operator,
    system: DeployedSystem,
    plane: ControlPlane,
    *,
    authority_name: str,
    caller: str,
    pause_all: str,
    unpause_all: str,
) -> Drill:
    """``caller`` pauses all through the authority; every module's paused view must read true and each
    ``[control.pause] blocked`` path must revert for an outsider; after unpausing all, the views read
    false and the paths work. Sent on the drill chain (the suite reverts it afterwards)."""
    drill = Drill()
    control = plane.settings
    authority = system.address(authority_name)
    pausable = {name: f for name, f in plane.modules.items() if f.paused_view and name != authority_name}
    calls = [
        (
            call,
            system.address(call.function.contract),
            encode_call(
                system.abi_of(call.function.contract),
                call.function.signature or call.function.function,
                call.args,
                f"{control.source}: [control.pause] blocked {call.function}",
            ),
        )
        for call in control.blocked
    ]

    def views(after: str, expected: bool) -> None:
        for name, facts in sorted(pausable.items()):
            now = bool(operator.simulate(caller, facts.address, call_data(facts.paused_view))[-1])
            drill.step(
                f"{name}.{facts.paused_view} after {after}", str(expected).lower(), str(now).lower(), now == expected
            )

    def paths(paused: bool) -> None:
        for call, target, data in calls:
            try:
                operator.simulate(operator.outsider(), target, data, value=call.value)
                reverted = None
            except ChainError as exc:
                reverted = str(exc)
            if paused:
                drill.step(
                    f"{call.function} while paused", "reverts", "reverts" if reverted else "SUCCEEDS", bool(reverted)
                )
            else:
                observed = "succeeds" if reverted is None else f"reverts: {reverted}"
                drill.step(f"{call.function} after unpausing", "succeeds", observed, reverted is None)

    for function, paused in ((pause_all, True), (unpause_all, False)):
        name = f"{authority_name}.{function} by {plane.label(caller)}"
        try:
            operator.send(caller, authority, call_data(function), what=f"{authority_name}.{function}")
        except ChainError as exc:
            drill.step(name, "succeeds", str(exc), False)
            return drill
        drill.step(name, "succeeds", "succeeds", True)
        views(function, paused)
        paths(paused)
    return drill
