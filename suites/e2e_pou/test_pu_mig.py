"""PU-MIG: migrations 017-021 apply in order, give the seed's schema, and roll back to nothing.

The files are checked first (numbers, order, rollbacks); then they are rehearsed on an empty
database of this worker: prerequisites, 017-021 in order, schema introspected (names, and the
types, nullability and defaults ``[pou.schema]`` declares), rollbacks in reverse, and the schema
compared with the one before 017. Where a runner could read the files in another order (two
files of one integer number, names that sort differently as text), that order is rehearsed on
further databases of the same server and its schema must equal the numbered order's. A live
database (``[pou] database_url``) is only read, inside a read-only transaction.
"""

import pytest

from signoff.findings import Finding
from signoff.pou import migrations_check as pou_migrations
from signoff.target import PouSettings

CHECK_ID = pou_migrations.CHECK_ID
pytestmark = [pytest.mark.e2e_pou, pytest.mark.migrations]


def _declared(pou_settings: PouSettings, evidence) -> dict[str, dict[str, pou_migrations.ColumnSpec]]:
    declared = pou_migrations.declared_schema(pou_settings.schema)
    seed_tables = pou_migrations.EXPECTED_TABLES if pou_settings.seed_schema else {}
    undeclared = [t for t in seed_tables if t not in declared]
    evidence.attach(
        "schema_declaration",
        {
            "expectation": "the seed's 017-021 tables, columns and indexes, and [pou.schema]"
            if pou_settings.seed_schema
            else "only what [pou.schema] and [pou] expected_indexes declare ([pou] seed_schema = false)",
            "declared_tables": sorted(declared),
            "types_not_declared": undeclared,
            "note": "tables without [pou.schema.<table>]: column names checked, types, nullability and defaults not "
            "declared"
            if undeclared
            else "every seed table declared: names, types, nullability and defaults checked",
        },
    )
    return declared


def _plan(pou_settings: PouSettings):
    from signoff.pou.migrations import discover

    if pou_settings.migrations is None:
        pytest.fail(
            "[pou] migrations is not set: PU-MIG has nothing to rehearse. Next step: point it at the "
            "directory holding 017-021",
            pytrace=False,
        )
    rules = pou_migrations.SEED_RULES if pou_settings.seed_schema else pou_migrations.Rules(required=())
    return discover(
        pou_settings.migrations,
        pou_settings.migrations_include,
        pou_settings.migrations_exclude,
        pou_settings.migrations_order,
        groups=pou_settings.migrations_rollbacks,
        prerequisites=pou_settings.migrations_prerequisites,
        rules=rules,
    )


def test_pu_mig_files(pou_settings: PouSettings, evidence) -> None:
    plan = _plan(pou_settings)
    for order, migration in enumerate(plan.prerequisites, 1):
        evidence.row(
            "PU-MIG-files",
            {
                "order": f"p{order:03d}",
                "file": migration.label,
                "rollback": "",
                "step": "prerequisite (migrations_prerequisites): applied first, not judged",
                "verdict": "pass",
            },
        )
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
    applied = pou_migrations.applied_range(plan.ordered)  # what this folder holds, named in the messages
    findings: list[Finding] = []
    with psycopg.connect(pou_scratch) as conn:
        try:
            if pou_settings.prerequisites is not None:
                apply_all(conn, discover(pou_settings.prerequisites).ordered)
            apply_all(conn, plan.prerequisites)  # named in [pou] migrations_prerequisites
            before = introspect(conn)
            apply_all(conn, plan.ordered)
            after = introspect(conn)
            rows, problems = pou_migrations.compare_schema(
                after,
                pou_settings.expected_indexes,
                applied,
                _declared(pou_settings, evidence),
                seed=pou_settings.seed_schema,
            )
            findings.extend(problems)
            for order, row in enumerate(rows):
                evidence.row("PU-MIG", {"order": f"{order:04d}", **row})
            rollback_all(conn, plan.ordered)
            findings.extend(pou_migrations.leftovers(before, introspect(conn), applied))
        except MigrationError as exc:
            findings.append(Finding(CHECK_ID, "migrations", "error", str(exc)))
    evidence.attach("tables_after_apply", sorted(after.tables()) if "after" in locals() else [])
    evidence.check(findings)


def test_pu_mig_order_independent(pou_settings: PouSettings, request: pytest.FixtureRequest, evidence) -> None:
    """The schema does not depend on the order the files happen to be read."""
    from signoff.pou.migrations import MigrationError, discover, rehearse, rehearse_orders

    plan = _plan(pou_settings)
    others = pou_migrations.other_read_orders(plan.ordered)
    evidence.attach("numbered_order", [m.label for m in plan.ordered])
    if not others:
        evidence.attach(
            "order_rehearsal",
            "every file has its own number and the names sort as the numbers do: any runner reads one order, "
            "so there is no other order to rehearse",
        )
        return
    prerequisites = discover(pou_settings.prerequisites).ordered if pou_settings.prerequisites else []
    prerequisites += plan.prerequisites
    url = _second_database(request)
    try:
        baseline = rehearse(url, prerequisites, plan.ordered)
    except MigrationError as exc:
        pytest.fail(
            f"the numbered order of {pou_settings.migrations} does not apply ({exc}), so the other read orders "
            "cannot be compared with it. Next step: fix the migration (test_pu_mig_rehearsal shows it)",
            pytrace=False,
        )
    findings: list[Finding] = []
    rehearsed: list[dict[str, object]] = []
    for result in rehearse_orders(
        url, prerequisites, plan.ordered, others, baseline=baseline, where=pou_migrations.applied_range(plan.ordered)
    ):
        findings.extend(result.findings)
        for position, migration in enumerate(result.order, 1):
            evidence.row(
                "PU-MIG-files",
                {
                    "order": f"{result.letter}-{position:03d}",
                    "file": migration.label,
                    "rollback": "",
                    "step": f"apply, order {result.letter}: {result.description}",
                    "verdict": "fail" if result.findings else "pass",
                },
            )
        rehearsed.append(
            {
                "order": result.letter,
                "reader": result.description,
                "files": [m.label for m in result.order],
                "failure": result.failure,
                "differences": result.differences,
            }
        )
    evidence.attach("order_rehearsal", rehearsed)
    evidence.check(findings)


def _second_database(request: pytest.FixtureRequest) -> str:
    """A second database of this worker on the run's throwaway server, for the read orders.

    Not dropped: DROP DATABASE forces a checkpoint (about a second on a busy machine), and the
    server is deleted with everything in it when the session ends.
    """
    from signoff.pou.database import create_database

    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    name = "signoff_ord_" + ("".join(ch for ch in str(worker).lower() if ch.isalnum()) or "main")
    return create_database(request.getfixturevalue("pou_server"), name)


def test_pu_mig_live_schema(pou_settings: PouSettings, evidence) -> None:
    """Against a live database: the same schema comparison, read-only."""
    if pou_settings.database_url is None and pou_settings.url is not None:
        from signoff.redaction import display_url

        pytest.skip(
            f"not checked: the schema of the live broker's database ({display_url(pou_settings.url)}) - [pou] "
            "database_url is not set, and the broker's API does not show its schema; the rehearsal of [pou] "
            'migrations on a throwaway database ran. Next step: database_url = "${DATABASE_URL}" (read only)'
        )
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
    rows, findings = pou_migrations.compare_schema(
        schema,
        pou_settings.expected_indexes,
        "the live database",
        _declared(pou_settings, evidence),
        seed=pou_settings.seed_schema,
    )
    for order, row in enumerate(rows):
        evidence.row("PU-MIG", {"order": f"live-{order:04d}", **row, "note": "live (read-only)"})
    evidence.check(findings)
