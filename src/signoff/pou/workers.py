"""What the xdist workers of one run tell each other about the reference brokers they started.

With ``-n``, the reference broker's checks spread over the workers, and each worker that runs one
starts a broker of its own (``signoff.plugin``: one per worker, like the rehearsal chain). Three
things then cross workers, through a folder of the run's pytest base temporary directory (the one
xdist gives each worker a folder of; pytest keeps the last three runs):

- ``done/``: an empty file per e2e_pou check finished, whatever its outcome, so that PU-LOG, which
  runs last, can wait for the checks still running on other workers;
- ``logs/<worker>.log``: a worker's broker output, redacted by that worker (only it knows its
  broker's secrets), rewritten after each of its checks;
- ``unstarted.json``: the first check that said why a broker could not be started, so the checks
  of every other worker say "not checked" and point to it: the reason is said once per run.

Nothing here is used by a serial run, or when one worker runs every e2e_pou check.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from signoff.whole_files import write_whole

SPREAD_INPUT = "signoff_broker_per_worker"  # workerinput key the controller sets when the checks spread
FOLDER = "signoff-brokers"


def spread(config: pytest.Config) -> bool:
    """This is an xdist worker of a run whose e2e_pou checks spread over the workers."""
    return bool(getattr(config, "workerinput", {}).get(SPREAD_INPUT, False))


def worker_name(config: pytest.Config) -> str:
    return str(getattr(config, "workerinput", {}).get("workerid", "main"))


def run_folder(config: pytest.Config) -> Path | None:
    """The folder the workers of this run share, or None (not a spread run)."""
    if not spread(config) or not config.option.basetemp:
        return None
    return Path(config.option.basetemp).parent / FOLDER  # xdist: <run's basetemp>/popen-<worker>


def _done_file(folder: Path, nodeid: str) -> Path:
    return folder / "done" / hashlib.sha256(nodeid.encode()).hexdigest()[:24]


def mark_done(config: pytest.Config, nodeid: str) -> None:
    folder = run_folder(config)
    if folder is not None:
        write_whole(_done_file(folder, nodeid), "")


def publish_log(config: pytest.Config, redacted: str) -> None:
    """This worker's broker output so far (already redacted), for PU-LOG on whichever worker runs it."""
    folder = run_folder(config)
    if folder is not None:
        write_whole(folder / "logs" / f"{worker_name(config)}.log", redacted)


def not_finished(config: pytest.Config, nodeids: Iterable[str]) -> list[str]:
    folder = run_folder(config)
    if folder is None:
        return []
    return [nodeid for nodeid in nodeids if not _done_file(folder, nodeid).exists()]


def wait_until_finished(config: pytest.Config, nodeids: Iterable[str], quiet_seconds: float) -> list[str]:
    """Wait for the other workers' checks in ``nodeids``; gives up when none has finished for
    ``quiet_seconds``. The checks still unfinished then (none, normally)."""
    missing = not_finished(config, nodeids)
    last_progress = time.monotonic()
    while missing and time.monotonic() - last_progress < quiet_seconds:
        time.sleep(0.05)
        still = not_finished(config, missing)
        if len(still) < len(missing):
            last_progress = time.monotonic()
        missing = still
    return missing


def other_logs(config: pytest.Config) -> dict[str, str]:
    """The broker output the other workers published, by worker."""
    folder = run_folder(config)
    if folder is None or not (folder / "logs").is_dir():
        return {}
    me = worker_name(config)
    return {
        path.stem: path.read_text(encoding="utf-8", errors="replace")
        for path in sorted((folder / "logs").glob("*.log"))
        if path.stem != me
    }


def claim_unstarted(config: pytest.Config, check: str) -> tuple[bool, str]:
    """Say, once per run, why there is no broker: (True, ``check``'s label) when ``check`` is the first to say
    it (it says it whole), else (False, the label of the check that did): "<check> on <worker>"."""
    folder = run_folder(config)
    if folder is None:
        return True, check
    from filelock import FileLock

    folder.mkdir(parents=True, exist_ok=True)
    record = folder / "unstarted.json"
    with FileLock(str(folder / "unstarted.lock"), timeout=60):
        if record.exists():
            said = json.loads(record.read_text(encoding="utf-8"))
            return False, f"{said['check']} on {said['worker']}"
        write_whole(record, json.dumps({"check": check, "worker": worker_name(config)}))
    return True, f"{check} on {worker_name(config)}"
