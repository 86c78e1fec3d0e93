"""A team's own service, started the way the team starts it, and plain HTTP GETs to it with deadlines.

:class:`ServiceProcess` runs the team's command (``{port}`` replaced by a free loopback port) in its
own directory with its own environment, captures stdout and stderr for the evidence, and is ready
when the readiness path answers at all (any HTTP status: judging it is a check's job). It dies with
the run (:mod:`signoff.children`). :func:`get` is one GET with an overall deadline; a refused
connection, a timeout or a non-HTTP answer is a :class:`ServiceError` saying which.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from signoff import children
from signoff.deadline import DeadlineExceeded, run_within
from signoff.errors import SignoffError
from signoff.redaction import redact
from signoff.run_logs import new_log


class ServiceError(SignoffError):
    """The service could not be started or did not answer."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    seconds: float


def get(url: str, *, timeout: float) -> Answer:
    """One GET of ``url`` within ``timeout`` seconds overall (a 4xx/5xx is an answer, not an error)."""
    started = time.perf_counter()

    def exchange() -> tuple[int, bytes]:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - http(s) only
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return int(response.status), bytes(response.read(1_000_000))
        except urllib.error.HTTPError as error:
            return int(error.code), bytes(error.read(1_000_000) if error.fp else b"")

    try:
        status, body = run_within(timeout, exchange)
    except DeadlineExceeded:
        raise ServiceError(redact(f"GET {url} did not answer within {timeout:g} s")) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServiceError(redact(f"GET {url} failed: {reason}")) from None
    return Answer(status, body, time.perf_counter() - started)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServiceProcess:
    """The team's service, started by its own command on a free loopback port."""

    def __init__(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], ready_path: str, ready_timeout: float
    ) -> None:
        self.argv = tuple(argv)
        self.cwd = cwd
        self.env = dict(env)
        self.ready_path = ready_path
        self.ready_timeout = ready_timeout
        self.url = ""
        self.command = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._log = new_log("service")

    def start(self) -> str:
        port = free_port()
        argv = [part.replace("{port}", str(port)) for part in self.argv]
        self.command = redact(" ".join(argv))
        try:
            self._process = children.spawn(argv, cwd=self.cwd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        except OSError as exc:
            raise ServiceError(
                f"the service command {self.command!r} could not start in {self.cwd}: {exc}. Next step: correct "
                "[service] command (a list: the program, then its arguments) or cwd"
            ) from None
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServiceError(
                    f"the service command {self.command!r} exited with code {self._process.returncode} before it "
                    f"answered: {self.log_tail()}"
                )
            try:
                get(self.url + self.ready_path, timeout=1.0)
                return self.url
            except ServiceError:
                time.sleep(0.1)
        self.stop()
        raise ServiceError(
            f"the service started by {self.command!r} did not answer {self.ready_path} on port {port} within "
            f"{self.ready_timeout:g} s: {self.log_tail()}. Next step: check it listens on the {{port}} it is given, "
            "or raise [service] ready_timeout_seconds"
        )

    def log_tail(self, lines: int = 12) -> str:
        try:
            text = Path(self._log.name).read_text(errors="replace")
        except OSError:
            return "(no output)"
        tail = text.strip().splitlines()[-lines:]
        return redact(" | ".join(tail)) if tail else "(no output)"

    def stop(self) -> None:
        if self._process is not None:
            children.stop(self._process)
            self._process = None
        with_suffix = Path(self._log.name)
        self._log.close()
        with_suffix.unlink(missing_ok=True)
