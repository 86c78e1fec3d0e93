"""Is the process that started a throwaway resource still alive? (pid plus start time.)

A pid alone is reused by the kernel, so an owner is recorded as the pid and the process's
start time (``/proc/<pid>/stat`` field 22, clock ticks since boot, on Linux); elsewhere only
the pid is compared, which errs towards "alive" and so towards leaving a resource in place.
"""

from __future__ import annotations

import os
from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` from field 3 (the state) on, or ``None`` (gone, or not Linux)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    return stat[stat.rfind(")") + 2 :].split()


def start_time(pid: int) -> str | None:
    """The start time of ``pid`` as the kernel reports it, or ``None`` (gone, or not Linux)."""
    fields = _stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else None


def alive(pid: int, started: str | None = None) -> bool:
    """Whether ``pid`` runs and, when ``started`` is known, is the same process that was recorded."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    fields = _stat(pid)
    if fields is not None and fields[0] in ("Z", "X"):
        return False  # exited, not yet reaped (a container's init may never reap it)
    if started is None or fields is None or len(fields) <= 19:
        return True
    return fields[19] == started


def owner() -> dict[str, object]:
    """This process as an owner record: ``{"pid": ..., "started": ...}``."""
    return {"pid": os.getpid(), "started": start_time(os.getpid())}
