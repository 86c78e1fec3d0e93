"""PD-REE: guarded withdrawals reject re-entry from an attacker contract's callback.

One test per ``[[postdeploy.reentrancy]]`` entry. It sends transactions (a victim's deposit,
the attacker's deployment, the attack), so it runs on the drill chain inside a snapshot: the
rehearsal chain, or an anvil fork with ``--signoff-fork``; on a live network without a fork it
is reported as not run.
"""

import pytest

from signoff.postdeploy import reentrancy as ree
from signoff.postdeploy.settings import ReentrancyProbe
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable

CHECK_ID = ree.CHECK_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.reentrancy, pytest.mark.drill]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "probe" in metafunc.fixturenames:
        postdeploy = settings_of(metafunc.config).postdeploy
        entries = list(postdeploy.reentrancy) if postdeploy else []
        metafunc.parametrize("probe", entries or [None], ids=[ree.probe_id(e) for e in entries] or ["not-configured"])


def test_pd_ree(
    probe: ReentrancyProbe | None, request: pytest.FixtureRequest, signoff_settings: SessionSettings, evidence
) -> None:
    if probe is None:
        not_applicable(
            f"no [[postdeploy.reentrancy]] in {signoff_settings.target.path}: no guarded entry point is declared. "
            'To probe one, add [[postdeploy.reentrancy]] contract = "Vault", deposit = "deposit", '
            'withdraw = "withdraw" and value = "1 ether"'
        )
    drill = request.getfixturevalue("drill")  # skips with the NOT RUN reason on a live network without a fork
    result = ree.run_probe(drill, request.getfixturevalue("deployed_system"), signoff_settings.artifacts, probe)
    evidence.row("PD-REE", result.row)
    for name, value in result.data.items():
        evidence.attach(name, value)
    evidence.check(result.findings)
