"""e2e_flows: a target without [service] says "not applicable" once for the service checks (one stays
selected and says it, naming the key), not once per check."""

import pytest

from signoff.stash import settings_of


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        settings = settings_of(config)
    except pytest.UsageError:
        return
    if settings.service is not None:
        return
    flows = [item for item in items if any(item.get_closest_marker(m) for m in ("service_health", "latency"))]
    if len(flows) > 1:
        config.hook.pytest_deselected(items=flows[1:])
        dropped = {id(item) for item in flows[1:]}
        items[:] = [item for item in items if id(item) not in dropped]
