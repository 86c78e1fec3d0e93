"""The ``control_plane`` fixture: the owner control plane read once per session (imported by
:mod:`signoff.postdeploy.fixtures`, so it is registered with the other postdeploy fixtures)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from signoff.errors import SignoffError
from signoff.findings import NOT_APPLICABLE
from signoff.redaction import redact
from signoff.session import SessionSettings

if TYPE_CHECKING:
    from signoff.postdeploy.control.plane import ControlPlane
    from signoff.postdeploy.control.settings import ControlSettings

NO_CONTROL = (
    "no [control] in {path}: the owner control plane (config drift, change plan, ownership by declared type, "
    'pause authority, control surface) is not checked. To check it, add [control] config = "config" and map '
    "each config file with [[control.file]] (see the README's owner control plane section)"
)


def control_of(settings: SessionSettings) -> ControlSettings:
    """The target's [control] settings, or "not applicable" naming the key that adds them."""
    if settings.control is None:
        pytest.skip(NOT_APPLICABLE + redact(NO_CONTROL.format(path=settings.target.path)))
    return settings.control


@pytest.fixture(scope="session")
def control_plane(request: pytest.FixtureRequest, signoff_settings: SessionSettings) -> ControlPlane:
    """Config files, mapped values, modules, their controllers and the change plan, read at the pinned block."""
    settings = control_of(signoff_settings)
    from signoff.postdeploy.control.plane import read_plane
    from signoff.postdeploy.ownership import ChainReader, probe_accounts, with_names

    system = request.getfixturevalue("deployed_system")
    chain = request.getfixturevalue("chain")
    reader = ChainReader(chain.w3, chain.w3.eth.default_block, [c.abi for c in signoff_settings.artifacts.contracts])
    deployer = signoff_settings.network_settings.deployer if signoff_settings.network_settings else None
    from signoff.postdeploy.access_control import live_outsider

    if chain.kind == "embedded":  # a funded eth-tester account the system does not know
        from signoff.deploy.rehearsal import Operator

        outsider = Operator(chain, system).outsider(0)
    else:
        outsider = live_outsider([*system.names().values(), *([deployer] if deployer else [])])
    label = with_names(system.name_of, probe_accounts(system.accounts, deployer))
    problem = ""
    try:
        return read_plane(settings, system, reader, chain.w3, label, outsider=outsider, deployer=deployer)
    except SignoffError as exc:
        problem = redact(str(exc))
    pytest.fail(problem, pytrace=False)  # outside the except: no chained traceback


def planned_modules(settings: SessionSettings) -> list[str]:
    """The modules PD-CTL judges, known without a chain: every module the owner-control file declares,
    then every planned contract whose ABI has an owner, a governance or roles (so an undeclared one fails)."""
    control = settings.control
    if control is None:
        return []
    from signoff.postdeploy.control.owners import declared_names
    from signoff.postdeploy.control.reading import detect_type
    from signoff.postdeploy.ownership import is_safe, is_timelock, planned_contracts

    names = list(declared_names(control.owner_control, control.module_name))
    for name in planned_contracts(settings):
        try:
            abi = settings.artifacts.resolve(name).abi
        except LookupError:
            continue
        if detect_type(abi) is not None and not is_timelock(abi) and not is_safe(abi) and name not in names:
            names.append(name)
    return names
