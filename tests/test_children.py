"""Every process a run starts dies with the run: SIGTERM (a cancelled CI job) stops the run as
Ctrl-C does, recording the running check as interrupted and stopping anvil; SIGKILL, which runs no
cleanup at all, still takes anvil down (the kernel's parent-death signal)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from signoff.processes import alive
from tests.conftest import REFERENCE, anvil_available

pytestmark = pytest.mark.skipif(not anvil_available(), reason="anvil not installed: run `npm ci`")

_ENV = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}


def _start_hanging_run(folder: Path, reports: Path) -> tuple[subprocess.Popen[str], int]:
    """A run on --network anvil whose second check hangs; returns it and the pid of its anvil."""
    suite = folder / "suites" / "preflight"
    suite.mkdir(parents=True)
    pids = folder / "children.txt"
    (suite / "test_slow.py").write_text(
        "import time\nimport pytest\nfrom signoff import children\nCHECK_ID = 'PF-NET'\n"
        "pytestmark = [pytest.mark.preflight]\n"
        "def test_first(signoff_endpoint):\n    pass\n"
        f"def test_hangs(signoff_endpoint):\n    open({str(pids)!r}, 'w').write(str(children.running_pids()))\n"
        "    time.sleep(120)\n"
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--signoff-target={REFERENCE}",
            f"--signoff-reports={reports}",
            "--network",
            "anvil",
            "-m",
            "preflight",
            str(suite),
        ],
        cwd=folder,
        env=_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (pids.exists() and pids.read_text()):
        time.sleep(0.1)
    [anvil] = json.loads(pids.read_text())
    assert alive(anvil)
    return process, anvil


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_sigterm_stops_the_run_like_ctrl_c_and_stops_anvil(pytester: pytest.Pytester, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    process, anvil = _start_hanging_run(pytester.path, reports)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2, output
    assert _gone_within(anvil, 5)
    [evidence_file] = [p for p in reports.glob("*.json") if not p.name.endswith(".manifest.json")]
    evidence = json.loads(evidence_file.read_text())
    results = {c["nodeid"].split("::")[-1]: c["result"] for c in evidence["checks"]}
    assert results.get("test_first") == "passed"
    assert results.get("test_hangs") in {"interrupted", None}
    assert evidence["verdict"]["label"] == "NOT SIGNED OFF"
    assert any("terminated (SIGTERM)" in reason for reason in evidence["verdict"]["reasons"]), evidence["verdict"]


def test_sigkill_of_the_run_still_takes_anvil_down(pytester: pytest.Pytester, tmp_path: Path) -> None:
    process, anvil = _start_hanging_run(pytester.path, tmp_path / "reports")
    process.kill()
    process.communicate(timeout=30)
    assert _gone_within(anvil, 5)
