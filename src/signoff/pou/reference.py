"""Starting the reference broker (fixtures/reference/pou/broker.py) as a real process.

The reference broker is not part of signoff's API: it is a fixture that makes the e2e_pou
suite run out of the box and that, through its broken variants, proves every check fails
on the defect it exists for. It runs under uvicorn on a free 127.0.0.1 port, over the
database signoff provisioned, and is stopped at the end of the session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from signoff.errors import SignoffError
from signoff.redaction import redact

# The variants the reference broker knows; "correct" is the one that passes everything.
REFERENCE_VARIANTS = (
    "correct",
    "outsider-audit-pass",  # an AUDIT_PASS from outside the committee is accepted
    "finalizer-counts-outsiders",  # the automatic finalizer counts every attesting DID
    "accepted-from-anyone",  # ACCEPTED is accepted from a DID that is not the client
    "duplicate-500",  # a duplicate (task, DID, type) is answered with a 500
    "score-unchecked",  # score/confidence outside [0, 1] are stored
    "task-id-500",  # a task id that is not a UUID is answered with a 500
    "short-committee",  # committee of fewer than m although enough agents exist
    "reputation-frozen",  # settlement does not update reputation
    "finalizer-off",  # the finalizer job runs but never finalizes
    "notify-client-only",  # the settlement notification reaches the client only
)


class BrokerError(SignoffError):
    """The broker could not be started or did not become healthy."""


class ReferenceBroker:
    """One reference broker process; ``start()`` returns its base URL."""

    def __init__(
        self,
        directory: Path,
        database_url: str,
        *,
        variant: str,
        k: int,
        m: int,
        finalizer_interval_seconds: float,
    ) -> None:
        self.script = directory / "broker.py"
        if not self.script.is_file():
            raise BrokerError(
                f"the reference broker {self.script} does not exist. Next step: correct [pou] reference, "
                "or set [pou] url to your own broker"
            )
        self.database_url = database_url
        self.variant = variant
        self.k, self.m = k, m
        self.interval = finalizer_interval_seconds
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="signoff-broker-", suffix=".log", delete=False)
        self.url = ""

    def start(self, timeout: float = 20.0) -> str:
        env = dict(os.environ)
        env.update(
            {
                # The URL (with its password) goes only to the child's environment, never to argv.
                "POU_DATABASE_URL": self.database_url,
                "POU_VARIANT": self.variant,
                "POU_K": str(self.k),
                "POU_M": str(self.m),
                "POU_FINALIZER_INTERVAL_SECONDS": str(self.interval),
                "POU_PORT_FILE": self._log.name + ".port",
            }
        )
        self.process = subprocess.Popen(
            [sys.executable, str(self.script)], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        port_file = Path(self._log.name + ".port")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerError(f"the reference broker exited with code {self.process.returncode}: {self.log_tail()}")
            if port_file.is_file() and port_file.read_text().strip():
                self.url = f"http://127.0.0.1:{int(port_file.read_text())}"
                port_file.unlink()
                return self.url
            time.sleep(0.02)
        self.stop()
        raise BrokerError(f"the reference broker did not listen within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        text = Path(self._log.name).read_text(errors="replace").strip().splitlines()
        return redact(" | ".join(text[-lines:])) or "(no output)"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)

    def __enter__(self) -> ReferenceBroker:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
