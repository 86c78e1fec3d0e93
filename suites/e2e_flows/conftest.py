"""e2e_flows: what is not configured says "not applicable" once, naming the key, not once per check:
one item for the whole phase when the target has neither [service] nor [[flows]], else one for the
service checks when it has no [service]."""

import pytest

from signoff.stash import settings_of


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        settings = settings_of(config)
    except pytest.UsageError:
        return
    if settings.service is not None:
        return
    markers = ("service_health", "latency") if settings.flows else ("service_health", "latency", "flows", "invariants")
    group = [item for item in items if any(item.get_closest_marker(m) for m in markers)]
    if len(group) > 1:
        config.hook.pytest_deselected(items=group[1:])
        dropped = {id(item) for item in group[1:]}
        items[:] = [item for item in items if id(item) not in dropped]
