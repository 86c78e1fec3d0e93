"""Everything a run needs, resolved once at start-up into a frozen :class:`SessionSettings`.

Kept free of pytest so that it can be tested and reused directly; the plugin only converts
:class:`~signoff.errors.ConfigError` into ``pytest.UsageError``.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from signoff import __version__
from signoff.artifacts.loader import ArtifactSet, Contract, load_artifacts
from signoff.chain import Endpoint
from signoff.deploy.plan import DeployPlan, load_deploy_plan
from signoff.errors import ArtifactError, ConfigError
from signoff.evidence.provenance import git_commit
from signoff.flows.declared import Flow, load_flows
from signoff.flows.invariants import Invariant, load_invariants
from signoff.flows.migrations import MigrationSettings, load_migrations
from signoff.flows.search import SearchSettings, load_search
from signoff.flows.settings import ServiceSettings, load_service
from signoff.postdeploy.control.settings import ControlSettings, load_control
from signoff.postdeploy.settings import PostdeploySettings, load_postdeploy
from signoff.redaction import display_url
from signoff.target import BUILTIN_NETWORKS, NetworkSettings, Target, excluded_by, load_target

DEFAULT_NETWORK = "eth-tester"


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    junit: Path
    json: Path


@dataclass(frozen=True)
class SessionSettings:
    """The target, its artifacts and the selected network, validated."""

    target: Target
    artifacts: ArtifactSet
    network: str
    network_settings: NetworkSettings | None  # only for a [networks] entry
    constructor_args_size: Mapping[str, int]  # contract fqn -> encoded bytes
    git_commit: str
    deploy_plan: DeployPlan | None = None  # [deploy]: what a rehearsal runs
    postdeploy: PostdeploySettings | None = None  # [postdeploy]: what the deployed system must satisfy
    control: ControlSettings | None = None  # [control]: the owner control plane (config files as expected values)
    service: ServiceSettings | None = None  # [service]: the off-chain service (e2e_flows)
    flows: tuple[Flow, ...] = ()  # [[flows]]: declared end-to-end flows (e2e_flows)
    invariants: tuple[Invariant, ...] = ()  # [[invariants]]: checked after every step of every flow
    migrations: MigrationSettings | None = None  # [migrations]: the application's SQL migrations (FL-MIG)
    # [search]: the state machine over the flows' steps (FL-SEARCH)
    search: SearchSettings = field(default_factory=SearchSettings)
    fork: bool = False  # --signoff-fork: drills on an anvil fork of the live network
    strict: bool = False  # --signoff-strict: a check that did not run fails the sign-off

    @property
    def is_live(self) -> bool:
        return self.network_settings is not None

    @property
    def readiness(self) -> NetworkSettings | None:
        """PF-NET's deployer, governance and block-age settings: the live network's, or [networks.anvil]'s."""
        return self.network_settings or self.target.builtin_readiness.get(self.network)

    def live_endpoint(self) -> Endpoint | None:
        ns = self.network_settings
        return None if ns is None else Endpoint(ns.name, ns.rpc_url, ns.chain_id, "live", ns.request_timeout_seconds)

    def is_project_contract(self, contract: Contract) -> bool:
        """Deployable and outside ``[compiler] exclude``: what PF-COMP, PF-ADDR and PF-ABI judge."""
        return contract.deployable and not excluded_by(contract.source, self.target.compiler.exclude)

    def size_excluded(self, contract: Contract) -> str | None:
        """The ``[sizes] exclude`` pattern that scopes ``contract`` out, if any."""
        return excluded_by(contract.source, self.target.sizes.exclude)

    def environment(self) -> dict[str, str]:
        """Rows of the report's environment table (no secret: URLs are shown host-only)."""
        art = self.artifacts
        rows = {
            "Target": self.target.name,
            "Target file": str(self.target.path),
            "Target file sha256": self.target.sha256,
            "Target git commit": self.git_commit,
            "Artifacts": f"{art.root} ({', '.join(sorted(art.formats)) or 'no format recognised'}; "
            f"{len(art.contracts)} contracts from {art.files_read} files"
            + (f"; {len(art.problems)} unreadable" if art.problems else "")
            + ")",
            "Artifacts sha256": art.digest,
            "solc (build-info)": solc_versions(art.root),
            "Network": self.network,
            "signoff": __version__,
            "Python": platform.python_version(),
        }
        if self.network_settings is not None:
            rows["RPC"] = display_url(self.network_settings.rpc_url)
            rows["Expected chain id"] = str(self.network_settings.chain_id)
        return rows


def resolve_session(target_path: Path, network: str, *, fork: bool = False, strict: bool = False) -> SessionSettings:
    """Load the target, its artifacts and the network; every problem is a ConfigError."""
    target = load_target(target_path)
    network_settings = None if network in BUILTIN_NETWORKS else target.network(network)
    if fork and network_settings is None:
        raise ConfigError(
            f"--signoff-fork forks a live network, but {network} is a built-in rehearsal chain where the drills "
            "already run. Next step: add --network NAME (a [networks] entry) or drop --signoff-fork"
        )
    try:
        artifacts = load_artifacts(target.artifacts)
    except ArtifactError as exc:
        raise ConfigError(f"{target.path}: [target] artifacts: {exc}") from None
    if not artifacts.contracts and artifacts.problems:
        listed = "; ".join(problem.message for problem in artifacts.problems[:3])
        raise ConfigError(
            f"{target.path}: [target] artifacts = {target.artifacts} holds no readable compiled contract: {listed}"
            + (f" (and {len(artifacts.problems) - 3} more)" if len(artifacts.problems) > 3 else "")
        )
    if not artifacts.contracts:
        raise ConfigError(
            f"{target.path}: [target] artifacts = {target.artifacts} holds no compiled contract "
            "(looked for Hardhat artifacts/, Foundry out/, truffle build/contracts or a solc "
            "standard-JSON output file). Next step: compile the contracts, then run again"
        )
    _check_names(target, artifacts)
    _check_plan_leaf(target)
    return SessionSettings(
        target=target,
        artifacts=artifacts,
        network=network,
        network_settings=network_settings,
        constructor_args_size=_constructor_args(target, artifacts),
        git_commit=git_commit(target.root),
        deploy_plan=load_deploy_plan(target),
        postdeploy=load_postdeploy(target),
        control=load_control(target),
        service=load_service(target),
        flows=(flows := load_flows(target)),
        invariants=load_invariants(target),
        search=load_search(target, [flow.name for flow in flows]),
        migrations=load_migrations(target),
        fork=fork,
        strict=strict,
    )


def report_paths(directory: Path, markexpr: str, network: str, now: datetime | None = None) -> ReportPaths:
    """``reports/signoff-<suite>-<network>-<UTC time>.{html,xml,json}``, never overwriting."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    suite = re.sub(r"[^A-Za-z0-9]+", "_", markexpr).strip("_") or "all"
    stem = f"signoff-{suite}-{re.sub(r'[^A-Za-z0-9.-]+', '_', network)}-{moment}"
    candidate, counter = stem, 1
    while _taken(directory, candidate):
        counter += 1
        candidate = f"{stem}-{counter}"
    return ReportPaths(directory / f"{candidate}.html", directory / f"{candidate}.xml", directory / f"{candidate}.json")


_SOLC = re.compile(rb'"solcLongVersion"\s*:\s*"([^"]+)"')


def solc_versions(root: Path) -> str:
    """The solc versions named by Hardhat build-info files (read from their first kilobytes only)."""
    found: set[str] = set()
    folder = root / "build-info" if root.is_dir() else None
    for path in sorted(folder.glob("*.json")) if folder is not None and folder.is_dir() else []:
        try:
            with path.open("rb") as handle:
                head = handle.read(4096)
        except OSError:
            continue
        match = _SOLC.search(head)
        if match:
            found.add(match.group(1).decode(errors="replace"))
    return ", ".join(sorted(found)) or "not recorded (no Hardhat build-info; PF-COMP reads each contract's metadata)"


def reservation_of(paths: ReportPaths) -> Path:
    """The hidden marker that claims a report name for one run while it runs."""
    return paths.json.with_name(f".{paths.json.stem}.reserved")


def _taken(directory: Path, candidate: str) -> bool:
    names = (f"{candidate}.html", f"{candidate}.json", f"{candidate}.xml", f".{candidate}.reserved")
    return any((directory / name).exists() for name in names)


def reserve_report_paths(directory: Path, markexpr: str, network: str) -> ReportPaths:
    """:func:`report_paths`, claimed atomically, so runs sharing a reports directory never overwrite each other
    (the claim is a hidden marker file, removed when the run ends)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"the reports directory {directory} cannot be created ({exc.strerror}). Next step: pass "
            "--signoff-reports DIR with a writable folder, or --signoff-reports=none"
        ) from None
    for _ in range(1000):
        paths = report_paths(directory, markexpr, network)
        try:
            os.close(os.open(reservation_of(paths), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            continue  # another run claimed this name between the check and the claim
        except OSError as exc:
            raise ConfigError(
                f"the reports directory {directory} is not writable ({exc.strerror}). Next step: pass "
                "--signoff-reports DIR with a writable folder, or --signoff-reports=none"
            ) from None
        return paths
    raise ConfigError(f"no free report name in {directory}. Next step: clear old reports or pick another folder")


def _check_plan_leaf(target: Target) -> None:
    """A plan written for another leaf encoding than [manifest] leaf is one usage error, not a red
    check per aspect (a missing or unreadable plan is PF-MRK's to report)."""
    import json

    manifest = target.manifest
    if manifest is None or not manifest.plan.is_file():
        return
    try:
        document = json.loads(manifest.plan.read_bytes())
    except (OSError, ValueError):
        return
    for key, declared in (("leaf", manifest.leaf), ("node", manifest.node)):
        written = document.get(key) if isinstance(document, dict) else None
        if isinstance(written, str) and written != declared:
            raise ConfigError(
                f"{target.path}: [manifest] {key} is {declared!r}, but the plan {manifest.plan} was written for "
                f"{written!r} {'leaves' if key == 'leaf' else 'nodes'}: its root and proofs would not be the "
                f"dispatcher's. Next step: set [manifest] "
                f"{key} to how the dispatcher hashes them, and rewrite the plan with `signoff manifest write`"
            )


def _check_names(target: Target, artifacts: ArtifactSet) -> None:
    references: list[tuple[str, str]] = []
    for index, diamond in enumerate(target.diamonds):
        where = f"[[diamonds]][{index}]"
        references.append((f"{where} dispatcher", diamond.dispatcher))
        references.extend((f"{where} facets", facet) for facet in diamond.facets)
        if diamond.router:
            references.append((f"{where} router", diamond.router))
    references.extend((f'[contracts."{name}"]', name) for name in target.contracts)
    for name, settings in target.contracts.items():
        references.extend((f'[contracts."{name}"] implements', interface) for interface in settings.implements)
    for table, entries in (("selectors", target.selector_allow), ("addresses", target.address_allow)):
        for index, entry in enumerate(entries):
            references.extend((f"[[{table}.allow]][{index}] contracts", name) for name in entry.contracts)
    references.extend(("[abi] contracts", name) for name in target.abi.contracts)
    if target.manifest is not None:
        references.append(("[manifest] dispatcher", target.manifest.dispatcher))
    for where, name in references:
        try:
            artifacts.resolve(name)
        except LookupError as exc:
            raise ConfigError(f"{target.path}: {where}: {exc}") from None


def _constructor_args(target: Target, artifacts: ArtifactSet) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for name, settings in target.contracts.items():
        if settings.constructor_args is None:
            continue
        contract = artifacts.resolve(name)
        where = f'{target.path}: [contracts."{name}"] constructor_args'
        sizes[contract.fqn] = constructor_args_size(contract.abi, settings.constructor_args, where)
    return sizes


def constructor_args_size(abi: Sequence[Mapping[str, Any]], args: Sequence[Any], where: str) -> int:
    """The encoded size of constructor arguments (remembered between runs: signoff.artifacts.sizes_cache)."""
    from signoff.artifacts.abi import check_constructor_arity, constructor_types, encode_constructor_args
    from signoff.artifacts.sizes_cache import remembered_size

    check_constructor_arity(abi, args, where)
    return remembered_size(constructor_types(abi), args, lambda: encode_constructor_args(abi, args, where))
