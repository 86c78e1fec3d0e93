"""``[postdeploy]`` -> :class:`PostdeploySettings`: what the deployed system must satisfy.

Every postdeploy check reads its own section; names (``"@Governance"``, ``"PayRoxProxyRouter"``)
are resolved against the deployed system at run time (:class:`~signoff.deploy.system.DeployedSystem`).
Functions are written ``Contract.function`` or ``Contract.function(type,...)`` when overloaded::

    [postdeploy]
    governance = "@Governance"          # owner / admin of everything (live: [networks.X] governance)
    min_safe_threshold = 3              # PD-OWN: a Safe governance needs >= 3 of >= 5
    min_safe_owners = 5
    min_timelock_delay_seconds = 86400  # PD-OWN: when governance is a timelock
    public = ["PayRoxProxyRouter.deposit", "PayRoxProxyRouter.withdraw"]  # PD-ACL: anyone may call
    discovery_examples = 12             # PD-ACL: generated argument sets per function

    [[postdeploy.privileged]]           # PD-ACL: reverts for an outsider, succeeds for role
    function = "ManifestDispatcher.pause"
    role = "@Governance"
    # args = [...]                      # default: generated from the ABI types

    [[postdeploy.reentrancy]]           # PD-REE
    contract = "PayRoxProxyRouter"
    deposit = "deposit"                 # called with value by the attacker
    withdraw = "withdraw"               # called with the amount, then re-entered from receive()
    value = "1 ether"
    attacker = "ReentrancyAttacker"     # artifact of the attacker contract

    [[postdeploy.wiring]]               # PD-WIRE
    getter = "PayRoxProxyRouter.dispatcher"
    expect = "@ManifestDispatcher"

    [[postdeploy.create2]]              # PD-C2
    factory = "DeterministicChunkFactory"
    contract = "PingFacet"
    # salt = "0x..."                    # default keccak256(name)

    [postdeploy.gas]                    # PD-GAS: from receipts of a drill workflow
    commit = 80000
    apply_per_selector = 90000
    activate = 60000
    workflow = 250000
    selectors = 2                       # routes in the drill workflow (default: the whole manifest)
    baseline = "gas-baseline.json"      # committed measurements; tolerance is relative
    tolerance = 0.2

    [[postdeploy.emergency]]            # PD-EMG: pause drill
    contract = "PayRoxProxyRouter"
    role = "@Governance"
    blocked = "deposit"                 # a normal path: reverts while paused, works after unpause
    blocked_value = "1 wei"             # (blocked_args = [...] when it takes arguments)

    [[postdeploy.rotation]]             # PD-EMG: governance rotation drill
    contract = "ManifestDispatcher"     # Ownable2Step (transferOwnership/acceptOwnership) or AccessControl
    role = "DEFAULT_ADMIN_ROLE"         # AccessControl only
    probe = "ManifestDispatcher.pause"  # only the holder may call it (simulated; probe_args = [...])

Nothing here imports web3.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signoff.errors import ConfigError
from signoff.target import Target, _Table

_FUNCTION = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)(\([^()]*\))?")


@dataclass(frozen=True)
class FunctionRef:
    """``Contract.function`` (``signature`` set when written with its parameter types)."""

    contract: str
    function: str
    signature: str | None = None

    def __str__(self) -> str:
        return f"{self.contract}.{self.signature or self.function}"


@dataclass(frozen=True)
class Privileged:
    function: FunctionRef
    role: str
    args: tuple[Any, ...] | None


@dataclass(frozen=True)
class ReentrancyProbe:
    contract: str
    deposit: str
    withdraw: str
    value: int
    attacker: str


@dataclass(frozen=True)
class Wiring:
    getter: FunctionRef
    expect: str


@dataclass(frozen=True)
class Create2Expectation:
    factory: str
    contract: str
    salt: str | None
    deploy: str | None = None  # the factory's deploy function (full signature), when detection is not enough
    predict: str | None = None  # its prediction view


@dataclass(frozen=True)
class GasBudgets:
    commit: int = 80_000
    apply_per_selector: int = 90_000
    activate: int = 60_000
    workflow: int = 250_000
    selectors: int | None = None
    baseline: Path | None = None
    tolerance: float = 0.2


@dataclass(frozen=True)
class PauseDrill:
    contract: str
    role: str
    pause: str | None  # None: detected from the ABI (signoff.postdeploy.emergency.pause_shape)
    unpause: str | None
    paused: str | None
    blocked: str | None
    blocked_args: tuple[Any, ...]
    blocked_value: int
    pause_args: tuple[Any, ...] | None = None  # None: [] or, for setPaused(bool), [true]
    unpause_args: tuple[Any, ...] | None = None  # None: [] or [false]
    paused_slot: int | None = None  # the paused flag read from storage (no view): its slot
    paused_offset: int = 0  # and its byte offset in the slot (the compiler's storage layout "offset")


@dataclass(frozen=True)
class RotationDrill:
    contract: str
    role: str | None  # None: Ownable / Ownable2Step ownership
    probe: FunctionRef
    probe_args: tuple[Any, ...]


@dataclass(frozen=True)
class PostdeploySettings:
    source: Path
    governance: str | None
    contracts: tuple[str, ...]  # empty: every deployed contract with an artifact
    min_safe_threshold: int
    min_safe_owners: int
    min_timelock_delay_seconds: int | None
    public: tuple[FunctionRef, ...]
    discovery_examples: int
    privileged: tuple[Privileged, ...]
    reentrancy: tuple[ReentrancyProbe, ...]
    wiring: tuple[Wiring, ...]
    create2: tuple[Create2Expectation, ...]
    gas: GasBudgets
    emergency: tuple[PauseDrill, ...]
    rotation: tuple[RotationDrill, ...]


def load_postdeploy(target: Target) -> PostdeploySettings:
    """The target's ``[postdeploy]`` settings (defaults when the table is absent)."""
    return parse_postdeploy(target.path, target.raw_postdeploy or {})


def parse_postdeploy(path: Path, raw: Mapping[str, Any]) -> PostdeploySettings:
    table = _Table(path, "postdeploy", raw, expand=False)
    governance = table.string("governance")
    contracts = tuple(table.string_list("contracts"))
    min_threshold = table.integer("min_safe_threshold", default=3, minimum=1) or 3
    min_owners = table.integer("min_safe_owners", default=5, minimum=1) or 5
    if min_threshold > min_owners:
        raise ConfigError(
            f"{path}: postdeploy.min_safe_threshold = {min_threshold} is more than min_safe_owners = {min_owners}. "
            "Next step: correct one of them"
        )
    min_delay = table.integer("min_timelock_delay_seconds", minimum=0)
    public = tuple(function_ref(text, path, "postdeploy.public") for text in table.string_list("public"))
    examples = table.integer("discovery_examples", default=12, minimum=1) or 12

    privileged = []
    for entry in table.table_list("privileged"):
        args = entry.list_of_any("args")
        privileged.append(
            Privileged(
                function=function_ref(entry.string("function", required=True) or "", path, f"{entry.where}.function"),
                role=_reference(entry, "role", required=True) or "",
                args=None if args is None else tuple(args),
            )
        )
        entry.done()

    reentrancy = []
    for entry in table.table_list("reentrancy"):
        reentrancy.append(
            ReentrancyProbe(
                contract=entry.string("contract", required=True) or "",
                deposit=entry.string("deposit", required=True) or "",
                withdraw=entry.string("withdraw", required=True) or "",
                value=entry.wei("value") or 10**18,
                attacker=entry.string("attacker") or "ReentrancyAttacker",
            )
        )
        entry.done()

    wiring = []
    for entry in table.table_list("wiring"):
        wiring.append(
            Wiring(
                getter=function_ref(entry.string("getter", required=True) or "", path, f"{entry.where}.getter"),
                expect=_reference(entry, "expect", required=True) or "",
            )
        )
        entry.done()

    create2 = []
    for entry in table.table_list("create2"):
        salt = entry.string("salt")
        if salt is not None and not re.fullmatch(r"0x[0-9a-fA-F]{64}", salt):
            raise ConfigError(
                f"{path}: {entry.where}.salt must be 0x + 64 hex digits, found {salt!r}. Next step: correct it"
            )
        create2.append(
            Create2Expectation(
                factory=entry.string("factory", required=True) or "",
                contract=entry.string("contract", required=True) or "",
                salt=salt,
                deploy=entry.string("deploy"),
                predict=entry.string("predict"),
            )
        )
        entry.done()

    gas_table = table.table("gas")
    defaults = GasBudgets()
    gas = GasBudgets(
        commit=gas_table.integer("commit", default=defaults.commit, minimum=1) or defaults.commit,
        apply_per_selector=gas_table.integer("apply_per_selector", default=defaults.apply_per_selector, minimum=1)
        or defaults.apply_per_selector,
        activate=gas_table.integer("activate", default=defaults.activate, minimum=1) or defaults.activate,
        workflow=gas_table.integer("workflow", default=defaults.workflow, minimum=1) or defaults.workflow,
        selectors=gas_table.integer("selectors", minimum=1),
        baseline=gas_table.path("baseline", path.parent, must_exist=False, kind="file"),
        tolerance=gas_table.number("tolerance", default=defaults.tolerance, minimum=0.0, maximum=10.0),
    )
    gas_table.done()

    emergency = []
    for entry in table.table_list("emergency"):
        emergency.append(
            PauseDrill(
                contract=entry.string("contract", required=True) or "",
                role=_reference(entry, "role", required=True) or "",
                pause=entry.string("pause"),
                unpause=entry.string("unpause"),
                paused=entry.string("paused"),
                blocked=entry.string("blocked"),
                blocked_args=tuple(entry.list_of_any("blocked_args") or ()),
                blocked_value=entry.wei("blocked_value") or 0,
                pause_args=_optional_tuple(entry.list_of_any("pause_args")),
                unpause_args=_optional_tuple(entry.list_of_any("unpause_args")),
                paused_slot=entry.slot("paused_slot"),
                paused_offset=entry.integer("paused_offset", default=0, minimum=0, maximum=31) or 0,
            )
        )
        entry.done()

    rotation = []
    for entry in table.table_list("rotation"):
        rotation.append(
            RotationDrill(
                contract=entry.string("contract", required=True) or "",
                role=entry.string("role"),
                probe=function_ref(entry.string("probe", required=True) or "", path, f"{entry.where}.probe"),
                probe_args=tuple(entry.list_of_any("probe_args") or ()),
            )
        )
        entry.done()
    table.done()

    return PostdeploySettings(
        source=path,
        governance=governance,
        contracts=contracts,
        min_safe_threshold=min_threshold,
        min_safe_owners=min_owners,
        min_timelock_delay_seconds=min_delay,
        public=public,
        discovery_examples=examples,
        privileged=tuple(privileged),
        reentrancy=tuple(reentrancy),
        wiring=tuple(wiring),
        create2=tuple(create2),
        gas=gas,
        emergency=tuple(emergency),
        rotation=tuple(rotation),
    )


def function_ref(text: str, path: Path, key: str) -> FunctionRef:
    """``"Contract.fn"`` / ``"Contract.fn(uint256,address)"`` -> :class:`FunctionRef`."""
    match = _FUNCTION.fullmatch(text.replace(" ", ""))
    if match is None:
        raise ConfigError(
            f"{path}: {key} = {text!r} must be 'Contract.function' or 'Contract.function(type,...)'. "
            "Next step: correct the value"
        )
    contract, function, params = match.groups()
    return FunctionRef(contract, function, f"{function}{params}" if params is not None else None)


def _reference(entry: _Table, key: str, *, required: bool) -> str | None:
    value = entry.string(key, required=required)
    if value is not None and not (value.startswith("@") or re.fullmatch(r"0x[0-9a-fA-F]{40}", value)):
        raise ConfigError(
            f"{entry.file}: {entry.where}.{key} = {value!r} must be '@Name' (a deployed contract, Safe or "
            "account) or a 0x address. Next step: correct the value"
        )
    return value


def _optional_tuple(values: list[Any] | None) -> tuple[Any, ...] | None:
    return None if values is None else tuple(values)
