"""preflight: the rehearsal (PF-REH) belongs to rehearsal chains.

On a live network the question is whether that network is ready (PF-NET) and what is deployed
there (postdeploy); the deploy plan is rehearsed on eth-tester or anvil (``pytest -m rehearsal``),
so PF-REH is deselected on a live network rather than reported as a check that did not run.
"""

import pytest

from signoff.stash import settings_of


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        settings = settings_of(config)
    except pytest.UsageError:
        return
    if not settings.is_live:
        return
    rehearsal = [item for item in items if item.get_closest_marker("rehearsal") is not None]
    if rehearsal:
        config.hook.pytest_deselected(items=rehearsal)
        items[:] = [item for item in items if item.get_closest_marker("rehearsal") is None]
