"""e2e_pou when things go wrong: a check that stops half-way keeps what it recorded; a killed
run's embedded PostgreSQL (and broker log) is cleaned up by the next start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SuiteRun

# -- a check that stops before its verdict ---------------------------------------------------------

STOPPING_CHECKS = '''
"""Checks that stop half-way: the broker breaks off, an unforeseen error, a skip after a failure."""

import socket
import threading

import pytest

from signoff.pou.client import BrokerClient
from signoff.pou.expect import Expect

CHECK_ID = "PU-API"
pytestmark = [pytest.mark.e2e_pou, pytest.mark.pou_api]


def _breaks_off() -> str:
    """A real HTTP listener that reads the request and closes the connection without an answer."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.close()
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}"


def _recorded(expect):
    expect.that("earlier failure", False, "pending", "'finalized'", "GET receipt")
    expect.that("earlier success", True, "201", "201", "settle")


def test_zz_broker_breaks_off(evidence):
    expect = Expect(evidence, CHECK_ID)
    _recorded(expect)
    BrokerClient(_breaks_off()).health()
    expect.that("never reached", True, "", "")
    expect.check()


def test_zz_unforeseen_error(evidence):
    expect = Expect(evidence, CHECK_ID)
    _recorded(expect)
    {}["committee"]
    expect.check()


def test_zz_skip_after_failure(evidence):
    expect = Expect(evidence, CHECK_ID)
    _recorded(expect)
    pytest.skip("the broker has no such feature")


def test_zz_skip_after_success(evidence):
    expect = Expect(evidence, CHECK_ID)
    expect.that("earlier success", True, "201", "201", "settle")
    pytest.skip("the broker has no such feature")
'''


def test_a_check_that_stops_keeps_its_expectations(run_suite, pytester: pytest.Pytester) -> None:
    (pytester.path / "suites" / "e2e_pou" / "test_zz_stopping.py").write_text(STOPPING_CHECKS)
    run: SuiteRun = run_suite("-m", "pou_api", "-k", "test_zz")
    outcomes = run.outcomes()
    assert outcomes == {
        "test_zz_broker_breaks_off": "failed",
        "test_zz_unforeseen_error": "failed",
        "test_zz_skip_after_failure": "failed",  # a skip must not hide a failed expectation
        "test_zz_skip_after_success": "skipped",
    }, run.output
    checks = {c["nodeid"].split("::")[1]: c for c in run.evidence()["checks"]}

    broke_off = checks["test_zz_broker_breaks_off"]
    message = broke_off["message"]
    assert "the check stopped before its verdict: the broker at http://127.0.0.1:" in message
    assert "broke off GET /health without an answer" in message
    assert "2 expectation(s) were recorded; 1 failed" in message
    assert "earlier failure: expected pending, found 'finalized'" in message
    assert "Traceback" not in message
    assert [f["subject"] for f in broke_off["findings"]] == ["earlier failure", "check stopped"]
    rows = run.evidence()["tables"]["PU-API"]["rows"]
    cases = [(r["case"], r["verdict"]) for r in rows if r["order"].startswith("PU-API-")]
    assert ("earlier failure", "fail") in cases and ("earlier success", "pass") in cases
    assert ("check stopped", "fail") in cases and ("never reached", "pass") not in cases

    unforeseen = checks["test_zz_unforeseen_error"]
    assert "KeyError: 'committee'" in unforeseen["message"]  # its traceback is kept...
    assert "earlier failure: expected pending, found 'finalized'" in unforeseen["message"]  # ...with the note
    assert [f["subject"] for f in unforeseen["findings"]] == ["earlier failure", "check stopped"]

    skipped = checks["test_zz_skip_after_failure"]["message"]
    assert "stopped before its verdict: skipped: the broker has no such feature" in skipped
    assert "earlier failure: expected pending, found 'finalized'" in skipped


# -- a hard-killed run ------------------------------------------------------------------------------

CHILD = """
import json, sys, time
from signoff.pou.database import start_server
server = start_server()
print(json.dumps({"socket_dir": server.socket_dir, "watchdog": server.watchdog_pid}), flush=True)
time.sleep(600)
"""


def _postmaster(data: Path) -> int:
    return int((data / "postmaster.pid").read_text().split()[0])


def _killed_child(*, with_watchdog: bool) -> tuple[Path, int]:
    """A run that started a server and was SIGKILLed (no finalizer, no atexit: as a CI timeout kills
    a run); with_watchdog=False kills its watchdog too (a kill of everything)."""
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line, "the child did not start a server"
        started = json.loads(line)
        data = Path(started["socket_dir"])
        postmaster = _postmaster(data)
        if not with_watchdog:
            os.kill(started["watchdog"], signal.SIGKILL)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        if child.stdout:
            child.stdout.close()
    return data, postmaster


def test_a_killed_run_s_server_is_stopped_by_its_watchdog() -> None:
    from signoff.processes import alive

    data, postmaster = _killed_child(with_watchdog=True)
    deadline = time.monotonic() + 10
    while (alive(postmaster) or data.parent.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(postmaster), "PostgreSQL outlived the killed run"
    assert not data.parent.exists()


def test_killed_run_leaves_no_server_behind() -> None:
    """Even when the watchdog died too, the next start sweeps the orphan."""
    from signoff.pou.database import start_server
    from signoff.processes import alive

    data, postmaster = _killed_child(with_watchdog=False)
    directory = data.parent
    assert alive(postmaster) and directory.is_dir()  # PostgreSQL outlived the run that started it

    server = start_server()  # the next run
    try:
        deadline = time.monotonic() + 10
        while alive(postmaster) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(postmaster)
        assert not directory.exists()
    finally:
        server.stop()


def test_servers_of_live_runs_are_left_alone() -> None:
    from signoff.pou.database import remove_orphaned_servers, start_server
    from signoff.processes import alive

    server = start_server()
    try:
        assert server.socket_dir is not None
        data = Path(server.socket_dir)
        assert data.parent not in remove_orphaned_servers()
        assert alive(_postmaster(data)) and data.is_dir()
    finally:
        server.stop()
    assert not data.parent.exists()  # and a normal stop removes everything


def test_process_logs_of_killed_runs_are_removed(tmp_path: Path) -> None:
    """The reference broker's log and port file, a team's broker and sidecar logs, a service's log: a killed
    run leaves them; the next run removes them, and nothing of a live run or anybody else's."""
    from signoff.run_logs import new_log, remove_orphaned_logs

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = int(gone.stdout)
    orphans = [
        tmp_path / f"signoff-broker-{dead}-abc123.log",
        tmp_path / f"signoff-broker-{dead}-abc123.log.port",
        tmp_path / f"signoff-sidecar_nats-{dead}-x_9q.log",
        tmp_path / f"signoff-service-{dead}-k2.log",
    ]
    ours = tmp_path / f"signoff-broker-{os.getpid()}-def456.log"
    unrelated = [tmp_path / "signoff-broker-notes.txt", tmp_path / "signoff-pgtemplate-59b560c1f544"]
    for path in (*orphans, ours, *unrelated):
        path.write_text("x")
    assert sorted(remove_orphaned_logs(tmp_path)) == sorted(orphans)
    assert ours.exists() and all(path.exists() for path in unrelated)
    made = new_log("sidecar nats")
    made.close()
    try:
        assert Path(made.name).name.startswith(f"signoff-sidecar_nats-{os.getpid()}-")
    finally:
        Path(made.name).unlink()
