"""A team's broker and its sidecars die with the run: Ctrl-C (SIGINT) stops them through the run's
cleanup, and SIGKILL, which runs none, still takes them down (the kernel's parent-death signal)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from signoff.processes import alive
from signoff.run_logs import new_log
from tests.conftest import FIXTURES, with_sigint

_ENV = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
_ENV["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{_ENV.get('PATH', '')}"  # nats-server from the venv


def _start_hanging_stack(folder: Path) -> tuple[subprocess.Popen[str], list[int]]:
    """A run on the keyed reference whose one check hangs once the stack is up; it and the stack's pids."""
    suite = folder / "suites" / "e2e_pou"
    suite.mkdir(parents=True)
    pids = folder / "children.txt"
    (suite / "test_hang.py").write_text(
        "import time\nimport pytest\nfrom signoff import children\nCHECK_ID = 'PU-API'\n"
        "pytestmark = [pytest.mark.e2e_pou]\n"
        f"def test_hangs(pou_broker):\n    open({str(pids)!r}, 'w').write(str(children.running_pids()))\n"
        "    time.sleep(120)\n"
    )
    process = subprocess.Popen(
        with_sigint(
            "default",  # Ctrl-C interrupts it even if this test process was started with SIGINT ignored
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                f"--signoff-target={FIXTURES / 'reference-pou-keyed' / 'signoff.toml'}",
                f"--signoff-reports={folder / 'reports'}",
                "-m",
                "e2e_pou",
                str(suite),
            ],
        ),
        cwd=folder,
        env=_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (pids.exists() and pids.read_text()):
        if process.poll() is not None:
            pytest.fail(process.communicate()[0])
        time.sleep(0.1)
    started = json.loads(pids.read_text())
    assert len(started) >= 2 and all(alive(pid) for pid in started)  # nats-server and the broker
    return process, started


def _all_gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


def test_ctrl_c_stops_the_broker_and_its_sidecars(pytester: pytest.Pytester) -> None:
    process, started = _start_hanging_stack(pytester.path)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2, output
    assert _all_gone_within(started, 10), started


def test_sigkill_of_the_run_still_takes_the_stack_down(pytester: pytest.Pytester) -> None:
    process, started = _start_hanging_stack(pytester.path)
    process.kill()
    process.communicate(timeout=30)
    assert _all_gone_within(started, 10), started
    # ... and its logs, which no cleanup of its removed, go with the next run's first log
    left = sorted(Path(tempfile.gettempdir()).glob(f"signoff-*-{process.pid}-*.log"))
    assert len(left) == 2, left  # the broker's and nats-server's
    made = new_log("next run")
    made.close()
    Path(made.name).unlink()
    assert not any(path.exists() for path in left)
