"""``signoff init``: the written signoff.toml is valid, commented, deterministic and secret-free.

Projects are built in tmp_path: Hardhat ones from hand-written artifacts shaped like the real
ones (artifact + .dbg.json + build-info), Foundry and truffle ones from the format fixtures the
loader's tests already use, and one from the reference's real Hardhat artifacts.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from signoff.artifacts.loader import load_artifacts
from signoff.errors import ConfigError
from signoff.init import (
    PYTEST_INI,
    detect_project,
    env_var_for,
    pytest_configuration,
    render_signoff_toml,
    write_init,
)
from signoff.target import load_target

REPO = Path(__file__).resolve().parents[1]
FORMATS = REPO / "tests" / "data" / "formats"
REFERENCE_ARTIFACTS = REPO / "fixtures" / "reference" / "artifacts"

PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
API_KEY = "AbCdSuperSecretApiKey123"
MNEMONIC = "test test test test test test test test test test test junk"
SECRETS = (PRIVATE_KEY, PRIVATE_KEY[2:], API_KEY, MNEMONIC, "alchemy.com", "rpc.staging.example", "https://")

HARDHAT_CONFIG = f"""
require("@nomicfoundation/hardhat-toolbox");
const PRIVATE_KEY = "{PRIVATE_KEY}";
/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {{
  solidity: {{ version: "0.8.28", settings: {{ optimizer: {{ enabled: true, runs: 1000 }}, evmVersion: "cancun" }} }},
  networks: {{
    hardhat: {{ chainId: 31337 }},
    localhost: {{ url: "http://127.0.0.1:8545" }},
    sepolia: {{
      url: "https://eth-sepolia.g.alchemy.com/v2/{API_KEY}",   // a literal key: never copied
      accounts: [PRIVATE_KEY],
    }},
    "my-l2": {{ url: process.env.MY_L2_URL, chainId: 424_242, accounts: {{ mnemonic: "{MNEMONIC}" }} }},
    staging: {{ url: `https://rpc.staging.example/${{process.env.KEY}}/{{braces}}` }},
    // retired: {{ chainId: 5 }},
  }},
  etherscan: {{ apiKey: {{ sepolia: "{API_KEY}" }} }},
}};
"""


# -- building projects ------------------------------------------------------------------------


def _fn(name: str, *types: str) -> dict[str, Any]:
    inputs = [{"internalType": t, "name": f"a{i}", "type": t} for i, t in enumerate(types)]
    return {"type": "function", "name": name, "inputs": inputs, "outputs": [], "stateMutability": "nonpayable"}


FALLBACK = {"type": "fallback", "stateMutability": "payable"}
CODE = "0x6080604052348015600e575f5ffd5b50"


def build_info(
    root: Path, build_id: str, version: str, *, via_ir: bool = False, runs: int = 1000, folder: str = "artifacts"
) -> None:
    settings = {"viaIR": via_ir, "optimizer": {"enabled": True, "runs": runs}, "evmVersion": "cancun"}
    info = {
        "id": build_id,
        "_format": "hh-sol-build-info-1",
        "solcVersion": version,
        "solcLongVersion": f"{version}+commit.e11b9ed9",
        "input": {"language": "Solidity", "sources": {}, "settings": settings},
        "output": {"contracts": {}, "sources": {}},
    }
    path = root / folder / "build-info" / f"{build_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info))


def hardhat_artifact(
    root: Path,
    source: str,
    name: str,
    abi: list[dict[str, Any]],
    *,
    build_id: str = "b1",
    code: str = CODE,
    artifacts: str = "artifacts",
) -> None:
    folder = root / artifacts / source
    folder.mkdir(parents=True, exist_ok=True)
    artifact = {
        "_format": "hh-sol-artifact-1",
        "contractName": name,
        "sourceName": source,
        "abi": abi,
        "bytecode": code,
        "deployedBytecode": code,
        "linkReferences": {},
        "deployedLinkReferences": {},
    }
    (folder / f"{name}.json").write_text(json.dumps(artifact))
    pointer = os.path.relpath(root / artifacts / "build-info" / f"{build_id}.json", folder)
    (folder / f"{name}.dbg.json").write_text(json.dumps({"_format": "hh-sol-dbg-1", "buildInfo": pointer}))


def hardhat_project(root: Path) -> Path:
    """A diamond system: dispatcher, router, two facets, an interface, a mock, a dependency."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "hardhat.config.js").write_text(HARDHAT_CONFIG)
    build_info(root, "b1", "0.8.28")
    hardhat_artifact(root, "contracts/Diamond.sol", "Diamond", [_fn("diamondCut", "tuple[]", "address", "bytes")])
    hardhat_artifact(root, "contracts/EntryRouter.sol", "EntryRouter", [FALLBACK, _fn("pause")])
    hardhat_artifact(root, "contracts/facets/TokenFacet.sol", "TokenFacet", [_fn("transfer", "address", "uint256")])
    loupe = [_fn("facets"), _fn("facetAddress", "bytes4")]
    hardhat_artifact(root, "contracts/facets/DiamondLoupeFacet.sol", "DiamondLoupeFacet", loupe)
    cut = [_fn("diamondCut", "tuple[]", "address", "bytes")]
    hardhat_artifact(root, "contracts/interfaces/IDiamondCut.sol", "IDiamondCut", cut, code="0x")
    hardhat_artifact(root, "contracts/mocks/MockFacet.sol", "MockFacet", [_fn("mock")])
    hardhat_artifact(
        root, "@openzeppelin/contracts/token/ERC20/ERC20.sol", "ERC20", [_fn("transfer", "address", "uint256")]
    )
    return root


def foundry_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(FORMATS / "foundry" / "out", root / "forge-out")
    # Foundry keeps the metadata both ways; an artifact with only the JSON string still counts.
    ping = root / "forge-out" / "PingFacet.sol" / "PingFacet.json"
    data = json.loads(ping.read_text())
    del data["metadata"]
    ping.write_text(json.dumps(data))
    (root / "foundry.toml").write_text(
        "[profile.default]\n"
        'src = "contracts"\n'
        'out = "forge-out"\n'
        'libs = ["lib"]\n\n'
        "[rpc_endpoints]\n"
        'sepolia = "${ALCHEMY_SEPOLIA}"\n'
        f'mainnet = "https://eth-mainnet.g.alchemy.com/v2/{API_KEY}"\n'
        'anvil = "http://127.0.0.1:8545"\n'
        'devnet = "https://rpc.staging.example/devnet"\n'
    )
    return root


def truffle_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(FORMATS / "truffle" / "build", root / "build")
    (root / "truffle-config.js").write_text(
        "const HDWalletProvider = require('@truffle/hdwallet-provider');\n"
        f"const mnemonic = '{MNEMONIC}';\n"
        "module.exports = {\n"
        "  networks: {\n"
        '    development: { host: "127.0.0.1", port: 8545, network_id: "*" },\n'
        f"    sepolia: {{ provider: () => new HDWalletProvider(mnemonic, `https://sepolia.infura.io/v3/{API_KEY}`),\n"
        "               network_id: 11155111 },\n"
        "  },\n"
        '  compilers: { solc: { version: "0.8.30" } },\n'
        "};\n"
    )
    return root


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def _uncommented(text: str, header: str) -> str:
    """The commented-out block starting at ``# <header>``, uncommented (as a user would)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"# {header}"))
    block = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        block.append(line[2:])
    return "\n".join(block) + "\n"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SEPOLIA_RPC_URL", "MY_L2_URL", "ALCHEMY_SEPOLIA", "MAINNET_RPC_URL", "BASE_SEPOLIA_URL"):
        monkeypatch.delenv(var, raising=False)


# -- Hardhat ----------------------------------------------------------------------------------


def test_hardhat_project(tmp_path: Path, clean_env: None) -> None:
    root = hardhat_project(tmp_path / "acme-protocol")
    result = write_init(root)
    text = (root / "signoff.toml").read_text()

    assert result.written == (root / "signoff.toml", root / "pytest.ini")
    assert (root / "pytest.ini").read_text() == PYTEST_INI
    _assert_no_secret(text, PYTEST_INI, *result.notes)

    target = load_target(root / "signoff.toml")  # as written, no environment variable set
    assert target.name == "acme-protocol"
    assert target.artifacts == (root / "artifacts").resolve()
    pins = target.compiler
    assert (pins.version, pins.via_ir, pins.optimizer, pins.optimizer_runs, pins.evm_version) == (
        "0.8.28",
        False,
        True,
        1000,
        "cancun",
    )
    assert pins.exclude == ("@openzeppelin/**", "contracts/mocks/**")
    assert target.sizes.exclude == ("contracts/mocks/**",)
    assert target.diamonds == ()  # suggestions only
    assert target.network_names == ("my-l2", "sepolia")  # hardhat/localhost left out, staging commented

    # The suggestion is a valid [[diamonds]] once uncommented; the loupe facet is a facet, the
    # interface (no code) and the mock are not suggested.
    assert "# [[diamonds]]" in text
    (root / "signoff.toml").write_text(text + "\n" + _uncommented(text, "[[diamonds]]"))
    diamond = load_target(root / "signoff.toml").diamonds[0]
    assert (diamond.dispatcher, diamond.facets, diamond.router) == (
        "Diamond",
        ("DiamondLoupeFacet", "TokenFacet"),
        "EntryRouter",
    )

    # Networks: well-known and literal chain ids; the team's own variable reused; unknown commented.
    assert '[networks.sepolia]\nrpc_url = "${SEPOLIA_RPC_URL}"\nchain_id = 11155111' in text
    assert '[networks.my-l2]\nrpc_url = "${MY_L2_URL}"\nchain_id = 424242' in text
    assert "# [networks.staging]" in text and '# rpc_url = "${STAGING_RPC_URL}"' in text
    with pytest.raises(ConfigError, match="SEPOLIA_RPC_URL"):
        target.network("sepolia")  # expanded only when selected

    names = {c.name for c in load_artifacts(target.artifacts).contracts}
    assert {"Diamond", "EntryRouter", "TokenFacet", "DiamondLoupeFacet", "ERC20"} <= names

    notes = "\n".join(result.notes)
    assert "Hardhat project (hardhat.config.js)" in notes
    assert "pinned solc 0.8.28, viaIR false, optimizer true (1000 runs), evmVersion cancun" in notes
    assert "dispatcher Diamond" in notes and "staging" in notes
    assert "pytest.ini: no pytest configuration was found" in notes
    assert "`pytest -m preflight`" in notes and "my-l2: MY_L2_URL" in notes and "--network NAME" in notes


def test_reference_artifacts_suggest_its_diamond(tmp_path: Path, clean_env: None) -> None:
    root = tmp_path / "payrox"
    shutil.copytree(REFERENCE_ARTIFACTS, root / "artifacts")
    (root / "hardhat.config.ts").write_text("export default { solidity: '0.8.30' };\n")
    write_init(root)
    text = (root / "signoff.toml").read_text()
    target = load_target(root / "signoff.toml")
    assert (target.compiler.version, target.compiler.via_ir, target.compiler.evm_version) == ("0.8.30", True, "prague")
    assert target.compiler.exclude == ("@openzeppelin/**", "contracts/test/**")
    assert "# No live network found in hardhat.config.ts" in text
    (root / "signoff.toml").write_text(text + "\n" + _uncommented(text, "[[diamonds]]"))
    diamond = load_target(root / "signoff.toml").diamonds[0]
    reference = load_target(REPO / "fixtures" / "reference" / "signoff.toml").diamonds[0]
    assert diamond == reference  # ManifestDispatcher, PingFacet + VaultFacet, PayRoxProxyRouter


def test_a_dispatcher_s_lifecycle_is_detected_and_suggested(tmp_path: Path, clean_env: None) -> None:
    """The Orbit reference: other lifecycle names, committedAt + activationDelay. init says what PD-DSP
    would drive, and the suggested [manifest] block loads once uncommented."""
    root = tmp_path / "orbit"
    shutil.copytree(REPO / "fixtures" / "reference-orbit" / "artifacts", root / "artifacts")
    (root / "hardhat.config.ts").write_text("export default { solidity: '0.8.30' };\n")
    write_init(root)
    text = (root / "signoff.toml").read_text()
    assert (
        "# PF-MRK / PD-DSP: OrbitHub's manifest lifecycle, detected: commit proposeRoot(bytes32,uint64), apply "
        "installRoutes(bytes32[][],uint256[],bytes4[],address[],bytes32[]), activate activate(); ready at "
        "committedAt() + activationDelay()." in text
    ), text
    (root / "signoff.toml").write_text(text + "\n" + _uncommented(text, "[manifest]"))
    manifest = load_target(root / "signoff.toml").manifest
    assert manifest is not None and manifest.dispatcher == "OrbitHub"
    assert manifest.monitoring.from_block == 0  # PD-MON's start, suggested with it


def test_hardhat_artifacts_path_from_config(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "hardhat.config.ts").write_text(
        'const config = { paths: { sources: "./src", artifacts: "./build/hh-artifacts" } };\nexport default config;\n'
    )
    build_info(root, "b1", "0.8.30", folder="build/hh-artifacts")
    hardhat_artifact(root, "contracts/A.sol", "A", [], artifacts="build/hh-artifacts")
    facts = detect_project(root)  # no artifacts/ folder: the config's literal path is used
    assert facts.artifacts == "build/hh-artifacts"
    assert load_target(_write(root, render_signoff_toml(facts))).artifacts == root / "build" / "hh-artifacts"


def _write(root: Path, text: str) -> Path:
    path = root / "signoff.toml"
    path.write_text(text)
    return path


def test_mixed_compiler_settings_pin_nothing_and_list_them(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    root.mkdir()
    (root / "hardhat.config.js").write_text("module.exports = {};\n")
    build_info(root, "old", "0.8.24")
    build_info(root, "new", "0.8.30", via_ir=True, runs=200)
    hardhat_artifact(root, "contracts/OrderDispatcher.sol", "OrderDispatcher", [FALLBACK], build_id="old")
    hardhat_artifact(root, "contracts/Treasury.sol", "Treasury", [], build_id="new")
    hardhat_artifact(root, "contracts/facets/BookFacet.sol", "BookFacet", [_fn("book")], build_id="new")

    result = write_init(root)
    text = (root / "signoff.toml").read_text()
    pins = load_target(root / "signoff.toml").compiler
    assert (pins.version, pins.via_ir, pins.optimizer, pins.optimizer_runs, pins.evm_version) == (None,) * 5
    assert "2 different configurations, so nothing" in text
    assert (
        "#   solc 0.8.24, viaIR false, optimizer true (1000 runs), evmVersion cancun: 1 contract (OrderDispatcher)"
        in text
    )
    assert (
        "#   solc 0.8.30, viaIR true, optimizer true (200 runs), evmVersion cancun: 2 contracts (BookFacet, Treasury)"
        in text
    )
    assert any("2 configurations in use, nothing pinned" in note for note in result.notes)
    # A fallback and a dispatcher's name is enough for a suggestion.
    assert '# dispatcher = "OrderDispatcher"' in text and '#     "BookFacet",' in text


# -- Foundry and truffle ----------------------------------------------------------------------


def test_foundry_project(tmp_path: Path, clean_env: None) -> None:
    root = foundry_project(tmp_path / "forge-protocol")
    result = write_init(root)
    text = (root / "signoff.toml").read_text()
    _assert_no_secret(text, *result.notes)

    target = load_target(root / "signoff.toml")
    assert target.artifacts == root / "forge-out"
    assert (target.compiler.version, target.compiler.via_ir, target.compiler.optimizer_runs) == ("0.8.30", True, 200)
    assert target.compiler.exclude == ("@openzeppelin/**", "contracts/test/**")
    assert target.network_names == ("mainnet", "sepolia")  # anvil is built in; devnet has no known chain id
    assert '[networks.sepolia]\nrpc_url = "${ALCHEMY_SEPOLIA}"\nchain_id = 11155111' in text
    assert '[networks.mainnet]\nrpc_url = "${MAINNET_RPC_URL}"\nchain_id = 1' in text
    assert "# [networks.devnet]" in text and "anvil" in text.split("Left out")[1].splitlines()[0]
    assert "metadata" in "\n".join(result.notes)
    contracts = load_artifacts(target.artifacts).contracts
    assert {"ManifestDispatcher", "PingFacet", "PayRoxProxyRouter"} <= {c.name for c in contracts}


def test_truffle_project(tmp_path: Path, clean_env: None) -> None:
    root = truffle_project(tmp_path / "truffle-protocol")
    result = write_init(root)
    text = (root / "signoff.toml").read_text()
    _assert_no_secret(text, *result.notes)

    target = load_target(root / "signoff.toml")
    assert target.artifacts == root / "build" / "contracts"
    assert target.compiler.version == "0.8.30"
    assert target.network_names == ("sepolia",)  # development is a local node
    assert '# dispatcher = "ManifestDispatcher"' in text
    assert len(load_artifacts(target.artifacts).contracts) == 6


# -- never overwrite, pytest configuration ----------------------------------------------------


def test_existing_signoff_toml_is_never_overwritten(tmp_path: Path) -> None:
    root = hardhat_project(tmp_path / "p")
    (root / "signoff.toml").write_text("# mine\n")
    with pytest.raises(ConfigError) as info:
        write_init(root)
    message = str(info.value)
    assert f"signoff.toml already exists in {root}: left unchanged" in message
    assert "Next step: edit it, or remove it and run signoff init again" in message
    assert (root / "signoff.toml").read_text() == "# mine\n"
    assert not (root / "pytest.ini").exists()


def test_existing_pyproject_pytest_config_gets_a_note(tmp_path: Path) -> None:
    root = hardhat_project(tmp_path / "p")
    (root / "pyproject.toml").write_text('[project]\nname = "p"\n\n[tool.pytest.ini_options]\naddopts = "-q"\n')
    result = write_init(root)
    assert result.written == (root / "signoff.toml",)
    assert not (root / "pytest.ini").exists()
    note = next(n for n in result.notes if "pyproject.toml" in n)
    assert "[tool.pytest.ini_options]" in note
    assert "Nothing is required: signoff finds signoff.toml at the rootdir by itself" in note
    assert 'signoff_target = "signoff.toml"' in note and 'signoff_reports = "reports"' in note


def test_force_pytest_ini_writes_it_but_never_over_one(tmp_path: Path) -> None:
    root = hardhat_project(tmp_path / "p")
    (root / "tox.ini").write_text("[tox]\nenvlist = py311\n\n[pytest]\naddopts = -q\n")
    result = write_init(root, force_pytest_ini=True)
    assert (root / "pytest.ini").read_text() == PYTEST_INI
    assert any("takes precedence over tox.ini" in n for n in result.notes)

    other = hardhat_project(tmp_path / "q")
    (other / "pytest.ini").write_text("[pytest]\n")
    result = write_init(other, force_pytest_ini=True)
    assert (other / "pytest.ini").read_text() == "[pytest]\n"
    assert result.written == (other / "signoff.toml",)
    assert any(
        "configured in pytest.ini ([pytest])" in n and "signoff_target = signoff.toml" in n for n in result.notes
    )


@pytest.mark.parametrize(
    ("file", "content", "expected"),
    [
        ("pytest.ini", "", ("pytest.ini", "[pytest]")),
        (".pytest.ini", "[pytest]\n", (".pytest.ini", "[pytest]")),
        ("pyproject.toml", "[tool.pytest]\nminversion = '9.0'\n", ("pyproject.toml", "[tool.pytest]")),
        ("pyproject.toml", "[tool.ruff]\nline-length = 100\n", None),
        ("tox.ini", "[tox]\n[pytest]\n", ("tox.ini", "[pytest]")),
        ("tox.ini", "[tox]\nenvlist = py311\n", None),
        ("setup.cfg", "[metadata]\n[tool:pytest]\n", ("setup.cfg", "[tool:pytest]")),
    ],
)
def test_pytest_configuration(tmp_path: Path, file: str, content: str, expected: tuple[str, str] | None) -> None:
    (tmp_path / file).write_text(content)
    assert pytest_configuration(tmp_path) == expected


# -- errors, determinism, command line --------------------------------------------------------


def test_no_toolchain(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        write_init(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message
    assert "hardhat.config.js" in message and "foundry.toml" in message and "truffle-config.js" in message
    assert "Next step: run signoff init in the project's root folder" in message and "pass that folder" in message
    assert not (tmp_path / "signoff.toml").exists()


@pytest.mark.parametrize(
    ("config", "command"),
    [("hardhat.config.ts", "npx hardhat compile"), ("foundry.toml", "forge build"), ("truffle.js", "truffle compile")],
)
def test_not_compiled(tmp_path: Path, config: str, command: str) -> None:
    (tmp_path / config).write_text("")
    (tmp_path / "artifacts").mkdir()  # empty
    with pytest.raises(ConfigError) as info:
        detect_project(tmp_path)
    assert "nothing compiled yet" in str(info.value) and f"compile first (`{command}`)" in str(info.value)


def test_output_is_deterministic(tmp_path: Path) -> None:
    first = render_signoff_toml(detect_project(hardhat_project(tmp_path / "a" / "same")))
    second = render_signoff_toml(detect_project(hardhat_project(tmp_path / "b" / "same")))
    assert first == second


def test_env_var_names() -> None:
    assert env_var_for("sepolia") == "SEPOLIA_RPC_URL"
    assert env_var_for("base-sepolia") == "BASE_SEPOLIA_RPC_URL"
    assert env_var_for("baseSepolia") == "BASESEPOLIA_RPC_URL"
    assert env_var_for("0g") == "_0G_RPC_URL"


def test_quoted_and_non_ascii_folder_name(tmp_path: Path) -> None:
    root = hardhat_project(tmp_path / 'acme "v2" protocolé 🚀')
    write_init(root)
    assert load_target(root / "signoff.toml").name == root.name
