"""Compiled artifacts of every common toolchain, read into one typed model.

Formats, detected per file by shape (so a mixed tree still loads):

* Hardhat: ``artifacts/<source>/<Name>.json`` (``_format`` ``hh-sol-artifact-1``) whose
  ``<Name>.dbg.json`` points at ``build-info/<id>.json`` with the full solc input and output.
* Foundry: ``out/<File>.sol/<Name>.json`` (``deployedBytecode.object``, ``metadata``).
* truffle-style: ``build/contracts/<Name>.json`` (``bytecode`` strings, ``contractName``).
* solc standard-JSON output: one file whose ``contracts`` maps source -> name -> output.

A file that cannot be read is not dropped: it becomes an :class:`ArtifactProblem`, which the
suites turn into a failing check naming the file. Build-info and metadata, which can be
large, are parsed only when a check asks for compiler settings or immutable references.
"""

from __future__ import annotations

import difflib
import gc
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from signoff.errors import ArtifactError

JsonObject = Mapping[str, Any]

# solc >= 0.5 placeholder (keccak of the fully qualified name) and the legacy form.
_PLACEHOLDER = re.compile(r"__\$[0-9a-fA-F]{34}\$__|__[A-Za-z0-9_.:/$-]{36}__")
_PLACEHOLDER_CHARS = 40  # 20 bytes once linked
_SKIPPED_DIRS = frozenset({"build-info", "cache", "node_modules", ".git"})

FORMAT_HARDHAT = "hardhat"
FORMAT_FOUNDRY = "foundry"
FORMAT_TRUFFLE = "truffle"
FORMAT_STANDARD_JSON = "solc-standard-json"


@dataclass(frozen=True)
class LinkReference:
    """An unlinked library: where its 20-byte address must be written."""

    library: str  # fully qualified, "contracts/lib/Math.sol:Math"
    offsets: tuple[int, ...]  # byte offsets into the code


@dataclass(frozen=True)
class Bytecode:
    """Hex code as the compiler wrote it, library placeholders included."""

    hex: str  # without 0x; may contain __$...$__ placeholders
    links: tuple[LinkReference, ...] = ()

    @property
    def size(self) -> int:
        """Size in bytes once linked: a 40-character placeholder is 20 bytes."""
        return len(self.hex) // 2

    @property
    def is_empty(self) -> bool:
        return not self.hex

    @property
    def placeholder_count(self) -> int:
        return len(_PLACEHOLDER.findall(self.hex))

    def to_bytes(self, library_address: bytes = bytes(20)) -> bytes:
        """The code with every placeholder replaced by ``library_address``."""
        linked = _PLACEHOLDER.sub(library_address.hex(), self.hex)
        return bytes.fromhex(linked)


@dataclass(frozen=True)
class CompilerSettings:
    """How a contract was built, as far as its artifact or build-info tells."""

    version: str | None  # "0.8.30+commit.73712a01" or "0.8.30"
    via_ir: bool | None
    optimizer_enabled: bool | None
    optimizer_runs: int | None
    evm_version: str | None
    origin: str  # where these facts come from: a build-info file or "metadata"


@dataclass(eq=False)
class Contract:
    """One compiled contract, whatever toolchain wrote it."""

    source: str  # source unit name, "contracts/dispatcher/ManifestDispatcher.sol"
    name: str
    abi: tuple[JsonObject, ...]
    creation: Bytecode
    runtime: Bytecode
    artifact_path: Path
    format: str
    _details: Callable[[], _Details] = field(repr=False)
    build_info_path: Path | None = None  # Hardhat: the build-info holding its solc input/output
    _build_info: Callable[[], Any] | None = field(default=None, repr=False)

    def build_info(self) -> Any:
        """The parsed build-info (solc input, output and AST), or ``None`` when the format has
        none. Parsed once per file and shared; a damaged file raises :class:`ArtifactError`."""
        return None if self._build_info is None else self._build_info()

    @property
    def fqn(self) -> str:
        """Fully qualified name, unique within a build: ``path/File.sol:Name``."""
        return f"{self.source}:{self.name}"

    @property
    def deployable(self) -> bool:
        """Interfaces and abstract contracts compile to no code: they cannot be deployed."""
        return not self.creation.is_empty

    @cached_property
    def details(self) -> _Details:
        return self._details()

    @property
    def compiler(self) -> CompilerSettings | None:
        return self.details.compiler

    @property
    def immutable_references(self) -> Mapping[str, Sequence[JsonObject]] | None:
        return self.details.immutable_references

    @property
    def method_identifiers(self) -> Mapping[str, str] | None:
        return self.details.method_identifiers


@dataclass(frozen=True)
class _Details:
    compiler: CompilerSettings | None
    immutable_references: Mapping[str, Sequence[JsonObject]] | None
    method_identifiers: Mapping[str, str] | None


_NO_DETAILS = _Details(None, None, None)
_UNREADABLE = object()  # _parse_or_problem: the file became a problem


@dataclass(frozen=True)
class ArtifactProblem:
    """A file that should have been an artifact and could not be read."""

    path: Path
    message: str


@dataclass(frozen=True)
class ArtifactSet:
    """Everything read from a target's artifacts location."""

    root: Path
    contracts: tuple[Contract, ...]
    problems: tuple[ArtifactProblem, ...]
    formats: frozenset[str]
    digest: str  # sha256 over every file read, in path order
    files_read: int

    def resolve(self, name: str) -> Contract:
        """Find a contract by bare name (when unique) or by ``path/File.sol:Name``.

        Raises :class:`LookupError` whose message lists the candidates.
        """
        if ":" in name:
            matches = [c for c in self.contracts if c.fqn == name]
        else:
            matches = [c for c in self.contracts if c.name == name]
        if len(matches) == 1:
            return matches[0]
        if matches:
            listed = ", ".join(sorted(c.fqn for c in matches))
            raise LookupError(
                f"contract name {name!r} is ambiguous: {len(matches)} contracts carry it "
                f"({listed}); name one as path/File.sol:Name"
            )
        pool = sorted({c.fqn if ":" in name else c.name for c in self.contracts})
        close = difflib.get_close_matches(name, pool, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        unreadable = ""
        if self.problems:
            listed = "; ".join(problem.message for problem in self.problems[:3])
            more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
            unreadable = (
                f". {len(self.problems)} artifact file(s) could not be read, so it may be one of them: {listed}{more}"
            )
        choices = ", ".join(pool[:12]) + (", ..." if len(pool) > 12 else "")
        raise LookupError(
            f"no contract named {name!r} among the artifacts in {self.root}{hint} (known: {choices or 'none'})"
            f"{unreadable}. Next step: correct the name (a bare name when it is unique, else path/File.sol:Name), "
            "or compile the contract"
        )


def load_artifacts(location: Path) -> ArtifactSet:
    """Read every artifact below ``location`` (a directory) or in it (a standard-JSON file)."""
    if not location.exists():
        raise ArtifactError(f"artifacts location {location} does not exist")
    reader = _Reader(location)
    if location.is_file():
        reader.read_standard_json(location)
    else:
        for path in _walk_json(location, reader.problems):
            reader.read_file(path)
    contracts = tuple(sorted(reader.contracts, key=lambda c: (c.fqn, str(c.artifact_path))))
    problems = tuple(sorted(reader.problems, key=lambda p: str(p.path)))
    return ArtifactSet(
        root=location,
        contracts=contracts,
        problems=problems,
        formats=frozenset(c.format for c in contracts),
        digest=reader.digest(),
        files_read=len(reader.file_hashes),
    )


def _walk_json(root: Path, problems: list[ArtifactProblem]) -> Iterator[Path]:
    """Every ``*.json`` below ``root`` in a stable order, skipping auxiliary folders/files.

    Symlinked folders are followed (a contract behind one must not escape the checks), each real
    folder once, so a symlink loop ends; a folder that cannot be listed is a problem, never a skip."""
    seen: set[str] = set()
    stack = [root]
    while stack:
        directory = stack.pop()
        real = os.path.realpath(directory)
        if real in seen:
            continue
        seen.add(real)
        try:
            with os.scandir(directory) as entries:
                names = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            problems.append(
                ArtifactProblem(
                    Path(directory),
                    f"{directory}: the artifacts folder cannot be read ({exc.strerror}). Next step: fix its "
                    "permissions (the user running signoff must be able to list it) and run again",
                )
            )
            continue
        for entry in reversed(names):
            try:
                is_dir = entry.is_dir()  # follows a symlink
            except OSError:
                is_dir = False
            if is_dir:
                if entry.name not in _SKIPPED_DIRS:
                    stack.append(Path(entry.path))
            elif entry.name.endswith(".json") and not entry.name.endswith(".dbg.json"):
                yield Path(entry.path)


class _Reader:
    """Accumulates contracts, problems and file digests while walking one location."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.contracts: list[Contract] = []
        self.problems: list[ArtifactProblem] = []
        self.file_hashes: dict[str, str] = {}
        self._json_cache: dict[Path, Any] = {}
        self._json_errors: dict[Path, str] = {}
        self._hashed_build_infos: set[Path] = set()
        # Resolved once: per-file paths are normalised lexically (no filesystem calls), which
        # keeps loading thousands of artifacts close to the cost of parsing their JSON.
        self._root_is_dir = root.is_dir()
        self._root_abs = os.path.normpath(os.path.abspath(root))
        self._root_real = os.path.realpath(root)

    # -- bookkeeping -------------------------------------------------------------------
    def digest(self) -> str:
        outer = hashlib.sha256()
        for rel in sorted(self.file_hashes):
            outer.update(f"{rel}\0{self.file_hashes[rel]}\n".encode())
        return outer.hexdigest()

    def _record(self, path: Path, raw: bytes) -> None:
        # Keyed by the path relative to the root, so the digest names the same files wherever
        # the tree is checked out (a build-info reached through ``..`` or a symlink included).
        if self._root_is_dir:
            absolute = os.path.normpath(os.path.abspath(path))
            rel = os.path.relpath(absolute, self._root_abs)
            if rel.startswith(".."):  # reached through a symlink or outside the walked tree
                rel = os.path.relpath(os.path.realpath(path), self._root_real)
            rel = Path(rel).as_posix()
        else:
            rel = path.name
        self.file_hashes[rel] = hashlib.sha256(raw).hexdigest()

    def _parse(self, path: Path) -> Any:
        raw = path.read_bytes()
        self._record(path, raw)
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ArtifactError(
                f"{path}: not valid JSON ({exc}); the file is truncated or corrupted. "
                "Next step: rebuild the artifacts (e.g. `npx hardhat compile --force` or "
                "`forge build --force`) and run again"
            ) from None

    def _problem(self, path: Path, message: str) -> None:
        self.problems.append(ArtifactProblem(path, message))

    # -- dispatch by shape -------------------------------------------------------------
    def read_file(self, path: Path) -> None:
        data = self._parse_or_problem(path)
        if data is _UNREADABLE:
            return
        with self._guard(path):
            if not isinstance(data, dict):
                raise ArtifactError(f"{path}: expected a JSON object, found {type(data).__name__}")
            fmt = str(data.get("_format", ""))
            if fmt.startswith("hh") and "artifact" in fmt:
                self.contracts.append(self._hardhat(path, data))
            elif isinstance(data.get("deployedBytecode"), dict) and "object" in data["deployedBytecode"]:
                self.contracts.append(self._foundry(path, data))
            elif isinstance(data.get("bytecode"), str) and "contractName" in data:
                self.contracts.append(self._truffle(path, data))
            elif isinstance(data.get("contracts"), dict):
                self._standard_json_contracts(path, data)
            else:
                keys = ", ".join(sorted(data)[:8]) or "none"
                raise ArtifactError(
                    f"{path}: not a Hardhat, Foundry, truffle or solc standard-JSON artifact "
                    f"(top-level keys: {keys}). Next step: point [target] artifacts at the "
                    "compiler's output folder, or remove the stray file"
                )

    def read_standard_json(self, path: Path) -> None:
        data = self._parse_or_problem(path)
        if data is _UNREADABLE:
            return
        with self._guard(path):
            if not isinstance(data, dict) or not isinstance(data.get("contracts"), dict):
                raise ArtifactError(f"{path}: expected solc standard-JSON output with a 'contracts' object")
            self._standard_json_contracts(path, data)

    def _parse_or_problem(self, path: Path) -> Any:
        try:
            return self._parse(path)
        except ArtifactError as exc:
            self._problem(path, str(exc))
        except OSError as exc:
            self._problem(path, f"{path}: cannot be read ({exc.strerror})")
        return _UNREADABLE

    @contextmanager
    def _guard(self, path: Path, where: str = "") -> Iterator[None]:
        """Turn whatever a malformed artifact raises into a problem naming the file."""
        try:
            yield
        except ArtifactError as exc:
            self._problem(path, str(exc))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self._problem(path, f"{path}: malformed artifact{where} ({type(exc).__name__}: {exc})")
        except OSError as exc:  # a .dbg.json or build-info it needs
            self._problem(path, f"{path}: {exc.filename or 'a file it needs'} cannot be read ({exc.strerror})")

    # -- Hardhat -----------------------------------------------------------------------
    def _hardhat(self, path: Path, data: JsonObject) -> Contract:
        source = _text(data, "sourceName", path)
        name = _text(data, "contractName", path)
        creation = _code(data.get("bytecode"), data.get("linkReferences"), path, "bytecode")
        runtime = _code(data.get("deployedBytecode"), data.get("deployedLinkReferences"), path, "deployedBytecode")
        build_info = self._hardhat_build_info(path, data)

        def details() -> _Details:
            if build_info is None:
                return _NO_DETAILS
            return self._build_info_details(build_info, source, name)

        return Contract(
            source,
            name,
            _abi(data, path),
            creation,
            runtime,
            path,
            FORMAT_HARDHAT,
            details,
            build_info_path=build_info,
            _build_info=None if build_info is None else (lambda: self._load_json_cached(build_info)),
        )

    def _hardhat_build_info(self, path: Path, data: JsonObject) -> Path | None:
        dbg = path.with_name(path.name[: -len(".json")] + ".dbg.json")
        if dbg.is_file():
            pointer = self._parse(dbg)
            target = pointer.get("buildInfo") if isinstance(pointer, dict) else None
            if isinstance(target, str):
                build_info = Path(os.path.normpath(dbg.parent / target))
                if build_info in self._hashed_build_infos:  # shared by many artifacts: hash once
                    return build_info
                if build_info.is_file():
                    self._hashed_build_infos.add(build_info)
                    self._record(build_info, build_info.read_bytes())
                    return build_info
                raise ArtifactError(
                    f"{dbg}: points at build-info {target}, which does not exist. "
                    "Next step: rebuild the artifacts so build-info and artifacts agree"
                )
        build_id = data.get("buildInfoId")  # Hardhat 3 names the build directly
        if isinstance(build_id, str):
            for parent in path.parents:
                candidate = parent / "build-info" / f"{build_id}.output.json"
                if candidate.is_file():
                    return candidate
        return None

    def _load_json_cached(self, path: Path) -> Any:
        if path not in self._json_cache and path not in self._json_errors:
            try:
                self._json_cache[path] = _parse_large(path.read_bytes())
            except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
                self._json_errors[path] = (
                    f"{path}: build-info cannot be read ({exc}); the file is truncated or corrupted. "
                    "Next step: rebuild the artifacts so build-info and artifacts agree"
                )
        if path in self._json_errors:
            raise ArtifactError(self._json_errors[path])
        return self._json_cache[path]

    def _build_info_details(self, build_info: Path, source: str, name: str) -> _Details:
        try:
            return self._build_info_entry(build_info, source, name)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(
                f"{build_info}: malformed build-info ({type(exc).__name__}: {exc}). "
                "Next step: rebuild the artifacts so build-info and artifacts agree"
            ) from None

    def _build_info_entry(self, build_info: Path, source: str, name: str) -> _Details:
        info = self._load_json_cached(build_info)
        output = info.get("output", info)
        entry = output.get("contracts", {}).get(source, {}).get(name, {})
        evm = entry.get("evm", {})
        settings = info.get("input", {}).get("settings")
        version = info.get("solcLongVersion") or info.get("solcVersion")
        compiler = (
            _settings(version, settings, f"build-info {build_info.name}")
            if isinstance(settings, dict)
            else _metadata_settings(entry.get("metadata"), f"build-info {build_info.name}")
        )
        return _Details(
            compiler=compiler,
            immutable_references=evm.get("deployedBytecode", {}).get("immutableReferences"),
            method_identifiers=evm.get("methodIdentifiers"),
        )

    # -- Foundry -----------------------------------------------------------------------
    def _foundry(self, path: Path, data: JsonObject) -> Contract:
        metadata = data.get("metadata")
        if not isinstance(metadata, dict) and isinstance(data.get("rawMetadata"), str):
            metadata = _loads_or_none(data["rawMetadata"])
        settings = metadata.get("settings") if isinstance(metadata, dict) else None
        target = settings.get("compilationTarget") if isinstance(settings, dict) else None
        if isinstance(target, dict) and len(target) == 1:
            source, name = next(iter(target.items()))
        else:  # no metadata: out/<File>.sol/<Name>[.<version>].json
            source = path.parent.name
            name = path.name.split(".")[0]
        creation_obj = data.get("bytecode") or {}
        if not isinstance(creation_obj, dict):
            found = type(creation_obj).__name__
            raise ArtifactError(f"{path}: 'bytecode' must be an object with an 'object' key, found {found}")
        runtime_obj = data["deployedBytecode"]
        creation = _code(creation_obj.get("object"), creation_obj.get("linkReferences"), path, "bytecode")
        runtime = _code(runtime_obj.get("object"), runtime_obj.get("linkReferences"), path, "deployedBytecode")
        meta = metadata if isinstance(metadata, dict) else None

        def details() -> _Details:
            return _Details(
                compiler=_metadata_settings(meta, "metadata"),
                immutable_references=runtime_obj.get("immutableReferences"),
                method_identifiers=data.get("methodIdentifiers"),
            )

        return Contract(str(source), str(name), _abi(data, path), creation, runtime, path, FORMAT_FOUNDRY, details)

    # -- truffle-style -----------------------------------------------------------------
    def _truffle(self, path: Path, data: JsonObject) -> Contract:
        name = _text(data, "contractName", path)
        source = str(data.get("sourcePath") or data.get("sourceName") or f"{name}.sol")
        creation = _code(data.get("bytecode"), data.get("linkReferences"), path, "bytecode")
        runtime = _code(data.get("deployedBytecode"), data.get("deployedLinkReferences"), path, "deployedBytecode")
        raw_meta = data.get("metadata")
        compiler_field = data.get("compiler")

        def details() -> _Details:
            meta = _loads_or_none(raw_meta) if isinstance(raw_meta, str) and raw_meta else None
            compiler = _metadata_settings(meta, "metadata")
            if compiler is None and isinstance(compiler_field, dict) and compiler_field.get("version"):
                compiler = CompilerSettings(
                    _short_version(compiler_field["version"]), None, None, None, None, "artifact compiler field"
                )
            return _Details(compiler, data.get("immutableReferences"), None)

        return Contract(source, name, _abi(data, path), creation, runtime, path, FORMAT_TRUFFLE, details)

    # -- solc standard-JSON output -----------------------------------------------------
    def _standard_json_contracts(self, path: Path, data: JsonObject) -> None:
        for source, by_name in sorted(data["contracts"].items()):
            if not isinstance(by_name, dict):
                raise ArtifactError(f"{path}: contracts[{source!r}] is not an object")
            for name, entry in sorted(by_name.items()):
                with self._guard(path, f" at contracts[{source!r}][{name!r}]"):
                    self.contracts.append(self._standard_json_contract(path, source, name, entry))

    def _standard_json_contract(self, path: Path, source: str, name: str, entry: JsonObject) -> Contract:
        if not isinstance(entry, dict):
            raise ArtifactError(f"{path}: contracts[{source!r}][{name!r}] is not an object")
        evm = entry.get("evm", {})
        creation_obj = evm.get("bytecode", {})
        runtime_obj = evm.get("deployedBytecode", {})
        where = f"contracts[{source!r}][{name!r}].evm"
        creation = _code(creation_obj.get("object", ""), creation_obj.get("linkReferences"), path, f"{where}.bytecode")
        runtime = _code(
            runtime_obj.get("object", ""), runtime_obj.get("linkReferences"), path, f"{where}.deployedBytecode"
        )
        raw_meta = entry.get("metadata")

        def details() -> _Details:
            meta = _loads_or_none(raw_meta) if isinstance(raw_meta, str) and raw_meta else None
            return _Details(
                compiler=_metadata_settings(meta, "metadata"),
                immutable_references=runtime_obj.get("immutableReferences"),
                method_identifiers=evm.get("methodIdentifiers"),
            )

        return Contract(source, name, _abi(entry, path), creation, runtime, path, FORMAT_STANDARD_JSON, details)


# -- field readers ---------------------------------------------------------------------


def _text(data: JsonObject, key: str, path: Path) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ArtifactError(f"{path}: missing or empty {key!r}")
    return value


def _abi(data: JsonObject, path: Path) -> tuple[JsonObject, ...]:
    abi = data.get("abi", [])
    if not isinstance(abi, list) or not all(isinstance(item, dict) for item in abi):
        raise ArtifactError(f"{path}: 'abi' must be a list of objects")
    for index, entry in enumerate(abi):
        problem = _abi_entry_problem(entry)
        if problem:
            raise ArtifactError(
                f"{path}: abi[{index}] ({entry.get('type', 'no type')} {entry.get('name', '')!s}) {problem}. "
                "Next step: rebuild the artifacts (e.g. `npx hardhat compile --force` or `forge build --force`)"
            )
    return tuple(abi)


_NAMED = {"function", "event", "error"}


def _params_problem(params: Any, key: str) -> str | None:
    if not isinstance(params, list):
        return f"has {key} {params!r}, expected a list of parameters"
    for position, param in enumerate(params):
        if not isinstance(param, dict) or not isinstance(param.get("type"), str) or not param["type"]:
            return f"has {key}[{position}] {param!r}, expected an object with a 'type'"
        if param["type"].startswith("tuple"):
            inner = _params_problem(param.get("components", []), f"{key}[{position}].components")
            if inner:
                return inner
    return None


def _abi_entry_problem(entry: JsonObject) -> str | None:
    """Why an ABI entry cannot be read the way every check reads it (None when it can)."""
    kind = entry.get("type", "function")  # solc omits "type" for functions in old ABIs
    if not isinstance(kind, str):
        return f"has type {kind!r}, expected a string"
    if kind in _NAMED and (not isinstance(entry.get("name"), str) or not entry["name"]):
        return "has no name"
    for key in ("inputs", "outputs"):
        if key in entry:
            problem = _params_problem(entry[key], key)
            if problem:
                return problem
    return None


_HEX = re.compile(r"[0-9a-fA-F]*")


def _code(value: Any, link_refs: Any, path: Path, key: str) -> Bytecode:
    """Normalise a hex string (or Foundry ``{object: ...}``) into :class:`Bytecode`."""
    if isinstance(value, dict):
        value = value.get("object", "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ArtifactError(f"{path}: {key} must be a hex string, found {type(value).__name__}")
    text = value[2:] if value.startswith(("0x", "0X")) else value
    bare = _PLACEHOLDER.sub("", text)
    if len(text) % 2 or not _HEX.fullmatch(bare):
        raise ArtifactError(
            f"{path}: {key} is not valid hex (length {len(text)} characters); "
            "the artifact is truncated or was edited by hand"
        )
    return Bytecode(text.lower() if not _PLACEHOLDER.search(text) else text, _links(link_refs))


def _links(refs: Any) -> tuple[LinkReference, ...]:
    if not isinstance(refs, dict):
        return ()
    links = []
    for source, libs in sorted(refs.items()):
        if not isinstance(libs, dict):
            continue
        for lib, spots in sorted(libs.items()):
            offsets = tuple(int(s["start"]) for s in spots if isinstance(s, dict) and "start" in s)
            links.append(LinkReference(f"{source}:{lib}", offsets))
    return tuple(links)


def _loads_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _settings(version: Any, settings: JsonObject, origin: str) -> CompilerSettings:
    optimizer = settings.get("optimizer", {}) if isinstance(settings.get("optimizer"), dict) else {}
    runs = optimizer.get("runs")
    return CompilerSettings(
        version=_short_version(version),
        via_ir=bool(settings.get("viaIR", False)),
        optimizer_enabled=bool(optimizer.get("enabled", False)),
        optimizer_runs=int(runs) if isinstance(runs, int) else None,
        evm_version=settings.get("evmVersion"),
        origin=origin,
    )


# "0.8.30+commit.73712a01.Emscripten.clang" (build-info, truffle) and "0.8.30+commit.73712a01"
# (metadata) name the same compiler: the platform after the commit is dropped.
_VERSION = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?(?:\+commit\.[0-9a-fA-F]+)?")


def _short_version(version: Any) -> str | None:
    if not version:
        return None
    text = str(version).removeprefix("v")
    match = _VERSION.match(text)
    return match.group(0) if match else text


def _metadata_settings(metadata: Any, origin: str) -> CompilerSettings | None:
    """Compiler facts from solc's metadata JSON (Foundry, truffle, standard-JSON)."""
    if not isinstance(metadata, dict):
        return None
    compiler = metadata.get("compiler")
    version = compiler.get("version") if isinstance(compiler, dict) else None
    settings = metadata.get("settings", {})
    return _settings(version, settings if isinstance(settings, dict) else {}, origin)


def _parse_large(raw: bytes) -> Any:
    """A build-info's JSON (tens of MB, millions of objects): parsed with the collector off, then frozen, so
    no later collection walks it again (it lives as long as the session)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        parsed = json.loads(raw)
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    return parsed
