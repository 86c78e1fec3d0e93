"""PU-MIG: migrations 017-021 apply in order, give the seed's schema, and roll back to nothing.

The files are checked first (numbers, order, rollbacks); then they are rehearsed on an empty
database of this worker: prerequisites, 017-021 in order, schema introspected, rollbacks in
reverse, and the schema compared with the one before 017. A live database (``[pou]
database_url``) is only read, inside a read-only transaction.
"""

import pytest

from signoff.checks import Finding, pou_migrations
from signoff.target import PouSettings

CHECK_ID = pou_migrations.CHECK_ID
pytestmark = [pytest.mark.e2e_pou, pytest.mark.migrations]


def _plan(pou_settings: PouSettings):
    from signoff.pou.migrations import discover

    if pou_settings.migrations is None:
        pytest.fail(
            "[pou] migrations is not set: PU-MIG has nothing to rehearse. Next step: point it at the "
            "directory holding 017-021",
            pytrace=False,
        )
    return discover(pou_settings.migrations)


def test_pu_mig_files(pou_settings: PouSettings, evidence) -> None:
    plan = _plan(pou_settings)
    for order, migration in enumerate(plan.ordered, 1):
        evidence.row(
            "PU-MIG-files",
            {
                "order": f"{order:03d}",
                "file": migration.label,
                "rollback": migration.rollback.name if migration.rollback else "MISSING",
                "step": "apply",
                "verdict": "pass" if migration.rollback else "fail",
            },
        )
    evidence.attach("apply_order", [m.label for m in plan.ordered])
    evidence.check(plan.findings)


def test_pu_mig_rehearsal(pou_settings: PouSettings, pou_scratch: str, evidence) -> None:
    import psycopg

    from signoff.pou.migrations import MigrationError, apply_all, discover, introspect, rollback_all

    plan = _plan(pou_settings)
    findings: list[Finding] = []
    with psycopg.connect(pou_scratch) as conn:
        try:
            if pou_settings.prerequisites is not None:
                apply_all(conn, discover(pou_settings.prerequisites).ordered)
            before = introspect(conn)
            apply_all(conn, plan.ordered)
            after = introspect(conn)
            rows, problems = pou_migrations.compare_schema(after, pou_settings.expected_indexes, "017-021")
            findings.extend(problems)
            for order, row in enumerate(rows):
                evidence.row("PU-MIG", {"order": f"{order:04d}", **row})
            rollback_all(conn, plan.ordered)
            findings.extend(pou_migrations.leftovers(before, introspect(conn), "017-021"))
        except MigrationError as exc:
            findings.append(Finding(CHECK_ID, "migrations", "error", str(exc)))
    evidence.attach("tables_after_apply", sorted(after.tables()) if "after" in locals() else [])
    evidence.check(findings)


def test_pu_mig_live_schema(pou_settings: PouSettings, evidence) -> None:
    """Against a live database: the same schema comparison, read-only."""
    if pou_settings.database_url is None:
        evidence.attach("live_database", "not configured ([pou] database_url): the rehearsal above is the check")
        return
    import psycopg

    from signoff.pou.database import DatabaseError, check_reachable
    from signoff.pou.migrations import introspect

    try:
        check_reachable(pou_settings.database_url)
    except DatabaseError as exc:
        pytest.fail(str(exc), pytrace=False)
    with psycopg.connect(pou_settings.database_url) as conn:
        conn.read_only = True
        schema = introspect(conn)
    rows, findings = pou_migrations.compare_schema(schema, pou_settings.expected_indexes, "the live database")
    for order, row in enumerate(rows):
        evidence.row("PU-MIG", {"order": f"live-{order:04d}", **row, "note": "live (read-only)"})
    evidence.check(findings)
