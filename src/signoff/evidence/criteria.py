"""The runbooks' success criteria and the checks that answer them: the report's criteria matrix.

Each runbook (seed) lists what must hold before a system is fit for production. A criterion is
answered by one or more check ids; one that no check answers yet is listed all the same, as
"no check yet", so the matrix never suggests a coverage signoff does not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

RUNBOOKS: Mapping[str, str] = {
    "000": "owner-controlled protocol: production handbook",
    "001": "Proof-of-Usefulness broker: deployment checklist",
    "002": "diamond/dispatcher system: production deployment runbook",
    "003": "dispatcher: operations playbook",
    "004": "job marketplace: operational runbook",
}


@dataclass(frozen=True)
class Criterion:
    runbook: str  # a key of RUNBOOKS
    text: str  # the criterion, as the runbook states it (shortened)
    checks: tuple[str, ...]  # check ids that answer it; empty: no check yet


CRITERIA: tuple[Criterion, ...] = (
    Criterion("002", "Selector collision analysis clean", ("PF-SEL",)),
    Criterion("002", "ABI shape validation passed", ("PF-ABI",)),
    Criterion("002", "EIP-170 size compliance verified", ("PF-SIZE",)),
    Criterion("002", "Merkle proof generation functional", ("PF-MRK",)),
    Criterion("002", "Deployment rehearsal successful", ("PF-REH",)),
    Criterion("002", "All contracts use Solidity 0.8.30 consistently, viaIR enabled", ("PF-COMP",)),
    Criterion("002", "No hardcoded addresses", ("PF-ADDR",)),
    Criterion("002", "Network configuration verified, deployer funded", ("PF-NET",)),
    Criterion("002", "All contracts deployed as built (bytecode verified)", ("PD-CODE",)),
    Criterion("002", "Gas usage within expected parameters", ("PD-GAS",)),
    Criterion("002", "Reentrancy protection functional", ("PD-REE",)),
    Criterion("002", "Access controls properly enforced; no unexpected permission escalations", ("PD-ACL",)),
    Criterion("002", "Emergency procedures tested and working", ("PD-EMG",)),
    Criterion("002", "Ownership properly configured", ("PD-OWN",)),
    Criterion("002", "Factory idempotency (deterministic deploys)", ("PD-C2",)),
    Criterion("002", "Dispatcher lifecycle (commit, apply, activate)", ("PD-DSP",)),
    Criterion("003", "Deploy with CREATE2 for deterministic addresses; cross-chain consistency", ("PD-C2",)),
    Criterion("003", "Verify bytecode matches audit", ("PD-CODE",)),
    Criterion("003", "Configure governance multisig", ("PD-OWN",)),
    Criterion("003", "Test emergency pause; key rotation tested", ("PD-EMG",)),
    Criterion("003", "Gas: commit <= 80k, apply <= 90k per selector, activate <= 60k, workflow <= 250k", ("PD-GAS",)),
    Criterion("003", "Test upgrade workflow end to end (epochs, proofs, codehashes, activation delay)", ("PD-DSP",)),
    Criterion("003", "Zero code integrity violations (codehashes in the manifest)", ("PF-MRK", "PD-DSP")),
    Criterion(
        "003", "Monitoring: ownership, signer churn and late activations over a block range", ("PD-MON", "PD-EVT")
    ),
    Criterion("001", "All 5 migrations (017-021) applied successfully", ("PU-MIG",)),
    Criterion("001", "Health check endpoint returns 200", ("PU-API",)),
    Criterion("001", "Receipt creation works (settle -> receipt created)", ("PU-API",)),
    Criterion("001", "Committee selection works (committee -> array of DIDs)", ("PU-API",)),
    Criterion("001", "Attestation submission works (attestation -> 201)", ("PU-ATT",)),
    Criterion("001", "k-of-m quorum enforced on the manual and automatic paths", ("PU-QRM",)),
    Criterion("001", "Automatic finalization works (pending -> finalized within 1-2 minutes)", ("PU-FIN",)),
    Criterion("001", "Reputation updates work (settlement -> reputation.updated_at changed)", ("PU-REP",)),
    Criterion("001", "WebSocket notifications work (settlement -> both parties notified)", ("PU-WS",)),
    Criterion("001", "No database errors in logs; both cron jobs scheduled", ("PU-LOG",)),
    Criterion("000", "On-chain parameters equal the reviewed config files; every key mapped", ("PD-CFG",)),
    Criterion("000", "Governance and owner targets are multisig/timelock, never an EOA", ("PD-OWN", "PD-CTL")),
    Criterion("000", "Every module owned by the pause authority; pauser rights held; pause drill", ("PD-PSE",)),
    Criterion("000", "Treasury never equals the owner", ("PD-RULE",)),
    Criterion("000", "Oracle signer roster matches config; no unexpected on-chain additions", ("PD-CFG", "PD-EVT")),
    Criterion("000", "Wiring between modules verified", ("PD-WIRE",)),
    Criterion("000", "Dry run lists every transaction; none executes without approval", ("PD-PLAN",)),
    Criterion("000", "Owner control surface shared as Markdown", ("PD-CTL",)),
    Criterion("004", "End-to-end flow: register -> post job -> ... -> certificate mint", ("FL-FLOW",)),
    Criterion(
        "004",
        "Funds are safe across any order of operations (balance >= what open escrows owe)",
        ("FL-INV", "FL-SEARCH"),
    ),
    Criterion("004", "Migrations dry-run first; rollback plan validated", ("FL-MIG",)),
    Criterion("004", "/api/admin/health healthy; p95 latency and error-rate budgets", ("FL-HLT", "FL-LAT")),
)


@dataclass(frozen=True)
class CriterionResult:
    criterion: Criterion
    result: str  # "passed" | "failed" | "not run" | "not applicable" | "not selected" | "no check yet"
    checks: tuple[tuple[str, str], ...]  # (check id, its result in this run)


def _check_result(outcomes: Iterable[str]) -> str:
    seen = set(outcomes)
    if not seen:
        return "not selected"
    for verdict in ("failed", "interrupted", "not run"):
        if verdict in seen:
            return verdict
    if seen == {"not applicable"}:
        return "not applicable"
    return "passed"


def matrix(check_outcomes: Mapping[str, list[str]]) -> list[CriterionResult]:
    """Each criterion with the result of its checks in this run (``check id -> [classified outcome]``)."""
    results = []
    for criterion in CRITERIA:
        per_check = tuple((check, _check_result(check_outcomes.get(check, []))) for check in criterion.checks)
        selected = [verdict for _, verdict in per_check if verdict != "not selected"]
        result = _check_result(selected) if per_check else "no check yet"
        results.append(CriterionResult(criterion, result, per_check))
    return results
