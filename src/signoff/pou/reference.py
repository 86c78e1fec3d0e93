"""Starting the reference broker (fixtures/reference/pou/broker.py) as a real process.

The reference broker is not part of signoff's API: it is a fixture that makes the e2e_pou
suite run out of the box and that, through its broken variants, proves every check fails
on the defect it exists for. It runs under uvicorn on a free 127.0.0.1 port, over the
database signoff provisioned, with its test-seeding API on for a DID namespace, and is
stopped at the end of the session (and exits by itself when the process that started it
dies; the log of a killed run is removed by the next start).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from signoff import children
from signoff.errors import SignoffError
from signoff.redaction import redact
from signoff.run_logs import new_log

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
    "no-test-api",  # not broken: a broker without the test-seeding API (signoff seeds through its database)
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
        test_did_prefix: str | None = None,
        test_token: str | None = None,
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
        self.test_did_prefix = test_did_prefix
        self.test_token = test_token
        self.process: subprocess.Popen[bytes] | None = None
        self._log = new_log("broker")
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
        if self.test_did_prefix is not None and self.test_token is not None:
            env.update({"POU_TEST_DID_PREFIX": self.test_did_prefix, "POU_TEST_TOKEN": self.test_token})
        else:  # never inherit a test API from the environment of the run
            env.pop("POU_TEST_DID_PREFIX", None)
            env.pop("POU_TEST_TOKEN", None)
        self.process = children.spawn(
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

    def output(self) -> str:
        """Everything the broker printed so far, redacted."""
        try:
            return redact(Path(self._log.name).read_text(errors="replace"))
        except OSError:
            return ""

    def log_tail(self, lines: int = 15) -> str:
        text = Path(self._log.name).read_text(errors="replace").strip().splitlines()
        return redact(" | ".join(text[-lines:])) or "(no output)"

    def stop(self) -> None:
        if self.process is not None:
            children.stop(self.process)
        self._log.close()
        for leftover in (self._log.name, self._log.name + ".port"):
            Path(leftover).unlink(missing_ok=True)

    def __enter__(self) -> ReferenceBroker:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
