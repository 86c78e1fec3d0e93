"""PU-ATT: who may attest what. DID required (401); ACCEPTED only from the client and
AUDIT_PASS only from committee members (403 UNAUTHORIZED_ATTESTATION); score and confidence
in [0, 1] (400); a duplicate is a 409; malformed ids are 4xx. Any 5xx is a finding."""

import uuid

import pytest

from signoff.pou.expect import Expect

CHECK_ID = "PU-ATT"
pytestmark = [pytest.mark.e2e_pou, pytest.mark.access_control, pytest.mark.pou_api]
UNAUTHORIZED = "UNAUTHORIZED_ATTESTATION"


def test_pu_att_did_required(pou_broker, settle_new, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    task = settle_new()
    answer = pou_broker.client.attest(task.task_id, None, "AUDIT_PASS")
    expect.answer("no DID", "POST attestations without X-AINP-DID", answer, 401, {"error": "UNAUTHORIZED"})
    expect.check()


def test_pu_att_accepted_only_from_client(pou_broker, settle_new, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    task = settle_new()
    client = pou_broker.client
    for who, did in (("outsider", task.outsider), ("agent", task.agent), ("committee member", task.committee[0])):
        expect.answer(
            f"ACCEPTED from the {who}",
            f"ACCEPTED by {who}",
            client.attest(task.task_id, did, "ACCEPTED"),
            403,
            {"error": "FORBIDDEN"},
            contains=UNAUTHORIZED,
        )
    expect.answer(
        "ACCEPTED from the client",
        "ACCEPTED by client",
        client.attest(task.task_id, task.client, "ACCEPTED"),
        201,
        {"ok": True},
    )
    expect.check()


def test_pu_att_audit_pass_only_from_committee(pou_broker, settle_new, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    task = settle_new()
    client = pou_broker.client
    for who, did in (("outsider", task.outsider), ("client", task.client), ("agent", task.agent)):
        expect.answer(
            f"AUDIT_PASS from the {who}",
            f"AUDIT_PASS by {who}",
            client.attest(task.task_id, did, "AUDIT_PASS"),
            403,
            {"error": "FORBIDDEN"},
            contains=UNAUTHORIZED,
        )
    expect.answer(
        "AUDIT_PASS from a member",
        "AUDIT_PASS by committee[0]",
        client.attest(task.task_id, task.committee[0], "AUDIT_PASS"),
        201,
        {"ok": True},
    )
    expect.check()


def test_pu_att_score_and_confidence_in_unit_interval(pou_broker, settle_new, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    task = settle_new()
    member = task.committee[0]
    for score, confidence in ((1.5, 0.9), (-0.1, 0.9), (0.9, 1.01), (0.9, -1), ("0.9", 0.9), (None, 0.9)):
        answer = pou_broker.client.attest(task.task_id, member, "AUDIT_PASS", score=score, confidence=confidence)
        expect.answer(
            f"score={score!r} confidence={confidence!r}",
            "AUDIT_PASS by a member",
            answer,
            400,
            {"error": "INVALID_REQUEST"},
        )
    stored = pou_broker.client.receipt(task.task_id).field("attestations")
    expect.that("nothing stored", stored == [], "no attestation stored", repr(stored))
    expect.answer(
        "bounds are inclusive",
        "AUDIT_PASS score=1 confidence=0",
        pou_broker.client.attest(task.task_id, member, "AUDIT_PASS", score=1, confidence=0),
        201,
    )
    expect.check()


def test_pu_att_duplicate_is_409(pou_broker, settle_new, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    task = settle_new()
    member = task.committee[0]
    expect.answer("first", "AUDIT_PASS by a member", pou_broker.client.attest(task.task_id, member, "AUDIT_PASS"), 201)
    expect.answer(
        "duplicate AUDIT_PASS", "the same again", pou_broker.client.attest(task.task_id, member, "AUDIT_PASS"), 409
    )
    expect.answer(
        "client first", "ACCEPTED by client", pou_broker.client.attest(task.task_id, task.client, "ACCEPTED"), 201
    )
    expect.answer(
        "duplicate ACCEPTED", "the same again", pou_broker.client.attest(task.task_id, task.client, "ACCEPTED"), 409
    )
    expect.check()


MALFORMED = ("not-a-uuid", "1' OR '1'='1", "12345", "%00", "0" * 200)


def test_pu_att_malformed_ids_are_4xx(pou_broker, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    client, outsider = pou_broker.client, pou_broker.outsider()
    four = set(range(400, 500))
    for raw in (*MALFORMED, str(uuid.uuid4())):
        shown = raw if len(raw) < 20 else raw[:17] + "..."
        expect.answer(f"GET receipt {shown!r}", "GET /api/receipts/{id}", client.receipt(raw), four)
        expect.answer(f"GET committee {shown!r}", "GET .../committee", client.committee(raw), four)
        expect.answer(f"attest {shown!r}", "POST .../attestations", client.attest(raw, outsider, "AUDIT_PASS"), four)
        expect.answer(f"finalize {shown!r}", "POST .../finalize", client.finalize(raw), four)
    expect.answer(
        "settle malformed negotiation", "POST /api/negotiations/not-a-uuid/settle", client.settle("not-a-uuid"), four
    )
    expect.check()
