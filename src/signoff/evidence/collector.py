"""Sign-off evidence: what each check measured, in the HTML report, JUnit XML and JSON.

A test records evidence through :class:`Evidence` into ``item.user_properties`` (so it
travels from xdist workers to the controller with the report). The controller's
:class:`EvidenceCollector` turns it into pytest-html extras and summary tables, and writes
the JSON evidence file. Every string that leaves the process passes through
:func:`signoff.redaction.redact`.
"""

from __future__ import annotations

import html
import json
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from signoff.evidence.spec import TableSpec
from signoff.findings import Finding, says_not_applicable, says_not_checked
from signoff.redaction import redact

PROPERTY = "signoff"
CHAIN_PROPERTY = "signoff_chain"
ENVIRONMENT_PROPERTY = "signoff_environment"
CHECK_PROPERTY = "signoff_check"
SCHEMA = "signoff-evidence/1"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SignoffWarning(UserWarning):
    """A finding that does not fail the gate but belongs in the evidence (e.g. low headroom)."""


TABLES: dict[str, TableSpec] = {
    "NOT-RUN": TableSpec(
        "Checks not run, and why (a sign-off with --signoff-strict fails on each)",
        (("check", "Check"), ("test", "Test"), ("reason", "Reason")),
        "check",
    ),
    "NOT-APPLICABLE": TableSpec(
        "Checks not applicable to this target or network, and the key that would make them apply",
        (("check", "Check"), ("test", "Test"), ("reason", "Reason")),
        "check",
    ),
    "PF-SIZE": TableSpec(
        "PF-SIZE: contract sizes (EIP-170 runtime, EIP-3860 initcode)",
        (
            ("contract", "Contract"),
            ("runtime", "Runtime bytes"),
            ("runtime_limit", "Limit"),
            ("runtime_headroom", "Headroom"),
            ("initcode", "Initcode bytes"),
            ("constructor_args", "of which ctor args"),
            ("initcode_limit", "Limit"),
            ("initcode_headroom", "Headroom"),
            ("libraries", "Unlinked libraries"),
            ("verdict", "Verdict"),
        ),
        "contract",
    ),
    "PF-SIZE-inventory": TableSpec(
        "PF-SIZE: contracts not size-checked, and why",
        (("contract", "Contract"), ("reason", "Reason")),
        "contract",
    ),
    "PF-SEL": TableSpec(
        "PF-SEL: routing table of each diamond (findings in CAPITALS)",
        (
            ("diamond", "Diamond"),
            ("selector", "Selector"),
            ("signature", "Signature"),
            ("contract", "Contract"),
            ("role", "Role"),
            ("status", "Status"),
            ("note", "Note"),
        ),
        "order",
    ),
    "PF-SEL-allow": TableSpec(
        "PF-SEL: allow-listed selectors and their reasons",
        (
            ("entry", "Entry"),
            ("selector", "Selector"),
            ("contracts", "Contracts"),
            ("reason", "Reason"),
            ("verdict", "Verdict"),
        ),
        "entry",
    ),
    "PF-ABI": TableSpec(
        "PF-ABI: ABI against the committed expected-interface snapshots",
        (
            ("contract", "Contract"),
            ("snapshot", "Snapshot"),
            ("functions", "Functions"),
            ("events", "Events"),
            ("errors", "Errors"),
            ("status", "Status"),
            ("verdict", "Verdict"),
        ),
        "contract",
    ),
    "PF-ABI-implements": TableSpec(
        "PF-ABI: declared interfaces (implements), member by member",
        (
            ("contract", "Contract"),
            ("interface", "Interface"),
            ("kind", "Kind"),
            ("member", "Member"),
            ("id", "Selector / topic"),
            ("status", "Status"),
            ("verdict", "Verdict"),
        ),
        "order",
    ),
    "PF-NET": TableSpec(
        "PF-NET: network readiness",
        (("item", "Item"), ("expected", "Expected"), ("actual", "Actual"), ("verdict", "Verdict")),
        "item",
    ),
    "PF-COMP": TableSpec(
        "PF-COMP: compiler settings per project contract",
        (
            ("contract", "Contract"),
            ("version", "solc version"),
            ("via_ir", "viaIR"),
            ("optimizer", "Optimizer"),
            ("runs", "Runs"),
            ("evm_version", "evmVersion"),
            ("origin", "Read from"),
            ("verdict", "Verdict"),
        ),
        "contract",
    ),
    "PF-COMP-consistency": TableSpec(
        "PF-COMP: settings across the project (unpinned keys must agree)",
        (("key", "Setting"), ("pin", "[compiler] pin"), ("values", "Values (contracts)"), ("verdict", "Verdict")),
        "key",
    ),
    "PF-ADDR": TableSpec(
        "PF-ADDR: runtime code walked and sources scanned for address literals",
        (
            ("contract", "Contract"),
            ("code_bytes", "Code bytes"),
            ("instructions", "Instructions"),
            ("push20", "PUSH20s"),
            ("data_bytes", "Unreachable data bytes"),
            ("metadata_bytes", "CBOR trailer bytes"),
            ("ast", "AST scanned"),
            ("literals", "Address literals"),
            ("not_allowed", "Not allow-listed"),
            ("verdict", "Verdict"),
        ),
        "contract",
    ),
    "PF-ADDR-literals": TableSpec(
        "PF-ADDR: address literals found",
        (
            ("contract", "Contract"),
            ("address", "Address"),
            ("bytecode", "Bytecode"),
            ("source", "Source"),
            ("status", "Allow-list"),
            ("verdict", "Verdict"),
        ),
        "contract",
    ),
    "PF-ADDR-allow": TableSpec(
        "PF-ADDR: [[addresses.allow]] entries",
        (("address", "Address"), ("reason", "Reason"), ("contracts", "Contracts"), ("covered", "Covered in")),
        "address",
    ),
    "PF-MRK": TableSpec(
        "PF-MRK: dispatcher plan routes (selector -> facet -> runtime codehash)",
        (
            ("selector", "Selector"),
            ("signature", "Signature"),
            ("facet", "Facet"),
            ("address", "Address"),
            ("codehash", "Codehash"),
            ("codehash_ok", "Codehash ok?"),
            ("proof_ok", "Proof ok?"),
            ("verdict", "Verdict"),
        ),
        "selector",
    ),
    "PF-MRK-root": TableSpec(
        "PF-MRK: manifest root",
        (
            ("dispatcher", "Dispatcher"),
            ("epoch", "Epoch"),
            ("plan_root", "Plan root"),
            ("rebuilt_root", "Rebuilt root"),
            ("routes", "Routes"),
            ("facet_selectors", "Facet selectors"),
            ("covers", "Covers"),
            ("hashing", "Hashing"),
            ("verdict", "Verdict"),
        ),
        "dispatcher",
    ),
    "PU-MIG": TableSpec(
        "PU-MIG: schema after migrations 017-021 (seed 001 expected schemas and indexes)",
        (
            ("table", "Table"),
            ("column", "Column / index"),
            ("type", "Type / definition"),
            ("nullable", "Nullable"),
            ("default", "Default"),
            ("verdict", "Verdict"),
            ("note", "Note"),
        ),
        "order",
    ),
    "PU-MIG-files": TableSpec(
        "PU-MIG: migration files, apply order and rollback",
        (("order", "Order"), ("file", "File"), ("rollback", "Rollback file"), ("step", "Step"), ("verdict", "Verdict")),
        "order",
    ),
    "PU-QRM-model": TableSpec(
        "PU-QRM: the quorum and attestation model the broker is judged by",
        (("rule", "Rule"), ("expected", "Expected behaviour")),
        "order",
    ),
    "PU-QRM-counterexample": TableSpec(
        "PU-QRM: minimal failing sequence (shrunk by hypothesis)",
        (("step", "Step"), ("action", "Action"), ("expected", "Model"), ("actual", "Broker"), ("verdict", "Verdict")),
        "step",
    ),
    "PU-API": TableSpec(
        "PU-API / PU-ATT / PU-FIN / PU-REP / PU-WS: requests and answers",
        (
            ("check", "Check"),
            ("case", "Case"),
            ("request", "Request"),
            ("expected", "Expected"),
            ("actual", "Actual"),
            ("verdict", "Verdict"),
        ),
        "order",
    ),
    "PU-SEED": TableSpec(
        "e2e_pou: what the run created or changed on the broker (test DIDs only)",
        (
            ("check", "Check"),
            ("test", "Test"),
            ("kind", "What"),
            ("id", "Id"),
            ("detail", "Detail"),
            ("through", "Through"),
        ),
        "order",
    ),
}


class Evidence:
    """What one test records: table rows, named data and its findings."""

    def __init__(self, item: pytest.Item, check: str) -> None:
        self._item = item
        self.check_id = check
        self.rows: list[tuple[str, dict[str, Any]]] = []
        self.data: dict[str, Any] = {}
        self.findings: list[Finding] = []
        item.user_properties.append((PROPERTY, _Deferred(self)))

    def row(self, table: str, values: Mapping[str, Any]) -> None:
        if table not in TABLES:
            raise KeyError(f"unknown evidence table {table!r}; declare it in signoff.evidence.collector.TABLES")
        self.rows.append((table, dict(values)))

    def attach(self, name: str, value: Any) -> None:
        self.data[name] = value

    def check(self, findings: Iterable[Finding]) -> None:
        """Record ``findings``; warn for warnings; fail the test, without a traceback, for errors."""
        found = list(findings)
        self.findings.extend(found)
        for finding in found:
            if finding.severity == "warning":
                warnings.warn(SignoffWarning(redact(finding.message)), stacklevel=2)
        errors = [f.message for f in found if f.is_error]
        if errors:  # never chained to an exception being handled: the findings say everything
            raise pytest.fail.Exception(redact("\n".join(errors)), pytrace=False) from None

    def payload(self) -> dict[str, Any]:
        return {
            "check": self.check_id,
            "rows": [{"table": t, "values": v} for t, v in self.rows],
            "data": self.data,
            "findings": [
                {"check": f.check, "subject": f.subject, "severity": f.severity, "message": f.message}
                for f in self.findings
            ],
        }


class _Deferred:
    """Serialised at report time, so evidence recorded after the fixture was made counts."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence

    def __str__(self) -> str:
        return redact(json.dumps(self.evidence.payload(), default=str, sort_keys=True))


def finalize_user_properties(properties: list[tuple[str, Any]]) -> None:
    """Turn deferred evidence into JSON strings (xdist and JUnit need plain values)."""
    for index, (name, value) in enumerate(properties):
        if name == PROPERTY and isinstance(value, _Deferred):
            properties[index] = (name, str(value))


@dataclass
class CheckRecord:
    nodeid: str
    check: str | None
    outcome: str
    duration: float
    message: str | None
    payload: dict[str, Any]
    finished: bool = False  # its teardown was reported: the check ran to its end

    def result(self, interrupted: bool) -> str:
        """passed | failed | not checked | not run | not applicable | interrupted (what a sign-off reader needs).

        "not checked" is a check that stopped before it could exercise its rule (it could not seed its
        data, the broker stack did not start): no verdict on the system either way, and no sign-off."""
        if interrupted and not self.finished and self.outcome not in {"failed", "error"}:
            return "interrupted"
        if self.outcome in {"failed", "error"}:
            return "not checked" if says_not_checked(self.message or "") else "failed"
        if self.outcome == "skipped":
            return "not applicable" if says_not_applicable(self.message or "") else "not run"
        return "passed"


INTERRUPTED = int(pytest.ExitCode.INTERRUPTED)
RESULTS = ("passed", "failed", "not checked", "not run", "not applicable", "interrupted")


def verdict(counts: Mapping[str, int], *, exit_status: int, strict: bool, aborted: str | None) -> dict[str, Any]:
    """SIGNED OFF only when every selected check passed (not run allowed unless strict), nothing failed,
    nothing was interrupted, the run was not aborted and at least one check passed."""
    reasons = []
    if aborted:
        reasons.append(f"the run was aborted: {aborted}")
    if exit_status == INTERRUPTED or counts.get("interrupted", 0):
        reasons.append(f"the run was interrupted ({counts.get('interrupted', 0)} check(s) did not finish)")
    if counts.get("failed", 0):
        reasons.append(f"{counts['failed']} check(s) failed")
    if counts.get("not checked", 0):
        reasons.append(f"{counts['not checked']} check(s) could not exercise their rule (not checked; each says why)")
    if strict and counts.get("not run", 0):
        reasons.append(f"{counts['not run']} check(s) did not run (--signoff-strict)")
    if not counts.get("passed", 0):
        skipped = [f"{counts[kind]} {kind}" for kind in ("not applicable", "not run") if counts.get(kind, 0)]
        reasons.append("no check passed" + (f" ({', '.join(skipped)}): nothing was verified" if skipped else ""))
    if not reasons and exit_status not in (0, INTERRUPTED):
        reasons.append(f"pytest ended with exit status {exit_status}")
    caveats = []
    if not strict and counts.get("not run", 0):
        caveats.append(f"{counts['not run']} check(s) did not run; a --signoff-strict run fails on them")
    signed = not reasons
    return {
        "signed_off": signed,
        "label": "SIGNED OFF" if signed else "NOT SIGNED OFF",
        "reasons": reasons,
        "caveats": caveats,
        "strict": strict,
    }


@dataclass(eq=False)  # a plugin object: pluggy keeps plugins in sets, so hash by identity
class EvidenceCollector:
    """Controller-side plugin: gathers evidence from reports and writes the JSON file."""

    json_path: Path | None
    environment: dict[str, Any]
    html: bool = True  # render per-test HTML extras only when an HTML report is written
    records: dict[str, CheckRecord] = field(default_factory=dict)
    chain_facts: dict[str, Any] = field(default_factory=dict)
    chains: dict[str, dict[str, Any]] = field(default_factory=dict)  # per xdist worker ("main" without xdist)
    aborted: str | None = None
    started_at: str = field(default_factory=_now)
    strict: bool = False
    scope: dict[str, Any] = field(default_factory=dict)  # target, phases, network: what was signed off
    selected: int | None = None  # items selected for the run (None when not known, e.g. under xdist)
    files: dict[str, str] = field(default_factory=dict)  # evidence file names: html, junit, json, manifest
    final: dict[str, Any] | None = None  # the document as written (the HTML renders the same one)

    # -- report ingestion ---------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        payload: dict[str, Any] = {}
        check: str | None = None
        for name, value in report.user_properties:
            if name == CHECK_PROPERTY:
                check = str(value)
            elif name == PROPERTY:
                payload = json.loads(str(value))
            elif name == CHAIN_PROPERTY:
                self._chain_seen(report, json.loads(str(value)))
            elif name == ENVIRONMENT_PROPERTY:
                self.environment.update(json.loads(str(value)))
        record = self.records.get(report.nodeid)
        failed_now = report.failed or (report.when == "call" and report.outcome != "passed")
        if record is None:
            record = CheckRecord(report.nodeid, check, report.outcome, 0.0, None, payload)
            self.records[report.nodeid] = record
        if payload:
            record.payload = payload
        record.check = record.check or check or payload.get("check")
        record.duration += report.duration
        if report.when == "teardown":
            record.finished = True
        if report.when == "call" or failed_now or report.skipped:
            if not (record.outcome == "failed" and report.passed):
                record.outcome = "error" if (report.failed and report.when != "call") else report.outcome
            if report.failed or report.skipped:
                record.message = _short(report)
        if report.when == "call" and payload and self.html:
            setattr(report, "extras", [*getattr(report, "extras", []), *_html_extras(payload)])  # noqa: B010 - pytest-html's attribute

    def _chain_seen(self, report: pytest.TestReport, facts: dict[str, Any]) -> None:
        worker = getattr(getattr(getattr(report, "node", None), "gateway", None), "id", None) or "main"
        known = self.chains.setdefault(worker, facts)
        if known is not facts and facts.get("last_block") is not None:
            known["last_block"] = max(int(known.get("last_block") or 0), int(facts["last_block"]))
        if not self.chain_facts:
            self.chain_facts = known

    # -- aggregation ----------------------------------------------------------------------
    def tables(self) -> dict[str, list[dict[str, Any]]]:
        tables: dict[str, list[dict[str, Any]]] = {}
        for record in self.records.values():
            for row in record.payload.get("rows", []):
                tables.setdefault(row["table"], []).append(row["values"])
            if record.outcome == "skipped":  # compliance reads what was *not* checked, and why
                test = record.nodeid.split("::", 1)[-1]
                reason = record.message or ""
                table = "NOT-APPLICABLE" if says_not_applicable(reason) else "NOT-RUN"
                tables.setdefault(table, []).append({"check": record.check or "", "test": test, "reason": reason})
        for table_id, rows in tables.items():
            key = TABLES[table_id].sort_key
            rows.sort(key=lambda r: _sort_value(r.get(key, "")))
        return tables

    def document(self, exit_status: int) -> dict[str, Any]:
        interrupted = exit_status == INTERRUPTED
        results = {nodeid: record.result(interrupted) for nodeid, record in self.records.items()}
        counts: dict[str, int] = {}
        for record in self.records.values():
            counts[record.outcome] = counts.get(record.outcome, 0) + 1
        classified = {name: 0 for name in RESULTS}
        for result in results.values():
            classified[result] += 1
        if self.selected is not None and self.selected > len(self.records):
            classified["not reached"] = self.selected - len(self.records)
        by_check: dict[str, list[str]] = {}
        for nodeid, record in self.records.items():
            if record.check:
                by_check.setdefault(record.check, []).append(results[nodeid])
        from signoff.evidence.criteria import RUNBOOKS, matrix

        return {
            "schema": SCHEMA,
            "started_at": self.started_at,
            "finished_at": _now(),
            "exit_status": exit_status,
            "aborted": self.aborted,
            "verdict": verdict(classified, exit_status=exit_status, strict=self.strict, aborted=self.aborted),
            "scope": self.scope,
            "environment": self.environment,
            "chain": self.chain_facts,
            "chains": self.chains,
            "evidence_files": self.files,
            "summary": {"total": len(self.records), "selected": self.selected, **counts, "results": classified},
            "criteria": [
                {
                    "runbook": item.criterion.runbook,
                    "runbook_title": RUNBOOKS[item.criterion.runbook],
                    "criterion": item.criterion.text,
                    "checks": [{"check": check, "result": result} for check, result in item.checks],
                    "result": item.result,
                }
                for item in matrix(by_check)
            ],
            "tables": {
                table_id: {
                    "title": TABLES[table_id].title,
                    "columns": [c for c, _ in TABLES[table_id].columns],
                    "rows": rows,
                }
                for table_id, rows in sorted(self.tables().items())
            },
            "checks": [
                {
                    "nodeid": r.nodeid,
                    "check": r.check,
                    "outcome": "interrupted" if results[r.nodeid] == "interrupted" else r.outcome,
                    "result": results[r.nodeid],
                    "duration_s": round(r.duration, 4),
                    "message": r.message,
                    "findings": r.payload.get("findings", []),
                    "data": r.payload.get("data", {}),
                }
                for r in sorted(self.records.values(), key=lambda r: r.nodeid)
            ],
        }

    def write_json(self, exit_status: int) -> None:
        self.final = self.document(exit_status)
        if self.json_path is None:
            return
        self.json_path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.final, indent=2, sort_keys=False, default=str)
        self.json_path.write_text(redact(text) + "\n", encoding="utf-8")


class HtmlHooks:
    """pytest-html hooks, registered only when pytest-html is active (unknown hooks fail)."""

    def __init__(self, collector: EvidenceCollector, title: str) -> None:
        self.collector = collector
        self.title = title

    def pytest_html_report_title(self, report: Any) -> None:
        report.title = redact(self.title)

    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        from signoff.evidence.first_screen import render

        document = self.collector.final or self.collector.document(int(session.exitstatus))
        prefix.append(render(document))
        if self.collector.aborted:
            prefix.append(
                '<p class="signoff-aborted"><strong>RUN ABORTED:</strong> '
                f"{html.escape(redact(self.collector.aborted))}</p>"
            )
        for table_id, rows in sorted(self.collector.tables().items()):
            postfix.append(render_table(table_id, rows))

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(1, '<th class="sortable" data-column-type="check">Check</th>')

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        record = self.collector.records.get(report.nodeid)
        check = record.check if record and record.check else "-"
        cells.insert(1, f'<td class="col-check">{html.escape(check)}</td>')

    def pytest_html_results_table_html(self, report: pytest.TestReport, data: list[str]) -> None:
        """A skip's log is its reason, not pytest's (path, line, reason) tuple."""
        if report.skipped and isinstance(report.longrepr, tuple) and data:
            data[0] = html.escape(redact(str(report.longrepr[2]))) + "\n"


# Inline, because a self-contained report must carry its own highlighting.
_FAIL_STYLE = ' style="background:#f8d7da"'
_ROW_STYLES = {"fail": _FAIL_STYLE, "failed": _FAIL_STYLE, "error": _FAIL_STYLE, "warn": ' style="background:#fff3cd"'}


def _sort_value(value: Any) -> tuple[int, int, str]:
    """Numbers in numeric order, before text in text order."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


def render_table(table_id: str, rows: Sequence[Mapping[str, Any]]) -> str:
    spec = TABLES[table_id]
    header = "".join(f"<th>{html.escape(label)}</th>" for _, label in spec.columns)
    body = []
    for row in rows:
        verdict = str(row.get("verdict", row.get("status", ""))).lower()
        style = _ROW_STYLES.get(verdict, "")
        cells = "".join(f"<td>{html.escape(redact(_cell(row.get(key))))}</td>" for key, _ in spec.columns)
        body.append(f'<tr class="signoff-{html.escape(verdict)}"{style}>{cells}</tr>')
    return (
        f'<div class="signoff-table" id="{html.escape(table_id)}"><h3>{html.escape(spec.title)}</h3>'
        f'<table border="1" cellpadding="3" style="border-collapse:collapse"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _html_extras(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    try:
        from pytest_html import extras
    except ImportError:
        return []
    blocks = []
    by_table: dict[str, list[dict[str, Any]]] = {}
    for row in payload.get("rows", []):
        by_table.setdefault(row["table"], []).append(row["values"])
    for table_id, rows in by_table.items():
        blocks.append(render_table(table_id, rows))
    findings = payload.get("findings", [])
    if findings:
        items = "".join(
            f"<li><strong>{html.escape(f['severity'])}</strong>: {html.escape(redact(f['message']))}</li>"
            for f in findings
        )
        blocks.append(f"<ul>{items}</ul>")
    result = [extras.html("".join(blocks))] if blocks else []
    if payload.get("data"):
        result.append(extras.json(json.loads(redact(json.dumps(payload["data"], default=str))), name="evidence data"))
    return result


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


# xdist: a worker's report, on the controller, starts its text with the worker's line
# ("[gw1] linux -- Python 3.11.7 /path/to/python"): not the check's message.
_WORKER_LINE = re.compile(r"\A\[[^\]\n]+\] [^\n]* -- Python [^\n]*\n")


def _short(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return redact(str(report.longrepr[2]))
    text = str(report.longreprtext).strip()
    if hasattr(report, "node"):
        text = _WORKER_LINE.sub("", text, count=1).strip()
    return redact(text[:4000]) if text else report.outcome
