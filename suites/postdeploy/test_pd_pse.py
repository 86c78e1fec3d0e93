"""PD-PSE: the pause authority holds every module and its pauser rights, and its drill works.

One test per module of the pause set (every module the owner-control file declares, but the
authority itself): held by the authority, ``pauser()`` is the authority, not paused now. The drill
(rehearsal chain or ``--signoff-fork``) has the authority's governance call its pause-all function,
reads every module's ``paused()``, checks the normal paths of ``[control.pause] blocked`` revert,
then unpauses all and checks they work again. Every change is reverted afterwards.
"""

import pytest

from signoff.errors import ConfigError
from signoff.findings import Finding
from signoff.postdeploy.control import pause as pse
from signoff.postdeploy.control.fixtures import control_of
from signoff.postdeploy.control.owners import declared_names
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


@pytest.mark.drill
def test_pd_pse_drill(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    authority_name = _authority(signoff_settings)
    plane = request.getfixturevalue("control_plane")
    system = request.getfixturevalue("deployed_system")
    control = plane.settings
    abi = system.abi_of(authority_name)
    pause_all = pse.argument_free(abi, control.pause_all, pse.PAUSE_ALL)
    unpause_all = pse.argument_free(abi, control.unpause_all, pse.UNPAUSE_ALL)
    if pause_all is None or unpause_all is None:
        not_applicable(
            f"{authority_name} has no argument-free pause-all/unpause-all function signoff recognises. To drill it, "
            'name them with [control.pause] pause_all = "..." and unpause_all = "..."'
        )
    caller = system.address(control.caller) if control.caller else plane.holder_of(system.address(authority_name))
    if caller is None:
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
    if not control.blocked:
        evidence.attach("normal_paths", "none configured: only the paused views are read. Add [control.pause] blocked")
    try:
        drill = pse.run_pause_drill(
            request.getfixturevalue("drill"),
            system,
            plane,
            authority_name=authority_name,
            caller=caller,
            pause_all=pause_all,
            unpause_all=unpause_all,
        )
    except (ConfigError, LookupError) as exc:  # a mistyped normal path: said before anything is sent
        evidence.check([Finding(CHECK_ID, "blocked", "error", f"{control.source}: [control.pause] blocked: {exc}")])
        return
    for row in drill.rows:
        evidence.row("PD-PSE-drill", row)
    evidence.check(drill.findings)
