"""PU-MIG: the broker's migrations, as files and as the schema they produce.

Pure functions: the suite reads the directory and the database; this module decides. The
apply set is ``<dir>/NNN_name.sql``; each file's rollback is ``<dir>/rollback/`` + the same file name.
The seed's checklist applies 017-021 in numeric order and rolls back in reverse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from signoff.checks import Finding

CHECK_ID = "PU-MIG"
REQUIRED_NUMBERS = tuple(range(17, 22))

# The seed's expected schemas (001, "Expected schemas"): table -> columns.
EXPECTED_TABLES: Mapping[str, tuple[str, ...]] = {
    "task_receipts": (
        "id", "intent_id", "negotiation_id", "agent_did", "client_did", "intent_type", "inputs_ref",
        "outputs_ref", "metrics", "payment_request_id", "amount_atomic", "status", "committee", "k", "m",
        "finalized_at", "created_at",
    ),
    "task_attestations": (
        "id", "task_id", "by_did", "type", "score", "confidence", "evidence_ref", "signature", "created_at",
    ),
    "agent_reputation": ("agent_id", "q", "t", "r", "s", "v", "i", "e", "updated_at"),
    "agent_stakes": ("agent_id", "amount_locked", "slashed_total", "locked_until", "created_at", "updated_at"),
}  # fmt: skip

_NAME = re.compile(r"(?P<number>\d+)_(?P<name>[A-Za-z0-9_.-]+)\.sql")
_ROLLBACK_WORDS = re.compile(r"(^|[_.-])(down|rollback|revert|undo)([_.-]|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Migration:
    number: int
    path: Path
    sql: str
    rollback: Path | None = None
    rollback_sql: str | None = None

    @property
    def label(self) -> str:
        return self.path.name


@dataclass
class Plan:
    """The apply order and everything wrong with the files themselves."""

    ordered: list[Migration] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def looks_like_rollback(name: str, sql: str) -> bool:
    """A rollback by its name (down/rollback/revert/undo) or its content (it only drops)."""
    if _ROLLBACK_WORDS.search(name.removesuffix(".sql")):
        return True
    statements = [s for s in _strip_comments(sql).split(";") if s.strip()]
    return bool(statements) and all(re.match(r"\s*(DROP\b|ALTER\s+TABLE\s+\S+\s+DROP\b)", s, re.I) for s in statements)


def plan(files: Mapping[Path, str], rollbacks: Mapping[Path, str], where: str) -> Plan:
    """Order ``files`` (path -> SQL) numerically; report duplicate numbers, rollbacks in the apply
    set, gaps, names whose text order differs from their numeric order, missing rollbacks."""
    result = Plan()
    by_number: dict[int, list[Path]] = {}
    for path in sorted(files):
        match = _NAME.fullmatch(path.name)
        if match is None:
            result.findings.append(
                _error(
                    where,
                    f"{path.name} in {where} is not named NNN_description.sql, so its place in the apply order "
                    "is undefined. Next step: rename it, or move it out of the migrations directory",
                )
            )
            continue
        if looks_like_rollback(path.name, files[path]):
            result.findings.append(
                _error(
                    where,
                    f"{path.name} in {where} is a rollback (its name or its statements only drop), mixed into the "
                    "apply set: applying in order would undo the schema. Next step: move it to rollback/"
                    f"{path.name}",
                )
            )
            continue
        by_number.setdefault(int(match["number"]), []).append(path)
    for number, paths in sorted(by_number.items()):
        if len(paths) > 1:
            names = ", ".join(p.name for p in paths)
            result.findings.append(
                _error(
                    where,
                    f"migration number {number:03d} is used by {len(paths)} files ({names}) in {where}: their "
                    "order depends on how the files happen to be read. Next step: give each its own number",
                )
            )
    rollback_by_name = {path.name: path for path in rollbacks}
    numbers = sorted(by_number)
    for previous, current in pairwise(numbers):
        if current != previous + 1:
            missing = ", ".join(f"{n:03d}" for n in range(previous + 1, current))
            result.findings.append(
                _error(where, f"gap in {where}: no migration {missing} between {previous:03d} and {current:03d}")
            )
    for number in REQUIRED_NUMBERS:
        if number not in by_number:
            result.findings.append(
                _error(where, f"migration {number:03d} of the seed's 017-021 is missing from {where}")
            )
    names_in_text_order = [p.name for p in sorted(p for ps in by_number.values() for p in ps)]
    names_in_number_order = [p.name for n in numbers for p in sorted(by_number[n])]
    if names_in_text_order != names_in_number_order:
        result.findings.append(
            _error(
                where,
                f"file names in {where} sort differently as text ({', '.join(names_in_text_order)}) than by number: "
                "a runner that sorts names applies them out of order. Next step: zero-pad every number to 3 digits",
            )
        )
    for number in numbers:
        for path in sorted(by_number[number]):
            rollback = rollback_by_name.pop(path.name, None)
            if rollback is None:
                result.findings.append(
                    _error(where, f"{path.name} has no rollback file rollback/{path.name} in {where}")
                )
            result.ordered.append(
                Migration(number, path, files[path], rollback, rollbacks[rollback] if rollback else None)
            )
    for name in sorted(rollback_by_name):
        if not any(name == p.name for p in files):
            result.findings.append(_error(where, f"rollback/{name} in {where} rolls back no migration"))
    return result


# -- schema -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    table: str
    name: str
    type: str
    nullable: bool
    default: str | None


@dataclass(frozen=True)
class Schema:
    """What a database holds in its ``public`` schema."""

    columns: tuple[Column, ...]
    indexes: Mapping[str, str]  # index name -> definition
    objects: frozenset[str]  # every relation, type, function and constraint, as "kind name"

    def tables(self) -> dict[str, dict[str, Column]]:
        tables: dict[str, dict[str, Column]] = {}
        for column in self.columns:
            tables.setdefault(column.table, {})[column.name] = column
        return tables


def compare_schema(
    schema: Schema, expected_indexes: Sequence[str], where: str
) -> tuple[list[dict[str, object]], list[Finding]]:
    """Rows of the schema table and the findings: every expected table, column and index exists."""
    rows: list[dict[str, object]] = []
    findings: list[Finding] = []
    tables = schema.tables()
    for table, expected in EXPECTED_TABLES.items():
        actual = tables.get(table)
        if actual is None:
            findings.append(_error(table, f"table {table} does not exist after applying {where}"))
            rows.append({"table": table, "column": "(table)", "verdict": "fail", "note": "missing table"})
            continue
        missing = [c for c in expected if c not in actual]
        for name in expected:
            column = actual.get(name)
            if column is None:
                rows.append({"table": table, "column": name, "verdict": "fail", "note": "missing"})
                continue
            rows.append(
                {
                    "table": table,
                    "column": name,
                    "type": column.type,
                    "nullable": column.nullable,
                    "default": column.default or "",
                    "verdict": "pass",
                }
            )
        if missing:
            findings.append(
                _error(
                    table,
                    f"table {table} lacks column(s) {', '.join(missing)} of the seed's expected schema "
                    f"after applying {where}; it has {', '.join(sorted(actual))}",
                )
            )
    for index in expected_indexes:
        present = index in schema.indexes
        rows.append(
            {
                "table": "(index)",
                "column": index,
                "type": schema.indexes.get(index, ""),
                "verdict": "pass" if present else "fail",
            }
        )
        if not present:
            findings.append(_error(index, f"index {index} does not exist after applying {where}"))
    return rows, findings


def leftovers(before: Schema, after: Schema, where: str) -> list[Finding]:
    """Anything the rollback left behind (or removed) compared with the schema before 017."""
    left = sorted(after.objects - before.objects)
    lost = sorted(before.objects - after.objects)
    findings = []
    if left:
        findings.append(
            _error(
                where,
                f"after the rollback files of {where} ran in reverse order, {len(left)} object(s) are left: "
                f"{', '.join(left[:20])}. Next step: make the rollback drop what its migration created",
            )
        )
    if lost:
        findings.append(
            _error(where, f"the rollback of {where} removed object(s) that existed before 017: {', '.join(lost[:20])}")
        )
    return findings


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def _error(subject: str, message: str) -> Finding:
    return Finding(CHECK_ID, subject, "error", message)
