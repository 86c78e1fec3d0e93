"""PU-REP: settlement updates the agent's reputation: updated_at moves and each of the seven
dimensions follows the EWMA new = (1 - a) * old + a * x with a = 0.2 (dimensions without an
observation keep their value)."""

import pytest

from signoff.pou.expect import Expect
from signoff.pou.reputation import ALPHA, DIMENSIONS, ewma_findings

CHECK_ID = "PU-REP"
pytestmark = [pytest.mark.e2e_pou, pytest.mark.reputation]


def test_pu_rep_ewma_on_settlement(pou_broker, settle_new, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    first = settle_new(body={"metrics": {d: 0.9 for d in DIMENSIONS}})
    before = pou_broker.client.reputation(first.agent)
    if not expect.answer("reputation after first settlement", f"GET /api/reputation/{first.agent}", before, 200):
        expect.check()
    observed = {"q": 1.0, "t": 0.0, "r": 0.25, "s": 0.75, "v": 0.5, "i": 0.1}  # e: no observation
    negotiation = pou_broker.seeder().negotiation(first.client, first.agent)
    settled = pou_broker.client.settle(negotiation, {"metrics": observed})
    expect.answer("second settlement", f"POST /api/negotiations/{negotiation}/settle", settled, 201)
    after = pou_broker.client.reputation(first.agent)
    expect.answer("reputation after second settlement", f"GET /api/reputation/{first.agent}", after, 200)
    rows, findings = ewma_findings(before.body, after.body, observed, ALPHA)
    for row in rows:
        expect.row(row["case"], "EWMA model", row["expected"], row["actual"], row["ok"])
    expect.findings.extend(findings)
    evidence.attach("alpha", ALPHA)
    expect.check()
