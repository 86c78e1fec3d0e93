"""The deployed system the postdeploy checks look at, wherever it came from.

A rehearsal (:mod:`signoff.deploy.rehearsal`) builds one by running the deploy plan; on a live
network it comes from the network's deployments file; on a fork, from the same file with a
writable chain underneath. Checks see names (``"ManifestDispatcher"``, ``"Governance"``) and
resolve them here, so one check runs unchanged on all three. Nothing here imports web3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from signoff.artifacts.loader import Contract
from signoff.chain import BlockPin
from signoff.errors import ConfigError

REHEARSAL = "rehearsal"
DEPLOYMENTS_FILE = "deployments file"


@dataclass(frozen=True)
class StepRecord:
    """One rehearsal step as it ran: what, the transactions it sent and their gas."""

    step: str
    transactions: tuple[str, ...]
    gas_used: int
    result: str  # the address deployed, or "" for calls


@dataclass(frozen=True)
class SafeInfo:
    """A Safe signoff created in the rehearsal and can therefore drive (it holds the owners)."""

    address: str
    owners: tuple[str, ...]
    threshold: int


@dataclass
class DeployedSystem:
    """Names -> addresses and artifacts, plus how to act as the system's accounts."""

    origin: str  # REHEARSAL, or DEPLOYMENTS_FILE (live network or fork)
    source: str  # the plan or deployments file, for the report
    network: str
    chain_id: int
    addresses: dict[str, str]  # contract name or alias -> checksummed address
    artifacts: dict[str, Contract]  # contract name or alias -> the artifact it must equal
    expected_args: dict[str, tuple[Any, ...]]  # alias -> constructor args as configured, "@Name" resolved
    accounts: dict[str, str] = field(default_factory=dict)  # rehearsal account name -> address
    safes: dict[str, SafeInfo] = field(default_factory=dict)
    governance: tuple[str, ...] = ()  # who must own and administer everything
    aliases: dict[str, str] = field(default_factory=dict)  # live: "@Governance" -> [networks.X] governance
    records: list[StepRecord] = field(default_factory=list)
    block: BlockPin | None = None  # reads are pinned here on live networks and forks
    deployed_blocks: dict[str, int] = field(default_factory=dict)  # live: name -> block of its deployment receipt
    # dispatcher alias -> {facet contract name -> its functions the dispatcher routes (not those it answers
    # itself), events and errors}, from [[diamonds]]: what a routed facet holds is called at the dispatcher
    routed: dict[str, dict[str, tuple[Mapping[str, Any], ...]]] = field(default_factory=dict)

    @property
    def rehearsed(self) -> bool:
        return self.origin == REHEARSAL

    def names(self) -> dict[str, str]:
        """Every resolvable name -> address (contracts, Safes, accounts, aliases)."""
        names = dict(self.aliases)
        names.update(self.accounts)
        names.update({name: safe.address for name, safe in self.safes.items()})
        names.update(self.addresses)
        return names

    def address(self, reference: str, *, where: str = "") -> str:
        """``"@Name"`` or ``"Name"`` or ``"0x…"`` -> an address; a clear error otherwise."""
        name = reference[1:] if reference.startswith("@") else reference
        if name.startswith("0x") and len(name) == 42:
            return name
        names = self.names()
        if name not in names:
            known = ", ".join(sorted(names)) or "(none)"
            place = f"{where}: " if where else ""
            raise ConfigError(
                f"{place}{reference!r} is not a deployed contract, Safe or account of this system "
                f"({self.source}); known names: {known}. Next step: correct the name or add it to "
                "the deploy plan / deployments file"
            )
        return names[name]

    def resolve_args(self, values: Sequence[Any], *, where: str = "") -> tuple[Any, ...]:
        """Replace every ``"@Name"`` (also inside lists) by its address."""
        return tuple(self._resolve(value, where) for value in values)

    def _resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, str) and value.startswith("@"):
            return self.address(value, where=where)
        if isinstance(value, list | tuple):
            return [self._resolve(item, where) for item in value]
        return value

    def name_of(self, address: str) -> str:
        """The system's name for ``address`` (for messages), else the address itself."""
        for name, known in self.names().items():
            if known.lower() == address.lower():
                return f"{name} ({known})"
        return address

    def abi_of(self, name: str) -> list[Mapping[str, Any]]:
        """The contract's own ABI plus, for a dispatcher, the functions, events and errors of the facets it
        routes (those it does not answer itself)."""
        from signoff.artifacts.abi import signature

        entries = list(self.artifacts[name].abi) if name in self.artifacts else []
        seen = {_key(e, signature) for e in entries}
        for facet_entries in self.routed.get(name, {}).values():
            for entry in facet_entries:
                if _key(entry, signature) not in seen:
                    seen.add(_key(entry, signature))
                    entries.append(entry)
        return entries

    def dispatcher_of(self, facet: str) -> str | None:
        """The deployed dispatcher that routes ``facet`` (a [[diamonds]] facet), if any."""
        return next((d for d, facets in self.routed.items() if facet in facets and facet != d), None)

    def contract_names(self) -> tuple[str, ...]:
        """Deployed contracts that have an artifact, in deployment order."""
        return tuple(name for name in self.addresses if name in self.artifacts)


def _key(entry: Mapping[str, Any], signature: Any) -> str:
    try:
        return f"{entry.get('type', 'function')} {signature(entry)}"
    except (KeyError, TypeError, AttributeError):
        return repr(entry)


def attach_routes(system: DeployedSystem, diamonds: Sequence[Any], artifacts: Any) -> None:
    """Fill ``system.routed`` from the target's ``[[diamonds]]`` (dispatcher and facets by name)."""
    from signoff.artifacts.abi import signature

    for diamond in diamonds:
        dispatcher = artifacts.resolve(diamond.dispatcher)
        if dispatcher.name not in system.addresses:
            continue
        own = {_key(e, signature) for e in dispatcher.abi if e.get("type") == "function"}
        facets = system.routed.setdefault(dispatcher.name, {})
        for facet_name in diamond.facets:
            facet = artifacts.resolve(facet_name)
            kept = []
            for entry in facet.abi:
                kind = entry.get("type", "function")
                if kind in ("event", "error") or (kind == "function" and _key(entry, signature) not in own):
                    kept.append(entry)
            facets[facet.name] = tuple(kept)
