"""PU-QRM / PU-ATT: a model of the broker's attestation and k-of-m quorum rules.

The model is what the suite believes the seed and CRITERIA.md require, written once, so the
example tests and the stateful property test judge the broker by the same rule:

* ``ACCEPTED``/``REJECTED`` only from the receipt's client, ``AUDIT_PASS``/``AUDIT_FAIL`` only
  from a committee member (else 403 ``UNAUTHORIZED_ATTESTATION``); a repeated (DID, type) is a
  409; a missing DID is a 401;
* the quorum is the number of *distinct committee members* with an ``AUDIT_PASS``; a receipt
  may be finalized (manually: 200, else 409 ``QUORUM_NOT_MET`` with needed/have) iff it is >= k;
* the committee is the top m active agents by trust, client and agent excluded; with fewer
  eligible agents it is all of them (the reference broker's explicit behaviour).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

CHECK_ID = "PU-QRM"
CLIENT_TYPES = frozenset({"ACCEPTED", "REJECTED"})
COMMITTEE_TYPES = frozenset({"AUDIT_PASS", "AUDIT_FAIL"})


def expected_committee(trust: Mapping[str, float], m: int, client: str, agent: str) -> list[str]:
    """Top ``m`` by trust (ties by DID), client and agent excluded."""
    eligible = [did for did in trust if did not in (client, agent)]
    return sorted(eligible, key=lambda did: (-trust[did], did))[:m]


@dataclass
class QuorumModel:
    """One receipt as the rule sees it."""

    client: str
    agent: str
    committee: Sequence[str]
    k: int
    attested: set[tuple[str, str]] = field(default_factory=set)
    finalized: bool = False  # known to be finalized (manually, or after the finalizer's window)

    @property
    def have(self) -> int:
        return len({did for did, kind in self.attested if kind == "AUDIT_PASS" and did in self.committee})

    @property
    def at_quorum(self) -> bool:
        return self.have >= self.k

    def expected_attestation(self, did: str | None, kind: str) -> tuple[str, ...]:
        """The answers the rule allows for an attestation, as cases of [pou.dialect.status]: a refusal
        (no_did, unauthorized, duplicate, finalized), or attest. On a finalized receipt every
        attestation is refused (which refusal a broker names first is its own affair); at quorum the
        finalizer may have finalized already, so attest and finalized are both allowed."""
        if not did:
            return ("no_did",)
        refusals = []
        if (kind in CLIENT_TYPES and did != self.client) or (kind in COMMITTEE_TYPES and did not in self.committee):
            refusals.append("unauthorized")
        elif (did, kind) in self.attested:
            refusals.append("duplicate")
        if self.finalized:
            return (*refusals, "finalized")
        if refusals:
            return tuple(refusals)
        return ("attest", "finalized") if self.at_quorum else ("attest",)

    def accepted(self, did: str, kind: str) -> None:
        """The broker stored the attestation."""
        self.attested.add((did, kind))

    def expected_finalize(self) -> tuple[str, dict[str, int]]:
        """(case, fields the body must carry where it carries them)."""
        if self.finalized or self.at_quorum:
            self.finalized = True
            return "finalize", {}
        return "quorum_not_met", {"needed": self.k, "have": self.have}

    def allowed_statuses(self) -> frozenset[str]:
        """What GET receipt may show now: below quorum only ``pending``; at quorum ``finalized``
        once finalization is due, else either (the finalizer may or may not have run yet)."""
        if self.finalized:
            return frozenset({"finalized"})
        if self.at_quorum:
            return frozenset({"pending", "finalized"})
        return frozenset({"pending"})

    def describe(self) -> dict[str, object]:
        return {
            "k": self.k,
            "committee": list(self.committee),
            "client": self.client,
            "agent": self.agent,
            "audit_passes_from_members": self.have,
            "at_quorum": self.at_quorum,
        }


RULE_ROWS = (
    ("ACCEPTED / REJECTED", "only the receipt's client; anyone else 403 UNAUTHORIZED_ATTESTATION"),
    ("AUDIT_PASS / AUDIT_FAIL", "only a committee member; anyone else 403 UNAUTHORIZED_ATTESTATION"),
    ("same (task, DID, type) twice", "409, never 5xx"),
    ("no X-AINP-DID", "401 UNAUTHORIZED"),
    ("quorum", "distinct committee members with AUDIT_PASS >= k"),
    ("manual finalize", "200 at quorum, else 409 QUORUM_NOT_MET {needed: k, have: n}"),
    ("automatic finalizer", "finalizes at quorum within its interval; never below quorum"),
    ("committee", "top m active agents by trust, client and agent excluded; all eligible if fewer than m"),
)
