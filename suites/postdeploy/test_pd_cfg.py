"""PD-CFG: the chain equals the team's reviewed config files; every config key is mapped or ignored.

One test per mapped key (``fee-pool.json:burnPct``), one per file for its coverage (a key neither
mapped nor ignored fails: new config cannot slip by unreviewed), and one for the folder (a config
file nobody maps fails). Read-only: getters are ``eth_call`` at the pinned block.
"""

import pytest

from signoff.postdeploy.control import drift
from signoff.postdeploy.control.fixtures import control_of
from signoff.session import SessionSettings
from signoff.stash import settings_of

CHECK_ID = drift.CHECK_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.control, pytest.mark.config_drift]
FOLDER = "(config folder)"
COVERAGE = "(every key mapped or ignored)"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "config_key" in metafunc.fixturenames:
        control = settings_of(metafunc.config).control
        cases: list[str | None] = [None]
        if control is not None:
            cases = [p.id for p in control.params]
            cases += [f"{f.name}:{COVERAGE}" for f in control.files] + [FOLDER]
        metafunc.parametrize("config_key", cases, ids=[c or "not-configured" for c in cases])


def test_pd_cfg(
    config_key: str | None, signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence
) -> None:
    control_of(signoff_settings)
    plane = request.getfixturevalue("control_plane")
    assert config_key is not None
    if config_key == FOLDER:
        problems = [p for p in plane.problems if p.status == "unmapped-file"]
    elif config_key.endswith(COVERAGE):
        name = config_key[: -len(COVERAGE) - 1]
        problems = [p for p in plane.problems if p.file == name and p.status == "unmapped"]
        mapping = next(f for f in plane.settings.files if f.name == name)
        evidence.attach(
            "coverage", f"{len(mapping.params)} mapped, {len(mapping.ignore)} ignored, {len(problems)} unmapped"
        )
    else:
        reading = plane.readings.get(config_key)
        if reading is not None:
            row, findings = drift.judge_reading(reading, plane.label)
            evidence.row(CHECK_ID, row)
            evidence.check(findings)
            return
        file, key = config_key.split(":", 1)
        problems = [p for p in plane.problems if p.file == file and p.key == key]
    found = []
    for problem in problems:
        row, findings = drift.judge_problem(problem)
        evidence.row(CHECK_ID, row)
        found.extend(findings)
    evidence.check(found)
