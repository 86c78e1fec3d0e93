"""FL-MIG: the application's SQL migrations (``[migrations] path``), as files and rehearsed.

The files first: one apply order (numbers or Prisma timestamps, no two with one number, names that
sort as they apply), no name used twice, no rollback in the apply set. Then, on a scratch database
of a throwaway PostgreSQL: everything before the release applies, the release applies, and its
rollback (down migrations, else restoring a pg_dump taken before the release) leaves the schema
exactly as it was. Where a runner could read the files in another order, that order is rehearsed
too and must give the same schema. The same rules and rehearsal as the broker's PU-MIG.
"""

from dataclasses import replace

import pytest

from signoff.errors import ConfigError, SignoffError
from signoff.findings import Finding
from signoff.flows import migrations as app
from signoff.session import SessionSettings
from signoff.suite import not_applicable

CHECK_ID = app.CHECK_ID
pytestmark = [pytest.mark.e2e_flows, pytest.mark.app_migrations]


def _folder(signoff_settings: SessionSettings) -> tuple[app.MigrationSettings, app.Folder]:
    settings = signoff_settings.migrations
    if settings is None:
        not_applicable(
            f"no [migrations] in {signoff_settings.target.path}: the application's SQL migrations are not "
            'rehearsed. To rehearse them, add [migrations] path = "prisma/migrations" (or a folder of NNN_name.sql)'
        )
    try:
        return settings, app.discover(settings.path, settings.include, settings.exclude, settings.order)
    except ConfigError as exc:
        pytest.fail(str(exc), pytrace=False)


def _ours(findings: list[Finding]) -> list[Finding]:
    return [replace(f, check=CHECK_ID) for f in findings]


def test_fl_mig_files(signoff_settings: SessionSettings, evidence) -> None:
    settings, folder = _folder(signoff_settings)
    _, release = app.split_release(folder.plan.ordered, settings.release)
    for order, migration in enumerate(folder.plan.ordered, 1):
        evidence.row(
            CHECK_ID,
            {
                "order": f"{order:04d}",
                "migration": migration.label,
                "step": "apply" + (" (this release)" if migration in release else ""),
                "rollback": migration.rollback.name if migration.rollback else "",
                "observed": "",
                "verdict": "pass",
            },
        )
    evidence.attach("layout", folder.layout)
    evidence.attach("apply_order", [m.label for m in folder.plan.ordered])
    evidence.check(folder.plan.findings)


def test_fl_mig_rehearsal(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    import psycopg

    from signoff.pou.migrations import MigrationError, apply_all, introspect, rollback_all
    from signoff.pou.migrations_check import schema_differences

    settings, folder = _folder(signoff_settings)
    earlier, release = app.split_release(folder.plan.ordered, settings.release)
    url = _database(request, "signoff_app")
    downs = bool(release) and all(m.rollback_sql is not None for m in release)
    how = "its down migrations, in reverse" if downs else "restoring a pg_dump taken before it"
    evidence.attach("rollback", f"the release ({', '.join(m.label for m in release)}) rolled back by {how}")
    findings: list[Finding] = []
    rows: list[dict[str, object]] = []
    try:
        with psycopg.connect(url) as conn:
            apply_all(conn, earlier)
            before = introspect(conn)
            dump = None if downs else app.dump_schema(url)
            apply_all(conn, release)
            applied = introspect(conn)
            rows += [{"migration": m.label, "step": "apply", "observed": "applied"} for m in folder.plan.ordered]
            if downs:
                rollback_all(conn, release)
            else:
                assert dump is not None
                app.restore_schema(conn, dump)
            after = introspect(conn)
    except (MigrationError, SignoffError) as exc:
        evidence.check([Finding(CHECK_ID, str(settings.path), "error", f"{exc}. Next step: fix it, then run again")])
        return
    differences = schema_differences(before, after)
    rows.append(
        {
            "migration": ", ".join(m.label for m in release),
            "step": f"roll back by {how}",
            "observed": "schema as before" if not differences else f"{len(differences)} difference(s)",
        }
    )
    for order, row in enumerate(rows, 1):
        last = order == len(rows)
        evidence.row(
            f"{CHECK_ID}-rehearsal",
            {"order": f"{order:04d}", **row, "verdict": "fail" if last and differences else "pass"},
        )
    evidence.attach("tables_after_release", sorted(applied.tables()))
    if differences:
        shown = "; ".join(differences[:12]) + (f"; and {len(differences) - 12} more" if len(differences) > 12 else "")
        findings.append(
            Finding(
                CHECK_ID,
                str(settings.path),
                "error",
                f"rolling back the release ({', '.join(m.label for m in release)}) by {how} does not leave the "
                f"schema as it was before it (before vs after): {shown}. Next step: make the rollback undo exactly "
                "what the release does",
            )
        )
    evidence.check(findings)


def test_fl_mig_order_independent(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    from signoff.pou.migrations import MigrationError, rehearse, rehearse_orders
    from signoff.pou.migrations_check import other_read_orders

    settings, folder = _folder(signoff_settings)
    ordered = folder.plan.ordered
    others = other_read_orders(ordered)
    if not others:
        evidence.attach(
            "order_rehearsal",
            "every migration has its own number and the names sort as they apply: any runner reads one order",
        )
        return
    url = _database(request, "signoff_app_ord")
    try:
        baseline = rehearse(url, [], ordered)
    except MigrationError as exc:
        pytest.fail(
            f"the numbered order of {settings.path} does not apply ({exc}), so other read orders cannot be compared "
            "with it. Next step: fix the migration (test_fl_mig_rehearsal shows it)",
            pytrace=False,
        )
    findings: list[Finding] = []
    for result in rehearse_orders(url, [], ordered, others, baseline=baseline, where=str(settings.path)):
        findings += _ours(result.findings)
        evidence.attach(
            f"order_{result.letter}", {"reader": result.description, "files": [m.label for m in result.order]}
        )
    evidence.check(findings)


def _database(request: pytest.FixtureRequest, prefix: str) -> str:
    """An empty database of this worker on the run's throwaway server (removed with the server)."""
    from signoff.pou.database import create_database

    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    name = f"{prefix}_" + ("".join(ch for ch in str(worker).lower() if ch.isalnum()) or "main")
    try:
        return create_database(request.getfixturevalue("scratch_server"), name)
    except SignoffError as exc:
        pytest.fail(str(exc), pytrace=False)
