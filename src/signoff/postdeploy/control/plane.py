"""The control plane as read once per session: config files, mapped values, modules, who controls
them, and the change plan. Every check of the owner control plane judges this one reading, and
the control surface report prints it. Reads only (``eth_call`` at the pinned block); the guard
simulations are ``eth_call`` too, never a transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from signoff.artifacts.abi import find_function, signature
from signoff.artifacts.hashing import keccak256
from signoff.errors import ChainError, ConfigError
from signoff.postdeploy.control import plan as change
from signoff.postdeploy.control.owners import ControlPath, OwnerControl, parse_owner_control
from signoff.postdeploy.control.reading import (
    PAUSER_GETTERS,
    ModuleFacts,
    ParamReading,
    detect_type,
    read_module,
    read_param,
)
from signoff.postdeploy.control.settings import ControlSettings
from signoff.postdeploy.control.values import (
    expected_value,
    leaves,
    missing,
    module_addresses,
    read_json,
    unmapped,
)
from signoff.postdeploy.ownership import ChainReader, is_safe, is_timelock

if TYPE_CHECKING:
    from web3 import Web3

    from signoff.deploy.system import DeployedSystem
    from signoff.postdeploy.access_control import Simulator

Label = Callable[[str], str]
NOBODY = "0x" + "00" * 19 + "01"  # the probe's "remove" argument when a set is empty


@dataclass(frozen=True)
class KeyProblem:
    """A config key that cannot be compared: unmapped, missing from the file, or an invalid value."""

    file: str
    key: str
    status: str  # unmapped | missing-key | invalid-value | unmapped-file | no-contract
    message: str


@dataclass(frozen=True)
class PlanEntry:
    call: change.PlannedCall | None
    param: str
    problem: str | None = None  # no setter, unroutable
    outsider_can_call: bool = False
    signer_reverts: str | None = None


@dataclass
class ControlPlane:
    settings: ControlSettings
    label: Label
    owner_control: OwnerControl | None
    address_book: dict[str, str]
    readings: dict[str, ParamReading] = field(default_factory=dict)  # param id -> reading
    problems: list[KeyProblem] = field(default_factory=list)
    modules: dict[str, ModuleFacts] = field(default_factory=dict)  # deployed name -> facts
    keys: dict[str, str] = field(default_factory=dict)  # deployed name -> config module key
    paths: dict[str, ControlPath] = field(default_factory=dict)
    plan: list[PlanEntry] = field(default_factory=list)
    unguarded: list[str] = field(default_factory=list)  # setters an outsider's eth_call does not revert
    admin: dict[str, bool] = field(default_factory=dict)  # access-control modules: expected holds the admin role
    relays: dict[str, change.Relay] = field(default_factory=dict)
    pause_roles: dict[str, tuple[str, bool]] = field(default_factory=dict)  # module -> (role, authority holds it)
    extra_admins: dict[str, list[str]] = field(default_factory=dict)  # AccessControl: undeclared admins found
    outsider: str = ""  # an address that holds nothing: the guard probes' sender
    simulator: Simulator | None = None
    unsimulated: list[str] = field(default_factory=list)  # eth_calls that could not execute at all
    timelocks: dict[str, tuple[int, str | None]] = field(default_factory=dict)  # address -> (min delay, proposer)

    def holder_of(self, address: str) -> str | None:
        """Who controls the contract at ``address``: its owner/governance, or for AccessControl the
        declared admin when it holds DEFAULT_ADMIN_ROLE."""
        for name, facts in self.modules.items():
            if facts.address.lower() == address.lower():
                if facts.kind == "access-control":
                    return self.declared_admin(name) if self.admin.get(name) else None
                return facts.holder
        return None

    def declared_admin(self, name: str) -> str | None:
        if self.owner_control is None or name not in self.keys:
            return None
        return self.owner_control.expected(self.owner_control.modules[self.keys[name]])

    def name_of_key(self, key: str) -> str:
        return self.settings.module_name(key)


def read_plane(
    settings: ControlSettings,
    system: DeployedSystem,
    reader: ChainReader,
    w3: Web3,
    label: Label,
    *,
    outsider: str,
    deployer: str | None = None,
) -> ControlPlane:
    """Read everything the control checks judge. A ConfigError for a file that cannot be read."""
    owner_control = None
    if settings.owner_control is not None:
        owner_control = parse_owner_control(
            read_json(settings.owner_control, "owner-control file"), settings.owner_control
        )
    book = {}
    if settings.addresses is not None:
        book = module_addresses(read_json(settings.addresses, "address book"), settings.addresses)
    from signoff.postdeploy.access_control import eth_call_simulator

    plane = ControlPlane(settings, label, owner_control, book, outsider=outsider)
    plane.simulator = eth_call_simulator(w3, reader.abis, override_balances=False)
    _read_config(plane, system, reader)
    _read_modules(plane, system, reader, w3, deployer)
    _build_plan(plane, system, w3)
    return plane


def _read_config(plane: ControlPlane, system: DeployedSystem, reader: ChainReader) -> None:
    settings = plane.settings
    known = {m.path for m in settings.files}
    for extra in (settings.owner_control, settings.addresses):
        if extra is not None:
            known.add(extra.resolve())
    for path in sorted(settings.config_dir.glob("*.json")):
        if path.resolve() not in known and path.name not in settings.ignore_files:
            plane.problems.append(
                KeyProblem(
                    path.name,
                    "(the whole file)",
                    "unmapped-file",
                    f"{path} is a config file signoff does not compare: its values could change unreviewed. "
                    f'Next step: map it with [[control.file]] path = "{path.name}", or list it in '
                    "[control.ignore_files] with the reason",
                )
            )
    for mapping in settings.files:
        data = read_json(mapping.path, "config file")
        mapped = [p.key for p in mapping.params]
        if not isinstance(data, dict):
            found = "an array" if isinstance(data, list) else f"a {type(data).__name__}"
            why = f"{mapping.path} is {found}, not a JSON object of key -> value"
            plane.problems.append(
                KeyProblem(mapping.name, "(the whole file)", "unmapped", f"{why}. Next step: fix the file")
            )
            for key in mapped:
                plane.problems.append(
                    KeyProblem(mapping.name, key, "not-an-object", f"{mapping.name}: {key} cannot be compared: {why}")
                )
            continue
        for key in unmapped(data, mapped, mapping.ignore):
            plane.problems.append(
                KeyProblem(
                    mapping.name,
                    key,
                    "unmapped",
                    f"{mapping.path}: key {key} is neither mapped nor ignored, so a change to it would reach "
                    f'production unchecked. Next step: map it in [[control.file]] (path = "{mapping.name}") with '
                    f'keys.{_toml_key(key)} = {{ getter = "...", unit = "..." }}, or ignore it with the reason',
                )
            )
        for key in missing(data, mapped):
            plane.problems.append(
                KeyProblem(
                    mapping.name,
                    key,
                    "missing-key",
                    f"{mapping.path} has no key {key}, which [[control.file]] maps. Next step: add it to the file "
                    "or remove the mapping",
                )
            )
        values = leaves(data, mapped)
        for param in mapping.params:
            if param.key not in values:
                continue
            try:
                expected = expected_value(param, values[param.key], mapping.path)
            except ConfigError as exc:
                plane.problems.append(KeyProblem(mapping.name, param.key, "invalid-value", str(exc)))
                continue
            if param.contract not in system.addresses:
                plane.problems.append(
                    KeyProblem(
                        mapping.name,
                        param.key,
                        "no-contract",
                        f"{mapping.path}: {param.key} maps to {param.contract}, which is not deployed here "
                        f"(deployed: {', '.join(sorted(system.addresses)) or 'nothing'}). Next step: correct "
                        "contract in [[control.file]] or the deployments file",
                    )
                )
                continue
            plane.readings[param.id] = read_param(
                reader, param, system.addresses[param.contract], system.abi_of(param.contract), expected
            )


def _toml_key(key: str) -> str:
    return f'"{key}"' if "." in key else key


def _proposer(plane: ControlPlane, system: DeployedSystem, reader: ChainReader, timelock: str) -> str | None:
    """Who may propose to ``timelock`` (PROPOSER_ROLE) among the declared holders, the Safes and accounts."""
    from signoff.postdeploy.ownership import has_role, role_id

    candidates = [*(safe.address for safe in system.safes.values()), *system.accounts.values()]
    if plane.owner_control is not None:
        candidates = [a for a in (plane.owner_control.governance, plane.owner_control.owner) if a] + candidates
    try:
        proposer = role_id(reader, "timelock", timelock, "PROPOSER_ROLE")
        label = f"{timelock}.hasRole(PROPOSER_ROLE)"
        return next(
            (who for who in dict.fromkeys(candidates) if has_role(reader, timelock, who, proposer, label=label)), None
        )
    except ChainError:
        return None


def _holds_admin(facts: ModuleFacts, reader: ChainReader, who: str) -> bool:
    try:
        return facts.holds_admin(reader, who)
    except ChainError:
        return False


def _read_modules(
    plane: ControlPlane, system: DeployedSystem, reader: ChainReader, w3: Web3, deployer: str | None
) -> None:
    settings = plane.settings
    known_accounts = list(dict.fromkeys([*system.accounts.values(), *([deployer] if deployer else [])]))
    declared_names = {}
    if plane.owner_control is not None:
        declared_names = {settings.module_name(k): k for k in plane.owner_control.modules}
    plane.keys = dict(declared_names)
    candidates = list(dict.fromkeys([*declared_names, *system.artifacts]))
    for name in candidates:
        if name not in system.addresses or name not in system.artifacts:
            continue
        abi = system.abi_of(name)
        if name not in declared_names and detect_type(abi) is None:
            continue  # ownerless (a token, a library): not a module of the control plane
        if name not in declared_names and (is_timelock(abi) or is_safe(abi)):
            continue  # a Safe or timelock of the deployment is the governance itself (PD-OWN judges it)
        getters: tuple[str, ...] = PAUSER_GETTERS
        if settings.pauser and not settings.pauser.endswith("_ROLE"):
            getters = (settings.pauser, *PAUSER_GETTERS)
        plane.modules[name] = read_module(reader, name, system.addresses[name], abi, getters)
    relay_text = settings.relay
    for name, facts in plane.modules.items():
        function = None
        if relay_text is not None and relay_text.contract == name:
            function = relay_text.signature or signature(
                find_function(system.abi_of(name), relay_text.function, f"{settings.source}: [control] relay")
            )
        elif relay_text is None and name == settings.pause_authority:
            function = change.detect_relay(system.abi_of(name))
        if function:
            plane.relays[facts.address.lower()] = change.Relay(facts.address, name, function)
    from signoff.deploy.governance import read_governance

    block = reader.block
    for name, facts in plane.modules.items():
        hops: list[str] = []
        holder = facts.holder
        end = None
        seen = {facts.address.lower()}
        while holder is not None and holder.lower() not in seen:
            hops.append(holder)
            seen.add(holder.lower())
            inner = plane.holder_of(holder)
            if inner is None:
                try:
                    end = read_governance(w3, holder, block)
                except (ChainError, ConfigError):
                    end = None
                break
            holder = inner
        if facts.kind == "access-control" and plane.owner_control is not None and name in declared_names:
            declared = plane.owner_control.modules[declared_names[name]]
            expected = plane.owner_control.expected(declared)
            if expected:
                try:
                    plane.admin[name] = facts.holds_admin(reader, expected)
                except ChainError:
                    plane.admin[name] = False
                plane.extra_admins[name] = [
                    who
                    for who in known_accounts
                    if who.lower() != expected.lower() and _holds_admin(facts, reader, who)
                ]
                if plane.admin[name]:  # controlled by the admin it declares: follow that one
                    try:
                        end = read_governance(w3, expected, block)
                    except (ChainError, ConfigError):
                        end = None
                    hops = [expected]
        plane.paths[name] = ControlPath(tuple(hops), end)
        if end is not None and end.kind == "timelock" and end.address.lower() not in plane.timelocks:
            plane.timelocks[end.address.lower()] = (
                int(end.min_delay or 0),
                _proposer(plane, system, reader, end.address),
            )
    authority = system.addresses.get(settings.pause_authority or "")
    for name, facts in plane.modules.items():
        role = settings.pauser if settings.pauser and settings.pauser.endswith("_ROLE") else facts.pause_role
        if authority is None or role is None or facts.kind != "access-control":
            continue
        try:
            plane.pause_roles[name] = (role, facts.holds_role(reader, role, authority))
        except ChainError:
            plane.pause_roles[name] = (role, False)


def _build_plan(plane: ControlPlane, system: DeployedSystem, w3: Web3) -> None:
    for param_id, reading in plane.readings.items():
        param = reading.param
        abi = system.abi_of(param.contract)
        setter = change.find_setter(abi, param)
        module = system.addresses[param.contract]
        if isinstance(setter, str):
            if reading.problem is None and reading.actual != reading.expected:
                plane.plan.append(PlanEntry(None, param_id, problem=setter))
            continue
        current = _current_args(reading, setter)
        if current is not None and _succeeds(plane, plane.outsider, module, _data(setter, current)):
            plane.unguarded.append(f"{param.contract}.{setter.signature}")
        if reading.problem is not None:
            continue
        for args in change.calls_for(reading, setter):
            data = _data(setter, args)
            to, payload, signer, hops = change.route(module, data, plane.holder_of, plane.relays, plane.label)
            execute = None
            reverts = _revert_reason(plane, signer, to, payload, strict=False)
            lock = plane.timelocks.get(signer.lower())
            if lock is not None:  # the signer is a timelock: its proposer schedules, anyone executes after
                delay, proposer = lock
                salt = keccak256(f"signoff change plan {param_id} {len(plane.plan)}".encode())
                payload, execute = change.through_timelock(signer, to, payload, delay, salt)
                hops = (*hops, f"{plane.label(signer)}.schedule, execute after {delay} s")
                to, signer = signer, proposer or f"(no proposer of {signer} is known)"
                if reverts is None or reverts.startswith("could not be simulated"):
                    reverts = _revert_reason(plane, signer, to, payload, strict=False)
            call = change.PlannedCall(
                param=param_id,
                contract=param.contract,
                module=module,
                function=setter.signature,
                args=args,
                to=to,
                data=payload,
                signer=signer,
                route=(f"{param.contract}.{setter.signature}", *hops),
                execute=execute,
            )
            plane.plan.append(PlanEntry(call, param_id, signer_reverts=reverts))


def _data(setter: change.Setter, args: Sequence[Any]) -> bytes:
    from signoff.postdeploy.ownership import call_data

    return call_data(setter.signature, list(setter.types), list(args))


def _current_args(reading: ParamReading, setter: change.Setter) -> tuple[Any, ...] | None:
    """Arguments that would leave the value as it is: what an outsider's probe sends."""
    actual = reading.actual if reading.problem is None else reading.expected
    if actual is None:
        return None
    if setter.mode == "value":
        return (actual,)
    members = sorted(actual, key=str.lower) if isinstance(actual, frozenset) else []
    if setter.mode == "list":
        return (members,)
    return (members[0], True) if members else (NOBODY, False)


def _succeeds(plane: ControlPlane, sender: str, to: str, data: bytes) -> bool:
    """Whether ``eth_call`` from ``sender`` succeeds; a call that could not execute at all (no funds, a
    node error) is recorded in ``plane.unsimulated``, never taken for a revert."""
    return _revert_reason(plane, sender, to, data) is None


def _revert_reason(plane: ControlPlane, sender: str, to: str, data: bytes, *, strict: bool = True) -> str | None:
    """None when ``eth_call`` from ``sender`` succeeds, else why not. ``strict``: a call that could not
    execute at all is recorded as a problem (a guard probe must never pass that way); otherwise it is
    only reported (a signer's simulation that could not run proves nothing either way)."""
    from eth_utils.address import is_address

    if not is_address(sender):
        return f"no sender: {sender}"
    assert plane.simulator is not None
    try:
        result = plane.simulator.call(sender, to, data, 0)
    except ChainError as exc:
        if strict:
            plane.unsimulated.append(str(exc))
        return f"could not be simulated: {exc}"
    return None if result.ok else plane.simulator.decode(result.data)
