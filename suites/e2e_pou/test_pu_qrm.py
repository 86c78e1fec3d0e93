"""PU-QRM: the k-of-m quorum. Below quorum finalize is a 409 QUORUM_NOT_MET with needed/have;
at quorum it finalizes; with fewer eligible agents than m the broker's explicit behaviour
(committee = every eligible agent) is asserted; and a hypothesis state machine drives
generated k <= m, agent pools and attestation sequences (members, outsiders, client, agent,
duplicates, manual finalize, waiting for the finalizer) and checks after every step that the
broker's receipt status equals the model's. A failure is shrunk to a minimal sequence, which
goes into the report."""

import time

import pytest

from signoff.findings import Finding
from signoff.pou.expect import NEXT_STEPS, Expect
from signoff.pou.quorum import RULE_ROWS, QuorumModel, expected_committee

CHECK_ID = "PU-QRM"
pytestmark = [pytest.mark.e2e_pou, pytest.mark.quorum]


def test_pu_qrm_below_quorum_is_409(pou_broker, settle_new, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    task = settle_new()
    k = int(task.receipt["k"])
    for member in task.committee[: k - 1]:
        expect.answer(
            "member AUDIT_PASS",
            "AUDIT_PASS",
            pou_broker.client.attest(task.task_id, member, "AUDIT_PASS"),
            pou_broker.codes("attest"),
        )
    expect.answer(
        f"finalize with {k - 1} of {k}",
        "POST finalize by the client",
        pou_broker.client.finalize(task.task_id, task.client),
        pou_broker.codes("quorum_not_met"),
        contains="QUORUM_NOT_MET",
    )
    status = pou_broker.client.status_of(task.task_id)
    expect.that("still pending", status == "pending", "pending", repr(status), "GET receipt")
    expect.check()


def test_pu_qrm_at_quorum_finalizes(pou_broker, settle_new, evidence) -> None:
    expect = Expect(evidence, CHECK_ID)
    task = settle_new()
    k = int(task.receipt["k"])
    for member in task.committee[:k]:
        pou_broker.client.attest(task.task_id, member, "AUDIT_PASS")
    expect.answer(
        f"finalize with {k} of {k}",
        "POST finalize by the client",
        pou_broker.client.finalize(task.task_id, task.client),
        pou_broker.codes("finalize"),
    )
    receipt = pou_broker.client.receipt(task.task_id).field("receipt") or {}
    expect.that(
        "finalized",
        receipt.get("status") == "finalized" and bool(receipt.get("finalized_at")),
        "status finalized with finalized_at",
        f"{receipt.get('status')}, {receipt.get('finalized_at')}",
    )
    expect.check()


def test_pu_qrm_fewer_agents_than_m(pou_broker, settle_new, evidence) -> None:
    """The explicit behaviour: every eligible agent sits on the committee; below k it never finalizes."""
    expect = Expect(evidence, CHECK_ID)
    k, m = pou_broker.settings.k, pou_broker.settings.m
    for eligible in sorted({m - 1, k - 1} - {0}):
        task = settle_new(eligible)
        want = expected_committee(task.trust, m, task.client, task.agent)
        expect.that(
            f"{eligible} eligible < m={m}: committee",
            sorted(task.committee) == sorted(want),
            f"all {eligible} eligible agents {want}",
            str(task.committee),
            "settle",
        )
        for member in task.committee:
            pou_broker.client.attest(task.task_id, member, "AUDIT_PASS")
        if len(task.committee) >= k:
            expect.answer(
                f"{eligible} eligible >= k",
                "finalize",
                pou_broker.client.finalize(task.task_id, task.client),
                pou_broker.codes("finalize"),
            )
        else:
            expect.answer(
                f"{eligible} eligible < k={k}",
                "finalize",
                pou_broker.client.finalize(task.task_id, task.client),
                pou_broker.codes("quorum_not_met"),
                contains="QUORUM_NOT_MET",
            )
    expect.check()


def test_pu_qrm_model_rules_consistent(pou_settings, evidence) -> None:
    """[pou.model]: the manual path and the finalizer count the same attestation types."""
    expect = Expect(evidence, CHECK_ID)
    model = pou_settings.model
    expect.that(
        "quorum types",
        set(model.quorum_types) == set(model.finalizer_quorum_types),
        f"the same on both paths (manual: {', '.join(model.quorum_types)})",
        f"finalizer: {', '.join(model.finalizer_quorum_types)}",
        "[pou.model]",
    )
    for problem in model.inconsistencies():
        expect.fail("model rules", problem)
    expect.check()


def test_pu_qrm_stateful(pou_broker, evidence) -> None:
    from hypothesis import HealthCheck, settings
    from hypothesis.stateful import run_state_machine_as_test

    from signoff.pou.quorum_machine import machine_for

    for order, (rule, expected) in enumerate(RULE_ROWS):
        evidence.row("PU-QRM-model", {"order": f"{order:02d}", "rule": rule, "expected": expected})
    machine, record = machine_for(pou_broker, QuorumModel)
    if not pou_broker.started:
        k, m = pou_broker.settings.k, pou_broker.settings.m
        evidence.attach(
            "not_varied",
            f"k and m: a live broker has one quorum (k={k}, m={m}), so the machine varies agent pools and "
            "attestation sequences but not k and m; the reference broker's run varies them too",
        )
    examples = pou_broker.settings.stateful_examples
    started = time.monotonic()
    failure: BaseException | None = None
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=examples,
                stateful_step_count=12,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                print_blob=False,
            ),
        )
    except Exception as exc:
        failure = exc
    elapsed = time.monotonic() - started
    evidence.attach("examples_run", record.examples)
    evidence.attach("steps_run", record.steps)
    evidence.attach("finalizer_waits", record.finalizer_waits)
    evidence.attach("seconds", round(elapsed, 3))
    evidence.attach("examples_per_second", round(record.examples / elapsed, 2) if elapsed else None)
    if failure is None and not record.shortest:
        evidence.check([])
        return
    trace = record.shortest
    if failure is not None and not trace:
        raise failure  # not a disagreement with the model: the broker or the seeding failed (its own message)
    for row in trace:
        evidence.row("PU-QRM-counterexample", row)
    evidence.attach("counterexample", trace)
    steps = "\n".join(f"  {r['step']}. {r['action']} -> model {r['expected']}, broker {r['actual']}" for r in trace)
    evidence.check(
        [
            Finding(
                CHECK_ID,
                "stateful",
                "error",
                f"the broker broke the quorum model; minimal failing sequence (shrunk):\n{steps}\n"
                f"({record.examples} examples run). Next step: replay these steps on the broker (the "
                f"PU-QRM-counterexample table) and fix its answer to the last; {NEXT_STEPS[CHECK_ID]}",
            )
        ]
    )
