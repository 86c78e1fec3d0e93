"""The ``service`` fixture of phase e2e_flows: the team's service, started with its own command on a
free loopback port (and stopped at the end of the session, also on Ctrl-C), or one already running
at ``[service] url``. Registered by the ``signoff-flows`` pytest11 entry point."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from signoff.errors import SignoffError
from signoff.evidence.collector import TABLES
from signoff.evidence.spec import TableSpec
from signoff.findings import NOT_APPLICABLE
from signoff.flows.settings import ServiceSettings
from signoff.redaction import display_url, redact, register_secret
from signoff.session import SessionSettings
from signoff.stash import record_environment, settings_of

TABLES.update(
    {
        "FL-HLT": TableSpec(
            "FL-HLT: the health endpoint, judged by its body",
            (("field", "Field"), ("expected", "Expected"), ("observed", "Observed"), ("verdict", "Verdict")),
            "order",
        ),
        "FL-FLOW": TableSpec(
            "FL-FLOW: declared end-to-end flows, step by step",
            (
                ("flow", "Flow"),
                ("step", "Step"),
                ("expected", "Expected"),
                ("observed", "Observed"),
                ("gas", "Gas"),
                ("verdict", "Verdict"),
            ),
            "order",
        ),
        "FL-INV": TableSpec(
            "FL-INV: invariants after every step of the declared flows",
            (
                ("flow", "Flow"),
                ("step", "Step"),
                ("outcome", "Step outcome"),
                ("invariant", "Invariant"),
                ("observed", "Observed"),
                ("verdict", "Verdict"),
            ),
            "order",
        ),
        "FL-SEARCH": TableSpec(
            "FL-SEARCH: the shortest sequence the search found that breaks an invariant",
            (("step", "Step"), ("move", "Call"), ("outcome", "Outcome"), ("verdict", "Verdict")),
            "order",
        ),
        "FL-SEARCH-coverage": TableSpec(
            "FL-SEARCH: what the search exercised (each flow step, how often sent and how often it succeeded)",
            (("action", "Step of the flows"), ("origin", "From"), ("tried", "Sent"), ("succeeded", "Succeeded")),
            "order",
        ),
        "FL-MIG": TableSpec(
            "FL-MIG: the application's migrations, in apply order",
            (("migration", "Migration"), ("step", "Step"), ("rollback", "Rollback file"), ("verdict", "Verdict")),
            "order",
        ),
        "FL-MIG-rehearsal": TableSpec(
            "FL-MIG: rehearsal on a scratch PostgreSQL (apply, then roll the release back)",
            (("migration", "Migration"), ("step", "Step"), ("observed", "Observed"), ("verdict", "Verdict")),
            "order",
        ),
        "FL-LAT": TableSpec(
            "FL-LAT: latency and error rate of named endpoints",
            (
                ("endpoint", "Endpoint"),
                ("requests", "Requests"),
                ("p50_ms", "p50 (ms)"),
                ("p95_ms", "p95 (ms)"),
                ("max_ms", "max (ms)"),
                ("errors", "Errors"),
                ("budget", "Budget"),
                ("verdict", "Verdict"),
            ),
            "order",
        ),
    }
)

if TYPE_CHECKING:
    from signoff.services import ServiceProcess

NO_SERVICE = (
    "no [service] in {path}: the service's health and latency are not checked. To check them, add [service] with "
    'command = ["...", "{{port}}"] (signoff starts it) or url = "${{SERVICE_URL}}", and health = "/api/admin/health"'
)


def service_of(settings: SessionSettings) -> ServiceSettings:
    if settings.service is None:
        pytest.skip(NOT_APPLICABLE + redact(NO_SERVICE.format(path=settings.target.path)))
    return settings.service


@dataclass(frozen=True)
class Service:
    url: str  # base URL, no trailing slash
    settings: ServiceSettings
    shown: str  # for messages (secrets redacted)
    process: ServiceProcess | None = None  # when signoff started it: its captured output

    def output(self) -> str:
        """The last lines the service printed (stdout and stderr), for the evidence."""
        return self.process.log_tail(40) if self.process is not None else "(not started by signoff)"


@pytest.fixture(scope="session")
def service(request: pytest.FixtureRequest) -> Iterator[Service]:
    settings = service_of(settings_of(request.config))
    from signoff.services import ServiceProcess

    problem = ""
    process = None
    try:
        url = settings.expanded_url()
        if url is not None:
            if "${" in (settings.url or ""):
                register_secret(url)
            record_environment(request.config, "Service", f"{display_url(url)} (running, not started by signoff)")
        else:
            env = settings.expanded_env()
            for key, value in env.items():
                if "${" in settings.env[key]:
                    register_secret(value)
            import os

            process = ServiceProcess(
                settings.command,
                cwd=settings.cwd,
                env={**os.environ, **env},
                ready_path=settings.health or "/",
                ready_timeout=settings.ready_timeout_seconds,
            )
            url = process.start()
            record_environment(request.config, "Service", f"started by signoff: {process.command} in {settings.cwd}")
    except SignoffError as exc:
        problem = redact(str(exc))
    if problem:
        if process is not None:
            process.stop()
        pytest.fail(problem, pytrace=False)
    assert url is not None
    try:
        yield Service(url.rstrip("/"), settings, redact(url.rstrip("/")), process)
    finally:
        if process is not None:
            process.stop()
