"""PD-WIRE for the control plane: module getters named after other modules point at them.

For every module, each argument-free address getter named after a module key of the config
(``stakeManager()``, ``feePool()``) must return that module's address: the team's address book
(``[control] addresses``) when it lists the key, else the deployment. The address book itself must
agree with the deployment. Getters the team expects (``[control.wiring]``) but a module lacks are
"not applicable", listed apart from a wrong value. Every module's ``version()`` must agree.
"""

import pytest

from signoff.errors import ChainError
from signoff.findings import Finding
from signoff.postdeploy.control import modules as wire
from signoff.postdeploy.control.fixtures import control_of
from signoff.postdeploy.ownership import ChainReader, read_address
from signoff.session import SessionSettings

CHECK_ID = wire.CHECK_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.control]


def test_pd_wire_modules(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    control_of(signoff_settings)
    plane = request.getfixturevalue("control_plane")
    system = request.getfixturevalue("deployed_system")
    chain = request.getfixturevalue("chain")
    reader = ChainReader(chain.w3, chain.w3.eth.default_block)
    label = plane.label
    keys = list(dict.fromkeys([*plane.keys.values(), *plane.address_book]))
    addresses = {}
    findings: list[Finding] = []
    for key in keys:
        deployed = system.addresses.get(plane.settings.module_name(key))
        listed = plane.address_book.get(key)
        if listed and deployed and listed.lower() != deployed.lower():
            findings.append(
                Finding(
                    CHECK_ID,
                    key,
                    "error",
                    f"{plane.settings.addresses}: modules.{key} is {listed}, but {plane.settings.module_name(key)} is "
                    f"deployed at {deployed}. Next step: correct the address book or the deployments file",
                )
            )
        if listed or deployed:
            addresses[key] = listed or deployed
    for name, facts in sorted(plane.modules.items()):
        own_key = plane.keys.get(name)
        others = [k for k in keys if k != own_key]
        links = wire.expected_links(name, system.abi_of(name), others, addresses, plane.settings.wiring.get(name, {}))
        for link in links:
            actual = None
            if link.present:
                try:
                    actual = read_address(reader, name, facts.address, link.getter)
                except ChainError:
                    actual = None
            row, found = wire.judge_link(link, actual, label)
            evidence.row(CHECK_ID, row)
            findings.extend(found)
    rows, found = wire.judge_versions({n: f.version for n, f in plane.modules.items()}, plane.settings.version)
    for row in rows:
        evidence.row(CHECK_ID, row)
    findings.extend(found)
    evidence.check(findings)
