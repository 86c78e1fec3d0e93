"""PD-EMG: the emergency drills — pause and unpause, and a governance rotation — on a drill chain.

One test per ``[[postdeploy.emergency]]`` entry (the pause drill) and per ``[[postdeploy.rotation]]``
entry, named by contract, so a defect fails exactly the drill it breaks. Drills send
transactions: they run on the rehearsal chain or a fork (``drill``, reverted afterwards) and
are reported NOT RUN on a live network without ``--signoff-fork``. Collection reads settings only.
"""

import pytest

from signoff.errors import SignoffError
from signoff.findings import Finding
from signoff.postdeploy import emergency as emg
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable

CHECK_ID = emg.CHECK_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.emergency, pytest.mark.drill]


def _ids(names: list[str], extra: list[str]) -> list[str]:
    """Contract names as ids; a contract drilled twice gets its role appended."""
    return [n if names.count(n) == 1 else f"{n}-{e}" for n, e in zip(names, extra, strict=True)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    postdeploy = settings_of(metafunc.config).postdeploy
    if "pause_index" in metafunc.fixturenames:
        drills = list(postdeploy.emergency) if postdeploy else []
        ids = _ids([d.contract for d in drills], [d.role.lstrip("@") for d in drills])
        metafunc.parametrize("pause_index", list(range(len(drills))) or [None], ids=ids or ["not-configured"])
    if "rotation_index" in metafunc.fixturenames:
        rotations = list(postdeploy.rotation) if postdeploy else []
        ids = _ids([r.contract for r in rotations], [r.role or "owner" for r in rotations])
        metafunc.parametrize("rotation_index", list(range(len(rotations))) or [None], ids=ids or ["not-configured"])


def _record(evidence, report: emg.DrillReport) -> None:
    for row in report.rows():
        evidence.row(emg.TABLE, row)
    evidence.attach("steps", len(report.steps))
    for name, value in report.data.items():
        evidence.attach(name, value)
    evidence.check(report.findings)


def test_pd_emg_pause(pause_index: int | None, signoff_settings: SessionSettings, request, evidence) -> None:
    postdeploy = signoff_settings.postdeploy
    if pause_index is None or postdeploy is None:
        not_applicable(
            f"no [[postdeploy.emergency]] in {signoff_settings.target.path}: PD-EMG's pause drill is not "
            'configured. To drill one, add [[postdeploy.emergency]] contract = "<Name>", role = "@Governance", '
            'blocked = "<a function the pause must stop>"'
        )
    drill = request.getfixturevalue("drill")
    problem = ""
    try:
        report = emg.run_pause_drill(
            drill, postdeploy.emergency[pause_index], index=pause_index, governance=postdeploy.governance
        )
    except SignoffError as exc:
        problem = str(exc)
    if problem:  # outside the except: the failure carries no chained traceback
        evidence.check([Finding(CHECK_ID, postdeploy.emergency[pause_index].contract, "error", problem)])
        return
    _record(evidence, report)


def test_pd_emg_rotation(rotation_index: int | None, signoff_settings: SessionSettings, request, evidence) -> None:
    postdeploy = signoff_settings.postdeploy
    if rotation_index is None or postdeploy is None:
        not_applicable(
            f"no [[postdeploy.rotation]] in {signoff_settings.target.path}: PD-EMG's rotation drill is not "
            'configured. To drill one, add [[postdeploy.rotation]] contract = "<Name>", probe = "<Name>.pause" '
            '(and role = "<ROLE>" for AccessControl)'
        )
    drill = request.getfixturevalue("drill")
    rotation = postdeploy.rotation[rotation_index]
    problem = ""
    try:
        report = emg.run_rotation_drill(
            drill, rotation, index=len(postdeploy.emergency) + rotation_index, governance=postdeploy.governance
        )
    except SignoffError as exc:
        problem = str(exc)
    if problem:  # outside the except: the failure carries no chained traceback
        evidence.check([Finding(CHECK_ID, rotation.contract, "error", problem)])
        return
    _record(evidence, report)
