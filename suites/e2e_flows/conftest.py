"""e2e_flows: what is not configured says "not applicable" once, naming the key, not once per check:
one item for the whole phase when the target has neither [service] nor [[flows]], else one for the
service checks when it has no [service]."""

import pytest

from signoff.stash import settings_of
from signoff.suite import say_once


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        settings = settings_of(config)
    except pytest.UsageError:
        return
    if settings.service is None:
        service = ("service_health", "latency")
        say_once(config, items, service if settings.flows else (*service, "flows", "invariants"))
