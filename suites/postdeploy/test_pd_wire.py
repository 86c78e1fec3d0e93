"""PD-WIRE: each ``[[postdeploy.wiring]]`` getter returns the module it must.

One test per getter. Read-only: the getter is called with ``eth_call`` (at the pinned block on
a live network); a getter the contract's ABI lacks is reported as missing, never called.
"""

import pytest

from signoff.deploy.system import DeployedSystem
from signoff.errors import SignoffError
from signoff.findings import Finding
from signoff.postdeploy import wiring as wire
from signoff.postdeploy.ownership import ChainReader
from signoff.postdeploy.settings import Wiring
from signoff.redaction import redact
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable

CHECK_ID = wire.CHECK_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.wiring]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "wiring" in metafunc.fixturenames:
        settings = settings_of(metafunc.config).postdeploy
        entries: list[Wiring | None] = list(settings.wiring) if settings else []
        ids = wire.wiring_ids([str(entry.getter) for entry in entries if entry is not None])
        if not entries:
            entries, ids = [None], ["not-configured"]
        metafunc.parametrize("wiring", entries, ids=ids)


def test_pd_wire(
    wiring: Wiring | None, signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence
) -> None:
    if wiring is None:
        not_applicable(
            f"no [[postdeploy.wiring]] in {signoff_settings.target.path}: PD-WIRE checks module address getters. "
            'To check one, add [[postdeploy.wiring]] getter = "Router.dispatcher" and expect = "@Dispatcher"'
        )
    system: DeployedSystem = request.getfixturevalue("deployed_system")
    chain = request.getfixturevalue("chain")
    reader = ChainReader(chain.w3, chain.w3.eth.default_block, [c.abi for c in signoff_settings.artifacts.contracts])
    where = f"{signoff_settings.target.path}: [[postdeploy.wiring]] {wiring.getter}"
    try:
        expected = system.address(wiring.expect, where=where)
        address = system.address(wiring.getter.contract, where=where)
        artifact = system.artifacts.get(wiring.getter.contract)
        result = wire.check_wiring(
            reader,
            wiring.getter,
            address=address,
            abi=system.abi_of(wiring.getter.contract) if artifact is not None else None,  # routed getters too
            expected=expected,
            label=system.name_of,
        )
    except SignoffError as exc:
        evidence.check([Finding(CHECK_ID, str(wiring.getter), "error", redact(str(exc)))])
        return
    evidence.row("PD-WIRE", result.row)
    evidence.attach("contract", system.name_of(address))
    evidence.check(result.findings)
