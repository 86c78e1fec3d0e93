"""With -n, the reference broker's checks spread over the xdist workers, each worker that runs one with a
broker of its own, over the run's one PostgreSQL: PU-LOG waits for every worker's checks and reads every
worker's broker, and a broker that cannot start is said once per run."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, SuiteRun

DEFECTIVE = FIXTURES / "defective"


def _failed(run: SuiteRun) -> set[str]:
    return {c["nodeid"].rsplit("::", 1)[-1] for c in run.evidence()["checks"] if c["outcome"] == "failed"}


def test_pu_log_reads_the_broker_of_every_worker(run_suite) -> None:
    """The state machine starts first on one worker, PU-ATT's malformed ids go to the other, and PU-LOG comes
    last, after the state machine, on the first: the exception the broken broker logs is in the other's
    broker. (Which of gw0 and gw1 is which is xdist's: the worker ready first gets the first check.)"""
    run: SuiteRun = run_suite(
        "-m",
        "e2e_pou",
        "-k",
        "stateful or malformed or pu_log",
        "-n",
        "2",
        target=DEFECTIVE / "pou-task-id-500" / "signoff.toml",
    )
    assert run.result.ret == 1, run.output
    assert _failed(run) == {"test_pu_att_malformed_ids_are_4xx", "test_pu_log_no_errors_and_jobs_scheduled"}
    log = next(c for c in run.evidence()["checks"] if c["check"] == "PU-LOG")
    assert log["data"]["brokers_read"] == ["gw0", "gw1"], log
    quoted = set(re.findall(r"\[(gw[01])'s broker\] ERROR:    Exception in ASGI application", log["message"]))
    assert len(quoted) == 1, log  # one broker logged it: the one PU-ATT's check ran on
    environment = run.evidence()["environment"]
    assert {"Broker (gw0)", "Broker (gw1)"} <= set(environment), environment
    assert "one per worker that runs e2e_pou checks" in environment["Broker (gw1)"]


def test_a_broker_that_cannot_start_is_said_once_per_run(run_suite, tmp_path: Path) -> None:
    pou = tmp_path / "pou"
    shutil.copytree(FIXTURES / "reference" / "pou", pou)
    (pou / "broker.py").write_text('import sys\nsys.exit("this broker refuses to start")\n')
    target = tmp_path / "signoff.toml"
    target.write_text(
        f'[target]\nname = "t"\nartifacts = "{FIXTURES / "reference" / "artifacts"}"\n\n[pou]\n'
        f'reference = "{pou}"\nmigrations = "{pou / "migrations"}"\nprerequisites = "{pou / "prerequisites"}"\n'
        "finalizer_interval_seconds = 0.1\n"
    )
    run: SuiteRun = run_suite("-m", "e2e_pou", "-k", "stateful or health or settle", "-n", "2", target=target)
    assert run.result.ret == 1, run.output
    checks = run.evidence()["checks"]
    said = [c for c in checks if c["result"] == "failed"]
    assert len(said) == 1 and "this broker refuses to start" in said[0]["message"], checks
    reporter = said[0]["nodeid"].rsplit("::", 1)[-1]
    rest = [c for c in checks if c is not said[0]]
    assert len(rest) == 2 and all(c["result"] == "not checked" for c in rest), checks
    assert all(f"there is no broker to check ({reporter} on gw" in c["message"] for c in rest), checks
    assert sum("this broker refuses to start" in c["message"] for c in checks) == 1, checks


def test_the_workers_of_a_run_share_one_key(tmp_path: Path) -> None:
    """The key the workers' throwaway PostgreSQL is shared by (it was once read from a key xdist does not
    set, so each worker started a server of its own)."""
    (tmp_path / "test_key.py").write_text(
        "import pathlib, pytest\n"
        "from signoff.pou.fixtures import run_key\n\n"
        "@pytest.mark.parametrize('n', range(8))\n"
        "def test_key(request, n):\n"
        "    worker = request.config.workerinput['workerid']\n"
        f"    (pathlib.Path({str(tmp_path)!r}) / worker).write_text(str(run_key(request.config)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "test_key.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    keys = {(tmp_path / worker).read_text() for worker in ("gw0", "gw1")}
    assert len(keys) == 1 and keys != {"None"}, keys


def test_a_worker_with_a_long_check_ahead_gets_a_short_one_and_pu_log_goes_last() -> None:
    from signoff.plugin import next_scope

    suites = "/site-packages/suites/"
    stateful = suites + "e2e_pou/test_pu_qrm.py::test_pu_qrm_stateful"
    fin = suites + "e2e_pou/test_pu_fin.py::test_pu_fin_never_below_quorum"
    log = suites + "e2e_pou/test_pu_log.py::test_pu_log_no_errors_and_jobs_scheduled"
    health = suites + "e2e_pou/test_pu_api.py::test_pu_api_health"
    size = suites + "preflight/test_pf_size.py::test_pf_size[Router]"
    queue = [health, log, fin, stateful, "signoff-chain", size]
    assert next_scope(queue, long_one_ahead=False) == stateful
    assert next_scope([health, log, fin, "signoff-chain", size], long_one_ahead=False) == "signoff-chain"
    assert next_scope(queue, long_one_ahead=True) == size  # the last ordinary one: the long ones wait
    assert next_scope([log, fin], long_one_ahead=True) == fin  # no short one left: the longest
    assert next_scope([health, log], long_one_ahead=False) == health
    assert next_scope([log], long_one_ahead=True) == log
