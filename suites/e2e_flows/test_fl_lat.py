"""FL-LAT: p95 latency and error rate of named endpoints, within the runbook's budgets.

One test per ``[[service.probe]]``: ``requests`` sequential GETs (never more, and only to the
configured service), each within ``[service] request_timeout_seconds``; p50, p95 and max in the
evidence. An error is a non-2xx answer or no answer at all.
"""

import pytest

from signoff.flows import service as svc
from signoff.flows.fixtures import service_of
from signoff.flows.settings import Probe
from signoff.services import ServiceError, get
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable

CHECK_ID = svc.LATENCY_ID
pytestmark = [pytest.mark.e2e_flows, pytest.mark.latency]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "probe" in metafunc.fixturenames:
        settings = settings_of(metafunc.config).service
        probes: list[Probe | None] = list(settings.probes) if settings is not None and settings.probes else [None]
        metafunc.parametrize("probe", probes, ids=[p.path if p else "not-configured" for p in probes])


def test_fl_lat(
    probe: Probe | None, signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence
) -> None:
    settings = service_of(signoff_settings)
    if probe is None:
        not_applicable(
            f"{settings.source}: no [[service.probe]]: latency and error rate are not measured. To measure one, add "
            '[[service.probe]] path = "/api/jobs", requests = 40, p95_ms = 400, max_error_rate = 0.01'
        )
    running = request.getfixturevalue("service")
    samples = []
    for _ in range(probe.requests):
        try:
            answer = get(running.url + probe.path, timeout=settings.request_timeout_seconds)
            samples.append(svc.Sample(answer.seconds, answer.status))
        except ServiceError as exc:
            samples.append(svc.Sample(settings.request_timeout_seconds, None, str(exc).split(": ")[-1][:60]))
    row, findings = svc.judge_probe(running.shown + probe.path, probe, samples)
    evidence.row(CHECK_ID, row)
    if findings:
        evidence.attach("service_output", running.output())
    evidence.check(findings)
