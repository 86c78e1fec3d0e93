"""PU-FIN: the automatic finalizer finalizes a receipt at quorum within its interval, and
counts the quorum as the manual path does: never below quorum, whoever else attested (also
rows written straight into the database by outsiders, which the API would refuse), and under a
backlog larger than its batch. Manual finalize needs an authorized DID and is idempotent."""

import time

import pytest

from signoff.pou.expect import Expect

CHECK_ID = "PU-FIN"
pytestmark = [pytest.mark.e2e_pou, pytest.mark.finalizer]


def _window(pou_broker) -> float:
    return 2 * pou_broker.settings.finalizer_interval_seconds + 1.0


def test_pu_fin_finalizes_at_quorum_within_interval(pou_broker, settle_new, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    task = settle_new()
    k = int(task.receipt["k"])
    for member in task.committee[:k]:
        pou_broker.client.attest(task.task_id, member, "AUDIT_PASS")
    window = _window(pou_broker)
    started = time.monotonic()
    status = pou_broker.client.status_of(task.task_id)
    while status != "finalized" and time.monotonic() - started < window:
        time.sleep(min(0.05, pou_broker.settings.finalizer_interval_seconds / 4))
        status = pou_broker.client.status_of(task.task_id)
    took = time.monotonic() - started
    evidence.attach("seconds_to_finalized", round(took, 3))
    expect.that(
        "finalized by the job",
        status == "finalized",
        f"finalized within {window:.2f} s (2 intervals + 1 s)",
        f"{status} after {took:.2f} s",
        f"{k} member AUDIT_PASS, no manual finalize",
    )
    expect.check()


def test_pu_fin_never_below_quorum(pou_broker, settle_new, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    task = settle_new()
    k = int(task.receipt["k"])
    client = pou_broker.client
    for member in task.committee[: k - 1]:
        client.attest(task.task_id, member, "AUDIT_PASS")
    # Distinct DIDs that are not AUDIT_PASS from members: a job that counts them reaches k.
    client.attest(task.task_id, task.client, "ACCEPTED")
    if len(task.committee) > k - 1:
        client.attest(task.task_id, task.committee[k - 1], "AUDIT_FAIL")
    window = 3 * pou_broker.settings.finalizer_interval_seconds + 0.5
    time.sleep(window)
    status = client.status_of(task.task_id)
    expect.that(
        "job leaves it pending",
        status == "pending",
        f"pending after {window:.2f} s (3 intervals)",
        repr(status),
        f"{k - 1} member AUDIT_PASS + client ACCEPTED + member AUDIT_FAIL",
    )
    expect.answer(
        "manual path agrees",
        "POST finalize by the client",
        client.finalize(task.task_id, task.client),
        pou_broker.codes("quorum_not_met"),
        contains="QUORUM_NOT_MET",
    )
    expect.check()


def _wait_status(pou_broker, task_id: str, want: str, window: float) -> tuple[str | None, float]:
    started = time.monotonic()
    status = pou_broker.client.status_of(task_id)
    while status != want and time.monotonic() - started < window:
        time.sleep(min(0.05, pou_broker.settings.finalizer_interval_seconds / 4))
        status = pou_broker.client.status_of(task_id)
    return status, time.monotonic() - started


def test_pu_fin_manual_finalize_authorized_and_idempotent(pou_broker, settle_new, evidence) -> None:
    expect = Expect(
        evidence,
        CHECK_ID,
        next_step="make a manual finalize refuse a request without a DID or from a DID outside the receipt, and "
        "keep the first finalized_at when it is asked again",
    )
    task = settle_new()
    client, k = pou_broker.client, int(task.receipt["k"])
    for member in task.committee[:k]:
        client.attest(task.task_id, member, "AUDIT_PASS")
    # At quorum, so a broker that does not ask who finalizes answers 2xx (the finalizer may be first: then its
    # answer to a second finalize is still 2xx, never the refusal).
    four = set(range(400, 500))
    expect.answer("finalize without a DID", "POST finalize, no DID header", client.finalize(task.task_id), four)
    expect.answer(
        "finalize by an outsider",
        "POST finalize as a DID outside the receipt",
        client.finalize(task.task_id, task.outsider),
        four,
    )
    expect.answer(
        "finalize by a member",
        "POST finalize as a committee member",
        client.finalize(task.task_id, task.committee[0]),
        pou_broker.codes("finalize"),
    )
    first = (client.receipt(task.task_id).field("receipt") or {}).get("finalized_at")
    time.sleep(0.05)
    expect.answer(
        "finalize again",
        "POST finalize as the client",
        client.finalize(task.task_id, task.client),
        pou_broker.codes("finalize"),
    )
    second = (client.receipt(task.task_id).field("receipt") or {}).get("finalized_at")
    expect.that(
        "finalized_at kept",
        bool(first) and first == second,
        f"finalized_at {first} unchanged",
        f"{second}",
        "GET receipt after the second finalize",
    )
    expect.check()


def test_pu_fin_ignores_outsider_rows(pou_broker, settle_new, evidence) -> None:
    """Outsider AUDIT_PASS rows written by SQL (the API refuses them): the finalizer must not count them."""
    from signoff.suite import not_applicable

    writer, why_not = pou_broker.direct_writer()
    if writer is None:
        not_applicable(
            f"this probe writes outsider attestations straight into the broker's throwaway database: {why_not}. To "
            "check it on your stack: a -- signoff:attestation block in [pou] seed_sql"
        )
    expect = Expect(evidence, CHECK_ID)
    task = settle_new()
    k = int(task.receipt["k"])
    for member in task.committee[: k - 1]:
        pou_broker.client.attest(task.task_id, member, "AUDIT_PASS")
    outsiders = pou_broker.parties(0, outsiders=k).outsiders
    for did in outsiders:
        writer.attestation(task.task_id, did, "AUDIT_PASS")
    window = 3 * pou_broker.settings.finalizer_interval_seconds + 0.5
    time.sleep(window)
    status = pou_broker.client.status_of(task.task_id)
    expect.that(
        "outsider rows not counted",
        status == "pending",
        f"pending after {window:.2f} s (3 intervals)",
        repr(status),
        f"{k - 1} member AUDIT_PASS by the API + {k} outsider AUDIT_PASS rows by SQL",
    )
    expect.check()


def test_pu_fin_backlog_larger_than_batch(pou_broker, settle_new, evidence) -> None:
    from signoff.suite import not_applicable

    batch = pou_broker.settings.model.finalizer_batch
    if not batch:
        not_applicable(
            "the target does not say the finalizer works in batches, so no backlog is built. To check it: "
            "[pou.model] finalizer_batch = 100 (the checklist's LIMIT 100, or your broker's)"
        )
    expect = Expect(evidence, CHECK_ID)
    first = settle_new()  # seeds the pool; then more receipts of the same parties, oldest first, all below quorum
    backlog = [first.task_id]
    client, seeder = pou_broker.client, pou_broker.seeder()
    for _ in range(batch):
        answer = client.settle(seeder.negotiation(first.client, first.agent))
        backlog.append(str(client.status_after_settle(answer)[0]))
    task = settle_new()
    k = int(task.receipt["k"])
    for member in task.committee[:k]:
        client.attest(task.task_id, member, "AUDIT_PASS")
    window = 2 * pou_broker.settings.finalizer_interval_seconds + 1.0
    status, took = _wait_status(pou_broker, task.task_id, "finalized", window)
    expect.that(
        "finalized behind a backlog",
        status == "finalized",
        f"finalized within {window:.2f} s",
        f"{status} after {took:.2f} s",
        f"{len(backlog)} older receipts below quorum (batch {batch}), then one at quorum",
    )
    expect.check()
