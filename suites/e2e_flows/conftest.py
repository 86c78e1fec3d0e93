"""e2e_flows: what is not configured says "not applicable" once, naming the key, not once per check:
one item for the whole phase when the target has none of [service], [[flows]] and [migrations], else
one for the service checks when it has no [service], and one for the migrations checks without
[migrations]."""

import pytest

from signoff.stash import settings_of
from signoff.suite import say_once


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        settings = settings_of(config)
    except pytest.UsageError:
        return
    service = ("service_health", "latency")
    if settings.service is None and not settings.flows and settings.migrations is None:
        say_once(config, items, (*service, "flows", "invariants", "app_migrations"))  # the whole phase
        return
    if settings.service is None:
        say_once(config, items, service if settings.flows else (*service, "flows", "invariants"))
    if settings.migrations is None:
        say_once(config, items, ("app_migrations",))
