"""The log files of the processes a run starts (a broker, its sidecars, a service under test).

They live in the temporary folder and are removed when the process is stopped. A run that is killed
(SIGKILL runs no cleanup) leaves them behind, so each name carries the pid of the run that made it
(``signoff-<label>-<pid>-<random>.log``), and every new log first removes those whose run is gone.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import IO

from signoff.processes import alive

_NAME = re.compile(r"signoff-[A-Za-z0-9_]+-(?P<pid>\d+)-[A-Za-z0-9_]+\.log(\.port(\.tmp)?)?")


def new_log(label: str) -> IO[bytes]:
    """An open, empty log file for a process this run starts (``label``: "broker", "sidecar nats", ...)."""
    remove_orphaned_logs()
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", label).strip("_") or "process"
    return tempfile.NamedTemporaryFile(prefix=f"signoff-{slug}-{os.getpid()}-", suffix=".log", delete=False)


def remove_orphaned_logs(directory: Path | None = None) -> list[Path]:
    """Delete the logs (and their side files) of signoff runs whose process is gone; the paths removed."""
    removed = []
    for path in Path(directory or tempfile.gettempdir()).glob("signoff-*-*.log*"):
        match = _NAME.fullmatch(path.name)
        if match is None or alive(int(match["pid"])):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed
