"""Bad configuration stops the run with a usage error (exit 4) that names the file, the key,
expected vs actual and the valid choices; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signoff.errors import ConfigError
from signoff.target import load_target, parse_wei
from tests.conftest import FIXTURES, SuiteRun

REFERENCE_ARTIFACTS = FIXTURES / "reference" / "artifacts"


def _duplicate_names(tmp_path: Path) -> Path:
    """Two contracts called Token in different files, as Hardhat writes them."""
    ping = json.loads((REFERENCE_ARTIFACTS / "contracts/facets/PingFacet.sol/PingFacet.json").read_text())
    for folder in ("a", "b"):
        artifact = dict(ping, contractName="Token", sourceName=f"contracts/{folder}/Token.sol")
        path = tmp_path / "artifacts" / "contracts" / folder / "Token.sol" / "Token.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(artifact))
    return tmp_path / "artifacts"


BASE = '[target]\nname = "t"\nartifacts = "{artifacts}"\n'

CASES: dict[str, tuple[str, list[str], dict[str, str], list[str]]] = {
    # id: (toml body after [target], extra args, env, expected fragments)
    "unknown key": (
        "[sizes]\nwarn_headroom = 10\nwarn_headrom = 5\n",
        [],
        {},
        ["unknown key(s) warn_headrom in [sizes]", "Valid keys: exclude, warn_headroom"],
    ),
    "unknown table": (
        "[sizez]\nwarn_headroom = 10\n",
        [],
        {},
        [
            "unknown key(s) sizez in the top level",
            "Valid keys: abi, addresses, compiler, contracts, diamonds, evidence, manifest, networks, selectors, "
            "sizes, target",
        ],
    ),
    "wrong type": (
        '[sizes]\nwarn_headroom = "big"\n',
        [],
        {},
        ["sizes.warn_headroom must be an integer, found str 'big'"],
    ),
    "missing env var": (
        '[networks.sepolia]\nrpc_url = "${SIGNOFF_TEST_UNSET_RPC}"\nchain_id = 11155111\n',
        ["--signoff-network", "sepolia"],
        {},
        [
            "networks.sepolia.rpc_url needs the environment variable SIGNOFF_TEST_UNSET_RPC, which is not set",
            "export SIGNOFF_TEST_UNSET_RPC=",
        ],
    ),
    "unknown network": (
        '[networks.sepolia]\nrpc_url = "http://127.0.0.1:1"\nchain_id = 11155111\n',
        ["--signoff-network", "mainnet"],
        {},
        ["unknown network 'mainnet'", "Valid choices: eth-tester, anvil, sepolia"],
    ),
    "builtin network redefined": (
        '[networks.anvil]\nrpc_url = "http://127.0.0.1:1"\nchain_id = 31337\n',
        [],
        {},
        ["[networks.anvil] sets chain_id, rpc_url, but 'anvil' is built in (signoff starts it)"],
    ),
    "bad deployer address": (
        '[networks.sepolia]\nrpc_url = "http://127.0.0.1:1"\nchain_id = 11155111\ndeployer = "0x1234"\n',
        ["--signoff-network", "sepolia"],
        {},
        ["networks.sepolia.deployer must be a 0x-prefixed 20-byte hex address, found '0x1234'"],
    ),
    "bad wei amount": (
        '[networks.sepolia]\nrpc_url = "http://127.0.0.1:1"\nchain_id = 11155111\nmin_deployer_balance_wei = "lots"\n',
        ["--signoff-network", "sepolia"],
        {},
        ["networks.sepolia.min_deployer_balance_wei must be a whole number of wei"],
    ),
    "unknown contract": (
        '[[diamonds]]\ndispatcher = "ManifestDispatcherr"\nfacets = ["PingFacet"]\n',
        [],
        {},
        ["[[diamonds]][0] dispatcher: no contract named 'ManifestDispatcherr'", "did you mean ManifestDispatcher"],
    ),
    "constructor args count": (
        "[contracts.ManifestDispatcher]\nconstructor_args = [3600]\n",
        [],
        {},
        ["the constructor takes 2 argument(s) (address, uint64), constructor_args gives 1"],
    ),
    "non-finite gas tolerance": (
        "[postdeploy.gas]\ntolerance = inf\n",
        [],
        {},
        ["tolerance must be a finite number, found inf"],
    ),
    "nan gas tolerance": (
        "[postdeploy.gas]\ntolerance = nan\n",
        [],
        {},
        ["tolerance must be a finite number, found nan"],
    ),
    "committee beyond any sane size": (
        '[pou]\nreference = "pou"\nk = 100000000\nm = 100000000\n',
        [],
        {},
        ["k must be <= 100, found 100,000,000"],
    ),
    "finalizer interval inf": (
        '[pou]\nreference = "pou"\nfinalizer_interval_seconds = inf\n',
        [],
        {},
        ["finalizer_interval_seconds must be a finite number, found inf"],
    ),
    "rpc url without a scheme": (
        '[networks.sepolia]\nrpc_url = "localhost:8545"\nchain_id = 11155111\n',
        ["--signoff-network", "sepolia"],
        {},
        ["[networks.sepolia] rpc_url must be an http(s):// URL with a host, found 'localhost:8545'"],
    ),
    "secret rpc url without a scheme": (
        '[networks.sepolia]\nrpc_url = "${SEPOLIA_URL}"\nchain_id = 11155111\n',
        ["--signoff-network", "sepolia"],
        {"SEPOLIA_URL": "user:hunter2secret@localhost:8545"},
        ["rpc_url must be an http(s):// URL with a host, found (value from the environment, not shown)"],
    ),
    "pou url with credentials and a seed token": (
        '[pou]\nurl = "http://ops:hunter2pw@127.0.0.1:9/"\nseed_token = "${POU_TOKEN}"\n',
        [],
        {"POU_TOKEN": "tok-0123456789"},
        ["[pou] url carries user:password (HTTP Basic authentication) and seed_token needs the same"],
    ),
    "missing required key": (
        None,
        [],
        {},  # type: ignore[dict-item]
        ["missing required key 'name' in [target]"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_configuration_is_a_usage_error(run_suite, tmp_path: Path, case: str) -> None:
    body, args, env, fragments = CASES[case]
    target = tmp_path / "signoff.toml"
    if body is None:
        target.write_text(f'[target]\nartifacts = "{REFERENCE_ARTIFACTS}"\n')
    else:
        target.write_text(BASE.format(artifacts=REFERENCE_ARTIFACTS) + body)
    run: SuiteRun = run_suite("-m", "preflight", *args, target=target, env=env)
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR, run.output
    for fragment in fragments:
        assert fragment in run.output, (fragment, run.output)
    assert str(target) in run.output
    assert "Traceback" not in run.output
    assert not run.reports.exists() or not list(run.reports.glob("*.html"))
    for secret in env.values():
        assert secret not in run.output


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--network=", "--signoff-network is empty (an unset variable?)"),
        ("--signoff-target=", "--signoff-target is empty (an unset variable?)"),
    ],
)
def test_an_empty_option_is_a_usage_error_not_the_default(run_suite, option: str, message: str) -> None:
    """An unset CI variable (`--network=$NETWORK`) must not silently check the default target or chain."""
    run: SuiteRun = run_suite("-m", "eip170", option)
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR, run.output
    assert message in run.output and "Traceback" not in run.output
    assert not run.reports.exists() or not list(run.reports.glob("*.json"))


def test_ambiguous_name_lists_candidates(run_suite, tmp_path: Path) -> None:
    artifacts = _duplicate_names(tmp_path)
    target = tmp_path / "signoff.toml"
    target.write_text(BASE.format(artifacts=artifacts) + "[contracts.Token]\n")
    run: SuiteRun = run_suite("-m", "preflight", target=target)
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR, run.output
    assert (
        "contract name 'Token' is ambiguous: 2 contracts carry it (contracts/a/Token.sol:Token, "
        "contracts/b/Token.sol:Token); name one as path/File.sol:Name"
    ) in run.output
    target.write_text(BASE.format(artifacts=artifacts) + '[contracts."contracts/b/Token.sol:Token"]\n')
    assert run_suite("-m", "eip170", target=target).result.ret == 0


def test_missing_target_file_and_missing_artifacts(run_suite, tmp_path: Path) -> None:
    run: SuiteRun = run_suite("-m", "preflight", target=tmp_path / "nope.toml")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"target file {tmp_path / 'nope.toml'} does not exist" in run.output
    target = tmp_path / "signoff.toml"
    target.write_text('[target]\nname = "t"\nartifacts = "out"\n')
    run = run_suite("-m", "preflight", target=target)
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"target.artifacts = 'out' -> {tmp_path / 'out'} does not exist" in run.output
    (tmp_path / "out").mkdir()
    run = run_suite("-m", "preflight", target=target)
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "holds no compiled contract" in run.output
    target.write_text('[target\nname = "t"\n')
    run = run_suite("-m", "preflight", target=target)
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "not valid TOML" in run.output and "Traceback" not in run.output


def test_invalid_toml_and_env_expansion_unit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "signoff.toml"
    path.write_text(f'[target]\nname = "${{SIGNOFF_NAME}}"\nartifacts = "{REFERENCE_ARTIFACTS}"\n')
    monkeypatch.setenv("SIGNOFF_NAME", "from-env")
    assert load_target(path).name == "from-env"
    monkeypatch.delenv("SIGNOFF_NAME")
    with pytest.raises(ConfigError, match="needs the environment variable SIGNOFF_NAME"):
        load_target(path)


@pytest.mark.parametrize(
    ("text", "wei"),
    [
        ("1000", 1000),
        ("0.5 ether", 5 * 10**17),
        ("30 gwei", 30 * 10**9),
        ("1_000 wei", 1000),
        ("0.0000000001 gwei", None),
        ("x", None),
        ("1 btc", None),
    ],
)
def test_parse_wei(text: str, wei: int | None) -> None:
    assert parse_wei(text) == wei
