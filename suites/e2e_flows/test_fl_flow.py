"""FL-FLOW: each declared ``[[flows]]`` runs end to end as its users would run it.

One test per flow, on the rehearsal chain after the deploy plan (or with ``--signoff-fork`` on a
fork of the live network; never on the live network itself). Steps that must succeed succeed and
emit their events; steps that must fail (a second certificate, a stranger's review) revert. Every
change is reverted afterwards.
"""

import pytest

from signoff.flows import declared
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable

CHECK_ID = declared.CHECK_ID
pytestmark = [pytest.mark.e2e_flows, pytest.mark.flows]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "flow" in metafunc.fixturenames:
        flows: list[declared.Flow | None] = list(settings_of(metafunc.config).flows) or [None]
        metafunc.parametrize("flow", flows, ids=[f.name if f else "not-configured" for f in flows])


@pytest.mark.drill
def test_fl_flow(
    flow: declared.Flow | None, signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence
) -> None:
    if flow is None and signoff_settings.service is None and signoff_settings.migrations is None:  # the phase
        not_applicable(
            f"no [[flows]], no [service] and no [migrations] in {signoff_settings.target.path}: e2e_flows has "
            'nothing to exercise. To run a flow, add [[flows]] name = "..." with [[flows.step]] entries; to judge '
            'the service, add [service] command = [..., "{port}"] or url, with health = "/api/admin/health"; to '
            'rehearse the application\'s migrations, add [migrations] path = "..." (README: e2e_flows)'
        )
    if flow is None:
        not_applicable(
            f"no [[flows]] in {signoff_settings.target.path}: no end-to-end flow is declared. To run one, add "
            '[[flows]] name = "..." with [[flows.step]] call = "Contract.function", args, from, expect_events or '
            "expect_revert (see the README's e2e_flows section)"
        )
    operator = request.getfixturevalue("drill")
    topics = declared.event_names([c.abi for c in signoff_settings.artifacts.contracts])
    rows, findings = declared.run_flow(operator, flow, topics)
    for row in rows:
        evidence.row(CHECK_ID, {"flow": flow.name, **row})
    evidence.attach("steps", len(flow.steps))
    evidence.check(findings)
