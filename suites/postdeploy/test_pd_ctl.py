"""PD-CTL: every module is held as the team's owner-control file declares, by the declared type.

One test per module: those the file declares and every deployed contract with an owner, a
governance or roles (an undeclared one fails: its control is not reviewed). Statuses ok, mismatch,
missing-address, missing-expected, type-drift, undeclared, pending-stranger, eoa; who finally
controls the module (through the pause authority down to a Safe or timelock) is in the evidence.

``test_pd_ctl_surface`` writes the owner control surface, ``<reports>/<network>-owner-surface.md``: the
document the handbook tells operations to share with finance, legal and operations (every module with
its holder and who finally controls it, pausers, the mapped parameters with units and verdicts, the
change plan). It is attached to the evidence too, and fails only when it cannot be written.
"""

from datetime import UTC, datetime

import pytest

from signoff.findings import Finding
from signoff.postdeploy.control.fixtures import control_of, planned_modules
from signoff.postdeploy.control.owners import judge_module
from signoff.postdeploy.control.surface import render as render_surface
from signoff.redaction import redact
from signoff.session import SessionSettings
from signoff.stash import reports_directory, settings_of
from signoff.suite import not_applicable

CHECK_ID = "PD-CTL"
pytestmark = [pytest.mark.postdeploy, pytest.mark.control]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "module" in metafunc.fixturenames:
        names: list[str | None] = list(planned_modules(settings_of(metafunc.config))) or [None]
        metafunc.parametrize("module", names, ids=[n or "not-configured" for n in names])


def test_pd_ctl(
    module: str | None, signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence
) -> None:
    control = control_of(signoff_settings)
    if module is None or control.owner_control is None:
        not_applicable(
            f"{control.source}: [control] has no owner-control file, so the declared types and holders of the "
            'modules are unknown. To check them, add [control] owner_control = "config/owner-control.json"'
        )
    plane = request.getfixturevalue("control_plane")
    owner_control = plane.owner_control
    key = plane.keys.get(module)
    declared = owner_control.modules.get(key) if key else None
    facts = plane.modules.get(module)
    path = plane.paths.get(module)
    problems: tuple[str, ...] = ()
    policy = signoff_settings.postdeploy
    if path is not None and path.end is not None and path.end.kind in ("safe", "timelock") and policy is not None:
        from signoff.deploy.governance import check_governance

        problems = tuple(
            check_governance(
                path.end,
                min_threshold=policy.min_safe_threshold,
                min_owners=policy.min_safe_owners,
                min_delay_seconds=policy.min_timelock_delay_seconds,
            )
        )
    row, findings = judge_module(
        key,
        module,
        declared,
        facts,
        owner_control,
        path=path,
        label=plane.label,
        admin_held=plane.admin.get(module),
        extra_admins=tuple(plane.extra_admins.get(module, ())),
        policy_problems=problems,
    )
    evidence.row(CHECK_ID, row)
    evidence.check(findings)


def test_pd_ctl_surface(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    control_of(signoff_settings)
    plane = request.getfixturevalue("control_plane")
    system = request.getfixturevalue("deployed_system")
    block = f"{system.block.number} ({system.block.hash})" if system.block is not None else "latest"
    text = redact(
        render_surface(
            plane,
            title=signoff_settings.target.name,
            network=signoff_settings.network,
            block=block,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
    )
    evidence.attach("owner_surface_markdown", text)
    directory = reports_directory(request.config)
    if directory is None:
        evidence.attach("owner_surface", "not written (--signoff-reports none); attached to the evidence")
        return
    path = directory / f"{signoff_settings.network}-owner-surface.md"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        evidence.check([Finding(CHECK_ID, str(path), "error", f"{path} could not be written: {exc}")])
    evidence.attach("owner_surface", str(path))
