"""Phase e2e_flows, so far the service checks of the marketplace runbook (seed 004): the reference
service, started by signoff with its own command, passes FL-HLT and FL-LAT; its defective variants
fail exactly their checks; a running service is reached by URL; bad input and dead services are
clear failures or usage errors, never tracebacks."""

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


def test_the_reference_service_passes(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "e2e_flows", "--signoff-strict", target=MARKET)
    assert run.result.ret == 0, run.output
    tables = run.evidence()["tables"]
    health = {r["field"]: r for r in tables["FL-HLT"]["rows"]}
    assert health["db.ok"]["observed"] == "true" and health["HTTP status"]["observed"] == 200
    [latency] = tables["FL-LAT"]["rows"]
    assert latency["requests"] == 20 and latency["verdict"] == "pass"
    flow = [r for r in tables["FL-FLOW"]["rows"] if r["step"].startswith("#")]
    assert len(flow) == 17 and {r["verdict"] for r in flow} == {"pass"}
    invariant = tables["FL-INV"]["rows"]
    assert len(invariant) == 17 and {(r["invariant"], r["observed"]) for r in invariant} == {
        ("escrow-solvent", "holds")
    }
    assert flow[4]["observed"] == "succeeded, emitted MilestoneReleased, EscrowCompleted"
    assert flow[9]["observed"] == "reverted: AlreadyReviewed(1)"
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
            "market-escrow-overpays",
            {"test_fl_inv[dispute-after-release]", "test_fl_flow[dispute-after-release]"},
            "invariant 'escrow-solvent' broke in flow 'dispute-after-release' after #6 call "
            "MarketEscrow.resolveDispute from @Deployer: MarketEscrow holds 550000000000000000 wei but its open "
            "escrows are owed "
            "1025000000000000000 wei: short by 475000000000000000 wei",
        ),
        (
            "market-second-review",
            {"test_fl_flow[runbook]"},
            "step #10 call MarketReviews.submitReview from @Freelancer: expected it reverts with AlreadyReviewed, "
            "but it succeeded",
        ),
        (
            "market-latency-regression",
            {"test_fl_lat[/api/jobs]"},
            "exceeds the budget of 400 ms",
        ),
    ],
)
def test_each_service_variant_fails_exactly_its_check(run_suite, variant: str, failing: set[str], message: str) -> None:
    run: SuiteRun = run_suite("-m", "e2e_flows", target=DEFECTIVE / variant / "signoff.toml")
    assert run.result.ret == 1, run.output
    assert _failed(run) == failing, run.outcomes()
    assert message in run.output and "Traceback" not in run.output
    service = ("test_fl_hlt", "test_fl_lat")  # what the service printed goes with its own checks
    checks = [
        c for c in run.evidence()["checks"] if c["outcome"] == "failed" and any(t in c["nodeid"] for t in service)
    ]
    outputs = [c["data"].get("service_output", "") for c in checks]
    assert all("listening on 127.0.0.1:" in output for output in outputs), outputs  # what the service printed


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
        run: SuiteRun = run_suite("-m", "e2e_flows", target=toml, env={"MARKET_URL": url})
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
    run: SuiteRun = run_suite("-m", "e2e_flows", target=toml)
    assert run.result.ret == 1, run.output
    assert (
        "exited with code 2 before it answered" in run.output and "unrecognized arguments: --no-such-flag" in run.output
    )


def test_a_target_without_service_says_not_applicable_once(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "e2e_flows", target=FIXTURES / "reference" / "signoff.toml")
    [check] = run.evidence()["checks"]
    assert check["result"] == "not applicable" and "no [[flows]] and no [service] in" in check["message"]


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

    toml = _copy(tmp_path, ('python = "invariants.py:escrow_solvent"', 'python = "invariants.py"'))
    with pytest.raises(ConfigError, match=r'must be "file.py:function"'):
        load_invariants(load_target(toml))
    toml.write_text(toml.read_text().replace('python = "invariants.py"', 'python = "nope.py:f"'))
    with pytest.raises(ConfigError, match=r"nope\.py, which does not exist"):
        load_invariants(load_target(toml))


def test_an_invariant_that_crashes_is_reported_not_raised(run_suite, tmp_path: Path) -> None:
    toml = _copy(tmp_path, ("", ""))
    (toml.parent / "invariants.py").write_text(
        "def escrow_solvent(chain):\n    return chain.call('MarketEscrow', 'nope')\n"
    )
    run: SuiteRun = run_suite("-m", "invariants", target=toml)
    assert run.result.ret == 1, run.output
    assert "the invariant raised " in run.output and "Traceback" not in run.output
