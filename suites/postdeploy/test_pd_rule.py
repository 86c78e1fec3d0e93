"""PD-RULE: the handbook's rule "treasury must never equal the owner address".

Every mapped address key whose name contains "treasury" (its on-chain value) is compared with the
owner-control file's targets, every module's holder and whoever finally controls each module.
"""

import pytest

from signoff.findings import Finding
from signoff.postdeploy.control.fixtures import control_of
from signoff.postdeploy.control.rules import RULE_ID, judge_treasury
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
    forbidden: dict[str, str] = {}
    if plane.owner_control is not None:
        for what, address in (
            ("the declared governance", plane.owner_control.governance),
            ("the declared owner", plane.owner_control.owner),
        ):
            if address:
                forbidden.setdefault(address.lower(), f"{what} ({plane.owner_control.source.name})")
    for name, facts in plane.modules.items():
        if facts.holder:
            forbidden.setdefault(facts.holder.lower(), f"the holder of {name} ({facts.holder_getter})")
        path = plane.paths.get(name)
        if path is not None and path.end is not None:
            forbidden.setdefault(path.end.address.lower(), f"who finally controls {name}")
            for owner in path.end.owners:
                forbidden.setdefault(owner.lower(), f"an owner of the Safe that controls {name}")
    findings: list[Finding] = []
    for param in treasuries:
        reading = plane.readings.get(param.id)
        value = reading.actual if reading is not None and reading.problem is None else None
        row, found = judge_treasury(param.id, value if isinstance(value, str) else None, forbidden, label)
        evidence.row(CHECK_ID, row)
        findings.extend(found)
    evidence.check(findings)
