"""PU-API: health; settle creates a pending receipt with k, m and m distinct committee DIDs
(top m by trust, client and agent excluded); GET receipt and GET committee agree."""

import pytest

from signoff.pou.expect import Expect, same
from signoff.pou.quorum import expected_committee

CHECK_ID = "PU-API"
pytestmark = [pytest.mark.e2e_pou, pytest.mark.pou_api]


def test_pu_api_health(pou_broker, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    expect.answer("health", "GET /health", pou_broker.client.health(), pou_broker.codes("read"))
    expect.check()


def test_pu_api_settle_creates_pending_receipt(pou_broker, settle_new, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    k, m = pou_broker.settings.k, pou_broker.settings.m
    settled = settle_new()
    receipt = settled.receipt
    expect.that("status", receipt.get("status") == "pending", "status pending", repr(receipt.get("status")), "settle")
    expect.that(
        "k and m",
        same(receipt.get("k"), k) and same(receipt.get("m"), m),
        f"k={k} m={m}",
        f"k={receipt.get('k')} m={receipt.get('m')}",
        "settle",
    )
    committee = settled.committee
    want = expected_committee(settled.trust, m, settled.client, settled.agent)
    expect.that(
        "committee size",
        len(committee) == m,
        f"{m} DIDs ({len(settled.trust) - 2} eligible agents)",
        f"{len(committee)}: {committee}",
        "settle",
    )
    expect.that("committee distinct", len(set(committee)) == len(committee), "distinct DIDs", str(committee))
    expect.that(
        "client and agent excluded",
        settled.client not in committee and settled.agent not in committee,
        "neither client nor agent",
        str(committee),
    )
    expect.that("top m by trust", sorted(committee) == sorted(want), str(want), str(committee))
    got = pou_broker.client.receipt(settled.task_id)
    if expect.answer("GET receipt", f"GET /api/receipts/{settled.task_id}", got, pou_broker.codes("read")):
        stored = got.field("receipt") or {}
        expect.that(
            "GET receipt agrees",
            stored.get("committee") == committee and stored.get("status") == "pending",
            f"pending, committee {committee}",
            f"{stored.get('status')}, committee {stored.get('committee')}",
        )
        expect.that("attestations listed", got.field("attestations") == [], "[]", repr(got.field("attestations")))
    got = pou_broker.client.committee(settled.task_id)
    if expect.answer("GET committee", f"GET /api/receipts/{settled.task_id}/committee", got, pou_broker.codes("read")):
        expect.that(
            "GET committee agrees", got.field("committee") == committee, str(committee), str(got.field("committee"))
        )
    expect.check()
