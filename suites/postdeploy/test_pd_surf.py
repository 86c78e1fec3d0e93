"""PD-SURF: the owner control surface report, ``<reports>/<network>-owner-surface.md``.

The document the handbook tells operations to share with finance, legal and operations: every
module (address, type, holder, who finally controls it, pauser, state, version), every mapped
parameter with its unit and verdict, and the change plan. It is also attached to the evidence.
It fails only when it cannot be written; the other control checks judge what it shows.
"""

from datetime import UTC, datetime

import pytest

from signoff.findings import Finding
from signoff.postdeploy.control import surface
from signoff.postdeploy.control.fixtures import control_of
from signoff.redaction import redact
from signoff.session import SessionSettings
from signoff.stash import reports_directory

CHECK_ID = surface.CHECK_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.control]


def test_pd_surf(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    control_of(signoff_settings)
    plane = request.getfixturevalue("control_plane")
    system = request.getfixturevalue("deployed_system")
    block = f"{system.block.number} ({system.block.hash})" if system.block is not None else "latest"
    text = redact(
        surface.render(
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
