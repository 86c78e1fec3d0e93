"""Suite runs from a warm interpreter, for the self-tests.

The self-tests start a few hundred ``python -m pytest`` processes on the real suites. Each paid
about a second and a half of CPU before its first check: importing pytest, web3 (py_ecc computes
its BLS pairing tables on import), eth-tester and py-evm. :class:`WarmRuns` starts one interpreter
per test process that has imported those (``tests/warm_server.py``) and forks it for each run. The
forked child is a separate process with the run's own arguments, directory, environment, standard
streams and exit code; signoff, the suites and their conftests are imported by the run itself, so
what a run loads, configures and rewrites is what a fresh process does.

What only a fresh interpreter shows is tested with one: the README's commands, the built wheel,
the console scripts, the import-cost and interrupt tests start real processes. Where ``os.fork``
is missing, or with ``SIGNOFF_SELFTEST_FORK=0``, every run is a fresh process. With
``SIGNOFF_SELFTEST_RUN_LOG=FILE`` the server writes each run's CPU seconds there, by self-test: a
profile of the self-tests must add them, since a forked run is not a child of the test's process.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.warm_server import kill

SERVER = Path(__file__).with_name("warm_server.py")
STARTUP_SECONDS = 60


class WarmRuns:
    """One warm interpreter, started on first use, serving ``python -m pytest`` runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server: subprocess.Popen[bytes] | None = None
        self._socket = ""
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    @staticmethod
    def enabled() -> bool:
        return hasattr(os, "fork") and os.environ.get("SIGNOFF_SELFTEST_FORK", "1") != "0"

    def run(
        self, args: Sequence[str], *, cwd: Path, env: Mapping[str, str], stdout: Path, stderr: Path, timeout: float
    ) -> int:
        """``python -m pytest ARGS`` in ``cwd`` with exactly ``env``, its output in the two files; its exit
        code (negative: the signal that ended it). Past ``timeout`` seconds it is killed and
        :class:`subprocess.TimeoutExpired` raised."""
        if not self.enabled():
            with stdout.open("wb") as out, stderr.open("wb") as err:
                done = subprocess.run(
                    [sys.executable, "-m", "pytest", *args],
                    cwd=cwd,
                    env=dict(env),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    timeout=timeout,
                    check=False,
                )
            return done.returncode
        request = {"args": list(args), "cwd": str(cwd), "env": dict(env), "stdout": str(stdout), "stderr": str(stderr)}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(self._started())
            connection.sendall((json.dumps(request) + "\n").encode())
            answers = connection.makefile("r")
            connection.settimeout(timeout)
            pid = int(answers.readline())
            try:
                code = answers.readline()
            except TimeoutError:
                kill(pid)
                raise subprocess.TimeoutExpired(["pytest", *args], timeout) from None
        if not code:
            raise RuntimeError(f"the warm interpreter ({SERVER.name}) stopped while pytest {' '.join(args)} ran")
        return int(code)

    def _started(self) -> str:
        with self._lock:
            if self._server is None or self._server.poll() is not None:
                self._folder = tempfile.TemporaryDirectory(prefix="signoff-warm-")
                self._socket = os.path.join(self._folder.name, "runs.sock")
                env = {**os.environ}
                env.pop("PYTHONDONTWRITEBYTECODE", None)
                self._server = subprocess.Popen(
                    [sys.executable, str(SERVER), self._socket],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    env=env,
                    start_new_session=True,  # a Ctrl-C for the self-tests is not one for the server
                )
                assert self._server.stdout is not None
                ready, _, _ = select.select([self._server.stdout], [], [], STARTUP_SECONDS)
                line = self._server.stdout.readline() if ready else b""
                if line.strip() != b"ready":
                    self._server.kill()
                    raise RuntimeError(f"the warm interpreter ({SERVER}) did not start within {STARTUP_SECONDS} s")
                atexit.register(self.stop)
            return self._socket

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            if server is None:
                return
            assert server.stdin is not None
            server.stdin.close()  # the server stops when its input closes
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            if self._folder is not None:
                self._folder.cleanup()


WARM = WarmRuns()
