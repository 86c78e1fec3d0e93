"""The PU-QRM state machine: hypothesis drives a real broker, a model judges every step.

Each example seeds a fresh agent pool of generated size and trust order (client and agent
sometimes on top of the ranking), settles with a generated k <= m, then runs a sequence of
attestations (committee members, outsiders, the client, the agent, repeats) and manual
finalizations. The automatic finalizer is given its window (two intervals) whenever it has a
decision to make: the first time the receipt reaches quorum (it must finalize: the window ends
as soon as the receipt shows it) and the first time k distinct DIDs have attested below quorum
(it must not, which only the whole window shows; a job that counts attesters instead of member
AUDIT_PASSes finalizes here). Waiting then, rather than when hypothesis happens to pick a wait,
makes the automatic path's check independent of the sample and of how fast the broker answers.
After every step the receipt's status must be one the model allows. Every step is traced, so the
shrunk failing example that hypothesis replays last is the minimal sequence the report shows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signoff.pou.fixtures import Broker
    from signoff.pou.quorum import QuorumModel


# Once a failure is known, shrinking may spend [pou] shrink_budget_seconds (default 20) on the
# real broker; then every further example stops at once (a different, cheap failure), so
# shrinking ends and the shortest failing sequence seen so far is the one reported.


class BudgetExhausted(Exception):
    """Raised by new examples after the shrink budget is spent."""


@dataclass
class Record:
    examples: int = 0
    steps: int = 0
    finalizer_waits: int = 0
    first_failure_at: float | None = None
    shortest: list[dict[str, Any]] = field(default_factory=list)

    def failed(self, trace: list[dict[str, Any]]) -> None:
        if self.first_failure_at is None:
            self.first_failure_at = time.monotonic()
        if not self.shortest or len(trace) < len(self.shortest):
            self.shortest = list(trace)


def machine_for(broker: Broker, model_type: type[QuorumModel]) -> tuple[type[Any], Record]:
    """A RuleBasedStateMachine class bound to ``broker``, and the record it writes."""
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

    from signoff.pou.expect import same
    from signoff.pou.quorum import expected_committee

    record = Record()
    settings = broker.settings
    budget = settings.shrink_budget_seconds
    window = 2 * settings.finalizer_interval_seconds + 0.1
    seeder = broker.seeder()
    client = broker.client

    def _until_finalized(task_id: str, finalized: frozenset[str], window: float) -> None:
        """Poll until the receipt shows ``finalized``, for at most ``window``: the invariant after the
        step then judges it (a finalizer that has not run by then fails there)."""
        started = time.monotonic()
        poll = min(0.05, settings.finalizer_interval_seconds / 4)
        while client.status_of(task_id) not in finalized and time.monotonic() - started < window:
            time.sleep(poll)

    class QuorumMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.model: QuorumModel | None = None
            self.task_id = ""
            self.outsiders: list[str] = []
            self.waited: set[str] = set()
            self.trace: list[dict[str, Any]] = []
            started = record.first_failure_at
            if started is not None and time.monotonic() - started > budget:
                raise BudgetExhausted(f"shrinking stopped after {budget:g} s ([pou] shrink_budget_seconds)")
            record.examples += 1

        def _log(self, action: str, expected: Any, actual: Any, ok: bool) -> None:
            record.steps += 1
            self.trace.append(
                {
                    "step": f"{len(self.trace) + 1:02d}",
                    "action": action,
                    "expected": str(expected),
                    "actual": str(actual),
                    "verdict": "pass" if ok else "fail",
                }
            )
            if not ok:
                record.failed(self.trace)
            assert ok, f"{action}: model {expected}, broker {actual}"

        @initialize(
            k=st.integers(1, 4),
            extra=st.integers(0, 2),
            delta=st.integers(-3, 2),
            parties_on_top=st.booleans(),
            order=st.randoms(use_true_random=False),
        )
        def settle(self, k: int, extra: int, delta: int, parties_on_top: bool, order: Any) -> None:
            if broker.fixed_quorum:  # a live broker, or a team's: one k, m for every receipt
                k, extra = settings.k, settings.m - settings.k
            m = k + extra
            eligible = max(0, m + delta)
            tag = f"q{record.examples:04d}{int(time.time() * 1000) % 100000:05d}"
            parties = broker.parties(eligible, outsiders=2, tag=tag)  # a live broker: the [pou] test DIDs
            scores = [round(0.1 + 0.8 * i / max(1, eligible), 4) for i in range(eligible)]
            order.shuffle(scores)
            trust = dict(zip(parties.members, scores, strict=True))
            party_client, party_agent = parties.client, parties.agent
            if parties_on_top:
                trust = {party_client: 0.99, party_agent: 0.98, **trust}
            self.outsiders = list(parties.outsiders)
            seeder.agent_pool(trust)
            negotiation = seeder.negotiation(party_client, party_agent)
            answer = client.settle(negotiation, {} if broker.fixed_quorum else {"k": k, "m": m})
            task_id, receipt = client.status_after_settle(answer)
            committee = list((receipt or {}).get("committee") or [])
            want = expected_committee(trust, m, party_client, party_agent)
            self._log(
                f"settle k={k} m={m} with {eligible} eligible agents"
                + (" (client and agent on top of the trust ranking)" if parties_on_top else ""),
                f"{broker.settings.dialect.rule('settle')}, committee {want}",
                f"{answer.status}, committee {committee}",
                answer.status in broker.codes("settle") and sorted(committee) == sorted(want),
            )
            self.task_id = str(task_id)
            self.model = model_type(party_client, party_agent, committee, k)

        def _did(self, who: str, index: int) -> str:
            assert self.model is not None
            if who == "member" and self.model.committee:
                return self.model.committee[index % len(self.model.committee)]
            if who == "client":
                return self.model.client
            if who == "agent":
                return self.model.agent
            return self.outsiders[index % len(self.outsiders)]

        def _attest(self, who: str, index: int, kind: str) -> None:
            assert self.model is not None
            did = self._did(who, index)
            cases = self.model.expected_attestation(did, kind)
            answer = client.attest(self.task_id, did, kind)
            role = who if who != "member" or did in self.model.committee else "outsider"  # an empty committee
            label = f"{role} {did.rsplit(':', 1)[-1][-8:]}" if role in ("member", "outsider") else role
            allowed = " or ".join(f"{case} {broker.settings.dialect.status[case]}" for case in cases)
            ok = any(answer.status in broker.codes(case) for case in cases)
            self._log(f"{kind} by {label}", allowed, answer.status, ok)
            if "attest" in cases and answer.status in broker.codes("attest"):
                self.model.accepted(did, kind)
                self._finalizer_window()
            elif "finalized" in cases and answer.status in broker.codes("finalized"):
                self.model.finalized = True

        # Two attestation rules against one finalize rule (hypothesis picks rules uniformly):
        # sequences are mostly attestations, and members attest as often as everyone else together.
        @rule(index=st.integers(0, 5), kind=st.sampled_from(["AUDIT_PASS", "AUDIT_PASS", "AUDIT_FAIL", "ACCEPTED"]))
        def attest_as_member(self, index: int, kind: str) -> None:
            self._attest("member", index, kind)

        @rule(
            who=st.sampled_from(["client", "outsider", "agent"]),
            index=st.integers(0, 5),
            kind=st.sampled_from(["ACCEPTED", "AUDIT_PASS", "AUDIT_FAIL", "REJECTED"]),
        )
        def attest_as_other(self, who: str, index: int, kind: str) -> None:
            self._attest(who, index, kind)

        @rule()
        def finalize(self) -> None:
            assert self.model is not None
            case, fields = self.model.expected_finalize()
            answer = client.finalize(self.task_id, self.model.client)
            ok = answer.status in broker.codes(case) and all(
                same(answer.field(key), value) for key, value in fields.items() if answer.field(key) is not None
            )
            rule = f"{case} {broker.settings.dialect.status[case]} {fields or ''}".strip()
            self._log("manual finalize by the client", rule, answer.short(), ok)

        def _finalizer_window(self) -> None:
            """Let the finalizer run where it has a decision to make (once per kind of decision)."""
            model = self.model
            assert model is not None
            attesters = len({did for did, _ in model.attested})
            if model.finalized or not (model.at_quorum or attesters >= model.k):
                return
            decision = "quorum" if model.at_quorum else "k attesters"
            if decision in self.waited:
                return
            self.waited.add(decision)
            record.finalizer_waits += 1
            if model.at_quorum:
                model.finalized = True
                _until_finalized(self.task_id, model.allowed_statuses(), window)
                self._log(f"wait up to {window:.2f} s for the finalizer (at quorum: it must finalize)", "", "", True)
                return
            time.sleep(window)  # that nothing happens can only be seen by waiting the whole window
            why = f"{attesters} distinct DIDs attested, {model.have} member AUDIT_PASS of k={model.k}: it must not"
            self._log(f"wait {window:.2f} s for the finalizer ({why})", "", "", True)

        @invariant()
        def status_matches_model(self) -> None:
            if self.model is None:
                return
            status = client.status_of(self.task_id)
            allowed = self.model.allowed_statuses()
            if status not in allowed:
                self._log(
                    f"GET receipt ({self.model.have} member AUDIT_PASS of k={self.model.k})",
                    " or ".join(sorted(allowed)),
                    status,
                    False,
                )

    return QuorumMachine, record
