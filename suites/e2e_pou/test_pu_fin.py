"""PU-FIN: the automatic finalizer finalizes a receipt at quorum within its interval, and
counts the quorum as the manual path does: never below quorum, whoever else attested."""

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
        "POST finalize",
        client.finalize(task.task_id),
        409,
        {"error": "QUORUM_NOT_MET", "needed": k, "have": k - 1},
    )
    expect.check()
