"""PD-RULE: the handbook's rule "treasury must never equal the owner address".

Every mapped address key whose name contains "treasury" (its on-chain value) is compared with the
owner-control file's targets, every module's holder and whoever finally controls each module.
"""

import pytest

from signoff.findings import Finding
from signoff.postdeploy.control.fixtures import control_of
from signoff.postdeploy.control.rules import RULE_ID, controllers, judge_treasury
from signoff.session import SessionSettings
from signoff.suite import not_applicable

CHECK_ID = RULE_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.control]


def test_pd_rule_treasury(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    control = control_of(signoff_settings)
    treasuries = [p for p in control.params if p.unit == "address" and "treasury" in p.key.lower()]
    if not treasuries:
        not_applicable(
            f"{control.source}: no mapped address key is named *treasury*, so the rule treasury != owner has nothing "
            'to judge. Map the treasury key of your config (unit = "address") to check it'
        )
    plane = request.getfixturevalue("control_plane")
    label = plane.label
    forbidden = controllers(plane)
    findings: list[Finding] = []
    for param in treasuries:
        reading = plane.readings.get(param.id)
        value = reading.actual if reading is not None and reading.problem is None else None
        row, found = judge_treasury(param.id, value if isinstance(value, str) else None, forbidden, label)
        evidence.row(CHECK_ID, row)
        findings.extend(found)
    evidence.check(findings)
