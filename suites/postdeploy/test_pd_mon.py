"""PD-MON: the dispatcher's commit and activation history, as the operations playbook monitors it.

Read-only: ``eth_getLogs`` from ``[manifest.monitoring] from_block`` (on a named network, by default,
the block of the dispatcher's deployment receipt) to the pinned block, so it runs on live networks
too. Every commit of the ``[manifest]`` dispatcher with its eta and its activation; a late
activation (after eta + grace + 300 s, the playbook's alert), an overdue commit, or a
codehash-mismatch event fails. See signoff.postdeploy.activations.
"""

import pytest

from signoff.errors import ChainError
from signoff.findings import Finding
from signoff.postdeploy import activations as mon
from signoff.redaction import redact
from signoff.session import SessionSettings
from signoff.suite import not_applicable
from signoff.target import MonitoringSettings

CHECK_ID = mon.CHECK_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.monitoring]


def _start(settings: SessionSettings, monitoring: MonitoringSettings, system, name: str) -> tuple[int, str]:
    """The first block read, and where it comes from."""
    if monitoring.from_block is not None:
        return monitoring.from_block, "[manifest.monitoring] from_block"
    if not settings.is_live:
        return 0, "the rehearsal chain's first block"
    block = system.deployed_blocks.get(name)
    if block is None:
        not_applicable(
            f"[manifest.monitoring] from_block is not set in {settings.target.path}, and the deployments file "
            f"({system.source}) records no receipt of {name}, so its history on {settings.network} has no start. "
            "To read it, set from_block to the dispatcher's deployment block"
        )
    return block, f"the block of {name}'s deployment receipt in {system.source}"


def test_pd_mon_activations(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    from eth_abi.abi import decode

    from signoff.artifacts.abi import encode_call
    from signoff.deploy.lifecycle import detect
    from signoff.postdeploy.event_logs import (
        EventSpec,
        Seen,
        Unreadable,
        decode_logs,
        event_specs,
        read_logs,
        unreadable_findings,
    )

    target = signoff_settings.target
    manifest = target.manifest
    if manifest is None:
        not_applicable(
            f"no [manifest] in {target.path}: PD-MON reads a Merkle-manifest dispatcher's commits and activations. "
            'To check one, add [manifest] plan = "dispatcher.plan.json" and dispatcher = "<Name>"'
        )
    monitoring = manifest.monitoring
    name = manifest.dispatcher
    try:  # the interface first, from the artifacts: a dispatcher it does not fit is said before any chain work
        contract = signoff_settings.artifacts.resolve(name)
    except LookupError as exc:
        pytest.fail(f"[manifest] dispatcher: {exc}. Next step: name a contract of [target] artifacts", pytrace=False)
    lifecycle = detect(name, contract.abi, manifest.interface)
    wanted = {role: lifecycle.event(role) for role in ("committed", "activated")}
    absent = [role for role, found in wanted.items() if not found]
    if absent:
        not_applicable(
            f"{name}'s ABI has no {' and no '.join(absent)} event that signoff recognises, so its history cannot be "
            f'read. To read it, map [manifest.interface] {absent[0]} = "EventName(types)"'
        )
    specs = {spec.signature: spec for spec in event_specs(contract.abi, lambda _: True)}
    committed, activated = specs.get(wanted["committed"] or ""), specs.get(wanted["activated"] or "")
    if committed is None or activated is None:
        pytest.fail(
            f"[manifest.interface] maps an event {name}'s ABI does not have ({wanted['committed']}, "
            f"{wanted['activated']}). Next step: copy the event's signature from the ABI",
            pytrace=False,
        )
    source = mon.eta_source(committed)
    delay_view = lifecycle.function("activation_delay")
    if source.kind != "eta" and not delay_view:
        not_applicable(
            f"{committed.name} carries no eta and {name} has no activation-delay view, so no eta can be known. "
            'To read it, map [manifest.interface] activation_delay = "name()"'
        )
    system = request.getfixturevalue("deployed_system")
    start, since = _start(signoff_settings, monitoring, system, name)
    address = system.address(name, where="[manifest] dispatcher")
    w3 = request.getfixturevalue("chain").w3
    pinned_block = system.block.number if system.block is not None else int(w3.eth.block_number)
    unreadable: list[Unreadable] = []

    def events_of(spec: EventSpec) -> list[Seen]:
        seen, odd = decode_logs(name, spec, read_logs(w3, address, spec.topic, start, pinned_block))
        unreadable.extend(odd)
        return seen

    try:
        seen = {role: events_of(spec) for role, spec in (("committed", committed), ("activated", activated))}
        others = [spec for spec in specs.values() if mon.is_mismatch_event(spec.name) or mon.is_pause_event(spec.name)]
        extra = {spec.name: events_of(spec) for spec in others}
        times = mon.block_times(w3, [e.block for events in seen.values() for e in events] + [pinned_block])
        delay = None
        if source.kind != "eta":
            raw = w3.eth.call(
                {"to": address, "data": "0x" + encode_call(contract.abi, delay_view or "", [], name).hex()},  # type: ignore[typeddict-item]
                block_identifier=pinned_block,
            )
            delay = int(decode(["uint256"], bytes(raw))[0])
    except (ChainError, ValueError) as exc:
        evidence.check([Finding(CHECK_ID, "logs", "error", redact(f"{name}'s history could not be read: {exc}"))])
        return
    commits = mon.commits_from(seen["committed"], source, times, delay)
    rows, findings = mon.judge(
        name,
        commits,
        mon.activations_from(seen["activated"], times),
        (pinned_block, times[pinned_block]),
        monitoring.eta_grace_seconds,
        monitoring.late_after_seconds,
    )
    for row in rows:
        evidence.row(CHECK_ID, row)
    for event_name, events in sorted(extra.items()):
        if mon.is_mismatch_event(event_name):
            findings += mon.mismatch_findings(name, events)
        else:
            evidence.attach(
                f"{event_name} events",
                [f"block {e.block}: " + ", ".join(f"{k}={mon.shown(v)}" for k, v in e.values.items()) for e in events],
            )
    evidence.attach("blocks", f"{start}..{pinned_block} ({since})")
    evidence.attach(
        "eta",
        f"{source.describe(committed.name, delay_view)}"
        + (f" (the delay read at block {pinned_block}: {delay} s)" if delay is not None else "")
        + f"; late after eta + {monitoring.eta_grace_seconds} + {monitoring.late_after_seconds} s",
    )
    if not commits:
        evidence.attach("commits", f"none in blocks {start}..{pinned_block}")
    evidence.check([*findings, *unreadable_findings(CHECK_ID, unreadable)])
