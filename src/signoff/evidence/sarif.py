"""``signoff sarif EVIDENCE.json``: the findings of a sign-off as SARIF 2.1.0, for code-scanning dashboards.

One run, tool ``signoff`` (its version from the evidence's environment), one rule per check id that
occurs (``PF-SIZE``, ``PD-OWN``, ...), and one result per finding: severity error / warning / info
becomes level error / warning / note. A failed or errored check that recorded no error finding (an
assertion, a setup error) becomes one error result carrying the check's message, so nothing that failed
the gate is missing. A subject such as ``contracts/Big.sol:Big`` is located physically at
``contracts/Big.sol`` (and logically at ``Big``); any other subject (an address, a getter, a table) is a
logical location. Conversion is pure and deterministic; only :func:`main` reads and writes files.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from signoff.errors import ConfigError
from signoff.evidence.diff import CommandLineError, CommandParser, fail, load_evidence

SARIF_SCHEMA: Final = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION: Final = "2.1.0"
TOOL: Final = "signoff"
NO_CHECK: Final = "signoff"  # the rule of a test that recorded no check id

# From the README's marker table: what each check proves.
CHECK_TITLES: Final[Mapping[str, str]] = {
    "PF-SIZE": "Runtime code within EIP-170 (24,576 bytes) and initcode within EIP-3860 (49,152 bytes)",
    "PF-NET": "Network ready: RPC reachable, chain id as configured, fresh block, deployer funded, governance has code",
    "PF-SEL": "No selector claimed twice across a diamond (collision, duplicate, shadowed)",
    "PF-ABI": "Each ABI equals its committed snapshot; declared interfaces are implemented",
    "PF-COMP": "Every project contract built with the pinned solc version, viaIR, optimizer and evmVersion",
    "PF-ADDR": "No hard-coded address literal outside the allow-list (bytecode and AST)",
    "PF-MRK": "The dispatcher plan's Merkle root, proofs, codehashes and routes are right",
    "PF-REH": "The deploy plan runs end to end on a rehearsal chain",
    "PD-CODE": "On-chain runtime code equals the artifact (immutables and metadata checked)",
    "PD-OWN": "Owners and admins are the governance; the governance is a Safe or timelock meeting its minimum",
    "PD-ACL": "Privileged functions revert for an outsider and succeed for their role",
    "PD-REE": "Guarded entry points reject re-entry from an attacker contract's callback",
    "PD-WIRE": "Module address getters point at the deployed modules",
    "PD-C2": "CREATE2: factory prediction, deployed and computed addresses agree; redeploys are idempotent",
    "PD-DSP": "Dispatcher lifecycle: epochs, proofs, codehashes, activation delay, no route live before activation",
    "PD-GAS": "Gas from receipts within budgets and the committed baseline",
    "PD-EMG": "Pause drill and governance-rotation drill",
    "PU-MIG": "Migrations apply in order, the expected schema exists, rollbacks leave nothing",
    "PU-API": "Broker health; settle creates a pending receipt with k, m and m distinct committee DIDs",
    "PU-ATT": "Attestation rules: DID required, ACCEPTED from the client, AUDIT_PASS from the committee, 4xx never 5xx",
    "PU-QRM": "k-of-m quorum over attestation sequences",
    "PU-FIN": "The automatic finalizer finalizes a receipt at quorum within its interval",
    "PU-REP": "Reputation updated with the EWMA on the seven dimensions",
    "PU-WS": "Client and agent are notified over WebSocket on settlement",
}

LEVELS: Final[Mapping[str, str]] = {"error": "error", "warning": "warning", "info": "note"}
FAILING: Final = frozenset({"failed", "error"})

# ``path/File.sol:Name`` (Solidity, Vyper or Yul source, then a contract name)
_SOURCE_SUBJECT = re.compile(r"(?P<path>[^\s:][^:]*\.(?:sol|vy|yul)):(?P<name>[A-Za-z_$][\w$]*)")
_PARAMETER = re.compile(r"\[(?P<param>.*)\]$")


def rule_title(check_id: str) -> str:
    if check_id == NO_CHECK:
        return "A signoff test that recorded no check id"
    return CHECK_TITLES.get(check_id, f"signoff check {check_id}")


def level(severity: str) -> str:
    """SARIF level of a finding severity (an unknown severity is a note)."""
    return LEVELS.get(severity, "note")


def locations(subject: str) -> list[dict[str, Any]]:
    """Where a finding is: a source file for ``path/File.sol:Name``, else the subject as a logical location."""
    subject = subject.strip()
    if not subject:
        return []
    match = _SOURCE_SUBJECT.fullmatch(subject)
    if match is None:
        return [{"logicalLocations": [{"name": subject}]}]
    path = match["path"].replace("\\", "/")
    return [
        {
            "physicalLocation": {"artifactLocation": {"uri": quote(path, safe="/@+-_.~")}},
            "logicalLocations": [{"name": match["name"], "fullyQualifiedName": subject, "kind": "type"}],
        }
    ]


def _checks(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    checks = document.get("checks", [])
    found = [c for c in checks if isinstance(c, Mapping)] if isinstance(checks, list) else []
    return sorted(found, key=lambda c: str(c.get("nodeid", "")))


def _findings(check: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    findings = check.get("findings", [])
    return [f for f in findings if isinstance(f, Mapping)] if isinstance(findings, list) else []


def _check_id(check: Mapping[str, Any]) -> str:
    return str(check.get("check") or NO_CHECK)


def _raw_results(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Results without ruleIndex, in document order (checks by node id, findings as recorded)."""
    for check in _checks(document):
        nodeid, outcome = str(check.get("nodeid", "")), str(check.get("outcome", ""))
        properties = {"nodeid": nodeid, "outcome": outcome}
        findings = _findings(check)
        for finding in findings:
            yield {
                "ruleId": str(finding.get("check") or _check_id(check)),
                "level": level(str(finding.get("severity", ""))),
                "message": {"text": str(finding.get("message") or "(no message recorded)")},
                "locations": locations(str(finding.get("subject") or "")),
                "properties": dict(properties),
            }
        if outcome in FAILING and not any(f.get("severity") == "error" for f in findings):
            param = _PARAMETER.search(nodeid)
            subject = param["param"] if param else nodeid
            text = str(check.get("message") or "").strip() or f"{nodeid}: {outcome}, no message recorded"
            yield {
                "ruleId": _check_id(check),
                "level": "error",
                "message": {"text": text},
                "locations": locations(subject),
                "properties": dict(properties),
            }


def to_sarif(document: Mapping[str, Any]) -> dict[str, Any]:
    """The SARIF 2.1.0 log of one evidence document (see :func:`signoff.evidence.diff.load_evidence`)."""
    raw = list(_raw_results(document))
    rule_ids = sorted({_check_id(c) for c in _checks(document)} | {r["ruleId"] for r in raw})
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    results = []
    for result in raw:
        if not result["locations"]:
            del result["locations"]
        results.append({"ruleId": result["ruleId"], "ruleIndex": index[result["ruleId"]], **result})
    environment = document.get("environment")
    env: Mapping[str, Any] = environment if isinstance(environment, Mapping) else {}
    driver: dict[str, Any] = {"name": TOOL}
    if env.get("signoff"):
        driver["version"] = str(env["signoff"])
    driver["rules"] = [
        {
            "id": rule_id,
            "shortDescription": {"text": rule_title(rule_id)},
            "defaultConfiguration": {"level": "error"},
        }
        for rule_id in rule_ids
    ]
    run: dict[str, Any] = {"tool": {"driver": driver}, "results": results}
    invocation = _invocation(document)
    if invocation:
        run["invocations"] = [invocation]
    run["properties"] = {
        key: str(env[name]) for key, name in (("target", "Target"), ("network", "Network")) if env.get(name)
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _invocation(document: Mapping[str, Any]) -> dict[str, Any]:
    """When the run started and ended, and whether it ran to completion (not aborted, not interrupted)."""
    if "exit_status" not in document and "aborted" not in document:
        return {}
    # pytest's exit status 0 (all passed) and 1 (some failed) mean the run completed; 2-5 that it did not
    completed = document.get("exit_status") in (0, 1) and not document.get("aborted")
    invocation: dict[str, Any] = {"executionSuccessful": completed}
    for key, name in (("startTimeUtc", "started_at"), ("endTimeUtc", "finished_at")):
        if document.get(name):
            invocation[key] = str(document[name])
    if isinstance(document.get("exit_status"), int):
        invocation["exitCode"] = document["exit_status"]
    return invocation


def build_parser() -> CommandParser:
    parser = CommandParser(
        prog="signoff sarif",
        description="Write the findings of a JSON evidence file as SARIF 2.1.0 (for code-scanning dashboards).",
    )
    parser.add_argument("evidence", type=Path, metavar="EVIDENCE.json", help="the JSON evidence file of a run")
    parser.add_argument("--out", type=Path, metavar="FILE", help="where to write (default: EVIDENCE.sarif)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        document = load_evidence(args.evidence)
    except (CommandLineError, ConfigError) as exc:
        return fail(parser.prog, str(exc))
    out: Path = args.out if args.out is not None else args.evidence.with_suffix(".sarif")
    log = to_sarif(document)
    try:
        out.write_text(json.dumps(log, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return fail(parser.prog, f"{out}: cannot write SARIF ({reason}). Next step: choose a writable --out path")
    counts: dict[str, int] = {}
    for result in log["runs"][0]["results"]:
        counts[result["level"]] = counts.get(result["level"], 0) + 1
    shown = ", ".join(f"{counts[k]} {k}" for k in ("error", "warning", "note") if k in counts) or "no results"
    print(f"wrote {out}: {shown}", file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
