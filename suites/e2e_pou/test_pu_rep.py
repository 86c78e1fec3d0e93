"""PU-REP: settlement (or finalization, as [pou.model] reputation_moves_at says) updates the
agent's reputation: updated_at moves and each of the seven dimensions follows the EWMA
new = (1 - a) * old + a * x ([pou.model] ewma_alpha, 0.2 by default); dimensions without an
observation keep their value. Where it moves at finalization, settlement alone must not move it."""

import pytest

from signoff.pou.expect import Expect
from signoff.pou.reputation import DIMENSIONS, ewma_findings

CHECK_ID = "PU-REP"
pytestmark = [pytest.mark.e2e_pou, pytest.mark.reputation]


def _finalize(pou_broker, task_id: str, receipt: dict, client_did: str, expect: Expect) -> None:
    """Bring a receipt to quorum and finalize it (reputation moves at finalization)."""
    k = int(receipt["k"])
    for member in list(receipt.get("committee") or [])[:k]:
        pou_broker.client.attest(task_id, member, "AUDIT_PASS")
    expect.answer(
        "finalize",
        "POST finalize by the client",
        pou_broker.client.finalize(task_id, client_did),
        pou_broker.codes("finalize"),
    )


def test_pu_rep_ewma(pou_broker, settle_new, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    model = pou_broker.settings.model
    at_finalization = model.reputation_moves_at == "finalization"
    path = pou_broker.settings.dialect.reputation_path
    first = settle_new(body={"metrics": {d: 0.9 for d in DIMENSIONS}})
    if at_finalization:
        _finalize(pou_broker, first.task_id, first.receipt, first.client, expect)
    before = pou_broker.client.reputation(first.agent)
    if not expect.answer(
        f"reputation after the first {model.reputation_moves_at}", path, before, pou_broker.codes("read")
    ):
        expect.check()
    observed = {"q": 1.0, "t": 0.0, "r": 0.25, "s": 0.75, "v": 0.5, "i": 0.1}  # e: no observation
    negotiation = pou_broker.seeder().negotiation(first.client, first.agent)
    settled = pou_broker.client.settle(negotiation, {"metrics": observed})
    expect.answer(
        "second settlement", f"POST /api/negotiations/{negotiation}/settle", settled, pou_broker.codes("settle")
    )
    if at_finalization:
        unmoved = pou_broker.client.reputation(first.agent)
        expect.that(
            "settlement alone does not move it",
            unmoved.body == before.body,
            "the reputation as before (it moves at finalization)",
            unmoved.short(),
            path,
        )
        task_id, receipt = pou_broker.client.status_after_settle(settled)
        if task_id is not None and receipt is not None:
            _finalize(pou_broker, task_id, receipt, first.client, expect)
    after = pou_broker.client.reputation(first.agent)
    expect.answer(f"reputation after the second {model.reputation_moves_at}", path, after, pou_broker.codes("read"))
    rows, findings = ewma_findings(before.body, after.body, observed, model.ewma_alpha, model.reputation_moves_at)
    for row in rows:
        expect.row(row["case"], "EWMA model", row["expected"], row["actual"], row["ok"])
    expect.findings.extend(findings)
    evidence.attach("alpha", model.ewma_alpha)
    evidence.attach("reputation_moves_at", model.reputation_moves_at)
    expect.check()
