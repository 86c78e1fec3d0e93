"""PD-PSE: the pause authority holds every module and its pauser rights, and its drill works.

One test per module of the pause set (every module the owner-control file declares, but the
authority itself): held by the authority, ``pauser()`` is the authority, not paused now. The drill
(rehearsal chain or ``--signoff-fork``) has the authority's governance call its pause-all function,
reads every module's ``paused()``, checks the normal paths of ``[control.pause] blocked`` revert,
then unpauses all and checks they work again. Every change is reverted afterwards.
"""

import pytest

from signoff.artifacts.abi import encode_call
from signoff.errors import ChainError, ConfigError
from signoff.findings import Finding
from signoff.postdeploy.control import pause as pse
from signoff.postdeploy.control.fixtures import control_of
from signoff.postdeploy.control.owners import declared_names
from signoff.postdeploy.control.reading import functions, inputs_of
from signoff.postdeploy.ownership import call_data
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable

CHECK_ID = pse.CHECK_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.control, pytest.mark.pause_authority]
NO_AUTHORITY = (
    "{path}: [control] names no pause_authority, so who can halt the modules in an incident is not checked. "
    'To check it, add [control] pause_authority = "SystemPause" (the contract that owns and pauses the modules)'
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pause_module" in metafunc.fixturenames:
        control = settings_of(metafunc.config).control
        names: list[str | None] = [None]
        if control is not None and control.pause_authority:
            declared = declared_names(control.owner_control, control.module_name)
            names = [n for n in declared if n != control.pause_authority] or [None]
        metafunc.parametrize("pause_module", names, ids=[n or "not-configured" for n in names])


def _authority(signoff_settings: SessionSettings) -> str:
    control = control_of(signoff_settings)
    if not control.pause_authority:
        not_applicable(NO_AUTHORITY.format(path=control.source))
    return control.pause_authority


def test_pd_pse(
    pause_module: str | None, signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence
) -> None:
    authority_name = _authority(signoff_settings)
    if pause_module is None:
        not_applicable(
            f"{signoff_settings.control.source}: the owner-control file declares no module besides {authority_name}. "
            'To check them, declare each module in it ({"modules": {"key": {"type": ...}}})'
        )
    plane = request.getfixturevalue("control_plane")
    system = request.getfixturevalue("deployed_system")
    authority = system.address(authority_name, where=f"{plane.settings.source}: [control] pause_authority")
    facts = plane.modules.get(pause_module)
    if facts is None:
        evidence.check(
            [Finding(CHECK_ID, pause_module, "error", f"{pause_module} is declared but not deployed here (see PD-CTL)")]
        )
        return
    row, findings = pse.judge_pause_rights(
        facts,
        authority,
        authority_name,
        plane.label,
        require_ownership=plane.settings.require_ownership,
        pause_role=plane.pause_roles.get(pause_module),
    )
    evidence.row(CHECK_ID, row)
    evidence.check(findings)


PAUSE_ALL = ("pauseAll", "pauseAllModules", "haltAll", "emergencyPause", "freezeAll", "pause")
UNPAUSE_ALL = ("unpauseAll", "unpauseAllModules", "resumeAll", "emergencyUnpause", "unfreezeAll", "unpause")


def _named(abi, configured, candidates):
    for name in [configured] if configured else candidates:
        for entry in functions(abi, name):
            if not inputs_of(entry):
                return f"{name}()"
    return None


@pytest.mark.drill
def test_pd_pse_drill(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    authority_name = _authority(signoff_settings)
    plane = request.getfixturevalue("control_plane")
    system = request.getfixturevalue("deployed_system")
    control = plane.settings
    abi = system.abi_of(authority_name)
    pause_all = _named(abi, control.pause_all, PAUSE_ALL)
    unpause_all = _named(abi, control.unpause_all, UNPAUSE_ALL)
    if pause_all is None or unpause_all is None:
        not_applicable(
            f"{authority_name} has no argument-free pause-all/unpause-all function signoff recognises. To drill it, "
            'name them with [control.pause] pause_all = "..." and unpause_all = "..."'
        )
    operator = request.getfixturevalue("drill")
    authority = system.address(authority_name)
    governance = system.address(control.caller) if control.caller else plane.holder_of(authority)
    if governance is None:
        evidence.check(
            [
                Finding(
                    CHECK_ID,
                    authority_name,
                    "error",
                    f"who may call {authority_name}.{pause_all} is not known: it has no readable owner or governance "
                    '(see PD-CTL). Next step: name the caller with [control.pause] caller = "@Name"',
                )
            ]
        )
        return
    pausable = {name: f for name, f in plane.modules.items() if f.paused_view and name != authority_name}
    findings: list[Finding] = []

    def step(name: str, expected: str, observed: str, ok: bool) -> None:
        evidence.row(
            "PD-PSE-drill",
            {"step": name, "expected": expected, "observed": observed, "verdict": "pass" if ok else "fail"},
        )
        if not ok:
            findings.append(
                Finding(CHECK_ID, name, "error", f"pause drill, {name}: expected {expected}, observed {observed}")
            )

    def paused(name: str) -> bool:
        facts = pausable[name]
        return bool(operator.simulate(governance, facts.address, call_data(facts.paused_view))[-1])

    def blocked_reverts(after: str) -> None:
        for call in control.blocked:
            target = system.address(call.function.contract)
            function = call.function.signature or call.function.function
            where = f"{control.source}: [control.pause] blocked {call.function}"
            data = encode_call(system.abi_of(call.function.contract), function, call.args, where)
            sender = operator.outsider()
            try:
                operator.simulate(sender, target, data, value=call.value)
                reverted = None
            except ChainError as exc:
                reverted = str(exc)
            name = f"{call.function} {after}"
            if after == "while paused":
                step(name, "reverts", "reverts" if reverted else "SUCCEEDS", reverted is not None)
            else:
                step(name, "succeeds", "succeeds" if reverted is None else f"reverts: {reverted}", reverted is None)

    try:
        for call in control.blocked:  # a mistyped normal path is the target's error, before anything is sent
            encode_call(
                system.abi_of(call.function.contract), call.function.signature or call.function.function, call.args, ""
            )
    except (ConfigError, LookupError) as exc:
        evidence.check([Finding(CHECK_ID, "blocked", "error", f"{control.source}: [control.pause] blocked: {exc}")])
        return
    try:
        operator.send(governance, authority, call_data(pause_all), what=f"{authority_name}.{pause_all}")
        step(f"{authority_name}.{pause_all} by {plane.label(governance)}", "succeeds", "succeeds", True)
    except ChainError as exc:
        step(f"{authority_name}.{pause_all} by {plane.label(governance)}", "succeeds", str(exc), False)
        evidence.check(findings)
        return
    for name, facts in sorted(pausable.items()):
        now = paused(name)
        step(f"{name}.{facts.paused_view} after {pause_all}", "true", str(now).lower(), now)
    if not control.blocked:
        evidence.attach("normal_paths", "none configured: only paused() is read. Add [control.pause] blocked = [...]")
    blocked_reverts("while paused")
    try:
        operator.send(governance, authority, call_data(unpause_all), what=f"{authority_name}.{unpause_all}")
        step(f"{authority_name}.{unpause_all}", "succeeds", "succeeds", True)
    except ChainError as exc:
        step(f"{authority_name}.{unpause_all}", "succeeds", str(exc), False)
        evidence.check(findings)
        return
    for name, facts in sorted(pausable.items()):
        now = paused(name)
        step(f"{name}.{facts.paused_view} after {unpause_all}", "false", str(now).lower(), not now)
    blocked_reverts("after unpausing")
    evidence.check(findings)
