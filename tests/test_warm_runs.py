"""The warm interpreter that serves the self-tests' suite runs (tests/warm.py): each run is its own
process, with its own arguments, directory, environment, output and exit code, and imports signoff
and every pytest plugin itself, so pytest rewrites them as it does in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.warm import WARM, WarmRuns

pytestmark = pytest.mark.skipif(not WarmRuns.enabled(), reason="no os.fork here: every suite run is a fresh process")

PROBE = """
import os, sys

def test_probe():
    print("PROBE", os.getpid(), os.getppid(), os.getcwd(), os.environ.get("WARM_PROBE"), sys.path[0])
    names = ("signoff.plugin", "signoff.postdeploy.fixtures", "xdist.plugin", "pytest_html.plugin")
    print("LOADERS", [type(sys.modules[name].__loader__).__name__ for name in names])
    assert os.environ.get("WARM_FAIL") != "1", "asked to fail"
"""


def _run(tmp_path: Path, *args: str, fail: bool = False, timeout: float = 120) -> tuple[int, str]:
    env = {**os.environ, "WARM_PROBE": str(tmp_path), "WARM_FAIL": "1" if fail else "0"}
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    code = WARM.run(
        ["-p", "no:cacheprovider", "-s", "-q", *args], cwd=tmp_path, env=env, stdout=out, stderr=err, timeout=timeout
    )
    return code, out.read_text() + err.read_text()


def test_a_warm_run_is_its_own_process_in_its_own_directory_and_environment(tmp_path: Path) -> None:
    (tmp_path / "test_probe.py").write_text(PROBE)
    code, output = _run(tmp_path)
    assert code == 0, output
    [line] = [line for line in output.splitlines() if line.startswith("PROBE ")]
    _, pid, parent, cwd, probe, first = line.split(" ")
    assert int(pid) != os.getpid() and int(parent) != os.getpid()  # forked by the warm interpreter
    assert cwd == str(tmp_path) and probe == str(tmp_path) and first == str(tmp_path)  # as `python -m`
    fresh = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", "-q"],
        cwd=tmp_path,
        env={**os.environ, "WARM_PROBE": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    [loaders] = [line for line in fresh.stdout.splitlines() if line.startswith("LOADERS ")]
    assert loaders in output.splitlines(), (loaders, output)  # what pytest rewrote: as in a fresh process

    failing_code, failing = _run(tmp_path, fail=True)
    assert failing_code == 1 and "asked to fail" in failing, failing


def test_a_warm_run_past_its_timeout_is_killed(tmp_path: Path) -> None:
    (tmp_path / "test_slow.py").write_text("import time\n\ndef test_slow():\n    time.sleep(60)\n")
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        _run(tmp_path, timeout=2)
    assert time.monotonic() - started < 20
