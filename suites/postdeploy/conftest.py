"""postdeploy: the owner control plane is said "not applicable" once for a target without [control].

Every control check (marker ``control``) would otherwise report the same missing ``[control]`` on
its own line; one of them stays selected and says it, naming the key that adds the control plane.
"""

import pytest

from signoff.stash import settings_of


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        settings = settings_of(config)
    except pytest.UsageError:
        return
    if settings.control is not None:
        return
    control = [item for item in items if item.get_closest_marker("control") is not None]
    if len(control) > 1:
        config.hook.pytest_deselected(items=control[1:])
        dropped = {id(item) for item in control[1:]}
        items[:] = [item for item in items if id(item) not in dropped]
