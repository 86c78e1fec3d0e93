"""run_within: one overall deadline for a blocking call, on reused daemon threads."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from signoff.deadline import DeadlineExceeded, run_within


def _runners() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == "signoff-deadline"}


def test_the_call_s_result_and_its_exception_come_back() -> None:
    assert run_within(5, lambda: 42) == 42
    with pytest.raises(KeyError, match="missing"):
        run_within(5, lambda: {}["missing"])


def test_a_call_past_its_deadline_is_cancelled_and_does_not_hold_up_the_next() -> None:
    release, cancelled = threading.Event(), threading.Event()
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match=r"no answer within 0.2 s"):
        run_within(0.2, lambda: release.wait(30), cancel=cancelled.set)
    assert cancelled.is_set() and time.monotonic() - started < 5
    assert run_within(5, lambda: "next") == "next"  # while the first is still stuck
    release.set()


def test_threads_are_reused_not_started_per_call() -> None:
    """Starting a thread per call cost as much as a loopback round trip to a broker (bench/README.md)."""
    run_within(5, lambda: None)
    before = _runners()
    ran_on = {run_within(5, threading.current_thread) for _ in range(50)}  # held: no id is reused
    assert ran_on <= before  # no thread started for any of the 50


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork: POSIX only")
def test_a_forked_child_runs_calls_on_threads_of_its_own() -> None:
    run_within(5, lambda: None)  # the parent has an idle runner now
    pid = os.fork()
    if pid == 0:  # the child: its parent's runner does not exist here
        try:
            code = 0 if run_within(5, lambda: "child") == "child" else 1
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_stuck_call_never_keeps_the_process_alive() -> None:
    code = (
        "import threading\n"
        "from signoff.deadline import DeadlineExceeded, run_within\n"
        "try:\n"
        "    run_within(0.2, lambda: threading.Event().wait(60))\n"
        "except DeadlineExceeded:\n"
        "    print('gave up')\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    assert done.stdout.strip() == "gave up" and done.returncode == 0, done.stderr
    assert time.monotonic() - started < 10
