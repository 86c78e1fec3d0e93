"""Artifact loaders: one compilation read from four formats, and every way an artifact goes wrong.

The committed reference (solc-js 0.8.30, viaIR, 200 runs, prague) is the ground truth: its
Hardhat build-info holds solc's own output, and every loader must give back exactly that for
every contract. Variants (a second build-info, duplicate names, missing metadata, broken files)
are generated in ``tmp_path`` from the committed files; the few tests that need a fresh compile
(linked libraries, a real second build) run solc-js through ``fixtures/tools/compile.cjs``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from signoff.artifacts.hashing import keccak256
from signoff.artifacts.loader import (
    ArtifactProblem,
    ArtifactSet,
    Bytecode,
    CompilerSettings,
    Contract,
    LinkReference,
    load_artifacts,
)
from signoff.errors import ArtifactError
from tests.conftest import FIXTURES, REPO, node_available

HARDHAT = FIXTURES / "reference" / "artifacts"
FORMATS_DIR = REPO / "tests" / "data" / "formats"
FOUNDRY = FORMATS_DIR / "foundry" / "out"
TRUFFLE = FORMATS_DIR / "truffle" / "build" / "contracts"
STANDARD_JSON = FORMATS_DIR / "solc-output.json"
COMPILE = FIXTURES / "tools" / "compile.cjs"

LOCATIONS = {"hardhat": HARDHAT, "foundry": FOUNDRY, "truffle": TRUFFLE, "solc-standard-json": STANDARD_JSON}

# The build as signoff.toml pins it; the build-info's solcLongVersion ends in ".Emscripten.clang"
# (solc-js) where solc's metadata has no platform: both must read as this one version.
REFERENCE_BUILD = ("0.8.30+commit.73712a01", True, True, 200, "prague")
PING = "contracts/facets/PingFacet.sol:PingFacet"
PING_DIR = Path("contracts/facets/PingFacet.sol")
NO_NODE = "node or node_modules/solc is missing (run `npm ci`); this test compiles with solc-js"


def _build_info_file(root: Path = HARDHAT) -> Path:
    (found,) = sorted((root / "build-info").glob("*.json"))
    return found


@pytest.fixture(scope="module")
def solc_output() -> dict[str, Any]:
    """solc's own output for the reference, from the Hardhat build-info: the ground truth."""
    return json.loads(_build_info_file().read_bytes())["output"]


@pytest.fixture(scope="module")
def loaded() -> dict[str, ArtifactSet]:
    """The committed reference build, read once from each of the four formats."""
    return {fmt: load_artifacts(location) for fmt, location in LOCATIONS.items()}


def _fqns(output: dict[str, Any]) -> set[str]:
    return {f"{source}:{name}" for source, by_name in output["contracts"].items() for name in by_name}


def _settings(compiler: CompilerSettings | None) -> tuple[object, ...] | None:
    if compiler is None:
        return None
    c = compiler
    return (c.version, c.via_ir, c.optimizer_enabled, c.optimizer_runs, c.evm_version)


def _copy_reference(tmp_path: Path) -> Path:
    root = tmp_path / "artifacts"
    shutil.copytree(HARDHAT, root)
    return root


def _write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2))
    return path


def _compile(target: Path, out: Path, *options: str) -> None:
    result = subprocess.run(
        ["node", str(COMPILE), str(target), "--out", str(out), *options],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- 1. one compilation, four formats ---------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(LOCATIONS))
def test_each_format_is_detected_and_complete(
    loaded: dict[str, ArtifactSet], solc_output: dict[str, Any], fmt: str
) -> None:
    artifacts = loaded[fmt]
    assert artifacts.problems == ()
    assert artifacts.formats == frozenset({fmt})
    assert {c.format for c in artifacts.contracts} == {fmt}
    expected = _fqns(solc_output)
    if fmt == "truffle":  # compile.cjs writes truffle artifacts for the project's own sources only
        expected = {fqn for fqn in expected if fqn.startswith("contracts/")}
        assert len(expected) == 6
    else:
        assert len(expected) == 16
    assert {c.fqn for c in artifacts.contracts} == expected


@pytest.mark.parametrize(
    "fqn",
    [
        "contracts/dispatcher/ManifestDispatcher.sol:ManifestDispatcher",
        "contracts/facets/PingFacet.sol:PingFacet",
        "contracts/facets/VaultFacet.sol:VaultFacet",
        "contracts/factory/DeterministicChunkFactory.sol:DeterministicChunkFactory",
        "contracts/router/PayRoxProxyRouter.sol:PayRoxProxyRouter",
        "contracts/test/ReentrancyAttacker.sol:ReentrancyAttacker",
        "@openzeppelin/contracts/utils/StorageSlot.sol:StorageSlot",
        "@openzeppelin/contracts/access/AccessControl.sol:AccessControl",
    ],
)
def test_every_format_reads_what_solc_wrote(
    loaded: dict[str, ArtifactSet], solc_output: dict[str, Any], fqn: str
) -> None:
    source, name = fqn.rsplit(":", 1)
    truth = solc_output["contracts"][source][name]
    formats = sorted(LOCATIONS) if source.startswith("contracts/") else ["foundry", "hardhat", "solc-standard-json"]
    for fmt in formats:
        contract = loaded[fmt].resolve(fqn)
        where = f"{fmt}: {contract.artifact_path}"
        assert (contract.source, contract.name, contract.format) == (source, name, fmt), where
        assert list(contract.abi) == truth["abi"], where
        assert contract.creation.hex == truth["evm"]["bytecode"]["object"], where
        assert contract.runtime.hex == truth["evm"]["deployedBytecode"]["object"], where
        assert contract.creation.links == contract.runtime.links == (), where
        assert contract.deployable == bool(truth["evm"]["bytecode"]["object"]), where
        assert _settings(contract.compiler) == REFERENCE_BUILD, where
        assert contract.immutable_references == truth["evm"]["deployedBytecode"]["immutableReferences"], where
        if fmt == "truffle":  # truffle artifacts carry no methodIdentifiers
            assert contract.method_identifiers is None
        else:
            assert contract.method_identifiers == truth["evm"]["methodIdentifiers"], where


def test_formats_agree_on_facts_that_are_not_trivially_empty(loaded: dict[str, ArtifactSet]) -> None:
    # Guards the comparison above against agreeing on nothing: the reference has immutables,
    # selectors and real code, and each format reports where its settings come from.
    for fmt, artifacts in loaded.items():
        dispatcher = artifacts.resolve("ManifestDispatcher")
        assert dispatcher.immutable_references, fmt
        assert dispatcher.runtime.size == len(dispatcher.runtime.to_bytes()) > 5000, fmt
        assert dispatcher.compiler is not None
        expected_origin = f"build-info {_build_info_file().name}" if fmt == "hardhat" else "metadata"
        assert dispatcher.compiler.origin == expected_origin
    ping = loaded["foundry"].resolve("PingFacet")
    assert ping.method_identifiers == {
        "ping()": keccak256(b"ping()")[:4].hex(),
        "echo(bytes)": keccak256(b"echo(bytes)")[:4].hex(),
    }


def test_mixed_tree_loads_every_format(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    shutil.copytree(HARDHAT / PING_DIR, root / "hardhat" / PING_DIR)
    shutil.copytree(HARDHAT / "build-info", root / "hardhat" / "build-info")
    shutil.copytree(FOUNDRY / "VaultFacet.sol", root / "out" / "VaultFacet.sol")
    shutil.copy(TRUFFLE / "PayRoxProxyRouter.json", root / "PayRoxProxyRouter.json")
    shutil.copy(STANDARD_JSON, root / "solc-output.json")
    artifacts = load_artifacts(root)
    assert artifacts.problems == ()
    assert artifacts.formats == frozenset(LOCATIONS)
    by_format = {fmt: sorted(c.name for c in artifacts.contracts if c.format == fmt) for fmt in LOCATIONS}
    assert by_format["hardhat"] == ["PingFacet"]
    assert by_format["foundry"] == ["VaultFacet"]
    assert by_format["truffle"] == ["PayRoxProxyRouter"]
    assert len(by_format["solc-standard-json"]) == 16
    with pytest.raises(LookupError, match="ambiguous"):
        artifacts.resolve("PingFacet")  # the Hardhat copy and the standard-JSON one


# -- 2. several builds in one Hardhat tree ------------------------------------------------------


def test_each_contract_reports_its_own_build_info(tmp_path: Path) -> None:
    root = _copy_reference(tmp_path)
    info = json.loads(_build_info_file(root).read_bytes())
    info["solcVersion"] = "0.8.29"
    info["solcLongVersion"] = "0.8.29+commit.ab55807c.Linux.g++"
    info["input"]["settings"].update(viaIR=False, evmVersion="cancun", optimizer={"enabled": False, "runs": 1000})
    second = _write_json(root / "build-info" / "0123456789abcdef0123456789abcdef.json", info)
    _write_json(
        root / PING_DIR / "PingFacet.dbg.json",
        {"_format": "hh-sol-dbg-1", "buildInfo": "../../../build-info/" + second.name},
    )

    artifacts = load_artifacts(root)
    assert artifacts.problems == ()
    ping = artifacts.resolve("PingFacet")
    assert _settings(ping.compiler) == ("0.8.29+commit.ab55807c", False, False, 1000, "cancun")
    assert ping.compiler is not None and ping.compiler.origin == f"build-info {second.name}"
    for name in ("VaultFacet", "ManifestDispatcher", "IERC165"):
        other = artifacts.resolve(name).compiler
        assert _settings(other) == REFERENCE_BUILD, name
        assert other is not None and other.origin == f"build-info {_build_info_file().name}"
    assert artifacts.files_read == load_artifacts(HARDHAT).files_read + 1  # both build-infos hashed


@pytest.mark.skipif(not node_available(), reason=NO_NODE)
def test_a_real_second_build_keeps_its_own_settings(tmp_path: Path) -> None:
    target = tmp_path / "second"
    (target / "contracts" / "facets").mkdir(parents=True)
    shutil.copy(FIXTURES / "reference" / PING_DIR, target / PING_DIR)
    _compile(target, tmp_path / "out", "--via-ir", "off", "--optimizer-runs", "1000", "--evm-version", "cancun")
    second = _build_info_file(tmp_path / "out" / "artifacts")

    root = _copy_reference(tmp_path)
    shutil.copy(second, root / "build-info" / second.name)
    for name in ("PingFacet.json", "PingFacet.dbg.json"):  # the dbg's relative path is the same depth
        shutil.copy(tmp_path / "out" / "artifacts" / PING_DIR / name, root / PING_DIR / name)

    artifacts = load_artifacts(root)
    assert artifacts.problems == ()
    assert len(list((root / "build-info").glob("*.json"))) == 2
    ping = artifacts.resolve("PingFacet")
    assert _settings(ping.compiler) == ("0.8.30+commit.73712a01", False, True, 1000, "cancun")
    assert ping.compiler is not None and ping.compiler.origin == f"build-info {second.name}"
    truth = json.loads(second.read_bytes())["output"]["contracts"][PING_DIR.as_posix()]["PingFacet"]
    assert ping.runtime.hex == truth["evm"]["deployedBytecode"]["object"]
    assert ping.runtime.hex != load_artifacts(HARDHAT).resolve("PingFacet").runtime.hex
    assert _settings(artifacts.resolve("VaultFacet").compiler) == REFERENCE_BUILD


# -- 3. one name in two files ---------------------------------------------------------------------


def test_duplicate_names_need_the_fully_qualified_name(tmp_path: Path) -> None:
    root = _copy_reference(tmp_path)
    twin = json.loads((root / PING_DIR / "PingFacet.json").read_bytes())
    twin["sourceName"] = "contracts/legacy/PingFacet.sol"
    twin["abi"] = twin["abi"][:1]
    twin_path = _write_json(root / "contracts" / "legacy" / "PingFacet.sol" / "PingFacet.json", twin)

    artifacts = load_artifacts(root)
    assert artifacts.problems == ()
    with pytest.raises(LookupError) as raised:
        artifacts.resolve("PingFacet")
    message = str(raised.value)
    assert PING in message and "contracts/legacy/PingFacet.sol:PingFacet" in message
    assert "path/File.sol:Name" in message

    original = artifacts.resolve(PING)
    legacy = artifacts.resolve("contracts/legacy/PingFacet.sol:PingFacet")
    assert original.artifact_path == root / PING_DIR / "PingFacet.json"
    assert legacy.artifact_path == twin_path
    assert (len(original.abi), len(legacy.abi)) == (2, 1)
    assert artifacts.resolve("VaultFacet").name == "VaultFacet"  # unique names still resolve bare


def test_unknown_names_suggest_close_ones(loaded: dict[str, ArtifactSet]) -> None:
    with pytest.raises(LookupError, match="did you mean PingFacet"):
        loaded["hardhat"].resolve("PingFacett")
    with pytest.raises(LookupError, match=r"no contract named 'contracts/Nope.sol:Nope'"):
        loaded["hardhat"].resolve("contracts/Nope.sol:Nope")


# -- 4. unlinked libraries ---------------------------------------------------------------------

MATH_LIB = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

library MathLib {
    function mulAdd(uint256 a, uint256 b, uint256 c) external pure returns (uint256) {
        return a * b + c;
    }
}
"""
CALCULATOR = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MathLib} from "./lib/MathLib.sol";

contract Calculator {
    function compute(uint256 x) external pure returns (uint256) {
        return MathLib.mulAdd(x, 3, 7);
    }

    function square(uint256 x) external pure returns (uint256) {
        return MathLib.mulAdd(x, x, 0);
    }
}
"""
MATH_FQN = "contracts/lib/MathLib.sol:MathLib"


@pytest.fixture(scope="module")
def linked_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-file project whose contract calls an external library, compiled to all four formats."""
    if not node_available():
        pytest.skip(NO_NODE)
    target = tmp_path_factory.mktemp("linked")
    (target / "contracts" / "lib").mkdir(parents=True)
    (target / "contracts" / "lib" / "MathLib.sol").write_text(MATH_LIB)
    (target / "contracts" / "Calculator.sol").write_text(CALCULATOR)
    _compile(target, target / "out", "--formats", "hardhat,foundry,truffle,standard-json")
    return target / "out"


def _placeholder(fqn: str) -> str:
    return "__$" + keccak256(fqn.encode()).hex()[:34] + "$__"


@pytest.mark.parametrize("fmt", ["hardhat", "foundry", "solc-standard-json", "truffle"])
def test_library_placeholders_count_twenty_bytes_and_link(linked_build: Path, fmt: str) -> None:
    location = {
        "hardhat": "artifacts",
        "foundry": "foundry/out",
        "truffle": "truffle/build/contracts",
        "solc-standard-json": "solc-output.json",
    }[fmt]
    artifacts = load_artifacts(linked_build / location)
    assert artifacts.problems == () and artifacts.formats == frozenset({fmt})
    calculator = artifacts.resolve("Calculator")
    library = artifacts.resolve("MathLib")
    assert library.fqn == MATH_FQN and library.deployable and library.runtime.placeholder_count == 0

    placeholder = _placeholder(MATH_FQN)
    address = bytes(range(1, 21))
    for code in (calculator.creation, calculator.runtime):
        count = code.hex.count(placeholder)
        assert count == code.placeholder_count == 2  # two call sites
        assert code.size == (len(code.hex) - 40 * count) // 2 + 20 * count
        linked = code.to_bytes(address)
        assert len(linked) == code.size
        assert linked.count(address) == count
        if fmt == "truffle":  # truffle artifacts have no linkReferences; the placeholders still count
            assert code.links == ()
            continue
        (link,) = code.links
        assert link.library == MATH_FQN
        assert len(link.offsets) == count
        for offset in link.offsets:
            assert code.hex[2 * offset : 2 * offset + 40] == placeholder
            assert linked[offset : offset + 20] == address
        unlinked = code.to_bytes()
        assert all(unlinked[o : o + 20] == bytes(20) for o in link.offsets)
    assert calculator.creation.size > calculator.runtime.size


def test_handmade_placeholder_artifact(tmp_path: Path) -> None:
    # No compiler needed: the same rules on a minimal hand-written Hardhat artifact.
    placeholder = _placeholder("contracts/L.sol:L")
    runtime = "6080" + placeholder + "00"
    _write_json(
        tmp_path / "contracts" / "U.sol" / "U.json",
        {
            "_format": "hh-sol-artifact-1",
            "contractName": "U",
            "sourceName": "contracts/U.sol",
            "abi": [],
            "bytecode": "0x" + runtime,
            "deployedBytecode": "0x" + runtime,
            "linkReferences": {"contracts/L.sol": {"L": [{"start": 2, "length": 20}]}},
            "deployedLinkReferences": {"contracts/L.sol": {"L": [{"start": 2, "length": 20}]}},
        },
    )
    (user,) = load_artifacts(tmp_path).contracts
    assert user.runtime.size == 23 and user.runtime.placeholder_count == 1
    assert user.runtime.links == (LinkReference("contracts/L.sol:L", (2,)),)
    assert user.runtime.to_bytes(b"\xaa" * 20) == bytes.fromhex("6080" + "aa" * 20 + "00")
    assert user.compiler is None  # no .dbg.json


# -- 5. interfaces and abstract contracts --------------------------------------------------------


@pytest.mark.parametrize("fmt", ["hardhat", "foundry", "solc-standard-json"])
def test_interfaces_and_abstract_contracts_are_present_but_not_deployable(
    loaded: dict[str, ArtifactSet], fmt: str
) -> None:
    artifacts = loaded[fmt]
    for name in ("IAccessControl", "IERC165", "AccessControl", "ERC165", "Ownable", "Context"):
        contract = artifacts.resolve(name)
        assert not contract.deployable, name
        assert contract.creation.is_empty and contract.runtime.is_empty
        assert contract.creation.size == contract.runtime.size == 0
    assert artifacts.resolve("IERC165").method_identifiers == {"supportsInterface(bytes4)": "01ffc9a7"}
    assert len(artifacts.resolve("IAccessControl").abi) > 5
    deployable = {c.name for c in artifacts.contracts if c.deployable}
    assert deployable == {
        "StorageSlot",
        "ManifestDispatcher",
        "PingFacet",
        "VaultFacet",
        "DeterministicChunkFactory",
        "PayRoxProxyRouter",
        "ReentrancyAttacker",
    }


# -- 6. no metadata -----------------------------------------------------------------------------


def _truffle_variant(
    tmp_path: Path, drop: tuple[str, ...], source: str = PING_DIR.as_posix(), **replace: Any
) -> Contract:
    data = json.loads((TRUFFLE / "PingFacet.json").read_bytes())
    for key in drop:
        del data[key]
    data.update(replace)
    _write_json(tmp_path / "build" / "contracts" / "PingFacet.json", data)
    artifacts = load_artifacts(tmp_path / "build" / "contracts")
    assert artifacts.problems == ()
    (contract,) = artifacts.contracts
    assert (contract.source, contract.name, contract.format) == (source, "PingFacet", "truffle")
    assert contract.runtime == load_artifacts(HARDHAT).resolve(PING).runtime
    return contract


def test_truffle_without_metadata_uses_its_compiler_field(tmp_path: Path) -> None:
    contract = _truffle_variant(tmp_path, ("metadata",))
    assert contract.compiler == CompilerSettings(
        "0.8.30+commit.73712a01", None, None, None, None, "artifact compiler field"
    )


def test_truffle_with_empty_metadata_uses_its_compiler_field(tmp_path: Path) -> None:
    contract = _truffle_variant(tmp_path, (), metadata="")
    assert contract.compiler is not None and contract.compiler.origin == "artifact compiler field"


def test_truffle_without_metadata_or_compiler(tmp_path: Path) -> None:
    assert _truffle_variant(tmp_path, ("metadata", "compiler")).compiler is None
    # Without sourcePath either, the name is still right and the source is a guess from it.
    assert _truffle_variant(tmp_path, ("metadata", "sourcePath"), source="PingFacet.sol").compiler is not None


def test_hardhat_without_dbg_json(tmp_path: Path) -> None:
    root = _copy_reference(tmp_path)
    (root / PING_DIR / "PingFacet.dbg.json").unlink()
    artifacts = load_artifacts(root)
    assert artifacts.problems == ()
    ping = artifacts.resolve(PING)
    assert ping.compiler is None and ping.immutable_references is None and ping.method_identifiers is None
    assert ping.runtime == load_artifacts(HARDHAT).resolve(PING).runtime
    assert _settings(artifacts.resolve("VaultFacet").compiler) == REFERENCE_BUILD


@pytest.mark.parametrize("file_name", ["PingFacet.json", "PingFacet.0.8.30.json"])
def test_foundry_without_metadata(tmp_path: Path, file_name: str) -> None:
    data = json.loads((FOUNDRY / "PingFacet.sol" / "PingFacet.json").read_bytes())
    del data["metadata"], data["rawMetadata"]
    _write_json(tmp_path / "out" / "PingFacet.sol" / file_name, data)
    (ping,) = load_artifacts(tmp_path / "out").contracts
    # Without compilationTarget only the folder name is known, not the full source path.
    assert (ping.source, ping.name, ping.format) == ("PingFacet.sol", "PingFacet", "foundry")
    assert ping.compiler is None
    assert ping.method_identifiers == data["methodIdentifiers"] and ping.immutable_references == {}
    assert ping.runtime.hex == data["deployedBytecode"]["object"][2:]


def test_foundry_with_raw_metadata_only(tmp_path: Path) -> None:
    data = json.loads((FOUNDRY / "PingFacet.sol" / "PingFacet.json").read_bytes())
    del data["metadata"]
    _write_json(tmp_path / "out" / "PingFacet.sol" / "PingFacet.json", data)
    (ping,) = load_artifacts(tmp_path / "out").contracts
    assert ping.fqn == PING
    assert _settings(ping.compiler) == REFERENCE_BUILD


# -- 7. broken inputs ---------------------------------------------------------------------------


def _truncated(root: Path) -> Path:
    text = (HARDHAT / PING_DIR / "PingFacet.json").read_text()
    path = root / "contracts" / "Cut.sol" / "Cut.json"
    path.parent.mkdir(parents=True)
    path.write_text(text[: len(text) // 2])
    return path


def _text(root: Path) -> Path:
    path = root / "notes.json"
    path.write_text("these are not the artifacts you are looking for\n")
    return path


def _array(root: Path) -> Path:
    return _write_json(root / "list.json", [1, 2, 3])


def _unknown(root: Path) -> Path:
    return _write_json(root / "config" / "settings.json", {"zeta": 1, "alpha": {"x": 2}, "mid": []})


def _hardhat_with(root: Path, name: str, **fields: Any) -> Path:
    data = json.loads((HARDHAT / PING_DIR / "PingFacet.json").read_bytes())
    data.update(contractName=name, sourceName=f"contracts/{name}.sol", **fields)
    return _write_json(root / "contracts" / f"{name}.sol" / f"{name}.json", data)


def _odd(root: Path) -> Path:
    return _hardhat_with(root, "Odd", deployedBytecode="0x6080604")


def _non_hex(root: Path) -> Path:
    return _hardhat_with(root, "NonHex", bytecode="0x6080zz40")


def _dangling_dbg(root: Path) -> Path:
    path = _hardhat_with(root, "Dangling")
    dbg = {"_format": "hh-sol-dbg-1", "buildInfo": "../../build-info/gone.json"}
    _write_json(path.with_name("Dangling.dbg.json"), dbg)
    return path


def _foundry_string_bytecode(root: Path) -> Path:
    data = json.loads((FOUNDRY / "VaultFacet.sol" / "VaultFacet.json").read_bytes())
    data["bytecode"] = data["bytecode"]["object"]
    return _write_json(root / "out" / "Vault.sol" / "Vault.json", data)


def _standard_json_bad_entry(root: Path) -> Path:
    return _write_json(root / "solc-output.json", {"contracts": {"contracts/A.sol": {"A": ["not", "an", "object"]}}})


BROKEN: dict[str, tuple[Callable[[Path], Path], str]] = {
    "truncated": (_truncated, "not valid JSON"),
    "text": (_text, "not valid JSON"),
    "array": (_array, "expected a JSON object, found list"),
    "unknown shape": (_unknown, "top-level keys: alpha, mid, zeta"),
    "odd-length bytecode": (_odd, "deployedBytecode is not valid hex (length 7 characters)"),
    "non-hex bytecode": (_non_hex, "bytecode is not valid hex"),
    "dbg to missing build-info": (_dangling_dbg, "Dangling.dbg.json: points at build-info ../../build-info/gone.json"),
    "foundry bytecode as a string": (_foundry_string_bytecode, "'bytecode' must be an object"),
    "standard-JSON entry not an object": (
        _standard_json_bad_entry,
        "contracts['contracts/A.sol']['A'] is not an object",
    ),
}


@pytest.fixture(scope="module")
def broken_tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path], ArtifactSet]:
    """The reference Hardhat tree plus one broken file per kind of damage, loaded once."""
    root = tmp_path_factory.mktemp("broken") / "artifacts"
    shutil.copytree(HARDHAT, root)
    paths = {kind: make(root) for kind, (make, _) in BROKEN.items()}
    return root, paths, load_artifacts(root)


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_file_is_a_problem_naming_it(broken_tree: tuple[Path, dict[str, Path], ArtifactSet], kind: str) -> None:
    _, paths, artifacts = broken_tree
    path = paths[kind]
    found = [p for p in artifacts.problems if p.path == path]
    assert len(found) == 1, artifacts.problems
    # The message names the file at fault: for a dangling pointer, the .dbg.json beside the artifact.
    culprit = path.with_name(path.stem + ".dbg.json") if kind == "dbg to missing build-info" else path
    assert str(culprit) in found[0].message
    assert BROKEN[kind][1] in found[0].message


def test_the_rest_of_a_broken_tree_still_loads(broken_tree: tuple[Path, dict[str, Path], ArtifactSet]) -> None:
    _, paths, artifacts = broken_tree
    assert len(artifacts.problems) == len(BROKEN)
    assert {p.path for p in artifacts.problems} == set(paths.values())
    assert {c.fqn for c in artifacts.contracts} == {c.fqn for c in load_artifacts(HARDHAT).contracts}
    assert _settings(artifacts.resolve("ManifestDispatcher").compiler) == REFERENCE_BUILD
    hint = r"9 artifact file\(s\) could not be read, so it may be one of them: "
    with pytest.raises(LookupError, match=hint) as found:
        artifacts.resolve("Odd")
    assert "Cut.json: not valid JSON" in str(found.value) and "(and 6 more)" in str(found.value)


def test_one_bad_entry_in_standard_json_output_keeps_the_others(tmp_path: Path) -> None:
    data = json.loads(STANDARD_JSON.read_bytes())
    data["contracts"]["contracts/facets/PingFacet.sol"]["PingFacet"]["evm"]["deployedBytecode"]["object"] = "abc"
    data["contracts"]["contracts/facets/VaultFacet.sol"]["VaultFacet"]["evm"] = "nothing"
    location = _write_json(tmp_path / "solc-output.json", data)
    artifacts = load_artifacts(location)
    assert len(artifacts.contracts) == 14
    assert [p.path for p in artifacts.problems] == [location, location]
    messages = " | ".join(p.message for p in artifacts.problems)
    assert "contracts['contracts/facets/PingFacet.sol']['PingFacet'].evm.deployedBytecode is not valid hex" in messages
    assert "at contracts['contracts/facets/VaultFacet.sol']['VaultFacet']" in messages


def test_broken_build_info_fails_with_its_name_when_settings_are_asked(tmp_path: Path) -> None:
    # Build-info is parsed lazily, so a damaged one surfaces only when a check asks for settings:
    # as an ArtifactError naming it, never a bare JSONDecodeError.
    root = _copy_reference(tmp_path)
    build_info = _build_info_file(root)
    build_info.write_bytes(build_info.read_bytes()[:1000])
    artifacts = load_artifacts(root)
    assert artifacts.problems == ()
    ping = artifacts.resolve("PingFacet")
    assert ping.runtime.size == 345  # the artifact itself is fine
    for contract in (ping, artifacts.resolve("VaultFacet")):
        with pytest.raises(ArtifactError, match=f"{build_info.name}: build-info cannot be read"):
            _ = contract.compiler


def test_metadata_of_the_wrong_shape_means_unknown_settings(tmp_path: Path) -> None:
    data = json.loads((FOUNDRY / "PingFacet.sol" / "PingFacet.json").read_bytes())
    data["metadata"]["compiler"] = "0.8.30"
    _write_json(tmp_path / "out" / "PingFacet.sol" / "PingFacet.json", data)
    (ping,) = load_artifacts(tmp_path / "out").contracts
    assert ping.compiler is not None
    assert ping.compiler.version is None and ping.compiler.via_ir is True


def test_missing_location_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="does not exist"):
        load_artifacts(tmp_path / "nowhere")


# -- 8. digest ----------------------------------------------------------------------------------


def test_digest_is_stable_and_independent_of_where_the_tree_lives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_artifacts(HARDHAT)
    assert load_artifacts(HARDHAT).digest == first.digest
    assert first.files_read == 33  # 16 artifacts, 16 .dbg.json, one build-info
    copy = _copy_reference(tmp_path)
    assert load_artifacts(copy).digest == first.digest
    monkeypatch.chdir(tmp_path)
    assert load_artifacts(Path("artifacts")).digest == first.digest


def test_digest_of_a_sub_folder_does_not_contain_the_checkout_path(tmp_path: Path) -> None:
    # artifacts = "artifacts/contracts": the build-info is read through "..", outside the root.
    one, two = tmp_path / "one", tmp_path / "deeper" / "two"
    shutil.copytree(HARDHAT, one)
    shutil.copytree(HARDHAT, two)
    first, second = load_artifacts(one / "contracts"), load_artifacts(two / "contracts")
    assert first.files_read == 6 * 2 + 1
    assert first.digest == second.digest
    _build_info_file(two).write_bytes(_build_info_file(two).read_bytes() + b" ")
    assert load_artifacts(two / "contracts").digest != first.digest


def _flip_one_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    at = raw.index(b"6080")  # inside a hex string: the file stays valid JSON of the same length
    raw[at + 3] = ord("1")
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    "changed",
    [
        PING_DIR / "PingFacet.json",
        Path("@openzeppelin/contracts/utils/introspection/IERC165.sol/IERC165.dbg.json"),
        Path("build-info"),
    ],
    ids=["artifact", "dbg", "build-info"],
)
def test_digest_changes_with_any_byte(tmp_path: Path, changed: Path) -> None:
    root = _copy_reference(tmp_path)
    before = load_artifacts(root)
    target = _build_info_file(root) if changed.name == "build-info" else root / changed
    if target.name.endswith(".dbg.json"):
        target.write_bytes(target.read_bytes() + b"\n")
    else:
        _flip_one_byte(target)
    after = load_artifacts(root)
    assert after.problems == ()
    assert after.files_read == before.files_read
    assert after.digest != before.digest


def test_digest_of_standard_json_output_follows_its_bytes(tmp_path: Path) -> None:
    location = tmp_path / "solc-output.json"
    shutil.copy(STANDARD_JSON, location)
    before = load_artifacts(location).digest
    assert before == load_artifacts(STANDARD_JSON).digest
    _flip_one_byte(location)
    assert load_artifacts(location).digest != before


# -- 9. a standard-JSON output file as the location -----------------------------------------------


def test_standard_json_file_as_location(loaded: dict[str, ArtifactSet]) -> None:
    artifacts = loaded["solc-standard-json"]
    assert artifacts.root == STANDARD_JSON
    assert artifacts.files_read == 1
    assert all(c.artifact_path == STANDARD_JSON for c in artifacts.contracts)
    assert artifacts.resolve("PingFacet").fqn == PING


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"contracts": {"a', "not valid JSON"),
        (json.dumps({"sources": {}, "errors": []}).encode(), "expected solc standard-JSON output"),
        (json.dumps({"contracts": {"a.sol": [1]}}).encode(), "contracts['a.sol'] is not an object"),
        ((HARDHAT / PING_DIR / "PingFacet.json").read_bytes(), "expected solc standard-JSON output"),
    ],
    ids=["truncated", "no contracts", "source not an object", "a single Hardhat artifact"],
)
def test_broken_standard_json_location_is_a_problem(tmp_path: Path, content: bytes, expected: str) -> None:
    location = tmp_path / "solc-output.json"
    location.write_bytes(content)
    artifacts = load_artifacts(location)
    assert artifacts.contracts == ()
    assert artifacts.problems == (ArtifactProblem(location, artifacts.problems[0].message),)
    assert str(location) in artifacts.problems[0].message and expected in artifacts.problems[0].message
    assert artifacts.files_read == 1


# -- Bytecode on its own ------------------------------------------------------------------------


def test_bytecode_sizes_and_prefixes(tmp_path: Path) -> None:
    assert Bytecode("").is_empty and Bytecode("").size == 0
    placeholder = _placeholder("a.sol:A")
    code = Bytecode("00" + placeholder + placeholder + "ff")
    assert (code.size, code.placeholder_count) == (42, 2)
    assert code.to_bytes(b"\x01" * 20) == b"\x00" + b"\x01" * 40 + b"\xff"
    # "0X" prefixes and upper-case hex read as the same code
    hardhat = _hardhat_with(tmp_path, "Upper", deployedBytecode="0X6080ABCD", bytecode="0x6080abcd")
    (upper,) = load_artifacts(hardhat.parents[2]).contracts
    assert upper.runtime == upper.creation == Bytecode("6080abcd")
