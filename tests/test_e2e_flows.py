"""Phase e2e_flows on the marketplace runbook (seed 004): the reference's flows, invariants (an
expression and a Python function), stateful search and service pass; its defective variants fail
exactly their checks (the over-payout found by the search, with no flow that walks it, shrunk and
replayable); a running service is reached by URL; bad input and dead services are clear failures
or usage errors, never tracebacks."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from signoff.errors import ConfigError
from signoff.flows.service import Sample, judge_probe, percentile
from signoff.flows.settings import Probe, parse_service
from tests.conftest import FIXTURES, SuiteRun

MARKET = FIXTURES / "reference-market" / "signoff.toml"
DEFECTIVE = FIXTURES / "defective"


def _failed(run: SuiteRun) -> set[str]:
    return {t for t, o in run.outcomes().items() if o in ("failed", "error")}


QUICK_SEARCH = "--signoff-search-examples=8"  # the variants below that are not about the search


def test_the_reference_passes(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "e2e_flows", "--signoff-strict", QUICK_SEARCH, target=MARKET)
    assert run.result.ret == 0, run.output
    tables = run.evidence()["tables"]
    health = {r["field"]: r for r in tables["FL-HLT"]["rows"]}
    assert health["db.ok"]["observed"] == "true" and health["HTTP status"]["observed"] == 200
    [latency] = tables["FL-LAT"]["rows"]
    assert latency["requests"] == 20 and latency["verdict"] == "pass"
    flow = [r for r in tables["FL-FLOW"]["rows"] if r["step"].startswith("#")]
    assert len(flow) == 20 and {r["verdict"] for r in flow} == {"pass"}  # runbook 10, dispute 3, emergency 4, pause 3
    assert flow[0]["observed"] == "succeeded, emitted EscrowCreated, returned 1"
    assert flow[6]["observed"].startswith("returns 0x") and flow[6]["expected"] == "succeeds, returns @Freelancer"
    invariant = tables["FL-INV"]["rows"]
    assert len(invariant) == 40 and {(r["invariant"], r["observed"]) for r in invariant} == {
        ("escrow-solvent", "holds"),
        ("certificates-earned", "holds"),
    }
    runbook = [r for r in flow if "MarketReviews.submitReview from @Client" in r["step"]]
    assert runbook[0]["observed"] == "succeeded, emitted ReviewSubmitted, Transfer, CertificateMinted"
    assert any(r["observed"] == "reverted: AlreadyReviewed(1)" for r in flow)
    coverage = tables["FL-SEARCH-coverage"]["rows"]
    assert len(coverage) == 19 and sum(r["tried"] for r in coverage) > 50  # the flows' steps but the view
    [search] = [c for c in run.evidence()["checks"] if c["nodeid"].endswith("test_fl_search")]
    assert search["outcome"] == "passed" and search["data"]["search"]["sequences"] == 8
    assert "started by signoff: python service.py --port " in run.output or run.evidence()["environment"]


@pytest.mark.parametrize(
    ("variant", "failing", "message"),
    [
        (
            "market-health-200-db-down",
            {"test_fl_hlt", "test_fl_lat[/api/jobs]"},
            "/api/admin/health answered 200 with db.ok = false, expected true while its status says healthy",
        ),
        (
            "market-second-review",  # the second review (rating 2) also leaves a certificate its rating does not earn
            {"test_fl_flow[runbook]", "test_fl_inv[runbook]", "test_fl_search"},
            "invariant 'certificates-earned' broke in flow 'runbook' after #10 call MarketReviews.submitReview from "
            "@Freelancer: certificate 1 of escrow 1 is held by 0x6813Eb9362372EEF6200f3b1dbC3f819671cBA69 (freelancer "
            "0x6813Eb9362372EEF6200f3b1dbC3f819671cBA69); escrow completed: True, rating 2 (minimum 3)",
        ),
        (
            "market-certificate-never-minted",
            {"test_fl_flow[runbook]"},
            "step #6 call MarketReviews.submitReview from @Client: expected it succeeds, emits ReviewSubmitted, "
            "CertificateMinted, but it did not emit CertificateMinted",
        ),
        (
            "market-duplicate-migration-name",
            {"test_fl_mig_files"},
            "the migration name 'reviews' is used by 2 migrations in ",
        ),
        (
            "market-latency-regression",
            {"test_fl_lat[/api/jobs]"},
            "exceeds the budget of 400 ms",
        ),
    ],
)
def test_each_variant_fails_exactly_its_check(run_suite, variant: str, failing: set[str], message: str) -> None:
    run: SuiteRun = run_suite("-m", "e2e_flows", QUICK_SEARCH, target=DEFECTIVE / variant / "signoff.toml")
    assert run.result.ret == 1, run.output
    assert _failed(run) == failing, run.outcomes()
    assert message in run.output and "Traceback" not in run.output
    service = ("test_fl_hlt", "test_fl_lat")  # what the service printed goes with its own checks
    checks = [
        c for c in run.evidence()["checks"] if c["outcome"] == "failed" and any(t in c["nodeid"] for t in service)
    ]
    outputs = [c["data"].get("service_output", "") for c in checks]
    assert all("listening on 127.0.0.1:" in output for output in outputs), outputs  # what the service printed


def test_the_search_finds_the_over_payout_no_flow_walks(run_suite, tmp_path: Path) -> None:
    """market-escrow-overpays: its flows all pass (none pays a milestone and then disputes or withdraws),
    with the reference's own [search] settings the state machine interleaves them into a payout of
    another escrow's money, shrinks it, and writes it as a [[flows]] entry that FL-INV then replays."""
    target = DEFECTIVE / "market-escrow-overpays" / "signoff.toml"
    run: SuiteRun = run_suite("-m", "e2e_flows and not service_health and not latency", target=target)
    assert run.result.ret == 1, run.output
    assert _failed(run) == {"test_fl_search"}, run.outcomes()
    assert "invariant 'escrow-solvent' broke after a sequence of 6 steps found by the search" in run.output
    assert (
        "short by 475000000000000000 wei (0.475 ether)" in run.output
        or "short by 500000000000000000 wei (0.5 ether)" in (run.output)
    )
    rows = run.evidence()["tables"]["FL-SEARCH"]["rows"]
    assert len(rows) == 6 and rows[-1]["verdict"] == "fail" and "from @Client" in rows[0]["move"]
    [replay] = list((run.reports).glob("eth-tester-search-escrow-solvent.toml"))
    folder = tmp_path / "overpays"
    shutil.copytree(target.parent, folder, ignore=shutil.ignore_patterns("overlay"))
    toml = folder / "signoff.toml"
    text = toml.read_text().replace("../../reference-market", str(FIXTURES / "reference-market"))
    toml.write_text(text + "\n" + replay.read_text())
    again: SuiteRun = run_suite("-m", "invariants and not search", target=toml)
    assert _failed(again) == {"test_fl_inv[found-by-search-escrow-solvent]"}, again.outcomes()
    assert "invariant 'escrow-solvent' broke in flow 'found-by-search-escrow-solvent' after #6" in again.output


def _copy(tmp_path: Path, replace: tuple[str, str]) -> Path:
    folder = tmp_path / "market"
    source = FIXTURES / "reference-market"
    shutil.copytree(source, folder, ignore=lambda at, _: ["contracts"] if Path(at) == source else [])
    toml = folder / "signoff.toml"
    toml.write_text(toml.read_text().replace(*replace))
    return toml


def test_a_running_service_is_reached_by_url(run_suite, tmp_path: Path) -> None:
    from signoff.services import ServiceProcess

    process = ServiceProcess(
        [sys.executable, "service.py", "--port", "{port}"],
        cwd=FIXTURES / "reference-market" / "service",
        env=dict(os.environ),
        ready_path="/api/admin/health",
        ready_timeout=20,
    )
    url = process.start()
    try:
        toml = _copy(tmp_path, ('command = ["python", "service.py", "--port", "{port}"]', 'url = "${MARKET_URL}"'))
        text = toml.read_text().replace('cwd = "service"\n', "").replace('env = { DATABASE_PATH = ":memory:" }\n', "")
        toml.write_text(text)
        run: SuiteRun = run_suite("-m", "service_health or latency", target=toml, env={"MARKET_URL": url})
        assert run.result.ret == 0, run.output
        assert f"{url} (running, not started by signoff)" in run.all_report_text()  # scheme and host, as for RPCs
    finally:
        process.stop()


def test_a_service_that_is_not_there_fails_cleanly(run_suite, tmp_path: Path) -> None:
    toml = _copy(tmp_path, ('command = ["python", "service.py", "--port", "{port}"]', 'url = "http://127.0.0.1:9"'))
    toml.write_text(
        toml.read_text().replace('cwd = "service"\n', "").replace('env = { DATABASE_PATH = ":memory:" }\n', "")
    )
    run: SuiteRun = run_suite("-m", "service_health", target=toml)
    assert run.result.ret == 1, run.output
    assert "GET http://127.0.0.1:9/api/admin/health failed" in run.output and "Traceback" not in run.output


def test_a_command_that_exits_says_so_with_its_output(run_suite, tmp_path: Path) -> None:
    toml = _copy(tmp_path, ('"--port", "{port}"]', '"--port", "{port}", "--no-such-flag"]'))
    run: SuiteRun = run_suite("-m", "service_health or latency", target=toml)
    assert run.result.ret == 1, run.output
    assert (
        "exited with code 2 before it answered" in run.output and "unrecognized arguments: --no-such-flag" in run.output
    )


def test_a_target_without_service_says_not_applicable_once(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "e2e_flows", target=FIXTURES / "reference" / "signoff.toml")
    [check] = run.evidence()["checks"]
    assert (
        check["result"] == "not applicable" and "no [[flows]], no [service] and no [migrations] in" in check["message"]
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"url": "http://x", "command": ["a", "{port}"]}, "needs exactly one of url"),
        ({}, "needs exactly one of url"),
        ({"command": ["python", "service.py"]}, "never mentions {port}"),
        ({"url": "ftp://x"}, "must start with http:// or https://"),
        ({"url": "http://x", "health": "api/health"}, "must be a path starting with /"),
        ({"url": "http://x", "probe": [{"path": "/a", "requests": 100000}]}, "must be <= 1,000"),
    ],
)
def test_service_settings_errors_name_the_key(tmp_path: Path, raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_service(tmp_path / "signoff.toml", raw)
    assert message in str(error.value), str(error.value)


def test_the_probe_judge() -> None:
    probe = Probe(path="/a", requests=20, p95_ms=400, max_error_rate=0.05)
    fast = [Sample(0.1, 200)] * 19 + [Sample(0.9, 200)]
    row, findings = judge_probe("GET /a", probe, fast)
    assert percentile([s.seconds for s in fast], 0.95) == 0.1 and not findings and row["max_ms"] == 900.0
    _, findings = judge_probe(
        "GET /a", probe, [Sample(0.1, 200)] * 18 + [Sample(0.1, 500), Sample(5.0, None, "timed out")]
    )
    assert [f.message.split(": ", 1)[1][:30] for f in findings] == ["2 of 20 requests failed (10.0%"]


FLOW = """
[[flows]]
name = "pause-stops-jobs"

[[flows.step]]
call = "JobRegistry.createJob"
args = ["1 ether"]
from = "@Owner1"
expect_events = ["JobCreated"]

[[flows.step]]
call = "SystemPause.pauseAll"
from = "@Governance"
expect_events = ["Paused"]

[[flows.step]]
call = "JobRegistry.createJob"
args = [1]
from = "@Owner1"
expect_revert = "{revert}"
"""


def _control_with_flow(tmp_path: Path, revert: str) -> Path:
    source = FIXTURES / "reference-control"
    folder = tmp_path / "control"
    shutil.copytree(source, folder, ignore=lambda at, _: ["contracts"] if Path(at) == source else [])
    toml = folder / "signoff.toml"
    toml.write_text(toml.read_text() + FLOW.replace("{revert}", revert))
    return toml


def test_a_declared_flow_runs_step_by_step_on_the_rehearsal_chain(run_suite, tmp_path: Path) -> None:
    run: SuiteRun = run_suite("-m", "flows", target=_control_with_flow(tmp_path, "EnforcedPause"))
    assert run.result.ret == 0, run.output
    rows = run.evidence()["tables"]["FL-FLOW"]["rows"]
    assert [r["verdict"] for r in rows] == ["pass"] * 3
    assert rows[0]["observed"] == "succeeded, emitted JobCreated" and rows[0]["gas"] > 0
    assert rows[2]["observed"] == "reverted: EnforcedPause()"


def test_a_flow_step_that_does_not_revert_as_it_must_is_the_finding(run_suite, tmp_path: Path) -> None:
    run: SuiteRun = run_suite("-m", "flows", target=_control_with_flow(tmp_path, "NotPauser"))
    assert run.result.ret == 1, run.output
    assert (
        "flow 'pause-stops-jobs', step #3 call JobRegistry.createJob from @Owner1: expected it reverts with "
        in run.output
    )
    assert "NotPauser, but it reverted (" in run.output and "Traceback" not in run.output


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ('deploy = "JobRegistry"', "a flow step calls or waits"),
        ('call = "JobRegistry.createJob"\nexpect_revert = 3', "expect_revert must be true or a text"),
        ('wait = "1d"\nexpect_events = ["X"]', "a wait expects nothing"),
        ('wait = "1d"\nexpect_return = 1', "a wait expects nothing"),
        ('call = "JobRegistry.createJob"\nexpect_revert = true\nexpect_return = 1', "both a revert and a return value"),
    ],
)
def test_flow_errors_name_the_step(tmp_path: Path, step: str, message: str) -> None:
    from signoff.flows.declared import load_flows
    from signoff.target import load_target

    toml = _control_with_flow(tmp_path, "EnforcedPause")
    toml.write_text(toml.read_text() + f'\n[[flows]]\nname = "bad"\n\n[[flows.step]]\n{step}\n')
    with pytest.raises(ConfigError) as error:
        load_flows(load_target(toml))
    assert message in str(error.value), str(error.value)


def test_an_invariant_that_cannot_be_loaded_is_a_usage_error(tmp_path: Path) -> None:
    from signoff.flows.invariants import load_invariants
    from signoff.target import load_target

    toml = _copy(tmp_path, ('python = "invariants.py:certificates_earned"', 'python = "invariants.py"'))
    with pytest.raises(ConfigError, match=r'must be "file.py:function"'):
        load_invariants(load_target(toml))
    toml.write_text(toml.read_text().replace('python = "invariants.py"', 'python = "nope.py:f"'))
    with pytest.raises(ConfigError, match=r"nope\.py, which does not exist"):
        load_invariants(load_target(toml))


def test_an_invariant_that_cannot_be_read_is_its_own_error(run_suite, tmp_path: Path) -> None:
    toml = _copy(tmp_path, ("MarketEscrow.owedBy(i)", "MarketEscrow.owed(i)"))
    (toml.parent / "invariants.py").write_text(
        "def certificates_earned(chain):\n    return chain.call('MarketEscrow', 'nope')\n"
    )
    run: SuiteRun = run_suite("-m", "invariants", QUICK_SEARCH, target=toml)
    assert run.result.ret == 1, run.output
    assert (
        "invariants.py:certificates_earned) cannot be evaluated: invariant view MarketEscrow: nope is not" in run.output
    )
    assert "invariant 'escrow-solvent' (balance(MarketEscrow) >= sum(MarketEscrow.owed(i)" in run.output
    assert "owed is not a function of its ABI" in run.output and "Traceback" not in run.output


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("balance(MarketEscrow) >=", "is not an expression"),
        ("__import__('os').system('x')", "is not Contract.view"),
        ("[x for x in range(3)]", "uses ListComp"),
        ("sum(MarketEscrow.owedBy(i) for i in [1, 2])", "'for name in range(a, b)'"),
        ("lambda: 1", "uses Lambda"),
    ],
)
def test_invariant_expressions_outside_the_language_are_usage_errors(tmp_path: Path, expr: str, message: str) -> None:
    from signoff.flows.expressions import ExpressionError, parse_expression

    try:
        parsed = parse_expression(expr, "signoff.toml: invariants[0].expr")
    except ConfigError as error:
        assert message in str(error), str(error)
        return
    with pytest.raises(ExpressionError, match=message):  # parses, but names no function of the language
        parsed.evaluate(_NoChain())


class _NoChain:
    """A reader that refuses everything: an expression that gets this far must not read anything."""

    def address(self, name: str) -> str:
        raise ConfigError(name)

    def balance(self, name: str) -> int:
        raise ConfigError(name)

    def call(self, contract: str, function: str, *args: object) -> object:
        raise AssertionError("no call expected")

    def outputs(self, contract: str, function: str) -> list[str]:
        raise AssertionError("no call expected")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[[invariants]]\nname = "x"\n', "needs exactly one of expr"),
        ('[[invariants]]\nname = "x"\nexpr = "1 > 0"\npython = "invariants.py:f"\n', "needs exactly one of expr"),
        ('[[invariants]]\nname = "escrow-solvent"\nexpr = "1 > 0"\n', "two [[invariants]] are named"),
        ('[search]\nflows = ["nope"]\n', "search.flows names 'nope'"),
        ('[search]\nactors = ["Client"]\n', 'an actor is an account name written "@Name"'),
        ("[search]\nexamples = 0\n", "search.examples must be >= 1"),
    ],
)
def test_invariant_and_search_settings_errors_name_the_key(tmp_path: Path, table: str, message: str) -> None:
    from signoff.session import resolve_session

    reference = MARKET.read_text()
    search = reference[reference.index("[search]") :].split("\n\n")[0]
    toml = _copy(tmp_path, (search, table) if table.startswith("[search]") else ("", ""))
    if not table.startswith("[search]"):
        toml.write_text(toml.read_text() + "\n" + table)
    with pytest.raises(ConfigError) as error:
        resolve_session(toml, "eth-tester")
    assert message in str(error.value), str(error.value)


def test_a_replay_is_written_as_flows_signoff_reads() -> None:
    from signoff.deploy.plan import CallStep, WaitStep
    from signoff.flows.search import Action, Breach, Move, Outcome, format_wei, replay_toml

    create = CallStep(
        1, "MarketEscrow", "createEscrow", ("@Freelancer", ["a"], ["0.5 ether"], 9, 'say "hi"'), "@Client", 10**18
    )
    wait = WaitStep(2, 86400, None, None, "@Deployer")
    moves = [
        (
            Move(Action(create, "runbook", 1), "@Client2", create.args),
            Outcome(True, "succeeded, emitted EscrowCreated"),
        ),
        (Move(Action(wait, "emergency", 3), "@Deployer", ()), Outcome(True, "time passed")),
    ]
    text = replay_toml(Breach(moves, "escrow-solvent", "short by 1 wei"), "found")
    import tomllib

    parsed = tomllib.loads(text)["flows"][0]
    assert parsed["name"] == "found" and parsed["step"][0]["from"] == "@Client2"
    assert parsed["step"][0]["value"] == "1 ether" and parsed["step"][0]["args"][4] == 'say "hi"'
    assert parsed["step"][1] == {"wait": "86400s"}
    assert format_wei(1025 * 10**15) == "1.025 ether" and format_wei(7) == "7 wei"


NUMBERED = {
    "001_users.sql": "CREATE TABLE users (id text PRIMARY KEY, wallet text NOT NULL UNIQUE);",
    "002_jobs.sql": "CREATE TABLE jobs (id text PRIMARY KEY, client text REFERENCES users (id));\n"
    "CREATE INDEX jobs_client ON jobs (client);",
}


def _with_migrations(tmp_path: Path, files: dict[str, str]) -> Path:
    toml = _copy(tmp_path, ('path = "prisma/migrations"', 'path = "sql"'))
    for name, sql in files.items():
        (toml.parent / "sql" / name).parent.mkdir(parents=True, exist_ok=True)
        (toml.parent / "sql" / name).write_text(sql)
    return toml


def test_numbered_migrations_without_downs_roll_back_by_a_dump(run_suite, tmp_path: Path) -> None:
    """The other layout (NNN_name.sql) and the other rollback (restore a pg_dump taken before the release)."""
    run: SuiteRun = run_suite("-m", "app_migrations", target=_with_migrations(tmp_path, NUMBERED))
    assert run.result.ret == 0, run.output
    [rehearsal] = [c for c in run.evidence()["checks"] if c["nodeid"].endswith("test_fl_mig_rehearsal")]
    assert (
        rehearsal["data"]["rollback"] == "the release (002_jobs.sql) rolled back by restoring a pg_dump taken before it"
    )
    assert run.evidence()["tables"]["FL-MIG-rehearsal"]["rows"][-1]["observed"] == "schema as before"


def test_a_down_migration_that_leaves_an_index_fails(run_suite, tmp_path: Path) -> None:
    files = {**NUMBERED, "rollback/002_jobs.sql": "ALTER TABLE jobs DROP COLUMN client;"}
    run: SuiteRun = run_suite("-m", "app_migrations", target=_with_migrations(tmp_path, files))
    assert _failed(run) == {"test_fl_mig_rehearsal"}, run.outcomes()
    assert "rolling back the release (002_jobs.sql) by its down migrations, in reverse does not leave the schema" in (
        run.output
    )
    assert "table jobs: absent vs present" in run.output and "Traceback" not in run.output


def test_migrations_whose_order_is_not_fixed_are_rehearsed_in_both(run_suite, tmp_path: Path) -> None:
    files = {
        "001_users.sql": NUMBERED["001_users.sql"],
        "002_jobs.sql": "CREATE TABLE jobs (id text PRIMARY KEY);",
        "002_jobs_owner.sql": "ALTER TABLE jobs ADD COLUMN owner text;",
    }
    run: SuiteRun = run_suite("-m", "app_migrations", target=_with_migrations(tmp_path, files))
    assert _failed(run) == {"test_fl_mig_files", "test_fl_mig_order_independent"}, run.outcomes()
    assert "migration number 002 is used by 2 files (002_jobs.sql, 002_jobs_owner.sql)" in run.output
    assert "the second order does not apply (002_jobs_owner.sql failed: " in run.output


def test_a_flow_step_that_returns_something_else_is_the_finding(run_suite, tmp_path: Path) -> None:
    toml = _copy(tmp_path, ('expect_return = "@Freelancer"', 'expect_return = "@Client"'))
    run: SuiteRun = run_suite("-m", "flows", target=toml)
    assert _failed(run) == {"test_fl_flow[runbook]"}, run.outcomes()
    assert "step #7 call MarketCertificate.ownerOf from @Deployer: expected it succeeds, returns @Client, but it " in (
        run.output
    )
    assert "returns 0x6813eb9362372eef6200f3b1dbc3f819671cba69" in run.output.lower()


def test_the_search_on_a_system_shaped_unlike_the_marketplace(run_suite, tmp_path: Path) -> None:
    """The owner control plane's reference: no payable call, no instance any step names, a pause sent by
    a Safe. A cap of two jobs is broken by a third createJob, which the search finds and shrinks to
    exactly three steps."""
    toml = _control_with_flow(tmp_path, "EnforcedPause")
    toml.write_text(
        toml.read_text()
        + '\n[[invariants]]\nname = "at-most-two-jobs"\nexpr = "JobRegistry.jobCount() <= 2"\n'
        + "\n[search]\nexamples = 40\nmax_steps = 8\n"
    )
    run: SuiteRun = run_suite("-m", "search", target=toml)
    assert _failed(run) == {"test_fl_search"}, run.outcomes()
    assert "invariant 'at-most-two-jobs' broke after a sequence of 3 steps found by the search" in run.output
    assert "JobRegistry.jobCount() = 3, 2 = 2" in run.output
    moves = [r["move"] for r in run.evidence()["tables"]["FL-SEARCH"]["rows"]]
    assert all(m.startswith("JobRegistry.createJob(") for m in moves), moves


def test_a_search_that_runs_out_of_time_says_so(run_suite, tmp_path: Path) -> None:
    reference = MARKET.read_text()
    search = reference[reference.index("[search]") :].split("\n\n")[0]
    toml = _copy(tmp_path, (search, "[search]\nexamples = 5000\nseconds = 3\n"))
    run: SuiteRun = run_suite("-m", "search", target=toml)
    assert run.result.ret == 0, run.output
    [check] = run.evidence()["checks"]
    assert check["data"]["search"]["stopped_by_budget"] is True and 0 < check["data"]["search"]["sequences"] < 5000
    assert "the search reached its time budget ([search] seconds = 3) after " in run.all_report_text()


def test_a_file_that_controls_its_own_transaction_runs_as_psql_would(run_suite, tmp_path: Path) -> None:
    """BEGIN; ... COMMIT; in a migration file (as real repositories write them) is not wrapped in a second
    transaction; a PL/pgSQL body's BEGIN is not taken for one; a file that fails midway names itself."""
    body = "CREATE FUNCTION one() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\n"
    files = {**NUMBERED, "003_audit.sql": "BEGIN;\nCREATE TABLE audit (id int);\nCOMMIT;\n", "004_fn.sql": body}
    run: SuiteRun = run_suite("-m", "app_migrations", target=_with_migrations(tmp_path, files))
    assert run.result.ret == 0, run.output
    files["004_fn.sql"] = "BEGIN;\nCREATE TABLE half (id int);\nSELECT 1 / 0;\nCOMMIT;\n"
    run = run_suite("-m", "app_migrations", target=_with_migrations(tmp_path / "again", files))
    assert _failed(run) == {"test_fl_mig_rehearsal"}, run.outcomes()
    assert "004_fn.sql failed: division by zero" in run.output and "Traceback" not in run.output


def test_the_teams_migrate_script_decides_the_order_and_globs_choose_the_files(run_suite, tmp_path: Path) -> None:
    """A real repository: a migrate script that applies the files in its own order, a draft left out by
    exclude; the script's order is rehearsed, and where it differs from the numbers that is the finding."""
    files = {**NUMBERED, "003_draft_idea.sql": "CREATE TABLE half (;", "migrate.sh": ""}
    toml = _with_migrations(tmp_path, files)
    (toml.parent / "sql" / "migrate.sh").write_text("psql -f 001_users.sql\npsql -f 002_jobs.sql\n")
    text = toml.read_text().replace('path = "sql"', 'path = "sql"\nexclude = ["*draft*"]\norder = "sql/migrate.sh"')
    toml.write_text(text)
    run: SuiteRun = run_suite("-m", "app_migrations", target=toml)
    assert run.result.ret == 0, run.output
    (toml.parent / "sql" / "migrate.sh").write_text("for f in 002_jobs 001_users; do psql -f $f.sql; done\n")
    run = run_suite("-m", "app_migrations", target=toml)
    assert "test_fl_mig_files" in _failed(run), run.outcomes()
    assert "migrate.sh applies 002_jobs.sql where the numbers put 001_users.sql" in run.output
    assert "002_jobs.sql failed: relation \"users\" does not exist" in run.output  # rehearsed as the script runs
