"""PF-REH: the target's deploy plan runs end to end on a rehearsal chain, before deploying.

The rehearsal itself happens in the ``deployed_system`` fixture (every postdeploy check on a
rehearsal chain stands on the same one); this test is the evidence that it ran: every step, the
address it deployed, the gas it used and its transactions. On a live network it is deselected
(see conftest.py): the plan is rehearsed on eth-tester or anvil.
"""

import pytest

from signoff.deploy.system import DeployedSystem
from signoff.session import SessionSettings
from signoff.suite import not_applicable

CHECK_ID = "PF-REH"
pytestmark = [pytest.mark.preflight, pytest.mark.rehearsal, pytest.mark.drill]


def test_pf_reh_plan_runs(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    if signoff_settings.deploy_plan is None:
        not_applicable(
            f"{signoff_settings.target.path} has no [deploy] plan, so there is nothing to rehearse. "
            "Next step: describe the deployment in [deploy] (README: the deploy plan)"
        )
    deployed_system: DeployedSystem = request.getfixturevalue("deployed_system")
    if not deployed_system.rehearsed:
        pytest.skip(
            f"NOT RUN on live network {signoff_settings.network}: the deployed system comes from "
            f"{deployed_system.source}; the plan is rehearsed on eth-tester or anvil (pytest -m rehearsal)"
        )
    for order, record in enumerate(deployed_system.records, start=1):
        evidence.row(
            "PF-REH",
            {
                "order": order,
                "step": record.step,
                "result": deployed_system.name_of(record.result) if record.result else "",
                "gas": record.gas_used,
                "transactions": ", ".join(record.transactions),
            },
        )
    evidence.attach("plan", deployed_system.source)
    evidence.attach("addresses", deployed_system.addresses)
    evidence.attach("block", deployed_system.block)
    plan = signoff_settings.deploy_plan
    assert plan is not None
    assert len(deployed_system.records) == len(plan.steps), "every step of the plan ran"
    missing = [name for name in deployed_system.addresses if not deployed_system.addresses[name]]
    assert not missing
