"""Migration rehearsal on a throwaway database: discover, apply in order, introspect, roll back.

The order and naming rules, and what counts as a correct schema, live in
:mod:`signoff.pou.migrations_check`; this module does the I/O. Column types come from
``format_type`` and defaults from ``pg_get_expr`` (PostgreSQL's own spelling, with type
modifiers such as ``numeric(78,0)``), so a declaration can be compared with them exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from signoff.errors import ConfigError, SignoffError
from signoff.findings import Finding
from signoff.pou.migrations_check import (
    SEED_RULES,
    Column,
    Migration,
    Plan,
    Rules,
    Schema,
    order_findings,
    plan,
    schema_differences,
)
from signoff.redaction import redact

if TYPE_CHECKING:
    import psycopg


class MigrationError(SignoffError):
    """A migration or rollback file failed to run; the message names the file and the error."""


def discover(
    directory: Path,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    order: Path | None = None,
    *,
    groups: tuple[str, ...] = (),
    prerequisites: tuple[str, ...] = (),
    rules: Rules = SEED_RULES,
) -> Plan:
    """The apply set of ``directory`` (the files ``include`` and ``exclude`` leave) and its rollbacks,
    ordered and checked; in the team's own order when ``order`` names its migrate script.

    Rollbacks are ``rollback/NNN_name.sql`` per migration, or, where ``groups`` gives globs, group
    rollback files in the same folder, each undoing the range of numbers its name spells
    (``rollback_004_006_pou.sql``: 004 to 006). ``prerequisites`` (globs) name files of the folder the
    set depends on: they are applied first and not judged. Any other file left out is a warning."""
    from fnmatch import fnmatch

    def grouped(name: str) -> bool:
        return any(fnmatch(name, g) for g in groups)

    def needed(name: str) -> bool:
        return any(fnmatch(name, g) for g in prerequisites)

    paths = sorted(directory.glob("*.sql"))
    files = {
        p: p.read_text(encoding="utf-8")
        for p in paths
        if chosen(p.name, include, exclude) and not grouped(p.name) and not needed(p.name)
    }
    first = {p: p.read_text(encoding="utf-8") for p in paths if needed(p.name) and not grouped(p.name)}
    left_out = [p.name for p in paths if p not in files and p not in first and not grouped(p.name)]
    if groups:
        group_files = {p: p.read_text(encoding="utf-8") for p in paths if grouped(p.name)}
        found = plan(files, {}, str(directory), replace(rules, rollback_required=False))
        found = with_group_rollbacks(found, group_files, str(directory), rules)
    else:
        rollback_dir = directory / "rollback"
        rollbacks = {p: p.read_text(encoding="utf-8") for p in sorted(rollback_dir.glob("*.sql"))}
        found = plan(files, rollbacks, str(directory), rules)
    if first:
        loose = replace(rules, required=(), gaps=False, rollback_required=False)
        found.prerequisites = plan(first, {}, str(directory), loose).ordered
    for name in left_out:
        found.findings.append(
            Finding(
                rules.check_id,
                name,
                "warning",
                f"{name} in {directory} is not applied (left out by migrations_include / migrations_exclude). If the "
                "migrations need it, name it in [pou] migrations_prerequisites; if it is obsolete, remove it",
            )
        )
    return found if order is None else scripted(found, order, str(directory), rules.check_id)


def with_group_rollbacks(found: Plan, groups: Mapping[Path, str], where: str, rules: Rules) -> Plan:
    """Pair each migration with the group rollback whose range covers its number. The group's SQL runs
    once, when the rollback reaches the newest migration of its range (so groups undo newest first);
    a migration no group covers, or two groups cover, is a finding."""
    covers: dict[Path, range] = {}
    for path in sorted(groups):
        numbers = [int(n) for n in re.findall(r"\d+", path.name)]
        if not numbers:
            found.findings.append(
                Finding(
                    rules.check_id,
                    where,
                    "error",
                    f"group rollback {path.name} in {where} names no migration "
                    "number, so what it undoes is unknown. Next step: name its range, e.g. rollback_004_006.sql",
                )
            )
            continue
        covers[path] = range(min(numbers), max(numbers) + 1)
    ordered: list[Migration] = []
    for migration in found.ordered:
        owners = [path for path, span in covers.items() if migration.number in span]
        if len(owners) > 1:
            found.findings.append(
                Finding(
                    rules.check_id,
                    migration.label,
                    "error",
                    f"{migration.label} is undone by "
                    f"{len(owners)} group rollbacks ({', '.join(p.name for p in owners)}): a rollback would "
                    "drop it twice. Next step: make the ranges in their names disjoint",
                )
            )
        if not owners:
            if rules.rollback_required:
                found.findings.append(
                    Finding(
                        rules.check_id,
                        migration.label,
                        "error",
                        f"{migration.label} has no group rollback "
                        f"in {where} whose range covers {migration.version} (group rollbacks: "
                        f"{', '.join(p.name for p in covers) or 'none'}). Next step: write one, or widen a range",
                    )
                )
            ordered.append(migration)
            continue
        owner = owners[0]
        newest = max(m.number for m in found.ordered if m.number in covers[owner])
        runs_here = migration.number == newest
        ordered.append(replace(migration, rollback=owner, rollback_sql=groups[owner] if runs_here else None))
    found.ordered = ordered
    return found


def chosen(name: str, include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    """Whether a migration ``name`` is in the set: matched by an ``include`` glob (or none given) and by
    no ``exclude`` glob."""
    from fnmatch import fnmatch

    return (not include or any(fnmatch(name, g) for g in include)) and not any(fnmatch(name, g) for g in exclude)


def scripted(found: Plan, script: Path, where: str, check_id: str) -> Plan:
    """``found`` in the order the team's migrate script names its migrations (each name's first
    mention), with a finding where that order differs from the numbers' and one for each migration the
    script never names (no runner of theirs applies it)."""
    try:
        text = script.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{script} cannot be read as UTF-8 text ({exc}). Next step: fix the file") from None
    by_label = {m.label: m for m in found.ordered}
    positions = {}
    for label in by_label:
        stem = label.removesuffix(".sql")
        match = re.search(rf"(?<![A-Za-z0-9_]){re.escape(stem)}(?![A-Za-z0-9_])", text)
        if match:
            positions[label] = match.start()
    in_script = sorted(positions, key=positions.__getitem__)
    numbered = [m.label for m in found.ordered if m.label in positions]
    findings = list(found.findings)
    if in_script != numbered:
        first = next(i for i, (a, b) in enumerate(zip(in_script, numbered, strict=True)) if a != b)
        findings.append(
            Finding(
                check_id,
                where,
                "error",
                f"{script.name} applies {in_script[first]} where the numbers put {numbered[first]} (script order: "
                f"{', '.join(in_script)}): the order a fresh database gets differs from the order the files "
                "claim. Next step: make the script follow the numbers, or renumber the files as the script runs them",
            )
        )
    missing = [m.label for m in found.ordered if m.label not in positions]
    if missing:
        them = "it" if len(missing) == 1 else "them"
        findings.append(
            Finding(
                check_id,
                where,
                "warning",
                f"{script.name} never names {', '.join(missing)}: the team's migrate script does not apply {them}, "
                f"so the rehearsal leaves {them} out. Next step: add {them} to the script, or exclude {them} "
                "([migrations] exclude)",
            )
        )
    return Plan([by_label[label] for label in in_script], findings)


def apply_all(conn: psycopg.Connection[tuple[object, ...]], migrations: Sequence[Migration]) -> None:
    """Apply each file in its own transaction, in the order given."""
    for migration in migrations:
        _run(conn, migration.sql, migration.label)


def rollback_all(conn: psycopg.Connection[tuple[object, ...]], migrations: Sequence[Migration]) -> None:
    """Run the rollback files in reverse order of ``migrations``."""
    for migration in reversed(migrations):
        if migration.rollback_sql is not None and migration.rollback is not None:
            where = migration.rollback.parent.name
            _run(conn, migration.rollback_sql, f"{where}/{migration.rollback.name}")


_TRANSACTION_CONTROL = re.compile(
    r"^\s*(BEGIN|START\s+TRANSACTION|COMMIT)(\s+(WORK|TRANSACTION))?\s*;", re.IGNORECASE | re.MULTILINE
)
_DOLLAR_QUOTED = re.compile(r"\$(\w*)\$.*?\$\1\$", re.DOTALL)  # function bodies: their BEGIN is PL/pgSQL's


def controls_its_transaction(sql: str) -> bool:
    """A file that says BEGIN; ... COMMIT; itself (as psql runs it) must not be wrapped in another transaction."""
    return bool(_TRANSACTION_CONTROL.search(_DOLLAR_QUOTED.sub("", re.sub(r"--[^\n]*", "", sql))))


def _run(conn: psycopg.Connection[tuple[object, ...]], sql: str, label: str) -> None:
    """Run one file as psql would: in a transaction of its own, or, when the file controls its own
    transaction (BEGIN ... COMMIT), as it is, in autocommit mode."""
    import psycopg

    try:
        if controls_its_transaction(sql):
            conn.commit()  # nothing is pending but a read (introspection); autocommit needs an idle connection
            conn.autocommit = True
            try:
                conn.execute(sql.encode())
            finally:
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.execute(b"ROLLBACK")  # a file that began a transaction and failed before its COMMIT
                conn.autocommit = False
            return
        with conn.transaction():
            conn.execute(sql.encode())  # bytes: a whole file, several statements, no parameters
    except psycopg.Error as exc:
        raise MigrationError(redact(f"{label} failed: {str(exc).strip()}")) from None


def rehearse(url: str, prerequisites: Sequence[Migration], migrations: Sequence[Migration]) -> Schema:
    """Apply ``prerequisites`` then ``migrations`` (in the order given) on the empty database at
    ``url``; the schema they produce. :class:`MigrationError` names the file that failed."""
    import psycopg

    with psycopg.connect(url) as conn:
        apply_all(conn, prerequisites)
        apply_all(conn, migrations)
        return introspect(conn)


def wipe(url: str) -> None:
    """Empty the ``public`` schema of one of signoff's own throwaway databases (cheaper than a new
    database: ``CREATE DATABASE`` copies a template). Never call it with a user's database URL."""
    import psycopg

    with psycopg.connect(url) as conn:
        _run(conn, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public", "resetting the scratch schema")


def introspect(conn: psycopg.Connection[tuple[object, ...]]) -> Schema:
    """Tables, columns, indexes and every other object of the ``public`` schema (read-only)."""
    columns = tuple(
        Column(str(t), str(c), str(ty), not notnull, None if d is None else str(d))
        for t, c, ty, notnull, d in conn.execute(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
            "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 "
            "AND NOT a.attisdropped ORDER BY c.relname, a.attnum"
        ).fetchall()
    )
    constraints = {
        str(name): str(definition)
        for name, definition in conn.execute(
            "SELECT conrelid::regclass::text || '.' || conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'"
        ).fetchall()
    }
    indexes = {
        str(name): str(definition)
        for name, definition in conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        ).fetchall()
    }
    objects: set[str] = set()
    for kind, name in conn.execute(
        "SELECT c.relkind::text, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' "
        "UNION ALL SELECT 'constraint', conrelid::regclass::text || '.' || conname FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' "
        "UNION ALL SELECT 'type', typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0 "
        "UNION ALL SELECT 'function', p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public'"
    ).fetchall():
        objects.add(f"{_KINDS.get(str(kind), str(kind))} {name}")
    objects.update(f"column {c.table}.{c.name}" for c in columns)
    return Schema(columns, indexes, frozenset(objects), constraints)


_KINDS = {"r": "table", "i": "index", "S": "sequence", "v": "view", "m": "materialized view", "c": "type"}


@dataclass(frozen=True)
class OrderRehearsal:
    letter: str  # B, C, ...: the numbered order is A
    description: str  # the runner that would read this order
    order: list[Migration]
    failure: str | None
    differences: list[str]
    findings: list[Finding]


def rehearse_orders(
    url: str,
    prerequisites: Sequence[Migration],
    ordered: Sequence[Migration],
    others: Sequence[tuple[str, list[Migration]]],
    *,
    baseline: Schema,
    where: str,
) -> list[OrderRehearsal]:
    """Apply each other read order on the emptied database at ``url`` and compare its schema with
    ``baseline`` (the numbered order's): PU-MIG and FL-MIG alike."""
    results = []
    for letter, (description, order) in zip("BCDEFG", others, strict=False):
        failure, differences = None, None
        try:
            wipe(url)
            differences = schema_differences(baseline, rehearse(url, prerequisites, order))
        except MigrationError as exc:
            failure = str(exc)
        findings = order_findings(ordered, description, order, differences=differences, failure=failure, where=where)
        results.append(OrderRehearsal(letter, description, order, failure, differences or [], findings))
    return results
