"""postdeploy: the owner control plane is said "not applicable" once for a target without [control].

Every control check (marker ``control``) would otherwise report the same missing ``[control]`` on
its own line; one of them stays selected and says it, naming the key that adds the control plane.
"""

import pytest

from signoff.stash import settings_of
from signoff.suite import say_once


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        settings = settings_of(config)
    except pytest.UsageError:
        return
    if settings.control is None:
        say_once(config, items, ("control",))
