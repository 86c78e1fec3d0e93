"""PU-ATT: who may attest what. DID required; ACCEPTED only from the client and AUDIT_PASS only
from committee members (UNAUTHORIZED_ATTESTATION); score and confidence in [0, 1], overflowing
values included; a duplicate is refused; nothing is accepted on a finalized receipt; a bad
signature is refused; malformed ids are 4xx. Any 5xx is a finding. Status codes are the
dialect's ([pou.dialect.status]: the seed's code where it names one, else the class)."""

import base64
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
    header = pou_broker.settings.dialect.did_header
    expect.answer("no DID", f"POST attestations without {header}", answer, pou_broker.codes("no_did"))
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
            pou_broker.codes("unauthorized"),
            contains=UNAUTHORIZED,
        )
    expect.answer(
        "ACCEPTED from the client",
        "ACCEPTED by client",
        client.attest(task.task_id, task.client, "ACCEPTED"),
        pou_broker.codes("attest"),
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
            pou_broker.codes("unauthorized"),
            contains=UNAUTHORIZED,
        )
    expect.answer(
        "AUDIT_PASS from a member",
        "AUDIT_PASS by committee[0]",
        client.attest(task.task_id, task.committee[0], "AUDIT_PASS"),
        pou_broker.codes("attest"),
    )
    expect.check()


def test_pu_att_score_and_confidence_in_unit_interval(pou_broker, settle_new, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    task = settle_new()
    member = task.committee[0]
    # Out of range, and overflowing a NUMERIC(5,4) column (10, 1e6): a 4xx, never a 500.
    # (A null score is not among them: the signed form of an attestation allows "score|null".)
    cases = ((1.5, 0.9), (10, 0.9), (1e6, 0.9), (-0.1, 0.9), (0.9, 1.01), (0.9, -1), ("abc", 0.9), (True, 0.9))
    for score, confidence in cases:
        answer = pou_broker.client.attest(task.task_id, member, "AUDIT_PASS", score=score, confidence=confidence)
        expect.answer(
            f"score={score!r} confidence={confidence!r}",
            "AUDIT_PASS by a member",
            answer,
            pou_broker.codes("invalid"),
        )
    stored = pou_broker.client.receipt(task.task_id).field("attestations")
    expect.that("nothing stored", stored == [], "no attestation stored", repr(stored))
    expect.answer(
        "bounds are inclusive",
        "AUDIT_PASS score=1 confidence=0",
        pou_broker.client.attest(task.task_id, member, "AUDIT_PASS", score=1, confidence=0),
        pou_broker.codes("attest"),
    )
    expect.check()


def test_pu_att_duplicate_is_409(pou_broker, settle_new, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    task = settle_new()
    member = task.committee[0]
    client, ok, again = pou_broker.client, pou_broker.codes("attest"), pou_broker.codes("duplicate")
    expect.answer("first", "AUDIT_PASS by a member", client.attest(task.task_id, member, "AUDIT_PASS"), ok)
    expect.answer("duplicate AUDIT_PASS", "the same again", client.attest(task.task_id, member, "AUDIT_PASS"), again)
    expect.answer("client first", "ACCEPTED by client", client.attest(task.task_id, task.client, "ACCEPTED"), ok)
    expect.answer("duplicate ACCEPTED", "the same again", client.attest(task.task_id, task.client, "ACCEPTED"), again)
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
        expect.answer(f"finalize {shown!r}", "POST .../finalize", client.finalize(raw, outsider), four)
    expect.answer(
        "settle malformed negotiation", "POST /api/negotiations/not-a-uuid/settle", client.settle("not-a-uuid"), four
    )
    expect.check()


def test_pu_att_refused_after_finalization(pou_broker, settle_new, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    task = settle_new()
    client, k = pou_broker.client, int(task.receipt["k"])
    for member in task.committee[:k]:
        client.attest(task.task_id, member, "AUDIT_PASS")
    if not expect.answer(
        "finalize at quorum",
        "POST finalize by the client",
        client.finalize(task.task_id, task.client),
        pou_broker.codes("finalize"),
    ):
        expect.check()
    before = client.receipt(task.task_id).field("attestations") or []
    late = [("AUDIT_PASS", task.committee[k]) if len(task.committee) > k else ("AUDIT_FAIL", task.committee[0])]
    late.append(("ACCEPTED", task.client))
    for kind, did in late:
        expect.answer(
            f"{kind} after finalization",
            f"{kind} by {'the client' if did == task.client else 'a member'} on the finalized receipt",
            client.attest(task.task_id, did, kind),
            pou_broker.codes("finalized"),
        )
    after = client.receipt(task.task_id).field("attestations") or []
    expect.that(
        "nothing stored after finalization", len(after) == len(before), f"{len(before)} attestations", f"{len(after)}"
    )
    expect.check()


def test_pu_att_bad_signature_refused(pou_broker, settle_new, evidence) -> None:
    from signoff.suite import not_applicable

    dialect = pou_broker.settings.dialect
    if not dialect.sign_attestations:
        not_applicable(
            "the target does not say the broker verifies attestation signatures, so a bad one is not sent. To check "
            'it: [pou.dialect] sign_attestations = true (Ed25519 over the JCS form, base64, in "signature")'
        )
    expect = Expect(evidence, CHECK_ID)
    task = settle_new()
    client, member = pou_broker.client, task.committee[0]
    other = pou_broker.identities.signature(task.task_id, member, {"type": "AUDIT_FAIL", "score": 0.1})
    forged = base64.b64encode(bytes(64)).decode()
    for case, signature in (
        ("signature over another attestation", other),
        ("signature of zeros", forged),
        ("signature not base64", "%%not-base64%%"),
    ):
        expect.answer(
            case,
            "AUDIT_PASS by a member with a bad signature",
            client.attest(task.task_id, member, "AUDIT_PASS", signature=signature),
            pou_broker.codes("invalid"),
        )
    stored = client.receipt(task.task_id).field("attestations")
    expect.that("nothing stored", stored == [], "no attestation stored", repr(stored))
    expect.answer(
        "a good signature",
        "AUDIT_PASS by a member, signed",
        client.attest(task.task_id, member, "AUDIT_PASS"),
        pou_broker.codes("attest"),
    )
    expect.check()
