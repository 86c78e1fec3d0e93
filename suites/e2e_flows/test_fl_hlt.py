"""FL-HLT: the service's health endpoint is judged by its body, not its status.

A marketplace's ``/api/admin/health`` may answer 200 with ``{"status": "ok", "db": {"ok": false}}``
when its database is down; every field of ``[service] healthy`` must hold, and a non-2xx status
fails too. One GET, within ``[service] request_timeout_seconds``.
"""

import pytest

from signoff.findings import Finding
from signoff.flows import service as svc
from signoff.flows.fixtures import service_of
from signoff.redaction import redact
from signoff.services import ServiceError, get
from signoff.session import SessionSettings
from signoff.suite import not_applicable

CHECK_ID = svc.HEALTH_ID
pytestmark = [pytest.mark.e2e_flows, pytest.mark.service_health]


def test_fl_hlt(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    settings = service_of(signoff_settings)
    if settings.health is None:
        not_applicable(
            f'{settings.source}: [service] names no health path. To judge one, add health = "/api/admin/health" '
            'and healthy = { status = "ok", "db.ok" = true }'
        )
    running = request.getfixturevalue("service")
    url = running.url + settings.health
    shown = running.shown + settings.health
    try:
        answer = get(url, timeout=settings.request_timeout_seconds)
    except ServiceError as exc:
        evidence.check(
            [Finding(CHECK_ID, shown, "error", redact(f"{exc}. Next step: start the service, or correct [service]"))]
        )
        return
    rows, findings = svc.judge_health(shown, answer.status, answer.body, settings.healthy)
    for row in rows:
        evidence.row(CHECK_ID, row)
    evidence.attach("body", redact(answer.body[:2000].decode("utf-8", errors="replace")))
    evidence.attach("milliseconds", round(answer.seconds * 1000, 1))
    if findings:
        evidence.attach("service_output", running.output())
    evidence.check(findings)
