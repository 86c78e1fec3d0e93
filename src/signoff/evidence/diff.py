"""``signoff diff OLD.json NEW.json``: what changed between two sign-offs, as Markdown, usable as a gate.

Two JSON evidence documents (schema ``signoff-evidence/1``, written by
:class:`signoff.evidence.collector.EvidenceCollector`) are compared on three levels: their scope
(target, network, chain id, target-file and artifact digests, signoff version), the verdict of every
check (by pytest node id), and the rows of their evidence tables, matched by a row key per table
(sizes, gas, owners and governance, code, routes, wiring, and any other table by its first column).
A check that now fails, is interrupted or is no longer run, a table verdict turning to ``fail``, a run
no longer SIGNED OFF, and a size or gas increase above ``tolerance_pct`` are regressions: :func:`main`
exits 1 on any of them, 0 otherwise, and 4 when an input cannot be used. Everything here is pure and
deterministic except :func:`main`.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn

from signoff.errors import ConfigError
from signoff.evidence.collector import SCHEMA

USAGE_ERROR: Final = 4  # the exit status of signoff.cli for a usage error (not imported: cli may import us)
REGRESSION_EXIT: Final = 1

REQUIRED_KEYS: Final = ("schema", "environment", "summary", "tables", "checks")
FAILING: Final = frozenset({"failed", "error"})
INTERRUPTED: Final = "interrupted"  # a check that did not finish (the run was interrupted)
NOT_PASSING: Final = FAILING | {INTERRUPTED}
SIGNED_OFF: Final = "SIGNED OFF"
FAILING_VERDICTS: Final = frozenset({"fail", "failed", "error"})

SIZES: Final = "Sizes"
GAS: Final = "Gas"
OWNERS: Final = "Owners and governance"
CODE: Final = "Code"
ROUTES: Final = "Routes"
WIRING: Final = "Wiring"
OTHER: Final = "Other tables"
SECTIONS: Final = (SIZES, GAS, OWNERS, CODE, ROUTES, WIRING, OTHER)

ROW: Final = "(row)"  # the column of a CellChange for a row that was added or removed
TABLE: Final = "(table)"  # the column of a CellChange for a table in only one of the documents
ALL_ROWS: Final = "(all rows)"
_MAX_CELL: Final = 160
# eth-tester chains start at the wall clock, so a run's etas and timestamps differ from any other run's.
_TIMESTAMP = re.compile(r"\b1\d{9}\b")
_INTEGER = re.compile(r"-?\d{1,3}(?:,\d{3})+|-?\d+")


# -- the model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableRule:
    """How the rows of one evidence table are matched and compared."""

    section: str
    key: tuple[str, ...]  # the row keys that identify a row across the two documents
    numbers: tuple[str, ...] = ()  # compared as numbers: an increase above the tolerance is a regression
    ignore: tuple[str, ...] = ()  # derived columns (limits, headroom, deltas) or run-specific ones (tx hashes)
    volatile: bool = False  # mask unix timestamps before comparing


RULES: Final[Mapping[str, TableRule]] = {
    "PF-SIZE": TableRule(
        SIZES,
        ("contract",),
        numbers=("runtime", "initcode"),
        ignore=("runtime_limit", "runtime_headroom", "initcode_limit", "initcode_headroom"),
    ),
    "PD-GAS": TableRule(GAS, ("operation",), numbers=("measured",), ignore=("delta",)),
    "PF-REH": TableRule(GAS, ("step",), numbers=("gas",), ignore=("transactions",)),
    "PD-OWN": TableRule(OWNERS, ("contract", "authority")),
    "PD-OWN-governance": TableRule(OWNERS, ("governance",)),
    "PD-CODE": TableRule(CODE, ("contract",)),
    "PD-CODE-immutables": TableRule(CODE, ("contract", "immutable")),
    "PF-MRK": TableRule(ROUTES, ("selector",)),
    "PF-MRK-root": TableRule(ROUTES, ("dispatcher",)),
    "PF-SEL": TableRule(ROUTES, ("diamond", "selector", "contract")),
    "PD-DSP": TableRule(ROUTES, ("aspect",), volatile=True),
    "PD-WIRE": TableRule(WIRING, ("getter",)),
    # other tables whose first column does not identify a row on its own
    "NOT-RUN": TableRule(OTHER, ("check", "test")),
    "NOT-APPLICABLE": TableRule(OTHER, ("check", "test")),
    "PF-ABI-implements": TableRule(OTHER, ("contract", "interface", "kind", "member")),
    "PF-ADDR-literals": TableRule(OTHER, ("contract", "address")),
    "PD-ACL": TableRule(OTHER, ("function", "role")),
    "PD-C2-networks": TableRule(OTHER, ("contract", "network")),
    "PD-REE": TableRule(OTHER, ("contract", "entry")),
    "PD-EMG": TableRule(OTHER, ("drill", "contract", "step")),
    "PU-MIG": TableRule(OTHER, ("table", "column")),
    "PU-API": TableRule(OTHER, ("check", "case")),
}


@dataclass(frozen=True)
class ScopeField:
    """One fact about what was signed off; ``""`` when a document does not record it."""

    name: str
    old: str
    new: str

    @property
    def changed(self) -> bool:
        """Both documents record it, with different values."""
        return bool(self.old) and bool(self.new) and self.old != self.new


@dataclass(frozen=True)
class VerdictChange:
    """A check added, removed, or with another outcome (outcomes as in the evidence: passed, failed, ...)."""

    nodeid: str
    check: str
    old: str | None  # None: not in the old document
    new: str | None  # None: not in the new document
    change: str  # regression, improvement, no longer checked, now checked, new failing check, added, removed, ...
    regression: bool
    note: str  # the new message of a failing or skipped check (first line)


@dataclass(frozen=True)
class NumberChange:
    """A number of a row present in both documents (bytes of code, gas) that changed."""

    section: str
    table: str
    row: str
    metric: str
    old: int
    new: int
    regression: bool

    @property
    def delta(self) -> int:
        return self.new - self.old

    @property
    def pct(self) -> float | None:
        """Change in percent of the old value; None when the old value is 0."""
        return None if self.old == 0 else 100.0 * self.delta / self.old


@dataclass(frozen=True)
class CellChange:
    """A table cell that changed, or (column ``(row)``) a row added or removed."""

    section: str
    table: str
    row: str
    column: str
    old: str | None  # None: the row is not in the old document
    new: str | None  # None: the row is not in the new document
    regression: bool


@dataclass(frozen=True)
class EvidenceDiff:
    """Everything that differs between two evidence documents, sorted."""

    old_label: str
    new_label: str
    old_run: str  # when the old run started and what it counted
    new_run: str
    old_signoff: str  # the run's own verdict: SIGNED OFF, NOT SIGNED OFF, or "" (not recorded)
    new_signoff: str
    scope: tuple[ScopeField, ...]
    verdicts: tuple[VerdictChange, ...]
    numbers: tuple[NumberChange, ...]
    cells: tuple[CellChange, ...]
    tolerance_pct: float

    @property
    def signoff_lost(self) -> bool:
        """The old run was signed off and the new one is not (aborted, interrupted, nothing passed, ...)."""
        return self.old_signoff == SIGNED_OFF and bool(self.new_signoff) and self.new_signoff != SIGNED_OFF

    @property
    def regression(self) -> bool:
        return (
            self.signoff_lost
            or any(v.regression for v in self.verdicts)
            or any(n.regression for n in self.numbers)
            or any(c.regression for c in self.cells)
        )

    @property
    def scope_changes(self) -> tuple[ScopeField, ...]:
        return tuple(f for f in self.scope if f.changed)

    def scope_value(self, name: str) -> ScopeField:
        return next(f for f in self.scope if f.name == name)

    @property
    def same_target(self) -> bool:
        return not self.scope_value("Target").changed

    def regression_counts(self) -> dict[str, int]:
        """Regressions per section ("Verdicts" and the table sections), only those with any."""
        counts = {"Sign-off": int(self.signoff_lost), "Verdicts": sum(v.regression for v in self.verdicts)}
        for section in SECTIONS:
            counts[section] = sum(n.regression for n in self.numbers if n.section == section) + sum(
                c.regression for c in self.cells if c.section == section
            )
        return {name: count for name, count in counts.items() if count}

    @property
    def empty(self) -> bool:
        return not (self.verdicts or self.numbers or self.cells)


# -- loading ---------------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def load_evidence(path: Path) -> dict[str, Any]:
    """Read and validate one JSON evidence file; every problem is a ConfigError naming the file."""
    expected = f"a signoff JSON evidence file (schema {SCHEMA!r}, the .json a run writes into --signoff-reports)"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file; expected {expected}. Next step: check the path (ls the reports folder)"
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            f"{path}: is a directory; expected {expected}. Next step: name the .json file inside it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            f"{path}: cannot be read ({reason}); expected {expected}. Next step: check the file and its permissions"
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); expected {expected}. "
            "Next step: pass the .json report, not the .html or .xml one"
        ) from None
    problem = _document_problem(document)
    if problem is not None:
        raise ConfigError(f"{path}: {problem}")
    assert isinstance(document, dict)
    return document


def _document_problem(document: Any) -> str | None:
    """What makes ``document`` unusable as evidence (expected vs found, next step), or None."""
    if not isinstance(document, dict):
        return (
            f"holds {_json_type(document)}, expected an object with schema {SCHEMA!r}. "
            "Next step: pass the .json evidence file a signoff run wrote"
        )
    schema = document.get("schema")
    if schema != SCHEMA:
        found = "no schema key" if "schema" not in document else f"schema {schema!r}"
        return (
            f"has {found}, expected schema {SCHEMA!r}. Next step: pass a JSON evidence file written by this "
            "version of signoff (re-run the sign-off to get one)"
        )
    return _contents_problem(document)


def _contents_problem(document: dict[str, Any]) -> str | None:
    missing = [key for key in REQUIRED_KEYS if key not in document]
    if missing:
        return (
            f"lacks {', '.join(missing)} (expected all of {', '.join(REQUIRED_KEYS)}). Next step: the file is "
            "truncated or edited; use the evidence file as the run wrote it, or re-run the sign-off"
        )
    shapes: tuple[tuple[str, type], ...] = (
        ("environment", dict),
        ("summary", dict),
        ("tables", dict),
        ("checks", list),
    )
    for key, kind in shapes:
        if not isinstance(document[key], kind):
            want = "an object" if kind is dict else "an array"
            return f"{key} is {_json_type(document[key])}, expected {want}. Next step: re-run the sign-off"
    if not isinstance(document.get("chain", {}), dict):
        return f"chain is {_json_type(document['chain'])}, expected an object. Next step: re-run the sign-off"
    for index, check in enumerate(document["checks"]):
        problem = _check_problem(check)
        if problem:
            return f"checks[{index}] {problem}. Next step: re-run the sign-off"
    for table_id, table in document["tables"].items():
        problem = _table_problem(table)
        if problem:
            return f"tables[{table_id!r}] {problem}. Next step: re-run the sign-off"
    return None


def _check_problem(check: Any) -> str | None:
    if not isinstance(check, dict):
        return f"is {_json_type(check)}, expected an object"
    for key in ("nodeid", "outcome"):
        if not isinstance(check.get(key), str):
            return f"has {key} = {check.get(key)!r}, expected a string"
    findings = check.get("findings", [])
    if not isinstance(findings, list) or not all(isinstance(f, dict) for f in findings):
        return "has findings that are not an array of objects"
    return None


def _table_problem(table: Any) -> str | None:
    if not isinstance(table, dict):
        return f"is {_json_type(table)}, expected an object with columns and rows"
    columns, rows = table.get("columns"), table.get("rows")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        return "has columns that are not an array of strings"
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return "has rows that are not an array of objects"
    return None


# -- comparing -------------------------------------------------------------------------------


def diff_evidence(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    tolerance_pct: float = 0.0,
    old_label: str = "old",
    new_label: str = "new",
) -> EvidenceDiff:
    """Compare two validated evidence documents (see :func:`load_evidence`)."""
    if not math.isfinite(tolerance_pct) or tolerance_pct < 0:
        raise ValueError(f"tolerance_pct must be a finite number >= 0, not {tolerance_pct!r}")
    numbers: list[NumberChange] = []
    cells: list[CellChange] = []
    old_tables, new_tables = _tables(old), _tables(new)
    for table_id in sorted(old_tables.keys() | new_tables.keys()):
        found_numbers, found_cells = diff_table(
            table_id, old_tables.get(table_id), new_tables.get(table_id), tolerance_pct
        )
        numbers.extend(found_numbers)
        cells.extend(found_cells)
    return EvidenceDiff(
        old_label=old_label,
        new_label=new_label,
        old_run=_run_line(old),
        new_run=_run_line(new),
        old_signoff=signoff_label(old),
        new_signoff=signoff_label(new),
        scope=scope_fields(old, new),
        verdicts=diff_verdicts(old.get("checks", []), new.get("checks", [])),
        numbers=tuple(numbers),
        cells=tuple(cells),
        tolerance_pct=tolerance_pct,
    )


def _tables(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    tables = document.get("tables", {})
    return dict(tables) if isinstance(tables, Mapping) else {}


def _run_line(document: Mapping[str, Any]) -> str:
    """When the run started, what its checks did (pytest outcomes), and its own verdict if it records one."""
    found = document.get("summary")
    summary: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    total = summary.get("total", 0)
    counts = ", ".join(
        f"{value} {key}"
        for key, value in sorted(summary.items())
        if key not in {"total", "selected"} and isinstance(value, int) and not isinstance(value, bool)
    )
    started = document.get("started_at") or "start not recorded"
    label = signoff_label(document)
    aborted = document.get("aborted")
    return (
        (f"{label}; " if label else "")
        + f"started {started}; {total} check{'' if total == 1 else 's'}"
        + (f" ({counts})" if counts else "")
        + (f"; ABORTED: {aborted}" if aborted else "")
    )


def signoff_label(document: Mapping[str, Any]) -> str:
    """The run's own verdict ("SIGNED OFF" / "NOT SIGNED OFF"), ``""`` when the document has none."""
    verdict = document.get("verdict")
    label = verdict.get("label") if isinstance(verdict, Mapping) else None
    return label if isinstance(label, str) else ""


_SCOPE: Final = (
    ("Target", "environment", "Target"),
    ("Network", "environment", "Network"),
    ("Chain id", "chain", "chain_id"),
    ("Phases (marker expression)", "scope", "phases"),
    ("Target file sha256", "environment", "Target file sha256"),
    ("Artifacts sha256", "environment", "Artifacts sha256"),
    ("Target git commit", "environment", "Target git commit"),
    ("signoff version", "environment", "signoff"),
)


def scope_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[ScopeField, ...]:
    """What each document signed off (``""`` where it does not say, e.g. no chain id without a chain)."""

    def value(document: Mapping[str, Any], part: str, key: str) -> str:
        section = document.get(part)
        found = section.get(key) if isinstance(section, Mapping) else None
        return "" if found is None else str(found)

    return tuple(ScopeField(name, value(old, part, key), value(new, part, key)) for name, part, key in _SCOPE)


def classify_outcome(old: str | None, new: str | None) -> tuple[str, bool]:
    """(what the change is called, whether it is a regression) for a check's outcome old -> new."""
    if old is None or new is None:
        return _added_or_removed(new)
    if new in {INTERRUPTED, "skipped"}:
        return ("interrupted", True) if new == INTERRUPTED else ("no longer checked", True)
    if old == "skipped":
        return ("now checked, failing", True) if new in FAILING else ("now checked", False)
    was_bad, is_bad = old in NOT_PASSING, new in FAILING
    if is_bad != was_bad:
        return ("regression", True) if is_bad else ("improvement", False)
    return "changed", False


def _added_or_removed(new: str | None) -> tuple[str, bool]:
    if new is None:
        return "removed", False
    if new in FAILING or new == INTERRUPTED:
        return f"new {'failing' if new in FAILING else 'interrupted'} check", True
    return ("added, not run", False) if new == "skipped" else ("added", False)


def diff_verdicts(
    old_checks: Iterable[Mapping[str, Any]], new_checks: Iterable[Mapping[str, Any]]
) -> tuple[VerdictChange, ...]:
    """Checks added, removed or with another outcome; regressions first, then by node id."""
    old_by_id = {str(c["nodeid"]): c for c in old_checks}
    new_by_id = {str(c["nodeid"]): c for c in new_checks}
    changes = []
    for nodeid in sorted(old_by_id.keys() | new_by_id.keys()):
        before, after = old_by_id.get(nodeid), new_by_id.get(nodeid)
        old_outcome = None if before is None else str(before.get("outcome"))
        new_outcome = None if after is None else str(after.get("outcome"))
        if old_outcome == new_outcome:
            continue
        change, regression = classify_outcome(old_outcome, new_outcome)
        check = next((str(c["check"]) for c in (after, before) if c is not None and c.get("check")), "-")
        note = ""
        if after is not None and new_outcome in {*FAILING, "skipped", INTERRUPTED}:
            note = _first_line(after.get("message"))
        changes.append(VerdictChange(nodeid, check, old_outcome, new_outcome, change, regression, note))
    return tuple(sorted(changes, key=lambda v: (not v.regression, v.nodeid)))


def _first_line(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    return text.splitlines()[0] if text else ""


def rule_for(table_id: str, columns: Sequence[str]) -> TableRule:
    """The declared rule of ``table_id``, or the fallback: rows matched by their first column."""
    rule = RULES.get(table_id)
    if rule is not None:
        return rule
    return TableRule(OTHER, (columns[0],) if columns else ())


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip().replace(",", ""))
    return None


def _keyed_rows(rows: Iterable[Mapping[str, Any]], rule: TableRule) -> dict[str, Mapping[str, Any]]:
    """Rows by their key text; a key seen again gets ``#2``, ``#3`` (in the document's row order)."""
    keyed: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        base = " / ".join(_clean(row.get(k), rule) or "(blank)" for k in rule.key) or "(row)"
        key, seen = base, 1
        while key in keyed:
            seen += 1
            key = f"{base} #{seen}"
        keyed[key] = row
    return keyed


def _clean(value: Any, rule: TableRule) -> str:
    text = _text(value)
    return _TIMESTAMP.sub("<timestamp>", text) if rule.volatile else text


def _columns(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    columns: list[str] = []
    for table in (new, old):
        for column in (table or {}).get("columns", []):
            if column not in columns:
                columns.append(str(column))
    return columns


def _failing(verdict: str) -> bool:
    return verdict.strip().lower() in FAILING_VERDICTS


def diff_table(
    table_id: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, tolerance_pct: float = 0.0
) -> tuple[list[NumberChange], list[CellChange]]:
    """Changed numbers and cells of one table (``None``: the table is not in that document)."""
    columns = _columns(old, new)
    rule = rule_for(table_id, columns)
    if old is None or new is None:
        return [], [_table_presence(table_id, rule, old, new)]
    compared = [c for c in columns if c not in rule.key and c not in rule.ignore]
    old_rows = _keyed_rows(old.get("rows", []), rule)
    new_rows = _keyed_rows(new.get("rows", []), rule)
    numbers: list[NumberChange] = []
    cells: list[CellChange] = []
    for key in sorted(old_rows.keys() | new_rows.keys()):
        before, after = old_rows.get(key), new_rows.get(key)
        if before is None or after is None:
            present = after if after is not None else before
            assert present is not None
            summary = _row_summary(present, rule)
            regression = after is not None and _failing(_text(after.get("verdict", "")))
            old_text, new_text = (None, f"added: {summary}") if before is None else (f"removed: {summary}", None)
            cells.append(CellChange(rule.section, table_id, key, ROW, old_text, new_text, regression))
            continue
        for column in compared:
            old_value, new_value = before.get(column), after.get(column)
            if _clean(old_value, rule) == _clean(new_value, rule):
                continue
            old_number, new_number = _number(old_value), _number(new_value)
            if column in rule.numbers and old_number is not None and new_number is not None:
                numbers.append(
                    NumberChange(
                        rule.section,
                        table_id,
                        key,
                        column,
                        old_number,
                        new_number,
                        _increase_regresses(old_number, new_number, tolerance_pct),
                    )
                )
                continue
            old_text, new_text = _shown(old_value, rule), _shown(new_value, rule)
            regression = column == "verdict" and _failing(new_text) and not _failing(old_text)
            cells.append(CellChange(rule.section, table_id, key, column, old_text, new_text, regression))
    return numbers, cells


def _table_presence(
    table_id: str, rule: TableRule, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> CellChange:
    """A table in one document only: one change, not one per row (the other run did not produce it)."""
    present = new if new is not None else old
    rows = (present or {}).get("rows", [])
    failing = sum(_failing(_text(row.get("verdict", ""))) for row in rows)
    summary = f"{len(rows)} row{'s' if len(rows) != 1 else ''}" + (f" ({failing} failing)" if failing else "")
    if new is None:
        return CellChange(rule.section, table_id, ALL_ROWS, TABLE, f"removed: {summary}", None, False)
    return CellChange(rule.section, table_id, ALL_ROWS, TABLE, None, f"added: {summary}", failing > 0)


def _increase_regresses(old: int, new: int, tolerance_pct: float) -> bool:
    if new <= old:
        return False
    return old <= 0 or 100.0 * (new - old) / old > tolerance_pct


def _shown(value: Any, rule: TableRule) -> str:
    number = _number(value)
    return f"{number:,}" if number is not None else _clean(value, rule)


def _row_summary(row: Mapping[str, Any], rule: TableRule) -> str:
    parts = [f"{c} {_shown(row[c], rule)}" for c in (*rule.numbers, "verdict") if _text(row.get(c))]
    return ", ".join(parts) if parts else "present"


# -- Markdown --------------------------------------------------------------------------------


def _cell(value: str | None, *, limit: int = _MAX_CELL) -> str:
    if value is None:
        return "-"
    text = " ".join(value.split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.replace("\\", "\\\\").replace("|", "\\|") if text else "(empty)"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Lines of a Markdown table; cells are escaped by the caller (see _cell)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def _yes(flag: bool) -> str:
    return "**yes**" if flag else ""


def _scope_lines(diff: EvidenceDiff) -> list[str]:
    def state(field: ScopeField) -> str:
        if field.changed:
            return "**differs**"
        return "same" if field.old == field.new else "not recorded in both"

    rows = [
        (field.name, _cell(field.old or "(not recorded)"), _cell(field.new or "(not recorded)"), state(field))
        for field in diff.scope
    ]
    return markdown_table(("Scope", "Old", "New", "Compared"), rows)


def _verdict_lines(diff: EvidenceDiff) -> list[str]:
    rows = [
        (
            _cell(v.check),
            f"`{_cell(v.nodeid, limit=200)}`",
            _cell(v.old),
            _cell(v.new),
            _cell(v.change),
            _yes(v.regression),
            _cell(v.note, limit=120) if v.note else "",
        )
        for v in diff.verdicts
    ]
    return markdown_table(("Check", "Test", "Old", "New", "Change", "Regression", "Message"), rows)


def _pct(change: NumberChange) -> str:
    pct = change.pct
    return "n/a" if pct is None else f"{pct:+.1f}%"


def _section_lines(diff: EvidenceDiff, section: str) -> list[str]:
    numbers = sorted((n for n in diff.numbers if n.section == section), key=lambda n: (n.table, n.row, n.metric))
    cells = sorted((c for c in diff.cells if c.section == section), key=lambda c: (c.table, c.row, c.column))
    lines: list[str] = []
    if numbers:
        rows = [
            (
                n.table,
                _cell(n.row),
                n.metric,
                f"{n.old:,}",
                f"{n.new:,}",
                f"{n.delta:+,}",
                _pct(n),
                _yes(n.regression),
            )
            for n in numbers
        ]
        lines += markdown_table(("Table", "Row", "Metric", "Old", "New", "Change", "Change %", "Regression"), rows)
    if numbers and cells:
        lines.append("")
    if cells:
        changed = [(c.table, _cell(c.row), c.column, _cell(c.old), _cell(c.new), _yes(c.regression)) for c in cells]
        lines += markdown_table(("Table", "Row", "Column", "Old", "New", "Regression"), changed)
    return lines


def _headline(diff: EvidenceDiff) -> str:
    result = "REGRESSION" if diff.regression else "no regression"
    notes = []
    for name, what in (("Target", "different targets"), ("Network", "different networks")):
        field = diff.scope_value(name)
        if field.changed:
            notes.append(f"{what}: {_cell(field.old, limit=60)} vs {_cell(field.new, limit=60)}")
    return f"# signoff diff: {result}" + (f" (across {'; '.join(notes)})" if notes else "")


def render_markdown(diff: EvidenceDiff) -> str:
    """The diff as Markdown: headline, scope, then one table per section that has changes."""
    lines = [_headline(diff), ""]
    counts = diff.regression_counts()
    if counts:
        lines.append("Regressions: " + ", ".join(f"{count} in {name}" for name, count in counts.items()) + ".")
    lines.append(
        f"Old: `{_cell(diff.old_label)}` ({_cell(diff.old_run)}). New: `{_cell(diff.new_label)}` "
        f"({_cell(diff.new_run)}). Tolerance for size and gas increases: {diff.tolerance_pct:g}%."
    )
    lines += ["", *_scope_lines(diff)]
    if diff.empty:
        lines += ["", "No change in verdicts or evidence tables."]
    if diff.verdicts:
        lines += ["", "## Verdicts", "", *_verdict_lines(diff)]
    for section in SECTIONS:
        body = _section_lines(diff, section)
        if body:
            lines += ["", f"## {section}", "", *body]
    return "\n".join(lines) + "\n"


# -- command line ----------------------------------------------------------------------------


class CommandLineError(Exception):
    """A usage error from :class:`CommandParser` (exit 4 with one line, never argparse's exit 2)."""


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser that raises :class:`CommandLineError` instead of printing usage and exiting 2."""

    def error(self, message: str) -> NoReturn:
        raise CommandLineError(f"{message}. Next step: see `{self.prog} --help`")


def fail(prog: str, message: str) -> int:
    """Print ``message`` as one line on stderr; return the usage-error exit status."""
    print(f"{prog}: {' '.join(message.split())}", file=sys.stderr)
    return USAGE_ERROR


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (a percentage, e.g. 5)") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}, expected a percentage >= 0")
    return value


def build_parser() -> CommandParser:
    parser = CommandParser(
        prog="signoff diff",
        description="What changed between two sign-offs (JSON evidence files), as Markdown. "
        "Exit 0: no regression; 1: regression; 4: an input cannot be used.",
    )
    parser.add_argument("old", type=Path, metavar="OLD", help="the earlier JSON evidence file")
    parser.add_argument("new", type=Path, metavar="NEW", help="the later JSON evidence file")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write the Markdown here instead of stdout")
    parser.add_argument(
        "--tolerance",
        type=_tolerance,
        default=0.0,
        metavar="PCT",
        help="a size or gas increase counts as a regression above this percentage (default 0)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        old = load_evidence(args.old)
        new = load_evidence(args.new)
    except (CommandLineError, ConfigError) as exc:
        return fail(parser.prog, str(exc))
    diff = diff_evidence(old, new, tolerance_pct=args.tolerance, old_label=str(args.old), new_label=str(args.new))
    text = render_markdown(diff)
    if args.out is None:
        sys.stdout.write(text)
    else:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as exc:
            return fail(
                parser.prog,
                f"{args.out}: cannot write the diff ({exc.strerror or exc}). Next step: choose a writable --out path",
            )
        print(f"wrote {args.out}: {'REGRESSION' if diff.regression else 'no regression'}")
    return REGRESSION_EXIT if diff.regression else 0


if __name__ == "__main__":
    raise SystemExit(main())
