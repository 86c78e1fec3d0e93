"""PD-EVT: control events since the deployment block.

Ownership and governance changes of every module are listed; one that handed control to an
address neither declared (owner-control file, pause authority) nor the deployer fails. Roster
events of address-set keys (``event = "SignerUpdated"``) that added a member the config does not
list fail, even when it was removed again. Read-only: ``eth_getLogs`` up to the pinned block.
"""

import pytest

from signoff.errors import ChainError
from signoff.findings import Finding
from signoff.postdeploy.control import rules
from signoff.postdeploy.control.fixtures import control_of
from signoff.postdeploy.event_logs import Unreadable, decode_logs, event_specs, read_logs, unreadable_findings
from signoff.redaction import redact
from signoff.session import SessionSettings
from signoff.suite import not_applicable

CHECK_ID = rules.EVENTS_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.control, pytest.mark.events]


def _from_block(signoff_settings: SessionSettings) -> int:
    control = control_of(signoff_settings)
    if control.events_from_block is not None:
        return control.events_from_block
    if signoff_settings.is_live:
        not_applicable(
            f"{control.source}: [control] events_from_block is not set, so the control events since deployment "
            f"cannot be listed on {signoff_settings.network}. To list them, set it to the deployment block"
        )
    return 0


def _pinned(system) -> int:
    return system.block.number if system.block is not None else 0


def test_pd_evt_control(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    start = _from_block(signoff_settings)
    plane = request.getfixturevalue("control_plane")
    system = request.getfixturevalue("deployed_system")
    w3 = request.getfixturevalue("chain").w3
    deployer = signoff_settings.network_settings.deployer if signoff_settings.network_settings else None
    deployers = [deployer] if deployer else []
    if system.rehearsed and signoff_settings.deploy_plan is not None:
        from signoff.deploy.plan import DeployStep

        deployers += [  # who deployed a contract holds it until handing it over
            system.address(step.sender) for step in signoff_settings.deploy_plan.steps if isinstance(step, DeployStep)
        ]
    authority = system.addresses.get(plane.settings.pause_authority or "")
    allowed = rules.expected_recipients(plane, system.governance, authority, deployers)
    seen, unreadable = [], []
    try:
        for name, facts in sorted(plane.modules.items()):
            for spec in event_specs(system.abi_of(name), rules.is_control_event):
                found, odd = decode_logs(name, spec, read_logs(w3, facts.address, spec.topic, start, _pinned(system)))
                seen += found
                unreadable += odd
    except (ChainError, ValueError) as exc:
        evidence.check([Finding(CHECK_ID, "logs", "error", redact(f"control events could not be read: {exc}"))])
        return
    seen.sort(key=lambda e: e.block)
    hint = ""
    if signoff_settings.is_live and not deployer:
        hint = f" ([networks.{signoff_settings.network}] deployer is not set, so the deployer's own holding is unknown)"
    rows, findings = rules.judge_control_events(seen, allowed, plane.label, hint=hint)
    for row in rows:
        evidence.row(CHECK_ID, row)
    evidence.attach("blocks", f"{start}..{_pinned(system)}")
    evidence.check([*findings, *unreadable_findings(CHECK_ID, unreadable)])


def test_pd_evt_roster(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    control = control_of(signoff_settings)
    rosters = [p for p in control.params if p.event]
    if not rosters:
        not_applicable(
            f"{control.source}: no address-set key names its roster event, so on-chain additions are not watched. "
            'To watch one, add event = "SignerUpdated" to its keys entry'
        )
    start = _from_block(signoff_settings)
    plane = request.getfixturevalue("control_plane")
    system = request.getfixturevalue("deployed_system")
    w3 = request.getfixturevalue("chain").w3
    findings: list[Finding] = []
    unreadable: list[Unreadable] = []
    for param in rosters:
        reading = plane.readings.get(param.id)
        specs = event_specs(system.abi_of(param.contract), lambda name, wanted=param.event: name == wanted)
        if reading is None or not isinstance(reading.expected, frozenset) or not specs:
            findings.append(
                Finding(
                    CHECK_ID,
                    param.id,
                    "error",
                    f"{param.id}: {param.contract} has no event {param.event}, or the key could not be read (PD-CFG). "
                    "Next step: correct event in [[control.file]]",
                )
            )
            continue
        seen = []
        for spec in specs:
            decoded, odd = decode_logs(
                param.contract,
                spec,
                read_logs(w3, system.addresses[param.contract], spec.topic, start, _pinned(system)),
            )
            seen += decoded
            unreadable += odd
        rows, found = rules.judge_roster_events(param.id, seen, reading.expected, plane.label)
        for row in rows:
            evidence.row(CHECK_ID, row)
        findings.extend(found)
    evidence.check([*findings, *unreadable_findings(CHECK_ID, unreadable)])
