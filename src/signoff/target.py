"""``signoff.toml`` -> a frozen, validated :class:`Target`.

The file lives in the user's protocol repository and describes the system under test. Paths
are relative to the file. Any string may be ``${VAR}``: the value comes from the environment
and is registered as a secret, so it never appears in a report, a log or an error. A
network's values are expanded only when that network is selected, so an unset
``MAINNET_RPC_URL`` does not block a run on another network.

Every problem raises :class:`~signoff.errors.ConfigError` naming the file, the key, what was
expected and what was found, and what to do next.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signoff.errors import ConfigError, describe_value
from signoff.pou.dialect import Dialect, LogRules, ModelRules, parse_dialect, parse_logs, parse_model
from signoff.redaction import register_secret

if TYPE_CHECKING:
    from signoff.pou.stack import Sidecar

BUILTIN_NETWORKS = ("eth-tester", "anvil")
MAX_COMMITTEE = 100  # [pou] k and m: a committee larger than this is a typo, and would stall the suite
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_SELECTOR = re.compile(r"0x[0-9a-fA-F]{8}")


def excluded_by(source: str, patterns: Iterable[str]) -> str | None:
    """The first exclude glob (``[compiler]``/``[sizes] exclude``) that matches ``source``, if any."""
    for pattern in patterns:
        if fnmatch.fnmatchcase(source, pattern):
            return pattern
    return None


@dataclass(frozen=True)
class CompilerPins:
    """``[compiler]``: what every project contract must have been built with."""

    version: str | None = None
    via_ir: bool | None = None
    optimizer: bool | None = None
    optimizer_runs: int | None = None
    evm_version: str | None = None
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Diamond:
    """``[[diamonds]]``: a dispatcher, its facets and an optional router in front."""

    dispatcher: str
    facets: tuple[str, ...]
    router: str | None = None


@dataclass(frozen=True)
class SizeSettings:
    """``[sizes]``: EIP-170/EIP-3860 evidence settings."""

    warn_headroom: int = 1024
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContractSettings:
    """``[contracts."Name"]``: facts about one contract."""

    constructor_args: tuple[Any, ...] | None = None
    implements: tuple[str, ...] = ()  # interfaces whose every selector/event/error it must expose (PF-ABI)


@dataclass(frozen=True)
class AllowEntry:
    """One explicit, reasoned exception (``[[selectors.allow]]``, ``[[addresses.allow]]``).

    ``value`` is the selector (``0x`` + 8 hex) or address (``0x`` + 40 hex); ``contracts``
    optionally narrows the exception to those contracts (names as in the rest of the file).
    """

    value: str
    reason: str
    contracts: tuple[str, ...] = ()


@dataclass(frozen=True)
class AbiSettings:
    """``[abi]``: where the expected-interface snapshots live, and for which contracts."""

    snapshots: Path  # a directory of <Name>.json files
    contracts: tuple[str, ...] = ()  # empty: every deployable contract outside [compiler] exclude


@dataclass(frozen=True)
class MonitoringSettings:
    """``[manifest.monitoring]``: the operations playbook's late-execution alert, as PD-MON judges the
    dispatcher's history: an activation later than eta + ``eta_grace_seconds`` + ``late_after_seconds``."""

    from_block: int | None = None  # the first block read (default: 0 rehearsed; live: the deployment receipt's)
    eta_grace_seconds: int = 60
    late_after_seconds: int = 300


@dataclass(frozen=True)
class ManifestSettings:
    """``[manifest]``: the dispatcher plan (PF-MRK)."""

    plan: Path
    dispatcher: str
    # [manifest.interface]: lifecycle role -> full signature (signoff.deploy.lifecycle), over detection
    interface: Mapping[str, str] = field(default_factory=dict)
    leaf: str = "hashed-abi-encode"  # how the dispatcher hashes a route (signoff.deploy.manifest.LEAF_ENCODINGS)
    node: str = "prefixed"  # how it hashes two nodes (signoff.deploy.manifest.NODE_ENCODINGS)
    # [manifest.fields]: where a team's own plan JSON keeps each part (signoff.deploy.manifest.FIELD_KEYS)
    fields: Mapping[str, str] = field(default_factory=dict)
    # a second file of the team's plan: its routes' parts, read side by side with the plan's routes
    selectors: Path | None = None
    # the facets the plan covers (default: every [[diamonds]] facet of the dispatcher)
    covers: tuple[str, ...] = ()
    # [manifest.monitoring]: the dispatcher's commit/activation history PD-MON reads
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)


@dataclass(frozen=True)
class NetworkSettings:
    """``[networks.NAME]`` after ``${VAR}`` expansion: a live network, read-only."""

    name: str
    rpc_url: str  # secret: show only redaction.display_url(rpc_url)
    chain_id: int
    deployments: Path | None = None
    deployer: str | None = None
    min_deployer_balance_wei: int | None = None
    governance: tuple[str, ...] = ()
    max_block_age_seconds: int = 300
    request_timeout_seconds: float = 30.0  # one whole JSON-RPC exchange, headers and body


@dataclass(frozen=True)
class PouSettings:
    """``[pou]`` after ``${VAR}`` expansion: the Proof-of-Usefulness broker and its database.

    ``url`` absent means signoff starts the reference broker (fixtures/reference/pou) over a
    throwaway PostgreSQL; ``database_url`` (a secret) is a live database, only ever read.
    """

    url: str | None
    database_url: str | None
    migrations: Path | None
    prerequisites: Path | None
    k: int
    m: int
    finalizer_interval_seconds: float
    expected_indexes: tuple[str, ...]
    websocket_path: str
    client_did: str | None
    agent_did: str | None
    outsider_did: str | None
    reference: Path | None  # the reference broker's directory (broker.py, migrations/) when url is absent
    reference_variant: str
    stateful_examples: int
    # [pou.schema.<table>]: column -> "<type>[ not null][ default <expr>]", validated at load
    # (signoff.pou.migrations_check.declared_schema parses it); empty: column names only.
    schema: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # A live broker: the test agents signoff may seed (with client/agent/outsider_did, its only
    # DIDs), and the bearer token of the broker's test-seeding API (a secret, from ${VAR} only).
    test_agent_dids: tuple[str, ...] = ()
    seed_token: str | None = field(default=None, repr=False)
    request_timeout_seconds: float = 10.0  # one whole HTTP answer of the broker, headers and body
    shrink_budget_seconds: float = 20.0  # PU-QRM's stateful test: time spent shrinking a failure
    notify_timeout_seconds: float = 5.0  # PU-WS: how long each party's notification may take after settlement
    seed_cap: int = 2000  # a live broker: at most this many things created per run (agents, negotiations, ...)
    # A real repository's migrations folder: globs over file names, and the team's migrate script whose
    # order is the one rehearsed (signoff.pou.migrations.discover)
    migrations_include: tuple[str, ...] = ()
    migrations_exclude: tuple[str, ...] = ()
    migrations_order: Path | None = None
    # A throwaway stack (signoff starts the team's broker): its command, directory, environment
    # (``${VAR}`` secrets; {port}, {database_url}, {<sidecar>.port}), readiness, sidecars, the
    # team's seeding file, and substitutes for PostgreSQL extensions the scratch server lacks.
    # Group rollback files in the migrations folder (globs); False: PU-MIG compares only what
    # [pou.schema] and expected_indexes declare, with any numbering (not the seed's 017-021 schema).
    migrations_rollbacks: tuple[str, ...] = ()
    migrations_prerequisites: tuple[str, ...] = ()  # globs: files of the folder applied first, not judged
    seed_schema: bool = True
    command: tuple[str, ...] = ()
    cwd: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    ready_path: str = "/health"
    ready_timeout_seconds: float = 30.0
    services: tuple[Sidecar, ...] = ()
    seed_sql: Path | None = None
    extension_substitutes: Mapping[str, Path] = field(default_factory=dict)
    dialect: Dialect = field(default_factory=Dialect)
    model: ModelRules = field(default_factory=ModelRules)
    logs: LogRules = field(default_factory=LogRules)

    @property
    def live(self) -> bool:
        return self.url is not None


DEFAULT_POU_INDEXES = (
    "idx_task_attestations_task_id",
    "idx_task_attestations_created",
    "idx_agent_stakes_updated",
    "idx_task_receipts_status",
    "idx_task_receipts_committee",
    "idx_agent_reputation_did",
)


@dataclass(frozen=True)
class EvidenceSettings:
    """[evidence]: who signs the sign-off, and how the integrity manifest is signed (all optional)."""

    operator: str | None = None  # the person signing off; default $SIGNOFF_OPERATOR, else the login name
    sign_key: str | None = field(default=None, repr=False)  # EIP-191 key, only ever from "${VAR}"
    sign_keystore: Path | None = None  # an Ethereum JSON keystore ...
    sign_keystore_password: str | None = field(default=None, repr=False)  # ... and its password, from "${VAR}"
    sign_gpg_key: str | None = None  # a GPG key id or fingerprint (gpg signs instead)
    sarif: bool = False  # also write <stem>.sarif for code-scanning dashboards

    @property
    def signs(self) -> bool:
        return bool(self.sign_key or self.sign_keystore or self.sign_gpg_key)


@dataclass(frozen=True)
class Target:
    """The system under test, as its ``signoff.toml`` describes it."""

    path: Path
    sha256: str
    name: str
    artifacts: Path
    compiler: CompilerPins
    diamonds: tuple[Diamond, ...]
    sizes: SizeSettings
    contracts: Mapping[str, ContractSettings]
    selector_allow: tuple[AllowEntry, ...]
    address_allow: tuple[AllowEntry, ...]
    abi: AbiSettings
    manifest: ManifestSettings | None
    network_names: tuple[str, ...]
    _raw_networks: Mapping[str, Mapping[str, Any]] = field(repr=False)
    _raw_pou: Mapping[str, Any] | None = field(default=None, repr=False)
    raw_deploy: Mapping[str, Any] | None = field(default=None, repr=False)  # [deploy]: signoff.deploy.plan
    raw_postdeploy: Mapping[str, Any] | None = field(default=None, repr=False)  # [postdeploy]: postdeploy.settings
    raw_control: Mapping[str, Any] | None = field(default=None, repr=False)  # [control]: postdeploy.control.settings
    raw_service: Mapping[str, Any] | None = field(default=None, repr=False)  # [service]: flows.settings
    raw_flows: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)  # [[flows]]: flows.declared
    raw_invariants: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)  # [[invariants]]: flows.invariants
    raw_search: Mapping[str, Any] | None = field(default=None, repr=False)  # [search]: flows.search
    raw_migrations: Mapping[str, Any] | None = field(default=None, repr=False)  # [migrations]: flows.migrations
    evidence: EvidenceSettings = field(default_factory=EvidenceSettings)
    builtin_readiness: Mapping[str, NetworkSettings] = field(default_factory=dict)  # [networks.anvil] readiness keys

    @property
    def has_pou(self) -> bool:
        return self._raw_pou is not None

    @property
    def starts_reference_broker(self) -> bool:
        """``[pou]`` names no broker of the team (no url, no command): signoff starts its reference broker, a
        throwaway it may start once per xdist worker. Read from the table as written (nothing expanded)."""
        raw = self._raw_pou
        return raw is not None and "url" not in raw and "command" not in raw

    def pou(self) -> PouSettings:
        """The ``[pou]`` settings, with ``${VAR}`` values expanded now (only e2e_pou needs them)."""
        if self._raw_pou is None:
            raise ConfigError(
                f"{self.path} has no [pou] table, which the e2e_pou suite needs. Next step: add [pou] "
                "(see the README: url of your broker, or nothing to start the reference broker)"
            )
        return _pou_settings(self.path, self._raw_pou, expand=True)

    @property
    def root(self) -> Path:
        return self.path.parent

    def contract_settings(self, name: str) -> ContractSettings | None:
        """``[contracts.X]`` for a contract named bare or fully qualified, whichever way the table key and
        ``name`` are written (a bare name is unique in the build: the session refuses ambiguous ones)."""
        if name in self.contracts:
            return self.contracts[name]
        bare = name.rsplit(":", 1)[-1]
        for key, settings in self.contracts.items():
            if key.rsplit(":", 1)[-1] == bare and (":" not in key or ":" not in name):
                return settings
        return None

    def network_deployments(self, name: str) -> tuple[str | None, Path | None, int | None]:
        """``deployments`` of ``[networks.NAME]`` as written and resolved, and its ``chain_id``, read
        without touching the other keys: the ``rpc_url`` secret of a network that is not selected is
        never expanded (a ``${VAR}`` in the path itself is)."""
        raw = self._raw_networks[name]
        text, chain_id = raw.get("deployments"), raw.get("chain_id")
        chain = chain_id if isinstance(chain_id, int) and not isinstance(chain_id, bool) else None
        if text is None:
            return None, None, chain
        if isinstance(text, str) and _ENV_REF.search(text):
            return text, self.network(name).deployments, chain
        reader = _Table(self.path, f"networks.{name}", {"deployments": text}, expand=False)
        return str(text), reader.path("deployments", self.root, must_exist=False), chain

    def network(self, name: str) -> NetworkSettings:
        """The settings of a ``[networks]`` entry, with ``${VAR}`` values expanded now."""
        if name not in self._raw_networks:
            choices = ", ".join([*BUILTIN_NETWORKS, *self.network_names])
            raise ConfigError(
                f"unknown network {name!r}: {self.path} has no [networks.{name}] table. "
                f"Valid choices: {choices}. Next step: add [networks.{name}] with rpc_url and "
                "chain_id, or pick one of the valid choices"
            )
        reader = _Table(self.path, f"networks.{name}", self._raw_networks[name], expand=True)
        settings = NetworkSettings(
            name=name,
            rpc_url=_rpc_url(self.path, name, reader.string("rpc_url", required=True) or ""),
            chain_id=reader.integer("chain_id", required=True, minimum=1) or 0,
            deployments=reader.path("deployments", self.root, must_exist=False),
            deployer=reader.address("deployer"),
            min_deployer_balance_wei=reader.wei("min_deployer_balance_wei"),
            governance=tuple(reader.address_list("governance")),
            max_block_age_seconds=reader.integer("max_block_age_seconds", default=300, minimum=1) or 300,
            request_timeout_seconds=reader.number("request_timeout_seconds", default=30.0, minimum=0.1, maximum=600.0),
        )
        reader.done()
        return settings


def load_target(path: Path) -> Target:
    """Read and validate ``path``; raise :class:`ConfigError` on any problem."""
    if not path.is_file():
        hint = " (it is a directory: name the signoff.toml inside it)" if path.is_dir() else ""
        raise ConfigError(
            f"target file {path} does not exist{hint}. Next step: pass --signoff-target "
            "path/to/signoff.toml, or set signoff_target in pytest.ini"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); TOML files are UTF-8. "
            "Next step: save the file as UTF-8"
        ) from None
    try:
        document = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Next step: fix the syntax at that line") from None
    path = path.resolve()
    top = _Table(path, "", document, expand=True)
    target = top.table("target", required=True)
    name = target.string("name", required=True) or ""
    artifacts = target.path("artifacts", path.parent, must_exist=True, required=True)
    target.done()

    compiler_table = top.table("compiler")
    compiler = CompilerPins(
        version=compiler_table.string("version"),
        via_ir=compiler_table.boolean("via_ir"),
        optimizer=compiler_table.boolean("optimizer"),
        optimizer_runs=compiler_table.integer("optimizer_runs", minimum=0),
        evm_version=compiler_table.string("evm_version"),
        exclude=tuple(compiler_table.string_list("exclude")),
    )
    compiler_table.done()

    diamonds = []
    for entry in top.table_list("diamonds"):
        diamonds.append(
            Diamond(
                dispatcher=entry.string("dispatcher", required=True) or "",
                facets=tuple(entry.string_list("facets", required=True)),
                router=entry.string("router"),
            )
        )
        entry.done()

    evidence = _evidence_settings(path, top.table("evidence"))

    sizes_table = top.table("sizes")
    sizes = SizeSettings(
        warn_headroom=sizes_table.integer("warn_headroom", default=1024, minimum=0) or 0,
        exclude=tuple(sizes_table.string_list("exclude")),
    )
    sizes_table.done()

    contracts: dict[str, ContractSettings] = {}
    contracts_table = top.table("contracts")
    for contract_name in list(contracts_table.keys()):
        entry = contracts_table.table(contract_name, required=True)
        args = entry.list_of_any("constructor_args")
        contracts[contract_name] = ContractSettings(
            constructor_args=None if args is None else tuple(args),
            implements=tuple(entry.string_list("implements")),
        )
        entry.done()
    contracts_table.done()

    selector_allow = _allow_list(top.table("selectors"), "selector", _SELECTOR)
    address_allow = _allow_list(top.table("addresses"), "address", _ADDRESS)

    abi_table = top.table("abi")
    abi = AbiSettings(
        snapshots=abi_table.path("snapshots", path.parent, must_exist=False, kind="dir") or path.parent / "abi",
        contracts=tuple(abi_table.string_list("contracts")),
    )
    abi_table.done()

    manifest = None
    manifest_table = top.table("manifest")
    if manifest_table.keys():
        manifest = ManifestSettings(
            plan=manifest_table.path("plan", path.parent, must_exist=False, required=True, kind="file") or path.parent,
            dispatcher=manifest_table.string("dispatcher", required=True) or "",
            interface=_manifest_interface(manifest_table.table("interface")),
            leaf=_encoding(path, "leaf", manifest_table.string("leaf")),
            node=_encoding(path, "node", manifest_table.string("node")),
            fields=_manifest_fields(manifest_table.table("fields")),
            selectors=manifest_table.path("selectors", path.parent, must_exist=False, kind="file"),
            covers=tuple(manifest_table.string_list("covers")),
            monitoring=_monitoring(manifest_table.table("monitoring")),
        )
    manifest_table.done()

    networks_table = top.table("networks", expand=False)
    raw_networks: dict[str, Mapping[str, Any]] = {}
    builtin_readiness: dict[str, NetworkSettings] = {}
    for network_name in list(networks_table.keys()):
        if network_name in BUILTIN_NETWORKS:
            builtin_readiness[network_name] = _builtin_readiness(
                path, network_name, networks_table.raw_table(network_name)
            )
            continue
        raw_networks[network_name] = networks_table.raw_table(network_name)
    networks_table.done()
    raw_pou = dict(top.raw_table("pou")) if "pou" in top.data else None
    if raw_pou is not None:
        _pou_settings(path, raw_pou, expand=False)  # keys and types now; ${VAR} only when e2e_pou runs
    # [deploy] and [postdeploy] are validated by their own modules when a postdeploy check needs them.
    raw_deploy = dict(top.raw_table("deploy")) if "deploy" in top.data else None
    raw_postdeploy = dict(top.raw_table("postdeploy")) if "postdeploy" in top.data else None
    raw_control = dict(top.raw_table("control")) if "control" in top.data else None
    raw_service = dict(top.raw_table("service")) if "service" in top.data else None
    raw_flows = tuple(dict(entry.data) for entry in top.table_list("flows")) if "flows" in top.data else ()
    raw_invariants = (
        tuple(dict(entry.data) for entry in top.table_list("invariants")) if "invariants" in top.data else ()
    )
    raw_search = dict(top.raw_table("search")) if "search" in top.data else None
    raw_migrations = dict(top.raw_table("migrations")) if "migrations" in top.data else None
    top.done()

    return Target(
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        name=name,
        artifacts=artifacts or path.parent,
        compiler=compiler,
        diamonds=tuple(diamonds),
        sizes=sizes,
        contracts=contracts,
        selector_allow=selector_allow,
        address_allow=address_allow,
        abi=abi,
        manifest=manifest,
        network_names=tuple(sorted(raw_networks)),
        _raw_networks=raw_networks,
        _raw_pou=raw_pou,
        raw_deploy=raw_deploy,
        raw_postdeploy=raw_postdeploy,
        raw_control=raw_control,
        raw_service=raw_service,
        raw_flows=raw_flows,
        raw_invariants=raw_invariants,
        raw_search=raw_search,
        raw_migrations=raw_migrations,
        evidence=evidence,
        builtin_readiness=builtin_readiness,
    )


def _monitoring(table: _Table) -> MonitoringSettings:
    settings = MonitoringSettings(
        from_block=table.integer("from_block", minimum=0),
        eta_grace_seconds=table.integer("eta_grace_seconds", default=60, minimum=0) or 0,
        late_after_seconds=table.integer("late_after_seconds", default=300, minimum=0) or 0,
    )
    table.done()
    return settings


def _manifest_fields(table: _Table) -> dict[str, str]:
    """``[manifest.fields]``: each key a part of the plan, each value where a team's JSON keeps it."""
    from signoff.deploy.manifest import FIELD_KEYS

    mapped = _string_map(table, FIELD_KEYS)
    if "is_right" in mapped and "positions" in mapped:
        raise ConfigError(
            f"{table.file}: [{table.where}] maps both is_right and positions; a plan keeps its proof sides one "
            "way. Next step: keep the one your plan file has"
        )
    return mapped


def _string_map(table: _Table, valid: Sequence[str]) -> dict[str, str]:
    """A table of known keys with string values (a mapping of names), checked key by key."""
    mapped = {}
    for key in list(table.keys()):
        if key not in valid:
            raise ConfigError(
                f"{table.file}: unknown key {key} in [{table.where}]. Valid keys: {', '.join(valid)}. "
                "Next step: fix the spelling or remove the key"
            )
        mapped[key] = table.string(key, required=True) or ""
    table.done()
    return mapped


def _encoding(path: Path, key: str, value: str | None) -> str:
    """``[manifest] leaf`` or ``node``: one of the encodings signoff knows (the first is the default)."""
    from signoff.deploy.manifest import LEAF_ENCODINGS, NODE_ENCODINGS

    choices = LEAF_ENCODINGS if key == "leaf" else NODE_ENCODINGS
    if value is None:
        return choices[0]
    if value not in choices:
        raise ConfigError(
            f"{path}: [manifest] {key} = {value!r} is not a {key} encoding signoff knows. Valid choices: "
            f"{', '.join(choices)}. Next step: correct the value"
        )
    return value


def _manifest_interface(table: _Table) -> dict[str, str]:
    """``[manifest.interface]``: each key a lifecycle role, each value a full signature."""
    from signoff.deploy.lifecycle import KEYS

    mapped = {}
    for key, value in _string_map(table, KEYS).items():
        if not re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*\(.*\)", value.replace(" ", "")):
            raise ConfigError(
                f"{table.file}: [{table.where}] {key} = {value!r} is not a full signature. "
                'Next step: write name(argument types), e.g. "proposeRoot(bytes32,uint64)"'
            )
        mapped[key] = value.replace(" ", "")
    return mapped


def _rpc_url(path: Path, network: str, url: str) -> str:
    """An http(s) RPC URL with a host (a bare "localhost:8545", or a websocket URL, is a usage error)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        shown = "(value from the environment, not shown)" if url and _is_secret(url) else repr(url)
        websocket = (
            " (signoff speaks JSON-RPC over HTTP; use the node's https:// endpoint)"
            if parts.scheme in {"ws", "wss"}
            else ""
        )
        raise ConfigError(
            f"{path}: [networks.{network}] rpc_url must be an http(s):// URL with a host, found {shown}{websocket}. "
            "Next step: write it in full, e.g. http://127.0.0.1:8545"
        )
    return url


def _is_secret(value: str) -> bool:
    from signoff.redaction import redact

    return redact(value) != value


READINESS_KEYS = ("deployer", "min_deployer_balance_wei", "governance", "max_block_age_seconds")


def _builtin_readiness(path: Path, name: str, raw: Mapping[str, Any]) -> NetworkSettings:
    """``[networks.anvil]``: only PF-NET's readiness keys; signoff starts that node, so it owns its URL and id."""
    owned = sorted(set(raw) - set(READINESS_KEYS))
    if owned:
        raise ConfigError(
            f"{path}: [networks.{name}] sets {', '.join(owned)}, but {name!r} is built in (signoff starts it). "
            f"Only the readiness keys {', '.join(READINESS_KEYS)} may be set there. Next step: remove "
            f"{', '.join(owned)}, or name your own node [networks.<other name>]"
        )
    reader = _Table(path, f"networks.{name}", raw, expand=True)
    settings = NetworkSettings(
        name=name,
        rpc_url="",
        chain_id=0,
        deployer=reader.address("deployer"),
        min_deployer_balance_wei=reader.wei("min_deployer_balance_wei"),
        governance=tuple(reader.address_list("governance")),
        max_block_age_seconds=reader.integer("max_block_age_seconds", default=300, minimum=1) or 300,
    )
    reader.done()
    return settings


def _evidence_settings(path: Path, table: _Table) -> EvidenceSettings:
    for key in ("sign_key", "sign_keystore_password"):
        raw = table.data.get(key)
        if raw is not None and not (isinstance(raw, str) and _ENV_REF.fullmatch(raw)):
            raise ConfigError(
                f"{path}: [evidence] {key} must name an environment variable, found a literal value (not shown). "
                f'Next step: write {key} = "${{SIGNOFF_SIGNING_KEY}}" and export the secret there, and remove it '
                "from the file's history"
            )
    settings = EvidenceSettings(
        operator=table.string("operator"),
        sign_key=table.string("sign_key"),
        sign_keystore=table.path("sign_keystore", path.parent, must_exist=True, kind="file"),
        sign_keystore_password=table.string("sign_keystore_password"),
        sign_gpg_key=table.string("sign_gpg_key"),
        sarif=bool(table.boolean("sarif")),
    )
    table.done()
    chosen = [key for key in ("sign_key", "sign_keystore", "sign_gpg_key") if getattr(settings, key)]
    if len(chosen) > 1:
        raise ConfigError(
            f"{path}: [evidence] sets {' and '.join(chosen)}; the manifest is signed one way. "
            "Next step: keep one of sign_key, sign_keystore or sign_gpg_key"
        )
    if (settings.sign_keystore is None) != (settings.sign_keystore_password is None):
        raise ConfigError(
            f"{path}: [evidence] sign_keystore and sign_keystore_password go together. "
            'Next step: set both (sign_keystore_password = "${KEYSTORE_PASSWORD}") or neither'
        )
    return settings


def _pou_settings(path: Path, raw: Mapping[str, Any], *, expand: bool) -> PouSettings:
    from signoff.pou.reference import REFERENCE_VARIANTS

    table = _Table(path, "pou", raw, expand=expand)
    k = table.integer("k", default=3, minimum=1, maximum=MAX_COMMITTEE) or 3
    m = table.integer("m", default=5, minimum=1, maximum=MAX_COMMITTEE) or 5
    if k > m:
        raise ConfigError(f"{path}: [pou] k = {k} is larger than m = {m}. Next step: a quorum needs k <= m")
    interval = table.number("finalizer_interval_seconds", default=60.0, minimum=0.01, maximum=3600.0)
    variant = table.string("reference_variant") or "correct"
    if variant not in REFERENCE_VARIANTS:
        raise ConfigError(
            f"{path}: [pou] reference_variant = {variant!r} is not a variant of the reference broker. "
            f"Valid choices: {', '.join(REFERENCE_VARIANTS)}. Next step: correct the value"
        )
    indexes = table.string_list("expected_indexes")
    seed = table.boolean("seed_schema")
    settings = PouSettings(
        url=table.string("url"),
        database_url=table.string("database_url"),
        migrations=table.path("migrations", path.parent, must_exist=True, kind="dir"),
        prerequisites=table.path("prerequisites", path.parent, must_exist=True, kind="dir"),
        k=k,
        m=m,
        finalizer_interval_seconds=interval,
        expected_indexes=tuple(indexes) if indexes or seed is False else DEFAULT_POU_INDEXES,
        websocket_path=table.string("websocket_path") or "/ws",
        client_did=table.string("client_did"),
        agent_did=table.string("agent_did"),
        outsider_did=table.string("outsider_did"),
        reference=table.path("reference", path.parent, must_exist=True, kind="dir"),
        reference_variant=variant,
        stateful_examples=table.integer("stateful_examples", default=25, minimum=1, maximum=10_000) or 25,
        schema=_pou_schema(table.table("schema", expand=False)),
        test_agent_dids=tuple(table.string_list("test_agent_dids")),
        seed_token=table.string("seed_token"),
        request_timeout_seconds=table.number("request_timeout_seconds", default=10.0, minimum=0.1, maximum=600.0),
        shrink_budget_seconds=table.number("shrink_budget_seconds", default=20.0, minimum=0.0, maximum=3600.0),
        notify_timeout_seconds=table.number("notify_timeout_seconds", default=5.0, minimum=0.1, maximum=600.0),
        seed_cap=table.integer("seed_cap", default=2000, minimum=1, maximum=1_000_000) or 2000,
        migrations_include=tuple(table.string_list("migrations_include")),
        migrations_exclude=tuple(table.string_list("migrations_exclude")),
        migrations_order=table.path("migrations_order", path.parent, must_exist=True, kind="file"),
        migrations_rollbacks=tuple(table.string_list("migrations_rollbacks")),
        migrations_prerequisites=tuple(table.string_list("migrations_prerequisites")),
        seed_schema=seed is not False,
        **_pou_stack(path, table),
        dialect=parse_dialect(table.table("dialect")),
        model=parse_model(table.table("model")),
        logs=parse_logs(table.table("logs")),
    )
    table.done()
    if settings.websocket_path != "/ws" and settings.dialect.websocket_url == Dialect.websocket_url:
        import dataclasses

        socket = dataclasses.replace(settings.dialect, websocket_url=settings.websocket_path + "?did={did}")
        settings = dataclasses.replace(settings, dialect=socket)
    _check_pou_stack(path, settings)
    _check_pou_live(path, settings, expand=expand)
    return settings


def _pou_stack(path: Path, table: _Table) -> dict[str, Any]:
    """The throwaway-stack keys of [pou]: the team's command and what it needs around it."""
    from signoff.pou.stack import parse_sidecars

    command = tuple(table.string_list("command"))
    env_table = table.table("env")
    env = {key: env_table.string(key, required=True) or "" for key in env_table.keys()}
    env_table.done()
    substitutes_table = table.table("extension_substitutes")
    substitutes = {
        name: substitutes_table.path(name, path.parent, must_exist=True, required=True, kind="file")
        for name in substitutes_table.keys()
    }
    substitutes_table.done()
    return {
        "command": command,
        "cwd": table.path("cwd", path.parent, must_exist=True, kind="dir"),
        "env": env,
        "ready_path": table.string("ready_path") or "/health",
        "ready_timeout_seconds": table.number("ready_timeout_seconds", default=30.0, minimum=0.1, maximum=600.0),
        "services": parse_sidecars(path, table.table_list("services")),
        "seed_sql": table.path("seed_sql", path.parent, must_exist=True, kind="file"),
        "extension_substitutes": {name: p for name, p in substitutes.items() if p is not None},
    }


def _check_pou_stack(path: Path, settings: PouSettings) -> None:
    if not settings.command:
        for key, value in (("services", settings.services), ("seed_sql", settings.seed_sql), ("env", settings.env)):
            if value:
                raise ConfigError(
                    f"{path}: [pou] {key} is set without [pou] command; it belongs to the broker signoff starts. "
                    "Next step: add command (your broker's start command) or remove the key"
                )
        return
    ways = [key for key in ("url", "reference") if getattr(settings, key) is not None]
    if ways:
        raise ConfigError(
            f"{path}: [pou] has command and {ways[0]}; signoff either starts your broker (command) or uses one "
            f"({ways[0]}). Next step: keep one of them"
        )
    if settings.migrations is None and settings.prerequisites is None:
        raise ConfigError(
            f"{path}: [pou] command starts your broker over a throwaway PostgreSQL, and [pou] names no schema for "
            'it. Next step: migrations = "db/migrations" (applied in order before the broker starts)'
        )
    if not any("{port}" in part for part in (*settings.command, *settings.env.values())):
        raise ConfigError(
            f"{path}: [pou] command and [pou.env] never mention {{port}}, so signoff cannot tell your broker where to "
            'listen. Next step: e.g. PORT = "{port}" in [pou.env]'
        )


_DID = re.compile(r"did:[a-z0-9]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._%-]")


def _check_pou_live(path: Path, settings: PouSettings, *, expand: bool) -> None:
    """The live-broker keys: an http(s) url, well-formed distinct test DIDs (at least m + 2 test
    agents), and a seed_token that comes from the environment."""
    if settings.url is not None and not _ENV_REF.search(settings.url):
        if not re.match(r"https?://[^/\s]+", settings.url):
            raise ConfigError(
                f"{path}: [pou] url must be the broker's http:// or https:// base URL, found {settings.url!r}. "
                'Next step: e.g. url = "http://127.0.0.1:8080"'
            )
    if settings.url is not None and settings.seed_token is not None and (expand or not _ENV_REF.search(settings.url)):
        from urllib.parse import urlsplit

        if urlsplit(settings.url).username is not None:
            raise ConfigError(
                f"{path}: [pou] url carries user:password (HTTP Basic authentication) and seed_token needs the same "
                "Authorization header for its Bearer token; a request cannot carry both, and one would silently "
                "replace the other. Next step: remove the credentials from url (or drop seed_token)"
            )
    if settings.seed_token is not None and not expand and not _ENV_REF.fullmatch(settings.seed_token):
        raise ConfigError(
            f"{path}: [pou] seed_token is written into the file; a token belongs in the environment. "
            'Next step: seed_token = "${POU_SEED_TOKEN}" and export POU_SEED_TOKEN=...'
        )
    named = [(key, getattr(settings, key)) for key in ("client_did", "agent_did", "outsider_did")]
    named += [(f"test_agent_dids[{i}]", did) for i, did in enumerate(settings.test_agent_dids)]
    seen: dict[str, str] = {}
    for key, did in named:
        if did is None or _ENV_REF.search(did):
            continue  # expanded, and checked, when e2e_pou runs
        if not _DID.fullmatch(did):
            raise ConfigError(
                f"{path}: [pou] {key} = {did!r} is not a DID (did:<method>:<id>). "
                'Next step: a DID in the broker\'s test namespace, e.g. "did:test:signoff:agent1"'
            )
        if did in seen:
            raise ConfigError(
                f"{path}: [pou] {key} and {seen[did]} are both {did!r}; each test DID plays one part. "
                "Next step: give each its own DID"
            )
        seen[did] = key
    if settings.test_agent_dids and len(settings.test_agent_dids) < settings.m + 2:
        raise ConfigError(
            f"{path}: [pou] test_agent_dids names {len(settings.test_agent_dids)} DIDs; the checks need m + 2 = "
            f"{settings.m + 2} (a pool larger than the committee, so that 'top m by trust' leaves agents out). "
            "Next step: add test agent DIDs"
        )


def _pou_schema(table: _Table) -> dict[str, dict[str, str]]:
    """``[pou.schema.<table>]``: each key a column, each value a declaration parsed strictly now."""
    from signoff.pou.migrations_check import DECLARATION_FORM, parse_column

    identifier = re.compile(r"[a-z_][a-z0-9_]{0,62}")
    schema: dict[str, dict[str, str]] = {}
    for name in list(table.data):  # the file's order, for the evidence
        columns = table.table(name)
        where = f"[{columns.where}]"
        if not identifier.fullmatch(name):
            raise ConfigError(
                f"{table.file}: {where} names table {name!r}, not a lower-case SQL identifier (PostgreSQL folds "
                "unquoted names to lower case). Next step: write the table name as the migrations create it"
            )
        if not columns.keys():
            raise ConfigError(
                f"{table.file}: {where} declares no column. Next step: add one line per column, "
                f"e.g. status = \"text not null default 'pending'\", or remove the table"
            )
        schema[name] = {}
        for column in list(columns.data):
            spec = columns.data.pop(column)
            if not identifier.fullmatch(column):
                raise ConfigError(
                    f"{table.file}: {where} {column} is not a lower-case SQL identifier (PostgreSQL folds unquoted "
                    "names to lower case). Next step: write the column name as the migrations create it"
                )
            if not isinstance(spec, str):
                raise ConfigError(
                    f"{table.file}: {where} {column} must be a string {DECLARATION_FORM!r}, found {_kind(spec)}. "
                    f'Next step: e.g. {column} = "integer not null default 0"'
                )
            try:
                parse_column(spec)
            except ValueError as exc:
                raise ConfigError(
                    f"{table.file}: {where} {column} = {spec!r} {exc}. "
                    f'Next step: correct the declaration, e.g. {column} = "integer not null default 0"'
                ) from None
            schema[name][column] = spec
        columns.done()
    table.done()
    return schema


class _Table:
    """Reads one TOML table key by key; :meth:`done` rejects keys nobody asked for."""

    def __init__(self, file: Path, where: str, data: Any, *, expand: bool) -> None:
        if not isinstance(data, dict):
            raise ConfigError(
                f"{file}: {_label(where)} must be a table, found {_kind(data)}. Next step: write it as [{where}]"
            )
        self.file = file
        self.where = where
        self.data: dict[str, Any] = dict(data)
        self.expand = expand
        self.asked: list[str] = []

    # -- structure ----------------------------------------------------------------------
    def keys(self) -> list[str]:
        return sorted(self.data)

    def _key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _take(self, key: str, required: bool) -> Any:
        self.asked.append(key)
        if key not in self.data:
            if required:
                raise ConfigError(
                    f"{self.file}: missing required key {key!r} in {_label(self.where)}. "
                    f"Next step: add {key} = ... (see the README's target-file reference)"
                )
            return None
        value = self.data.pop(key)
        return self._expand(key, value) if self.expand else value

    def _expand(self, key: str, value: Any) -> Any:
        if isinstance(value, str):
            return _expand_env(value, self.file, self._key(key))
        if isinstance(value, list):
            return [self._expand(key, item) for item in value]
        return value

    def done(self) -> None:
        if self.data:
            unknown = ", ".join(sorted(self.data))
            valid = ", ".join(sorted(set(self.asked))) or "(none)"
            raise ConfigError(
                f"{self.file}: unknown key(s) {unknown} in {_label(self.where)}. "
                f"Valid keys: {valid}. Next step: fix the spelling or remove the key"
            )

    def table(self, key: str, *, required: bool = False, expand: bool | None = None) -> _Table:
        value = self._take_raw(key, required)
        return _Table(
            self.file,
            self._key(key),
            value if value is not None else {},
            expand=self.expand if expand is None else expand,
        )

    def raw_table(self, key: str) -> Mapping[str, Any]:
        value = self._take_raw(key, True)
        if not isinstance(value, dict):
            raise ConfigError(f"{self.file}: [{self._key(key)}] must be a table, found {_kind(value)}")
        return value

    def _take_raw(self, key: str, required: bool) -> Any:
        expand, self.expand = self.expand, False
        try:
            return self._take(key, required)
        finally:
            self.expand = expand

    def table_list(self, key: str) -> list[_Table]:
        value = self._take_raw(key, False)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ConfigError(
                f"{self.file}: {self._key(key)} must be an array of tables ([[{key}]]), found {_kind(value)}"
            )
        return [_Table(self.file, f"{self._key(key)}[{i}]", item, expand=self.expand) for i, item in enumerate(value)]

    # -- scalars -------------------------------------------------------------------------
    def _typed(self, key: str, value: Any, expected: str, ok: bool) -> None:
        if not ok:
            raise ConfigError(
                f"{self.file}: {self._key(key)} must be {expected}, found {_kind(value)}. Next step: correct the value"
            )

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self._take(key, required)
        if value is None:
            return None
        self._typed(key, value, "a string", isinstance(value, str) and value != "")
        return str(value)

    def boolean(self, key: str) -> bool | None:
        value = self._take(key, False)
        if value is None:
            return None
        self._typed(key, value, "true or false", isinstance(value, bool))
        return bool(value)

    def integer(
        self,
        key: str,
        *,
        required: bool = False,
        default: int | None = None,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self._take(key, required)
        if value is None:
            return default
        self._typed(key, value, "an integer", isinstance(value, int) and not isinstance(value, bool))
        self._in_range(key, value, minimum, maximum)
        return int(value)

    def number(self, key: str, *, default: float, minimum: float, maximum: float | None = None) -> float:
        value = self._take(key, False)
        if value is None:
            return default
        self._typed(key, value, "a number", isinstance(value, int | float) and not isinstance(value, bool))
        if not math.isfinite(value):  # TOML allows nan and inf; a tolerance of inf would pass anything
            raise ConfigError(
                f"{self.file}: {self._key(key)} must be a finite number, found {value}. Next step: write a number"
                + (f" between {minimum} and {maximum}" if maximum is not None else f" >= {minimum}")
            )
        self._in_range(key, value, minimum, maximum)
        return float(value)

    def _in_range(self, key: str, value: float, minimum: float | None, maximum: float | None) -> None:
        if minimum is not None and value < minimum:
            raise ConfigError(
                f"{self.file}: {self._key(key)} must be >= {minimum}, found {value}. Next step: correct the value"
            )
        if maximum is not None and value > maximum:
            raise ConfigError(
                f"{self.file}: {self._key(key)} must be <= {maximum:,}, found {value:,}. Next step: correct the value"
            )

    def string_list(self, key: str, *, required: bool = False) -> list[str]:
        value = self._take(key, required)
        if value is None:
            return []
        self._typed(key, value, "a list of strings", isinstance(value, list) and all(isinstance(v, str) for v in value))
        return list(value)

    def list_of_any(self, key: str) -> list[Any] | None:
        value = self._take(key, False)
        if value is None:
            return None
        self._typed(key, value, "a list", isinstance(value, list))
        return list(value)

    def path(self, key: str, base: Path, *, must_exist: bool, required: bool = False, kind: str = "any") -> Path | None:
        """A path relative to ``base``; ``kind`` "file" or "dir" refuses the other kind when it exists."""
        text = self.string(key, required=required)
        if text is None:
            return None
        where = f"{self.file}: {self._key(key)} = {text!r}"
        try:
            resolved = (base / text).resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop, a path too long
            raise ConfigError(f"{where} cannot be resolved ({exc}). Next step: fix the path or the links") from None
        build = "build the contracts first, or " if key == "artifacts" else ""
        if must_exist and not resolved.exists():
            raise ConfigError(
                f"{where} -> {resolved} does not exist. "
                f"Next step: {build}correct the path (relative to the target file)"
            )
        if kind == "file" and resolved.is_dir():
            raise ConfigError(f"{where} -> {resolved} is a folder, expected a file. Next step: name the file in it")
        if kind == "dir" and resolved.is_file():
            raise ConfigError(f"{where} -> {resolved} is a file, expected a folder. Next step: name its folder")
        return resolved

    def address(self, key: str) -> str | None:
        value = self.string(key)
        if value is not None:
            _check_address(value, self.file, self._key(key))
        return value

    def address_list(self, key: str) -> list[str]:
        values = self.string_list(key)
        for value in values:
            _check_address(value, self.file, self._key(key))
        return values

    def slot(self, key: str) -> int | None:
        """A storage slot: an integer, or a 0x hex string of at most 32 bytes (an EIP-1967 or EIP-7201 slot)."""
        value = self._take(key, False)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**256:
            return value
        if isinstance(value, str) and re.fullmatch(r"0x[0-9a-fA-F]{1,64}", value.strip()):
            return int(value.strip(), 16)
        raise ConfigError(
            f"{self.file}: {self._key(key)} must be a storage slot: an integer, or a 0x hex string of at most 32 "
            f"bytes (as the compiler's storage layout or an EIP-1967/EIP-7201 slot gives it), found {_kind(value)}. "
            "Next step: correct the value"
        )

    def wei(self, key: str) -> int | None:
        value = self._take(key, False)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, str):
            parsed = parse_wei(value)
            if parsed is not None:
                return parsed
        raise ConfigError(
            f"{self.file}: {self._key(key)} must be a whole number of wei (integer, or a string "
            f'such as "1000000000000000000", "0.5 ether" or "30 gwei"), found {_kind(value)}. '
            "Next step: correct the value"
        )


_UNITS = {"wei": 1, "gwei": 10**9, "ether": 10**18, "eth": 10**18}


def parse_wei(text: str) -> int | None:
    """``"1000"`` / ``"0.5 ether"`` / ``"30 gwei"`` -> wei; ``None`` if not a whole wei amount."""
    parts = text.strip().split()
    if not parts or len(parts) > 2:
        return None
    unit = _UNITS.get(parts[1].lower()) if len(parts) == 2 else 1
    if unit is None:
        return None
    number = parts[0].replace("_", "")
    whole, _, fraction = number.partition(".")
    if not whole.isdigit() or (fraction and not fraction.isdigit()):
        return None
    scaled = int(whole) * unit + (int(fraction) * unit // 10 ** len(fraction) if fraction else 0)
    if fraction and int(fraction) * unit % 10 ** len(fraction):
        return None
    return scaled


def _allow_list(table: _Table, key: str, pattern: re.Pattern[str]) -> tuple[AllowEntry, ...]:
    """``[[<table>.allow]]`` entries: ``<key> = "0x..."``, ``reason = "..."``, optional ``contracts``."""
    entries = []
    for entry in table.table_list("allow"):
        value = entry.string(key, required=True) or ""
        if not pattern.fullmatch(value):
            raise ConfigError(
                f"{entry.file}: {entry.where}.{key} must look like {pattern.pattern}, found {value!r}. "
                "Next step: correct the value"
            )
        entries.append(
            AllowEntry(
                value.lower(), entry.string("reason", required=True) or "", tuple(entry.string_list("contracts"))
            )
        )
        entry.done()
    table.done()
    return tuple(entries)


def _expand_env(value: str, file: Path, key: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        var = match.group(1)
        if var not in os.environ:
            raise ConfigError(
                f"{file}: {key} needs the environment variable {var}, which is not set. "
                f"Next step: export {var}=... before running (its value is treated as a secret)"
            )
        secret = os.environ[var]
        register_secret(secret)
        return secret

    expanded = _ENV_REF.sub(substitute, value)
    if expanded != value:
        register_secret(expanded)
    return expanded


def _check_address(value: str, file: Path, key: str) -> None:
    if not _ADDRESS.fullmatch(value):
        shown = value if not _ENV_REF.search(value) else "(value from the environment)"
        raise ConfigError(
            f"{file}: {key} must be a 0x-prefixed 20-byte hex address, found {shown!r}. Next step: correct the address"
        )
    digits = value[2:]
    if digits != digits.lower() and digits != digits.upper():  # mixed case: an EIP-55 checksum to honour
        from eth_utils.address import to_checksum_address

        expected = to_checksum_address(value)
        if value != expected:
            raise ConfigError(
                f"{file}: {key} = {value!r} has a wrong EIP-55 checksum (expected {expected}): a typo in a "
                "mixed-case address. Next step: copy the address again from a trusted source"
            )


def _label(where: str) -> str:
    return f"[{where}]" if where else "the top level"


def _kind(value: Any) -> str:
    return describe_value(value, mapping="a table")
