"""``[control]`` -> :class:`ControlSettings`: where the team's config lives and how it maps to the chain.

The team's own files are the expected values; signoff.toml holds only the mapping::

    [control]
    config = "config"                          # the folder of reviewed config/*.json files
    owner_control = "config/owner-control.json"  # {governance, owner, modules: {key: {type, ...}}}
    addresses = "config/deployment.json"       # the team's module address book ({"modules": {key: 0x…}})
    pause_authority = "SystemPause"            # owns every module and holds their pauser rights
    events_from_block = 0                      # PD-EVT: the deployment block (required on a live network)
    # relay = "SystemPause.executeGovernanceCall(address,bytes)"  # default: detected on the authority
    # version = 2                              # every module's version() (default: they must agree)
    # ignore_files = { "agialpha.json" = "token metadata, checked by PF-ABI" }

    [control.modules]                          # config module keys -> deployed names
    # default: the key with its first letter upper-cased (jobRegistry -> JobRegistry)

    [[control.file]]                           # one per config file: every key mapped or ignored
    path = "fee-pool.json"                     # relative to [control] config
    contract = "FeePool"
    keys.burnPct = "percent"                   # getter burnPct(), setter setBurnPct(uint256)
    keys.treasury = "address"
    keys.treasuryAllowlist = { unit = "address-set", getter = "isTreasuryAllowed", setter = "setTreasuryAllowlist" }
    ignore = { notes = "free text for reviewers" }

    [control.pause]                            # PD-PSE
    blocked = [{ call = "JobRegistry.createJob(uint256)", args = [1] }]   # normal paths the pause must stop
    # pause_all = "haltAll"  unpause_all = "resumeAll"   # detected: pauseAll/unpauseAll, haltAll/resumeAll, ...
    # require_ownership = false   # the authority holds each module's pause right instead of owning it
    # pauser = "brake"            # the modules' pause-right getter or role, when not detected
    # caller = "@Guardian"        # who calls pause-all in the drill (default: the authority's holder)

    [control.wiring]                           # getters that point at modules, beyond those named after a key
    # OracleHub = { brake = "EmergencyBrake" }

Units: integer, wei, percent (0-100), bps (0-10000), seconds, tokens (whole tokens, ``decimals``
default 18), address, bool, address-set (a list or a map of address -> true; read through an
``address[]`` view or an ``isX(address)`` predicate). Nothing here imports web3.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signoff.errors import ConfigError
from signoff.postdeploy.settings import FunctionRef, function_ref
from signoff.target import Target, _Table

UNITS = ("integer", "wei", "percent", "bps", "seconds", "tokens", "address", "bool", "address-set")
_PARAM_KEYS = ("unit", "getter", "setter", "decimals", "contract", "event")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class ParamMapping:
    """One config key (a dotted path into the file) and the on-chain getter that mirrors it."""

    file: str  # the file's name as [[control.file]] path writes it
    key: str  # "burnPct", "temperature.min"
    contract: str
    getter: str
    unit: str
    setter: str | None = None  # None: set<Getter> or set<Key>, found in the ABI
    decimals: int = 18  # tokens only
    event: str | None = None  # address-set: the event that adds or removes a member (PD-EVT)

    @property
    def id(self) -> str:
        return f"{self.file}:{self.key}"


@dataclass(frozen=True)
class ConfigFileMapping:
    name: str
    path: Path
    contract: str
    params: tuple[ParamMapping, ...]
    ignore: Mapping[str, str]  # key -> why it is not compared


@dataclass(frozen=True)
class BlockedCall:
    """A normal path that must revert while the system is paused and work again after."""

    function: FunctionRef
    args: tuple[Any, ...] = ()
    value: int = 0


@dataclass(frozen=True)
class ControlSettings:
    source: Path
    config_dir: Path
    files: tuple[ConfigFileMapping, ...]
    owner_control: Path | None
    addresses: Path | None
    pause_authority: str | None
    relay: FunctionRef | None
    modules: Mapping[str, str]  # explicit config key -> deployed name
    events_from_block: int | None
    version: int | None
    ignore_files: Mapping[str, str]
    pause_all: str | None = None
    unpause_all: str | None = None
    blocked: tuple[BlockedCall, ...] = ()
    require_ownership: bool = True  # the handbook's rule: the authority owns every module (else: holds its pause right)
    pauser: str | None = None  # the modules' pause-right getter ("brake") or role ("PAUSER_ROLE"), when not detected
    caller: str | None = None  # who calls pause-all in the drill ("@Guardian"); default the authority's holder
    wiring: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # contract -> getter -> module key

    def module_name(self, key: str) -> str:
        """The deployed name of a config module key (``jobRegistry`` -> ``JobRegistry``)."""
        return self.modules.get(key) or (key[:1].upper() + key[1:])

    @property
    def params(self) -> tuple[ParamMapping, ...]:
        return tuple(p for f in self.files for p in f.params)


def load_control(target: Target) -> ControlSettings | None:
    """The target's ``[control]`` settings, or None when it has none (the checks say so once)."""
    if target.raw_control is None:
        return None
    return parse_control(target.path, target.raw_control)


def parse_control(path: Path, raw: Mapping[str, Any]) -> ControlSettings:
    table = _Table(path, "control", raw, expand=False)
    base = path.parent
    config_dir = table.path("config", base, must_exist=True, required=True, kind="dir")
    assert config_dir is not None
    owner_control = table.path("owner_control", base, must_exist=True, kind="file")
    if owner_control is None and (config_dir / "owner-control.json").is_file():
        owner_control = config_dir / "owner-control.json"
    addresses = table.path("addresses", base, must_exist=True, kind="file")
    authority = table.string("pause_authority")
    relay_text = table.string("relay")
    relay = function_ref(relay_text, path, "control.relay") if relay_text else None
    events_from = table.integer("events_from_block", minimum=0)
    version = table.integer("version", minimum=0)
    ignore_files = _reasons(table.table("ignore_files"))
    modules_table = table.table("modules")
    modules: dict[str, str] = {}
    for key in modules_table.keys():
        modules[key] = _identifier(modules_table, key)
    modules_table.done()

    files = [_file_mapping(entry, config_dir) for entry in table.table_list("file")]
    seen: dict[Path, str] = {}
    for mapping in files:
        if mapping.path in seen:
            raise ConfigError(
                f"{path}: [[control.file]] maps {mapping.name} twice. Next step: merge the two entries into one"
            )
        seen[mapping.path] = mapping.name

    pause = table.table("pause")
    pause_all = pause.string("pause_all")
    unpause_all = pause.string("unpause_all")
    require_ownership = pause.boolean("require_ownership")
    pauser = pause.string("pauser")
    caller = pause.string("caller")
    if caller is not None and not re.fullmatch(r"@[A-Za-z_]\w*|0x[0-9a-fA-F]{40}", caller):
        raise ConfigError(
            f"{path}: control.pause.caller = {caller!r} must be '@Name' or a 0x address. Next step: correct it"
        )
    blocked = []
    for index, item in enumerate(pause.list_of_any("blocked") or []):
        entry = _Table(path, f"control.pause.blocked[{index}]", item, expand=False)
        blocked.append(
            BlockedCall(
                function=function_ref(entry.string("call", required=True) or "", path, f"{entry.where}.call"),
                args=tuple(entry.list_of_any("args") or ()),
                value=entry.wei("value") or 0,
            )
        )
        entry.done()
    pause.done()

    wiring_table = table.table("wiring")
    wiring: dict[str, dict[str, str]] = {}
    for name in wiring_table.keys():
        raw_links = wiring_table.data.get(name)
        if isinstance(raw_links, dict):
            wiring[name] = _reasons(wiring_table.table(name))  # getter -> module key
        else:
            wiring[name] = {getter: getter for getter in wiring_table.string_list(name)}
    wiring_table.done()
    table.done()
    return ControlSettings(
        source=path,
        config_dir=config_dir,
        files=tuple(files),
        owner_control=owner_control,
        addresses=addresses,
        pause_authority=authority,
        relay=relay,
        modules=modules,
        events_from_block=events_from,
        version=version,
        ignore_files=ignore_files,
        pause_all=pause_all,
        unpause_all=unpause_all,
        blocked=tuple(blocked),
        require_ownership=True if require_ownership is None else require_ownership,
        pauser=pauser,
        caller=caller,
        wiring=wiring,
    )


def _file_mapping(entry: _Table, config_dir: Path) -> ConfigFileMapping:
    name = entry.string("path", required=True) or ""
    file_path = (config_dir / name).resolve()
    if not file_path.is_file():
        raise ConfigError(
            f"{entry.file}: {entry.where}.path = {name!r} -> {file_path} is not a file in [control] config "
            f"({config_dir}). Next step: correct the path (relative to the config folder)"
        )
    contract = _identifier(entry, "contract", required=True)
    keys = entry.table("keys")
    params = []
    for key in keys.keys():
        params.append(_param(keys, key, name, contract))
    keys.done()
    ignore = _reasons(entry.table("ignore"))
    entry.done()
    both = sorted(set(ignore) & {p.key for p in params})
    if both:
        raise ConfigError(
            f"{entry.file}: {entry.where} both maps and ignores {', '.join(both)}. Next step: keep one of the two"
        )
    return ConfigFileMapping(name=name, path=file_path, contract=contract, params=tuple(params), ignore=ignore)


def _param(keys: _Table, key: str, file: str, contract: str) -> ParamMapping:
    raw = keys.data.get(key)
    where = f"{keys.file}: {keys.where}.{key}"
    if isinstance(raw, str):
        keys.string(key)
        spec = _Table(keys.file, f"{keys.where}.{key}", {"unit": raw}, expand=False)
    else:
        spec = keys.table(key)
    unit = spec.string("unit", required=True) or ""
    if unit not in UNITS:
        raise ConfigError(f"{where}: unit {unit!r} is not one of {', '.join(UNITS)}. Next step: pick one of them")
    getter = spec.string("getter") or key.rsplit(".", 1)[-1]
    setter = spec.string("setter")
    for name, value in (("getter", getter), ("setter", setter)):
        if value is not None and not _IDENTIFIER.fullmatch(value):
            raise ConfigError(
                f"{where}: {name} = {value!r} must be a function name (no parentheses or contract). "
                "Next step: correct it"
            )
    decimals = spec.integer("decimals", default=18, minimum=0, maximum=77)
    other = spec.string("contract") or contract
    event = spec.string("event")
    spec.done()
    if unit != "tokens" and decimals != 18:
        raise ConfigError(f"{where}: decimals applies to unit 'tokens' only. Next step: remove it")
    if event is not None and unit != "address-set":
        raise ConfigError(f"{where}: event applies to unit 'address-set' only. Next step: remove it")
    return ParamMapping(
        file=file,
        key=key,
        contract=other,
        getter=getter,
        unit=unit,
        setter=setter,
        decimals=18 if decimals is None else decimals,
        event=event,
    )


def _reasons(table: _Table) -> dict[str, str]:
    reasons = {}
    for key in table.keys():
        reasons[key] = table.string(key, required=True) or ""
    table.done()
    return reasons


def _identifier(table: _Table, key: str, *, required: bool = True) -> str:
    value = table.string(key, required=required) or ""
    if not _IDENTIFIER.fullmatch(value):
        raise ConfigError(
            f"{table.file}: {table.where}.{key} = {value!r} must be a contract name. Next step: correct it"
        )
    return value
