"""e2e_pou on the real suite: the reference broker passes everything; each broken variant and
each defective migration set makes exactly the intended checks fail, with the intended message.
Plus unit tests of the pure PU-* checks (migration order rules, quorum model, EWMA)."""

from __future__ import annotations

from pathlib import Path

import pytest

from signoff.pou import migrations_check as pou_migrations
from signoff.pou.quorum import QuorumModel, expected_committee
from signoff.pou.reputation import ewma_findings
from tests.conftest import FIXTURES, SuiteRun, two_at_a_time

DEFECTIVE = FIXTURES / "defective"


# -- pure checks ----------------------------------------------------------------------------------


def _files(*names: str, sql: str = "CREATE TABLE x (a int);") -> dict[Path, str]:
    return {Path(name): sql for name in names}


def test_plan_orders_numerically_and_pairs_rollbacks() -> None:
    files = _files("017_a.sql", "018_b.sql", "019_c.sql", "020_d.sql", "021_e.sql")
    rollbacks = _files(*(f"rollback/{p.name}" for p in files), sql="DROP TABLE x;")
    plan = pou_migrations.plan(files, rollbacks, "m")
    assert plan.findings == []
    assert [m.number for m in plan.ordered] == [17, 18, 19, 20, 21]
    assert all(m.rollback_sql == "DROP TABLE x;" for m in plan.ordered)


@pytest.mark.parametrize(
    ("names", "fragment"),
    [
        (
            ("017_a.sql", "018_b.sql", "018_c.sql", "019_d.sql", "020_e.sql", "021_f.sql"),
            "migration number 018 is used by 2",
        ),
        (("017_a.sql", "018_b.sql", "020_d.sql", "021_e.sql"), "no migration 019 between 018 and 020"),
        (("017_a.sql", "018_b.sql", "019_c.sql", "020_d.sql", "021_e.sql", "9_z.sql"), "sort differently as text"),
        (("017_a.sql", "018_b.sql", "019_c.sql", "020_d.sql", "021_e.sql", "022_down_e.sql"), "is a rollback"),
        (("017_a.sql", "018_b.sql", "019_c.sql", "020_d.sql", "021_e.sql", "README.sql"), "not named NNN_"),
    ],
)
def test_plan_findings(names: tuple[str, ...], fragment: str) -> None:
    files = _files(*names)
    rollbacks = _files(*(f"rollback/{n}" for n in names))
    findings = pou_migrations.plan(files, rollbacks, "m").findings
    messages = [f.message for f in findings]
    assert any(fragment in m for m in messages), messages
    assert all("Next step:" in f.message for f in findings if f.is_error), messages


def test_plan_findings_on_rollbacks_say_their_next_step() -> None:
    names = ("017_a.sql", "018_b.sql", "019_c.sql", "020_d.sql")
    rollbacks = _files(*(f"rollback/{n}" for n in names[1:]), "rollback/016_old.sql")
    messages = [f.message for f in pou_migrations.plan(_files(*names), rollbacks, "m").findings if f.is_error]
    assert sorted(m.split(" in m")[0] for m in messages) == [
        "017_a.sql has no rollback file rollback/017_a.sql",
        "migration 021 of the seed's 017-021 is missing from m. Next step: add it (the deployment checklist applies "
        "all five)",
        "rollback/016_old.sql",
    ], messages
    assert all("Next step:" in m for m in messages), messages


def test_rollback_recognised_by_content() -> None:
    assert pou_migrations.looks_like_rollback("022_x.sql", "-- c\nDROP TABLE a;\nALTER TABLE b DROP COLUMN c;")
    assert not pou_migrations.looks_like_rollback("022_x.sql", "DROP INDEX a; CREATE INDEX a ON t(x);")


def test_quorum_model_counts_distinct_members_only() -> None:
    model = QuorumModel("c", "a", ["m1", "m2", "m3"], 2)

    def attest(did: str | None, kind: str) -> tuple[str, ...]:
        cases = model.expected_attestation(did, kind)
        if did is not None and "attest" in cases:
            model.accepted(did, kind)
        return cases

    assert attest("m1", "AUDIT_PASS") == ("attest",)
    assert attest("m1", "AUDIT_PASS") == ("duplicate",)
    assert attest("x", "AUDIT_PASS") == ("unauthorized",)
    assert attest("c", "ACCEPTED") == ("attest",)
    assert attest("m2", "AUDIT_FAIL") == ("attest",)
    assert attest(None, "ACCEPTED") == ("no_did",)
    assert model.expected_finalize() == ("quorum_not_met", {"needed": 2, "have": 1})
    assert model.allowed_statuses() == {"pending"}
    assert attest("m3", "AUDIT_PASS") == ("attest",)
    assert model.allowed_statuses() == {"pending", "finalized"}
    assert attest("m2", "AUDIT_PASS") == ("attest", "finalized")  # the finalizer may have been first
    assert model.expected_finalize() == ("finalize", {})
    assert model.allowed_statuses() == {"finalized"}
    assert attest("x", "AUDIT_PASS") == ("unauthorized", "finalized")  # refused either way


def test_committee_excludes_parties_and_takes_top_m() -> None:
    trust = {"c": 0.99, "a": 0.98, "x": 0.5, "y": 0.7, "z": 0.6, "w": 0.6}
    assert expected_committee(trust, 3, "c", "a") == ["y", "w", "z"]
    assert expected_committee(trust, 10, "c", "a") == ["y", "w", "z", "x"]


def test_ewma_model() -> None:
    before = {d: 0.5 for d in "qtrsvie"} | {"updated_at": "2026-01-01T00:00:00+00:00"}
    after = before | {"q": 0.6, "updated_at": "2026-01-01T00:00:01+00:00"}
    rows, findings = ewma_findings(before, after, {"q": 1.0})
    assert findings == [] and len(rows) == 8
    _, findings = ewma_findings(before, before, {"q": 1.0})
    assert {f.subject for f in findings} == {"q", "updated_at"}


# -- the real suite on the reference broker and on each defect ---------------------------------------


def _failed(run: SuiteRun) -> set[str]:
    return {name for name, outcome in run.outcomes().items() if outcome not in ("passed", "skipped")}


# The reference broker does not verify signatures: said once, as not applicable, with the key.
NOT_APPLICABLE_ON_THE_REFERENCE = {"test_pu_att_bad_signature_refused"}


def reference_broker_signed_off(run: SuiteRun) -> None:
    """What `pytest -m e2e_pou` on the bundled reference broker shows. Checked on the README's own run
    of that command (tests/test_readme_commands.py, CLAIMS): one run of the suite, not two."""
    assert run.result.ret == 0, run.output
    evidence = run.evidence()
    assert _failed(run) == set()
    skipped = {name for name, outcome in run.outcomes().items() if outcome == "skipped"}
    assert skipped == NOT_APPLICABLE_ON_THE_REFERENCE, run.output
    assert "[pou.dialect] sign_attestations = true" in run.output
    assert len(run.outcomes()) >= 25
    tables = evidence["tables"]
    schema = {(r["table"], r["column"]) for r in tables["PU-MIG"]["rows"]}
    assert ("task_receipts", "committee") in schema and ("(index)", "idx_task_receipts_committee") in schema
    assert len(tables["PU-QRM-model"]["rows"]) >= 6
    stateful = next(c for c in evidence["checks"] if c["nodeid"].endswith("test_pu_qrm_stateful"))
    assert stateful["data"]["examples_run"] >= 1
    text = run.all_report_text()
    assert "_owner:" not in text  # no database URL with its credentials anywhere


DEFECTS = {
    "pou-short-committee": (
        {"test_pu_api_settle_creates_pending_receipt", "test_pu_qrm_fewer_agents_than_m", "test_pu_qrm_stateful"},
        "committee size: expected 5 DIDs (7 eligible agents), found 3",
    ),
    "pou-outsider-audit-pass": (
        {"test_pu_att_audit_pass_only_from_committee", "test_pu_qrm_stateful"},
        "AUDIT_PASS from the outsider: AUDIT_PASS by outsider answered HTTP 201",
    ),
    "pou-duplicate-500": (
        {"test_pu_att_duplicate_is_409", "test_pu_qrm_stateful"},
        "duplicate AUDIT_PASS: the same again answered HTTP 500",
    ),
    "pou-finalizer-counts-outsiders": (
        {"test_pu_fin_never_below_quorum", "test_pu_fin_ignores_outsider_rows", "test_pu_qrm_stateful"},
        "job leaves it pending: expected pending after 0.80 s (3 intervals), found 'finalized'",
    ),
    "pou-finalizer-off": (
        {"test_pu_fin_finalizes_at_quorum_within_interval", "test_pu_qrm_stateful"},
        "finalized by the job: expected finalized within 1.20 s",
    ),
    "pou-reputation-frozen": (
        {"test_pu_rep_ewma"},
        "reputation after the first settlement: /api/reputation/{did} answered HTTP 404",
    ),
    "pou-notify-client-only": (
        {"test_pu_ws_both_parties_notified"},
        "agent notified: expected a message whose task_id is task",
    ),
    "pou-accepted-from-anyone": (
        {"test_pu_att_accepted_only_from_client", "test_pu_qrm_stateful"},
        "ACCEPTED from the outsider: ACCEPTED by outsider answered HTTP 201",
    ),
    "pou-score-unchecked": (
        {"test_pu_att_score_and_confidence_in_unit_interval"},
        "score=1.5 confidence=0.9: AUDIT_PASS by a member answered HTTP 201",
    ),
    # The broken broker hands a non-UUID id to PostgreSQL: it answers 500 or breaks off the
    # connection; either way the malformed-id check fails, without a traceback.
    # the cast error surfaces as a 500, or as a dropped connection ("... without an answer: a server fault,
    # as bad as a 5xx"), depending on when the broker's database connection notices: both are the defect
    # ... and the exception the broker logs for it fails PU-LOG (the same defect, seen in its output)
    "pou-task-id-500": ({"test_pu_att_malformed_ids_are_4xx", "test_pu_log_no_errors_and_jobs_scheduled"}, "5xx"),
    "pou-migration-duplicate-number": (
        {"test_pu_mig_files"},
        "migration number 020 is used by 2 files (020_add_task_receipts_notes.sql, "
        "020_update_task_receipts_status.sql)",
    ),
    "pou-migration-rollback-in-apply-set": (
        {"test_pu_mig_files"},
        "022_rollback_agent_stakes.sql in ",
    ),
}


@pytest.mark.parametrize("fixtures", two_at_a_time(sorted(DEFECTS)), ids="+".join)
def test_defects_fail_exactly_the_intended_checks(run_suite, fixtures: tuple[str, ...]) -> None:
    """Two defective brokers at a time (the odd one out joins the last pair): a run spends most of its
    time waiting on its broker (the finalizer's windows, a notification that never comes), so two
    share a core."""
    runs = run_suite.together(*((["-m", "e2e_pou"], DEFECTIVE / fixture / "signoff.toml") for fixture in fixtures))
    for fixture, run in zip(fixtures, runs, strict=True):
        expected, message = DEFECTS[fixture]
        assert run.result.ret == 1, f"{fixture}: {run.output}"
        assert _failed(run) == expected, f"{fixture}: {run.output}"
        assert message in run.output, f"{fixture}: {run.output}"
        failed = [c for c in run.evidence()["checks"] if c["outcome"] == "failed"]
        unsaid = [c["nodeid"] for c in failed if "Next step:" not in c["message"]]  # the report's "Next step"
        assert not unsaid, f"{fixture}: no next step in {unsaid}"


def test_stateful_failure_reports_the_shrunk_sequence(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "quorum", target=DEFECTIVE / "pou-outsider-audit-pass" / "signoff.toml")
    evidence = run.evidence()
    rows = evidence["tables"]["PU-QRM-counterexample"]["rows"]
    assert rows and rows[-1]["verdict"] == "fail"
    last = rows[-1]
    assert last["action"].startswith("AUDIT_PASS by") and (last["expected"], last["actual"]) == (
        "unauthorized 403",
        "201",
    ), rows
    assert rows[0]["action"].startswith("settle k=")
    for row in rows:  # a "member" is on the committee the broker answered (an empty one has only outsiders)
        if " by member " in row["action"]:
            assert row["action"].rsplit(" ", 1)[1] in rows[0]["actual"], rows
    # shrunk: settle, a few steps, the failing one (the budget is wall-clock seconds: on a loaded machine
    # it may stop a few steps above the minimum, still far below the unshrunk sequence)
    assert len(rows) <= 10, rows
    assert "minimal failing sequence (shrunk)" in run.output


# -- [pou] in the target file ---------------------------------------------------------------------


def _target_with(tmp_path: Path, pou: str) -> Path:
    reference = FIXTURES / "reference"
    path = tmp_path / "signoff.toml"
    path.write_text(f'[target]\nname = "t"\nartifacts = "{reference / "artifacts"}"\n\n[pou]\n{pou}\n')
    return path


def test_pou_table_rejects_unknown_keys_and_bad_variants(tmp_path: Path) -> None:
    from signoff.errors import ConfigError
    from signoff.target import load_target

    with pytest.raises(ConfigError, match=r"unknown key\(s\) qourum in \[pou\]"):
        load_target(_target_with(tmp_path, "qourum = 3"))
    with pytest.raises(ConfigError, match="Valid choices: correct, outsider-audit-pass"):
        load_target(_target_with(tmp_path, 'reference_variant = "nope"'))
    with pytest.raises(ConfigError, match="k = 4 is larger than m = 3"):
        load_target(_target_with(tmp_path, "k = 4\nm = 3"))


def test_the_notification_wait_is_the_team_s(tmp_path: Path) -> None:
    """PU-WS waits [pou] notify_timeout_seconds for each party's notification (a broker that notifies
    through a queue may need longer than the default 5 s)."""
    from signoff.target import load_target

    assert load_target(_target_with(tmp_path, "k = 3")).pou().notify_timeout_seconds == 5.0
    assert load_target(_target_with(tmp_path, "notify_timeout_seconds = 30")).pou().notify_timeout_seconds == 30.0


def test_pou_database_url_is_expanded_late_and_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from signoff.errors import ConfigError
    from signoff.redaction import redact
    from signoff.target import load_target

    monkeypatch.delenv("SIGNOFF_TEST_DB", raising=False)
    target = load_target(_target_with(tmp_path, 'database_url = "${SIGNOFF_TEST_DB}"'))  # preflight is not blocked
    with pytest.raises(ConfigError, match="SIGNOFF_TEST_DB"):
        target.pou()
    monkeypatch.setenv("SIGNOFF_TEST_DB", "postgresql://u:s3cret-pw@db.example:5432/pou")
    settings = target.pou()
    assert settings.database_url is not None and "s3cret-pw" not in redact(f"failed: {settings.database_url}")


def test_broker_without_test_api_is_seeded_through_its_database(run_suite, tmp_path: Path) -> None:
    pou = FIXTURES / "reference" / "pou"
    target = _target_with(
        tmp_path,
        f'reference = "{pou}"\nmigrations = "{pou / "migrations"}"\nprerequisites = "{pou / "prerequisites"}"\n'
        'finalizer_interval_seconds = 0.1\nreference_variant = "no-test-api"',
    )
    run: SuiteRun = run_suite("-m", "pou_api", target=target)
    assert run.result.ret == 0, run.output
    through = {(row["kind"], row["through"]) for row in run.evidence()["tables"]["PU-SEED"]["rows"]}
    assert ("agents", "throwaway database") in through and ("negotiation", "throwaway database") in through
    assert ("receipt", "broker API") in through and ("agents", "broker test API") not in through


def test_a_real_repositorys_folder_by_globs_and_its_migrate_script(tmp_path: Path) -> None:
    """[pou] migrations_include / migrations_exclude choose the files; migrations_order (the team's
    migrate script) decides the order, and where it differs from the numbers that is PU-MIG's finding."""
    from signoff.pou.migrations import discover

    folder = tmp_path / "migrations"
    (folder / "rollback").mkdir(parents=True)
    for number in range(17, 22):
        (folder / f"0{number}_m{number}.sql").write_text(f"CREATE TABLE t{number} (a int);")
        (folder / "rollback" / f"0{number}_m{number}.sql").write_text(f"DROP TABLE t{number};")
    (folder / "022_draft.sql").write_text("CREATE TABLE half (;")
    script = tmp_path / "migrate.sh"
    script.write_text("\n".join(f"psql -f 0{n}_m{n}.sql" for n in (17, 18, 20, 19)))
    plan = discover(folder, (), ("*draft*",), script)
    assert [m.label for m in plan.ordered] == ["017_m17.sql", "018_m18.sql", "020_m20.sql", "019_m19.sql"]
    messages = [f.message for f in plan.findings]
    assert any("migrate.sh applies 020_m20.sql where the numbers put 019_m19.sql" in m for m in messages), messages
    assert any("migrate.sh never names 021_m21.sql" in m for m in messages), messages
    assert {f.check for f in plan.findings} == {"PU-MIG"}
    draft = [f for f in plan.findings if "022_draft" in f.message]  # left out: said, as a warning
    assert [f.severity for f in draft] == ["warning"] and "is not applied (left out by" in draft[0].message
