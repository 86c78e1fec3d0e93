"""``signoff init``: write a commented, valid ``signoff.toml`` for the repository it runs in.

A protocol team runs it in its own Hardhat, Foundry or truffle repository after compiling.
:func:`detect_project` reads what is there (the toolchain config, the compiled artifacts
through the same loader the checks use, so what it pins is what PF-COMP will compare), and
:func:`render_signoff_toml` turns those facts into a file that :func:`signoff.target.load_target`
accepts as written: compiler pins only when the build is unambiguous, dispatcher/diamond
guesses only as commented-out suggestions, and networks by name with ``${VAR}`` RPC URLs.
Nothing from the toolchain config is copied except names and chain ids, so a URL, key or
mnemonic written there can never reach the output. :func:`write_init` writes the file (and
a ``pytest.ini`` when the repository has no pytest configuration) and never overwrites one.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from signoff.artifacts.loader import Contract, load_artifacts
from signoff.errors import ArtifactError, ConfigError
from signoff.preflight.compiler import base_version
from signoff.target import BUILTIN_NETWORKS

Toolchain = Literal["hardhat", "foundry", "truffle"]

# Checked in this order: a repository with both (hardhat-foundry) uses the first one built.
_CONFIG_FILES: tuple[tuple[Toolchain, tuple[str, ...]], ...] = (
    ("hardhat", ("hardhat.config.js", "hardhat.config.ts", "hardhat.config.cjs", "hardhat.config.mjs")),
    ("foundry", ("foundry.toml",)),
    ("truffle", ("truffle-config.js", "truffle.js")),
)
_DEFAULT_ARTIFACTS: Mapping[Toolchain, str] = {"hardhat": "artifacts", "foundry": "out", "truffle": "build/contracts"}
_COMPILE: Mapping[Toolchain, str] = {
    "hardhat": "npx hardhat compile",
    "foundry": "forge build",
    "truffle": "truffle compile",
}
_LABEL: Mapping[Toolchain, str] = {"hardhat": "Hardhat", "foundry": "Foundry", "truffle": "truffle"}

# Names whose chain id everyone agrees on; keys are normalised (lower case, alphanumerics only)
# so that base-sepolia, base_sepolia and baseSepolia all match.
WELL_KNOWN_CHAIN_IDS: Mapping[str, int] = {
    "mainnet": 1,
    "ethereum": 1,
    "sepolia": 11155111,
    "holesky": 17000,
    "hoodi": 560048,
    "base": 8453,
    "basesepolia": 84532,
    "arbitrum": 42161,
    "arbitrumone": 42161,
    "arbitrumsepolia": 421614,
    "optimism": 10,
    "optimismsepolia": 11155420,
    "polygon": 137,
    "amoy": 80002,
    "polygonamoy": 80002,
    "bsc": 56,
    "avalanche": 43114,
    "gnosis": 100,
    "linea": 59144,
    "scroll": 534352,
    "zksync": 324,
}
# Local development nodes: signoff has its own (eth-tester, anvil), and the built-in names
# cannot be redefined under [networks] at all.
_LOCAL_NETWORKS = frozenset({"hardhat", "localhost", "development", "ganache", "dashboard", "local", *BUILTIN_NETWORKS})
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "0.0.0.0")  # noqa: S104 - matched, never bound

# Source paths of code the team did not write; the first segment decides.
_DEPENDENCY_ROOTS = frozenset({"node_modules", "lib", "forge-std", "ds-test", "npm"})
# Path segments of code that is compiled with the project but never deployed.
_TEST_SEGMENTS = frozenset({"test", "tests", "mock", "mocks", "script", "scripts"})
_TEST_SUFFIXES = (".t.sol", ".s.sol")  # Foundry tests and scripts
_DISPATCHER_NAME = re.compile(r"dispatcher|diamond|router", re.IGNORECASE)
_DISPATCHER_ONLY = re.compile(r"dispatcher|diamond", re.IGNORECASE)
_FALLBACK_REASON = "has a fallback and a dispatcher's name"
_LISTED = 5  # contracts named per compiler configuration before "and N more"

PYTEST_INI = """[pytest]
# signoff: the target file at the root of this repository and where its evidence goes.
signoff_target = signoff.toml
signoff_reports = reports
addopts = -ra
"""


# -- facts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildConfig:
    """One combination of compiler settings and the project contracts built with it."""

    version: str | None  # the release, "0.8.30": a pin without commit matches any build of it
    via_ir: bool | None
    optimizer: bool | None
    optimizer_runs: int | None
    evm_version: str | None
    contracts: tuple[str, ...]
    origins: tuple[str, ...]  # "build-info", "metadata", ...

    def describe(self) -> str:
        def show(value: object) -> str:
            if isinstance(value, bool):
                return "true" if value else "false"
            return "not recorded" if value is None else str(value)

        runs = f" ({self.optimizer_runs} runs)" if self.optimizer_runs is not None else ""
        return (
            f"solc {show(self.version)}, viaIR {show(self.via_ir)}, optimizer {show(self.optimizer)}{runs}, "
            f"evmVersion {show(self.evm_version)}"
        )


@dataclass(frozen=True)
class DiamondGuess:
    """A contract that looks like a dispatcher or diamond, with the facets it may route."""

    dispatcher: str
    reason: str
    facets: tuple[str, ...]
    router: str | None
    lifecycle: str | None = None  # the manifest lifecycle detected from its ABI, one line; None: none at all


@dataclass(frozen=True)
class NetworkGuess:
    """A live network named in the toolchain config: its name and chain id, never its URL."""

    name: str
    env_var: str
    chain_id: int | None
    chain_id_from: str  # the config file, "well-known", or "" when unknown
    deployments: str | None  # a hardhat-deploy folder found for it, relative to the root


@dataclass(frozen=True)
class ProjectFacts:
    """What :func:`detect_project` found in a repository."""

    root: Path
    name: str
    toolchain: Toolchain
    config_file: str
    artifacts: str  # relative to root, POSIX separators
    contracts: int
    deployable: int
    builds: tuple[BuildConfig, ...]
    unknown_builds: tuple[str, ...]  # project contracts with no build-info or metadata
    dependency_globs: tuple[str, ...]
    test_globs: tuple[str, ...]
    diamonds: tuple[DiamondGuess, ...]
    facets: tuple[str, ...]
    networks: tuple[NetworkGuess, ...]
    skipped_networks: tuple[str, ...]  # local development nodes, left out
    other_toolchains: tuple[str, ...]
    unreadable: tuple[str, ...]  # artifact files the loader could not read

    @property
    def pins(self) -> BuildConfig | None:
        """The one build configuration, when the project has exactly one."""
        return self.builds[0] if len(self.builds) == 1 else None


@dataclass(frozen=True)
class InitResult:
    """What :func:`write_init` wrote, and what the user should read next."""

    written: tuple[Path, ...]
    notes: tuple[str, ...]


def detect_project(root: Path) -> ProjectFacts:
    """Read the toolchain config and the compiled artifacts under ``root``."""
    root = root.resolve()
    if not root.is_dir():
        raise ConfigError(
            f"{root} is not a folder. Next step: run signoff init in the project's root folder, "
            "or pass that folder as its argument"
        )
    found = _toolchains(root)
    if not found:
        looked = ", ".join(name for _, names in _CONFIG_FILES for name in names)
        raise ConfigError(
            f"{root}: no Hardhat, Foundry or truffle project here (looked for {looked}). "
            "Next step: run signoff init in the project's root folder, where the toolchain config is, "
            "or pass that folder as its argument"
        )
    chosen: tuple[Toolchain, Path, str, str] | None = None
    missing: list[str] = []
    for toolchain, config in found:
        text = config.read_text(encoding="utf-8", errors="replace")
        artifacts = _artifacts_folder(toolchain, config, text)
        if _has_json(root / artifacts):
            chosen = (toolchain, config, text, artifacts)
            break
        missing.append(f"{_LABEL[toolchain]} ({config.name}) has nothing in {artifacts}/")
    if chosen is None:
        commands = " or ".join(f"`{_COMPILE[t]}`" for t, _ in found)
        raise ConfigError(
            f"{root}: nothing compiled yet: {'; '.join(missing)}. Next step: compile first ({commands}), "
            "then run signoff init again"
        )
    toolchain, config, text, artifacts = chosen
    artifact_set = load_artifacts(root / artifacts)
    if not artifact_set.contracts:
        raise ConfigError(
            f"{root / artifacts}: no compiled contract could be read ({len(artifact_set.problems)} file(s) "
            f"unreadable). Next step: compile first with `{_COMPILE[toolchain]}`, then run signoff init again"
        )
    contracts = artifact_set.contracts
    packages = _npm_packages(root)
    kinds = {c.fqn: _classify(c.source, packages) for c in contracts}
    display = _display_names(contracts)
    project = [c for c in contracts if kinds[c.fqn][0] == "project" and c.deployable]
    builds, unknown = _builds(project, display)
    facets = tuple(sorted(display[c.fqn] for c in project if c.name.endswith("Facet")))
    networks, skipped = _networks(toolchain, config, text, root)
    return ProjectFacts(
        root=root,
        name=root.name,
        toolchain=toolchain,
        config_file=config.name,
        artifacts=artifacts,
        contracts=len(contracts),
        deployable=sum(1 for c in contracts if c.deployable),
        builds=builds,
        unknown_builds=unknown,
        dependency_globs=tuple(sorted({glob for kind, glob in kinds.values() if kind == "dependency"})),
        test_globs=tuple(sorted({glob for kind, glob in kinds.values() if kind == "test"})),
        diamonds=_diamonds(project, display, facets),
        facets=facets,
        networks=networks,
        skipped_networks=skipped,
        other_toolchains=tuple(sorted(f"{_LABEL[t]} ({c.name})" for t, c in found if t != toolchain)),
        unreadable=tuple(sorted(_relative(p.path, root) for p in artifact_set.problems)),
    )


# -- toolchain and artifacts ----------------------------------------------------------------


def _toolchains(root: Path) -> list[tuple[Toolchain, Path]]:
    found: list[tuple[Toolchain, Path]] = []
    for toolchain, names in _CONFIG_FILES:
        for name in names:
            if (root / name).is_file():
                found.append((toolchain, root / name))
                break
    return found


def _artifacts_folder(toolchain: Toolchain, config: Path, text: str) -> str:
    """The artifacts folder relative to the root: the toolchain default unless its config sets
    a literal path (a computed one cannot be read without running the config)."""
    literal: str | None = None
    if toolchain == "hardhat":
        literal = _js_literal(text, "paths", "artifacts")
    elif toolchain == "truffle":
        literal = _js_string_value(_strip_js(text)[0], "contracts_build_directory")
    else:
        profile = _toml(config).get("profile", {})
        default = profile.get("default", {}) if isinstance(profile, dict) else {}
        out = default.get("out") if isinstance(default, dict) else None
        literal = out if isinstance(out, str) else None
    if not literal:
        return _DEFAULT_ARTIFACTS[toolchain]
    path = Path(os.path.normpath(config.parent / literal))
    return _relative(path, config.parent)


def _has_json(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix == ".json" for p in folder.rglob("*.json"))


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: not valid TOML ({exc}), so its out folder and rpc_endpoints cannot be read. "
            "Next step: fix the file (forge reads it too), then run signoff init again"
        ) from None


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:  # outside the repository: only an absolute path names it
        return path.as_posix()


def _npm_packages(root: Path) -> frozenset[str]:
    """Installed npm packages the repository has no folder of its own for: Hardhat names an npm
    import's source ``<package>/...`` (``hardhat/console.sol``, ``solady/src/...``)."""
    modules = root / "node_modules"
    if not modules.is_dir():
        return frozenset()
    return frozenset(p.name for p in modules.iterdir() if p.is_dir() and not (root / p.name).exists())


def _classify(source: str, packages: frozenset[str]) -> tuple[Literal["dependency", "test", "project"], str]:
    """Whose code a source unit is, and the glob that scopes its folder out."""
    parts = PurePosixPath(source).parts
    if not parts:
        return "project", ""
    first = parts[0]
    if first.startswith("@") or first in _DEPENDENCY_ROOTS or (len(parts) > 1 and first in packages):
        return "dependency", f"{first}/**"
    for index, part in enumerate(parts[:-1]):
        if part.lower() in _TEST_SEGMENTS:
            return "test", "/".join(parts[: index + 1]) + "/**"
    for suffix in _TEST_SUFFIXES:
        if source.endswith(suffix):
            return "test", f"*{suffix}"
    return "project", ""


def _display_names(contracts: Iterable[Contract]) -> dict[str, str]:
    """Bare name when unique in the artifacts, else ``path/File.sol:Name`` (as the target file wants)."""
    items = list(contracts)
    counts: dict[str, int] = {}
    for contract in items:
        counts[contract.name] = counts.get(contract.name, 0) + 1
    return {c.fqn: c.name if counts[c.name] == 1 else c.fqn for c in items}


# -- compiler settings ----------------------------------------------------------------------


def _builds(project: Sequence[Contract], display: Mapping[str, str]) -> tuple[tuple[BuildConfig, ...], tuple[str, ...]]:
    """Group the project contracts by the settings they were built with (PF-COMP's scope)."""
    groups: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    values: dict[tuple[str, ...], tuple[str | None, bool | None, bool | None, int | None, str | None]] = {}
    unknown: list[str] = []
    for contract in project:
        try:
            settings = contract.compiler  # build-info is parsed once per file and shared
        except ArtifactError:
            settings = None
        if settings is None:
            unknown.append(display[contract.fqn])
            continue
        version = base_version(settings.version) if settings.version else None
        evm = settings.evm_version.lower() if settings.evm_version else None
        value = (version, settings.via_ir, settings.optimizer_enabled, settings.optimizer_runs, evm)
        key = tuple(repr(v) for v in value)
        origin = "build-info" if settings.origin.startswith("build-info") else settings.origin
        groups.setdefault(key, []).append((display[contract.fqn], origin))
        values[key] = value
    builds = tuple(
        BuildConfig(
            *values[key],
            contracts=tuple(sorted(name for name, _ in groups[key])),
            origins=tuple(sorted({origin for _, origin in groups[key]})),
        )
        for key in sorted(groups)
    )
    return builds, tuple(sorted(unknown))


# -- dispatchers and facets -----------------------------------------------------------------


def _dispatcher_reason(contract: Contract) -> str | None:
    """Why ``contract`` looks like a dispatcher or diamond, or ``None``."""
    functions = {(str(i.get("name")), _input_types(i)) for i in contract.abi if i.get("type") == "function"}
    if any(name == "diamondCut" for name, _ in functions):
        return "has diamondCut"
    if ("facets", ()) in functions or ("facetAddress", ("bytes4",)) in functions:
        return "has the diamond loupe functions"
    fallback = any(i.get("type") == "fallback" for i in contract.abi)
    if fallback and _DISPATCHER_NAME.search(contract.name):
        return _FALLBACK_REASON
    if fallback and _lifecycle_summary(contract.name, contract.abi) is not None:
        return "has a fallback and a manifest lifecycle (commit and apply functions)"
    return None


def _input_types(item: Mapping[str, Any]) -> tuple[str, ...]:
    inputs = item.get("inputs")
    return tuple(str(i.get("type")) for i in inputs if isinstance(i, dict)) if isinstance(inputs, list) else ()


def _diamonds(
    project: Sequence[Contract], display: Mapping[str, str], facets: tuple[str, ...]
) -> tuple[DiamondGuess, ...]:
    # A facet (DiamondCutFacet, DiamondLoupeFacet) carries the diamond's functions too: it is
    # routed to, not a dispatcher. A router in front of a dispatcher has a fallback and "Router"
    # in its name, but neither the diamond's functions nor a dispatcher's name.
    dispatchers: list[tuple[str, str]] = []
    routers: list[str] = []
    for contract in project:
        reason = None if contract.name.endswith("Facet") else _dispatcher_reason(contract)
        if reason is None:
            continue
        name = display[contract.fqn]
        if reason == _FALLBACK_REASON and not _DISPATCHER_ONLY.search(contract.name):
            routers.append(name)
        else:
            dispatchers.append((name, reason))
    if not dispatchers:  # a router that routes to facets itself is the dispatcher
        dispatchers, routers = [(name, _FALLBACK_REASON) for name in routers], []
    dispatchers.sort()
    router = sorted(routers)[0] if len(routers) == 1 else None
    abis = {display[c.fqn]: c.abi for c in project}
    return tuple(
        DiamondGuess(name, reason, facets, router, _lifecycle_summary(name, abis.get(name, ())))
        for name, reason in dispatchers
    )


def _lifecycle_summary(name: str, abi: Sequence[Mapping[str, Any]]) -> str | None:
    """What PD-DSP would drive on this dispatcher, detected from its ABI, or why it could not (None when it
    has no manifest lifecycle at all)."""
    from signoff.deploy.lifecycle import detect
    from signoff.errors import ConfigError

    try:
        found = detect(name, abi)
    except ConfigError:
        return None
    if not found.function("commit") and not found.function("apply"):
        return None
    missing = found.missing()
    roles = ", ".join(
        f"{role} {found.function(role)}" for role in ("commit", "apply", "activate") if found.function(role)
    )
    detected = f"{roles}; ready at {found.readiness}" if "eta" not in missing else roles
    if missing:
        return f"{detected}; not found: {', '.join(missing)} (map them in [manifest.interface])"
    return detected


# -- networks -------------------------------------------------------------------------------


def _networks(
    toolchain: Toolchain, config: Path, text: str, root: Path
) -> tuple[tuple[NetworkGuess, ...], tuple[str, ...]]:
    if toolchain == "foundry":
        entries = _foundry_endpoints(_toml(config))
    else:
        entries = _js_networks(text)
    networks: list[NetworkGuess] = []
    skipped: list[str] = []
    by_name = {entry[0]: entry for entry in entries}  # a key written twice: the last one counts, as in JS
    for name in sorted(by_name):
        _, env_var, literal_chain_id, local = by_name[name]
        if name.lower() in _LOCAL_NETWORKS or local:
            skipped.append(name)
            continue
        known = WELL_KNOWN_CHAIN_IDS.get(re.sub(r"[^a-z0-9]", "", name.lower()))
        chain_id = literal_chain_id if literal_chain_id is not None else known
        chain_from = config.name if literal_chain_id is not None else ("well-known" if known is not None else "")
        deployments = root / "deployments" / name
        networks.append(
            NetworkGuess(
                name=name,
                env_var=env_var or env_var_for(name),
                chain_id=chain_id,
                chain_id_from=chain_from,
                deployments=_relative(deployments, root) if deployments.is_dir() else None,
            )
        )
    return tuple(networks), tuple(skipped)


def env_var_for(network: str) -> str:
    """``base-sepolia`` -> ``BASE_SEPOLIA_RPC_URL``: the variable its ``rpc_url`` is read from."""
    stem = re.sub(r"[^A-Za-z0-9]", "_", network).upper()
    return f"{'_' if stem[:1].isdigit() else ''}{stem}_RPC_URL"


_ENV_ONLY = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _foundry_endpoints(document: Mapping[str, Any]) -> list[tuple[str, str | None, int | None, bool]]:
    endpoints = document.get("rpc_endpoints")
    if not isinstance(endpoints, dict):
        return []
    entries: list[tuple[str, str | None, int | None, bool]] = []
    for name, value in endpoints.items():
        url = value if isinstance(value, str) else ""
        # "${SEPOLIA_RPC_URL}" names the variable the team already exports: reuse the name.
        only_env = _ENV_ONLY.fullmatch(url.strip())
        entries.append((str(name), only_env.group(1) if only_env else None, None, _is_local(url)))
    return entries


def _is_local(text: str) -> bool:
    return any(host in text for host in _LOCAL_HOSTS)


# JavaScript/TypeScript configs cannot be run here, so they are read tolerantly: comments are
# blanked, string contents masked so that braces in them do not count, and only object-literal
# keys, a literal chainId and a process.env variable name are taken. Never a string value.
_JS_KEY = re.compile(r"\s*([A-Za-z_$][\w$]*|\"[^\"\n]*\"|'[^'\n]*')\s*(:|$)")
_JS_CHAIN_ID = re.compile(r"\bchainId\s*:\s*(0[xX][0-9a-fA-F]+|\d[\d_]*)\b")
_JS_ENV_URL = re.compile(
    r"\burl\s*:\s*(?:process\.env\.([A-Za-z_][A-Za-z0-9_]*)|process\.env\[\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']\s*\])"
)


def _js_networks(text: str) -> list[tuple[str, str | None, int | None, bool]]:
    clean, masked = _strip_js(text)
    match = re.search(r"\bnetworks\s*:\s*\{", masked)
    if match is None:
        return []
    entries: list[tuple[str, str | None, int | None, bool]] = []
    for key, start, end in _js_entries(clean, masked, match.end() - 1):
        value, value_masked = clean[start:end], masked[start:end]
        chain = _JS_CHAIN_ID.search(value_masked)
        env = _JS_ENV_URL.search(value)
        entries.append(
            (
                key,
                (env.group(1) or env.group(2)) if env else None,
                _js_int(chain.group(1)) if chain else None,
                _is_local(value),
            )
        )
    return entries


def _js_int(literal: str) -> int:
    digits = literal.replace("_", "")
    return int(digits, 16) if digits[:2].lower() == "0x" else int(digits)


def _js_literal(text: str, table: str, key: str) -> str | None:
    """A string literal ``table: { key: "..." }`` in a JS config, or ``None``."""
    clean, masked = _strip_js(text)
    match = re.search(rf"\b{table}\s*:\s*\{{", masked)
    if match is None:
        return None
    end = _closing(masked, match.end() - 1)
    return _js_string_value(clean[match.end() : end], key)


def _js_string_value(clean: str, key: str) -> str | None:
    match = re.search(rf"\b{key}\s*:\s*([\"'])([^\"'\n]+)\1", clean)
    return match.group(2) if match and "${" not in match.group(2) else None


def _strip_js(text: str) -> tuple[str, str]:
    """``(clean, masked)``, both as long as ``text``: comments blanked in both, and string
    contents replaced by ``_`` in ``masked`` so that its braces and commas are the code's."""
    clean, masked = list(text), list(text)
    i, n = 0, len(text)

    def blank(start: int, stop: int, *, strings_only: bool = False) -> None:
        for k in range(start, stop):
            if text[k] != "\n":
                masked[k] = "_" if strings_only else " "
                if not strings_only:
                    clean[k] = " "

    while i < n:
        if text.startswith("//", i):
            stop = text.find("\n", i)
            stop = n if stop < 0 else stop
            blank(i, stop)
            i = stop
        elif text.startswith("/*", i):
            stop = text.find("*/", i + 2)
            stop = n if stop < 0 else stop + 2
            blank(i, stop)
            i = stop
        elif text[i] in "\"'`":
            quote, j = text[i], i + 1
            while j < n and text[j] != quote and (quote == "`" or text[j] != "\n"):
                j += 2 if text[j] == "\\" else 1
            blank(i + 1, min(j, n), strings_only=True)
            i = j + 1
        else:
            i += 1
    return "".join(clean), "".join(masked)


def _closing(masked: str, opening: int) -> int:
    """Index of the bracket closing the one at ``opening`` (or the end of the text)."""
    depth = 0
    for index in range(opening, len(masked)):
        char = masked[index]
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
            if depth == 0:
                return index
    return len(masked)


def _js_entries(clean: str, masked: str, opening: int) -> list[tuple[str, int, int]]:
    """``(key, value start, value end)`` of each property of the object literal at ``opening``."""
    end = _closing(masked, opening)
    entries: list[tuple[str, int, int]] = []
    start, depth = opening + 1, 0
    for index in range(opening + 1, end + 1):
        char = masked[index] if index < end else ","  # the closing brace ends the last property
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
        elif char == "," and depth == 0:
            match = _JS_KEY.match(masked, start, index)
            if match is not None:  # a spread (...x) or computed key ([x]) names nothing readable
                key = clean[match.start(1) : match.end(1)].strip("\"'")
                if key:
                    entries.append((key, match.end(), index))
            start = index + 1
    return entries


# -- rendering ------------------------------------------------------------------------------


def render_signoff_toml(facts: ProjectFacts) -> str:
    """The commented ``signoff.toml`` for ``facts``; :func:`signoff.target.load_target` accepts it."""
    lines = [
        f"# signoff.toml for {facts.name}, written by `signoff init` from what it found here:",
        f"# a {_LABEL[facts.toolchain]} project ({facts.config_file}) with {facts.contracts} compiled contracts in "
        f"{facts.artifacts}/.",
        '# Paths are relative to this file. Any string may be "${VAR}": it is read from the environment',
        "# and treated as a secret. Each section names the `pytest -m ...` command that reads it; the",
        '# README\'s "The target file: signoff.toml" lists every key.',
        "",
        "# `pytest -m preflight` runs every preflight check below on a fresh in-process chain.",
        "# Compile before each run: signoff reads the artifacts as they are.",
        "[target]",
        f"name = {_toml_string(facts.name)}",
        f"artifacts = {_toml_string(facts.artifacts)}",
        "",
        *_compiler_lines(facts),
        "",
        "# PF-SIZE (`pytest -m eip170`): runtime code <= 24,576 bytes and initcode <= 49,152 bytes.",
        "[sizes]",
        "warn_headroom = 1024   # bytes under a limit that are reported as a warning",
    ]
    if facts.test_globs:
        lines += ["# tests, mocks and scripts are never deployed:", _toml_list("exclude", facts.test_globs)]
    lines += [
        "",
        "# PF-ABI (`pytest -m abi`): one ABI snapshot per contract in abi/ beside this file. Write them",
        "# with `pytest -m abi --signoff-update-snapshots`, review and commit them.",
        "",
        *_diamond_lines(facts),
        "",
        *_network_lines(facts),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _compiler_lines(facts: ProjectFacts) -> list[str]:
    lines = ["# PF-COMP (`pytest -m compiler`): every project contract is built with these settings."]
    pins = facts.pins
    if pins is not None:
        lines += [
            f"# Pinned from what the artifacts were built with ({', '.join(pins.origins)}; "
            f"{_count(pins.contracts)}, one configuration).",
            "[compiler]",
        ]
        pairs = (
            ("version", pins.version),
            ("via_ir", pins.via_ir),
            ("optimizer", pins.optimizer),
            ("optimizer_runs", pins.optimizer_runs),
            ("evm_version", pins.evm_version),
        )
        lines += [f"{key} = {_toml_value(value)}" for key, value in pairs if value is not None]
    elif facts.builds:
        lines += [
            f"# The project contracts were built with {len(facts.builds)} different configurations, so nothing",
            "# is pinned (PF-COMP fails on mixed solc versions or viaIR even without a pin). Rebuild them",
            "# with one configuration, then pin it here (version, via_ir, optimizer, optimizer_runs, evm_version):",
            *(f"#   {build.describe()}: {_some(build.contracts)}" for build in facts.builds),
            "[compiler]",
        ]
    else:
        lines += [
            "# Nothing is pinned: no project contract carries build-info or metadata to read settings from.",
            "[compiler]",
        ]
    if facts.unknown_builds:
        lines.append(
            f"# No build-info or metadata for {_some(facts.unknown_builds)}: PF-COMP fails on them until "
            "they are rebuilt with it."
        )
    scoped = [(glob, "a dependency") for glob in facts.dependency_globs]
    scoped += [(glob, "tests, mocks and scripts: not deployed") for glob in facts.test_globs]
    if scoped:
        lines.append(
            "# Not the project's own deployed code; also scopes PF-ABI (`-m abi`) and PF-ADDR (`-m addresses`):"
        )
        lines.append("exclude = [")
        lines += [f"    {_toml_string(glob)},   # {why}" for glob, why in scoped]
        lines.append("]")
    return lines


def _diamond_lines(facts: ProjectFacts) -> list[str]:
    head = "# PF-SEL (`pytest -m selectors`): selector collisions across a dispatcher, its facets and router."
    if not facts.diamonds:
        if facts.facets:
            return [
                head,
                f"# Facets found ({', '.join(_shown(facts.facets))}) but no dispatcher or diamond: add",
                '# [[diamonds]] with dispatcher = "...", facets = [...] to check them together.',
            ]
        return [head, "# No dispatcher, diamond or facet found; add [[diamonds]] if the system routes selectors."]
    lines = [
        head,
        "# SUGGESTIONS from the ABIs, not enabled: keep the facets each dispatcher really routes, then",
        "# uncomment the block.",
    ]
    for guess in facts.diamonds:
        lines += [
            "",
            f"# [[diamonds]]   # {guess.dispatcher} {guess.reason}",
            f"# dispatcher = {_toml_string(guess.dispatcher)}",
        ]
        if guess.facets:
            lines += ["# facets = [", *(f"#     {_toml_string(f)}," for f in guess.facets), "# ]"]
        else:
            lines.append("# facets = []   # no contract named *Facet found: name the ones it routes")
        if guess.router is not None:
            lines.append(f"# router = {_toml_string(guess.router)}")
        if guess.lifecycle is not None:
            lines += [
                "",
                f"# PF-MRK / PD-DSP: {guess.dispatcher}'s manifest lifecycle, detected: {guess.lifecycle}.",
                "# [manifest]",
                '# plan = "dispatcher.plan.json"   # `signoff manifest write` writes it; yours: see [manifest.fields]',
                f"# dispatcher = {_toml_string(guess.dispatcher)}",
                "# [manifest.monitoring]",
                "# from_block = 0   # PD-MON reads its history from here (default: its deployment receipt's block)",
            ]
    return lines


def _shown(facets: Sequence[str]) -> list[str]:
    return list(facets[:_LISTED]) + ([f"and {len(facets) - _LISTED} more"] if len(facets) > _LISTED else [])


def _network_lines(facts: ProjectFacts) -> list[str]:
    lines = [
        "# Live networks, read-only: `pytest -m preflight --network NAME` (PF-NET alone: `-m network`),",
        "# and `pytest -m postdeploy --network NAME` once `deployments` names the deployed addresses.",
        "# rpc_url is read from the environment only when that network is selected.",
    ]
    if facts.skipped_networks:
        lines.append(
            f"# Left out, local nodes (use --network anvil or eth-tester): {', '.join(facts.skipped_networks)}."
        )
    if not facts.networks:
        return [
            *lines,
            f"# No live network found in {facts.config_file}. To add one:",
            "# [networks.sepolia]",
            '# rpc_url = "${SEPOLIA_RPC_URL}"',
            "# chain_id = 11155111",
        ]
    for network in facts.networks:
        table = f"[networks.{_toml_key(network.name)}]"
        rpc_url = f"rpc_url = {_toml_string('${' + network.env_var + '}')}"
        if network.chain_id is None:
            lines += [
                "",
                f"# {table}   # chain id unknown: set chain_id (the RPC's eth_chainId), then uncomment",
                f"# {rpc_url}",
                "# chain_id = 0",
            ]
            continue
        source = "as in " + network.chain_id_from if network.chain_id_from != "well-known" else "well-known"
        lines += ["", table, rpc_url, f"chain_id = {network.chain_id}   # {source}"]
        if network.deployments is not None:
            lines.append(f"deployments = {_toml_string(network.deployments)}   # hardhat-deploy folder")
        else:
            lines.append(
                f'# deployments = "deployments/{network.name}.json"   # postdeploy: the deployed addresses (README)'
            )
    return lines


def _count(names: Sequence[str]) -> str:
    return f"{len(names)} contract{'s' if len(names) != 1 else ''}"


def _some(names: Sequence[str]) -> str:
    return f"{_count(names)} ({', '.join(_shown(names))})"


def _toml_string(text: str) -> str:
    # JSON's escapes are TOML's; DEL is the one control character JSON leaves unescaped, and
    # non-ASCII stays as it is (JSON would write surrogate pairs, which TOML rejects).
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: str | bool | int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int) else _toml_string(value)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key)


def _toml_list(key: str, values: Sequence[str]) -> str:
    return f"{key} = [{', '.join(_toml_string(v) for v in values)}]"


# -- writing --------------------------------------------------------------------------------


def write_init(root: Path, *, force_pytest_ini: bool = False) -> InitResult:
    """Write ``root/signoff.toml`` (and ``root/pytest.ini`` when there is no pytest configuration).

    Never overwrites: an existing ``signoff.toml`` is a :class:`ConfigError`, an existing
    ``pytest.ini`` is left as it is. ``force_pytest_ini`` writes ``pytest.ini`` even when
    another file (pyproject.toml, tox.ini, setup.cfg) configures pytest.
    """
    root = root.resolve()
    target = root / "signoff.toml"
    if target.exists():
        raise ConfigError(_exists_message(root))
    facts = detect_project(root)
    text = render_signoff_toml(facts)
    tomllib.loads(text)  # a rendering bug must never leave a broken file behind
    written: list[Path] = []
    try:
        with target.open("x", encoding="utf-8") as handle:  # "x": a file created meanwhile is not replaced
            handle.write(text)
    except FileExistsError:
        raise ConfigError(_exists_message(root)) from None
    written.append(target)
    notes = _facts_notes(facts)
    existing = pytest_configuration(root)
    if existing is None or (force_pytest_ini and existing[0] != "pytest.ini"):
        try:
            with (root / "pytest.ini").open("x", encoding="utf-8") as handle:
                handle.write(PYTEST_INI)
            written.append(root / "pytest.ini")
            if existing is None:
                notes.append("pytest.ini: no pytest configuration was found, so one names signoff.toml and reports/")
            else:
                notes.append(
                    f"pytest.ini now takes precedence over {existing[0]} ({existing[1]}), whose pytest settings "
                    "pytest no longer reads: move them into pytest.ini"
                )
        except FileExistsError:
            existing = ("pytest.ini", "[pytest]")
    if existing is not None and (root / "pytest.ini") not in written:
        notes.append(_pytest_note(*existing))
    notes.append(_next_steps(facts))
    return InitResult(tuple(written), tuple(notes))


def _exists_message(root: Path) -> str:
    return (
        f"signoff.toml already exists in {root}: left unchanged. Next step: edit it, or remove it and "
        "run signoff init again"
    )


def pytest_configuration(root: Path) -> tuple[str, str] | None:
    """``(file, section)`` of the pytest configuration in ``root``, in pytest's order, or ``None``."""
    for name in ("pytest.ini", ".pytest.ini"):  # pytest uses these even when empty
        if (root / name).is_file():
            return name, "[pytest]"
    for name in ("pytest.toml", ".pytest.toml"):
        if (root / name).is_file():
            return name, "[pytest]"
    sections = (
        ("pyproject.toml", r"tool\.pytest\.ini_options|tool\.pytest"),
        ("tox.ini", r"pytest"),
        ("setup.cfg", r"tool:pytest"),
    )
    for name, section in sections:
        path = root / name
        if path.is_file():
            found = re.search(rf"^\s*\[\s*({section})\s*\]", path.read_text(encoding="utf-8", errors="replace"), re.M)
            if found:
                return name, f"[{found.group(1)}]"
    return None


def _pytest_note(file: str, section: str) -> str:
    quoted = file.endswith(".toml")  # TOML values are strings, ini values are bare
    target, reports = ('"signoff.toml"', '"reports"') if quoted else ("signoff.toml", "reports")
    return (
        f"pytest is configured in {file} ({section}): no pytest.ini written. Nothing is required: signoff "
        f"finds signoff.toml at the rootdir by itself. To make it explicit, add to that section: "
        f"signoff_target = {target} and signoff_reports = {reports}"
    )


def _facts_notes(facts: ProjectFacts) -> list[str]:
    notes = [
        f"found a {_LABEL[facts.toolchain]} project ({facts.config_file}); artifacts in {facts.artifacts}/: "
        f"{facts.contracts} contracts, {facts.deployable} deployable"
    ]
    if facts.other_toolchains:
        notes.append(f"also found {', '.join(facts.other_toolchains)}; used {_LABEL[facts.toolchain]}'s artifacts")
    if facts.unreadable:
        notes.append(f"{len(facts.unreadable)} artifact file(s) could not be read: {', '.join(facts.unreadable[:3])}")
    pins = facts.pins
    if pins is not None:
        notes.append(f"compiler: pinned {pins.describe()} (read from {', '.join(pins.origins)})")
    elif facts.builds:
        listed = "; ".join(f"{b.describe()} ({_count(b.contracts)})" for b in facts.builds)
        notes.append(f"compiler: {len(facts.builds)} configurations in use, nothing pinned: {listed}")
    if facts.unknown_builds:
        notes.append(f"compiler: no build-info or metadata for {_some(facts.unknown_builds)}")
    if facts.diamonds:
        for guess in facts.diamonds:
            router = f", router {guess.router}" if guess.router else ""
            notes.append(
                f"suggested (commented out in signoff.toml): [[diamonds]] dispatcher {guess.dispatcher} "
                f"({guess.reason}) with facets {', '.join(guess.facets) or 'none found'}{router}"
            )
    elif facts.facets:
        notes.append(f"facets found but no dispatcher: {', '.join(facts.facets)}")
    known = [f"{n.name} (chain {n.chain_id})" for n in facts.networks if n.chain_id is not None]
    unknown = [n.name for n in facts.networks if n.chain_id is None]
    if known:
        notes.append(f"networks: {', '.join(known)}; each reads its rpc_url from the environment variable named there")
    if unknown:
        notes.append(f"networks written commented out, chain id unknown: {', '.join(unknown)}")
    return notes


def _next_steps(facts: ProjectFacts) -> str:
    ready = [n for n in facts.networks if n.chain_id is not None]
    if ready:
        variables = ", ".join(f"{n.name}: {n.env_var}" for n in ready)
        live = (
            f"; on a live network, export its RPC URL variable ({variables}) and run "
            "`pytest -m preflight --network NAME`"
        )
    else:
        live = "; on a live network, add [networks.NAME] and run `pytest -m preflight --network NAME`"
    return (
        "next: review signoff.toml; record the ABI snapshots PF-ABI compares against with "
        "`pytest -m abi --signoff-update-snapshots` (review and commit abi/); then run `pytest -m preflight` "
        f"(the built-in eth-tester chain){live}"
    )
