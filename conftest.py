"""Root conftest: only the design card's short aliases for the plugin's options.

The plugin (registered by the pytest11 entry point) owns ``--signoff-target`` and
``--signoff-network``; ``--target`` and ``--network`` are added here, in this repository only,
so they cannot clash with another plugin (ape also defines ``--network``) elsewhere.
"""

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("signoff")
    group.addoption("--target", dest="signoff_target", metavar="PATH", help="alias of --signoff-target")
    group.addoption("--network", dest="signoff_network", metavar="NAME", help="alias of --signoff-network")
