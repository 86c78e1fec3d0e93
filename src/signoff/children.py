"""The processes a run starts (anvil, the reference broker, a team's broker and its sidecars)
die with the run, however it ends.

Each child gets a process group of its own (so a stop reaches whatever it started in turn) and,
on Linux, the kernel's parent-death signal (so a SIGKILLed run, which runs no cleanup at all,
still takes them down). A normal exit, an exception, Ctrl-C or SIGTERM stops every child still
running through :func:`stop`, at the latest from ``atexit``. The one deliberate exception is
PostgreSQL's watchdog (signoff.pou.database), which must outlive a killed run to clean up after it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import threading
from collections.abc import Sequence
from typing import Any

_PR_SET_PDEATHSIG = 1
_running: set[subprocess.Popen[Any]] = set()
_lock = threading.Lock()


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(args: Sequence[str], **popen: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(args, **popen)`` in a new process group that dies with this process."""
    process: subprocess.Popen[Any] = subprocess.Popen(
        list(args),
        start_new_session=True,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads of ours fork concurrently with a spawn
        **popen,
    )
    with _lock:
        _running.add(process)
    return process


def stop(process: subprocess.Popen[Any], grace: float = 5.0) -> int | None:
    """SIGTERM to the child's whole process group, SIGKILL after ``grace`` seconds; its exit code."""
    with _lock:
        _running.discard(process)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            return process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
    return process.poll()


def stop_all() -> None:
    """Stop every child still running (atexit, and the plugin's end of session)."""
    with _lock:
        running = list(_running)
    for process in running:
        stop(process, grace=2.0)


def running_pids() -> list[int]:
    with _lock:
        return sorted(p.pid for p in _running if p.poll() is None)


atexit.register(stop_all)
