"""The owner control plane (seed 000) on fixtures/reference-control and its defective variants.

The reference (modules held by SystemPause, the pause authority, governed by a 2-of-3 Safe; the team's
config/*.json as the expected values) must pass every control check on eth-tester, on anvil and
read-only on a "live" anvil behind a recording proxy (no write method reaches it; the pause drill
runs on a fork). Each fixtures/defective/control-* variant fails exactly the checks its defect
breaks, with the message that names it. The pure parts (units, coverage, the owner-control file,
settings) are tested directly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from signoff.errors import ConfigError
from signoff.postdeploy.control.owners import parse_owner_control
from signoff.postdeploy.control.settings import ParamMapping, parse_control
from signoff.postdeploy.control.values import expected_value, leaves, unmapped
from tests.conftest import FIXTURES, SuiteRun, anvil_available

CONTROL = FIXTURES / "reference-control" / "signoff.toml"
ROLES = FIXTURES / "reference-control-roles" / "signoff.toml"
DEFECTIVE = FIXTURES / "defective"
MODULES = ("JobRegistry", "StakeManager", "FeePool", "EnergyOracle", "Thermostat", "SystemPause")
SAFE = "0x9db516B65E1e6Fd5e6f296FC85Ad7b43Fafc6885"
SYSTEM_PAUSE = "0x5CF7F96627F3C9903763d128A1cc5D97556A6b99"
THERMOSTAT = "0x6D411e0A54382eD43F02410Ce1c7a7c122afA6E1"
TIMELOCK = "0xcbD945E77ADB65651F503723aC322591f3435cC5"  # the roles reference's GovernanceTimelock


def _copy_reference(destination: Path) -> None:
    """The control reference without its Solidity sources (the artifacts are what runs)."""
    source = FIXTURES / "reference-control"
    shutil.copytree(source, destination, ignore=lambda at, _: ["contracts"] if Path(at) == source else [])


def _failed(run: SuiteRun) -> set[str]:
    evidence = run.evidence()
    not_applicable = {c["nodeid"].split("::", 1)[1] for c in evidence["checks"] if c.get("result") == "not applicable"}
    return {t for t, o in run.outcomes().items() if o in ("failed", "error") and t not in not_applicable}


def _rows(run: SuiteRun, table: str) -> list[dict[str, Any]]:
    return list(run.evidence()["tables"].get(table, {}).get("rows", []))


def test_the_control_reference_passes_postdeploy_strictly(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "postdeploy", "--signoff-strict", target=CONTROL)
    assert run.result.ret == 0, run.output
    config = _rows(run, "PD-CFG")
    assert len(config) == 15 and {r["verdict"] for r in config} == {"pass"}, config
    tokens = next(r for r in config if r["key"] == "maxJobRewardTokens")
    assert tokens["expected"] == "1000 tokens (1000000000000000000000)" == tokens["onchain"]
    control = {r["module"]: r for r in _rows(run, "PD-CTL")}
    assert {r["status"] for r in control.values()} == {"ok"}, control
    assert control["feePool (FeePool)"]["declared"] == "ownable2step" == control["feePool (FeePool)"]["detected"]
    assert control["thermostat (Thermostat)"]["controlled_by"] == (
        f"SystemPause ({SYSTEM_PAUSE}) -> Governance ({SAFE}) (Safe 2 of 3)"
    )
    drill = [r["step"] for r in _rows(run, "PD-PSE-drill")]
    assert "SystemPause.pauseAll() by Governance (" + SAFE + ")" in drill, drill
    assert "JobRegistry.createJob while paused" in drill and "Thermostat.tick after unpausing" in drill, drill
    assert {r["verdict"] for r in _rows(run, "PD-PSE-drill")} == {"pass"}
    wiring = {r["getter"]: r for r in _rows(run, "PD-WIRE")}
    assert wiring["JobRegistry.feePool"]["verdict"] == "pass" and wiring["SystemPause.version"]["actual"] == 2
    events = _rows(run, "PD-EVT")
    assert any(r["event"] == "GovernanceUpdated" and r["why"] == "declared for systemPause" for r in events), events
    assert any(r["event"] == "SignerUpdated" for r in events)
    checks = {c["nodeid"].split("::", 1)[1]: c for c in run.evidence()["checks"]}
    assert checks["test_pd_plan_empty"]["data"]["transactions"] == 0
    # PD-OWN leaves the declared modules to PD-CTL, and says so once per module
    assert checks["test_pd_own[Thermostat]"]["result"] == "not applicable"
    assert "judged in test_pd_ctl[Thermostat] (PD-CTL)" in checks["test_pd_own[Thermostat]"]["message"]
    surface = (run.reports / "eth-tester-owner-surface.md").read_text()
    assert (
        "## Modules" in surface
        and "(Safe 2 of 3)" in surface
        and "Empty: the chain equals the reviewed config" in surface
    )
    assert "| fee-pool.json | burnPct | FeePool.burnPct | percent | 1 % | 1 % | pass |" in surface
    assert checks["test_pd_ctl_surface"]["data"]["owner_surface_markdown"] == surface


def test_the_roles_shaped_reference_passes_with_only_its_mapping(run_suite) -> None:
    """A second shape: AccessControl modules, a pause authority that holds pause rights (PAUSER_ROLE,
    brake()) instead of owning the modules, a roster that cannot be enumerated, one nested params.json,
    a 6-decimal token, other setter and pause names, no relay, no version()."""
    run: SuiteRun = run_suite("-m", "postdeploy", "--signoff-strict", target=ROLES)
    assert run.result.ret == 0, run.output
    config = {r["key"]: r for r in _rows(run, "PD-CFG")}
    assert config["registry.listingFeeUsd"]["onchain"] == "25.5 tokens (25500000)"
    assert config["vault.feeBps"]["onchain"] == "30 bps" and config["oracles.members"]["verdict"] == "pass"
    assert "extras cannot be listed" in config["oracles.members"]["onchain"]
    pause = {r["module"]: r for r in _rows(run, "PD-PSE")}
    assert pause["Vault"]["pauser"] == "PAUSER_ROLE: held by EmergencyBrake"
    assert pause["OracleHub"]["pauser"].startswith("EmergencyBrake (")
    drill = [r["step"] for r in _rows(run, "PD-PSE-drill")]
    assert f"EmergencyBrake.haltAll() by Governance ({SAFE})" in drill and "Vault.isHalted() after haltAll()" in drill
    control = {r["module"]: r for r in _rows(run, "PD-CTL")}
    assert control["Vault (Vault)"]["controlled_by"] == f"GovernanceTimelock ({TIMELOCK}) (timelock, min delay 86400 s)"
    assert control["OracleHub (OracleHub)"]["controlled_by"] == f"Governance ({SAFE}) (Safe 2 of 3)"
    checks = {c["nodeid"].split("::", 1)[1]: c for c in run.evidence()["checks"]}
    assert checks["test_pd_own[GovernanceTimelock]"]["outcome"] == "passed"  # it administers itself
    wiring = {r["getter"]: r["verdict"] for r in _rows(run, "PD-WIRE")}
    assert wiring["OracleHub.brake"] == wiring["Registry.vault"] == "pass"
    assert wiring["Vault.version"] == "not applicable"
    events = _rows(run, "PD-EVT")
    assert sum(r["event"] == "OracleSet" for r in events) == 3


VARIANTS: dict[str, tuple[set[str], str]] = {
    "control-setter-unguarded": (
        {"test_pd_plan_guarded"},
        "FeePool.setBurnPct(uint256) succeeds for an outsider (",
    ),
    "control-roles-extra-oracle": (
        {"test_pd_evt_roster"},
        "params.json:oracles.members: OracleHub.OracleSet at block",
    ),
    "control-roles-brake-not-held": (
        {"test_pd_pse[Vault]", "test_pd_pse_drill"},
        "Vault: EmergencyBrake does not hold PAUSER_ROLE, so the pause authority EmergencyBrake cannot pause it",
    ),
    "control-roles-admin-shared": (
        {"test_pd_ctl[Vault]"},
        "Vault: DEFAULT_ADMIN_ROLE is also held by Deployer (0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf)",
    ),
    "control-roles-fee-drift": (
        {"test_pd_cfg[params.json:vault.feeBps]", "test_pd_plan_empty"},
        "params.json: vault.feeBps is 30 bps in the reviewed config, but Vault.feeBps returns 45 bps",
    ),
    "control-parameter-drift": (
        {"test_pd_cfg[thermodynamics.json:systemTemperature]", "test_pd_plan_empty"},
        "thermodynamics.json: systemTemperature is 100 in the reviewed config, but Thermostat.systemTemperature "
        "returns 150",
    ),
    "control-config-not-applied": (
        {"test_pd_cfg[job-registry.json:feePct]", "test_pd_plan_empty"},
        "job-registry.json: feePct is 6 % in the reviewed config, but JobRegistry.feePct returns 5 %",
    ),
    "control-unmapped-key": (
        {"test_pd_cfg[job-registry.json:(every key mapped or ignored)]"},
        "key maxActiveJobs is neither mapped nor ignored, so a change to it would reach production unchecked",
    ),
    "control-eoa-governance": (
        {f"test_pd_ctl[{m}]" for m in MODULES},
        "is finally controlled by Owner1 (0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF) (EOA: a single key)",
    ),
    "control-module-not-held-by-pause": (
        {"test_pd_pse[Thermostat]"},
        f"Thermostat: governance() is Governance ({SAFE}), not the pause authority SystemPause",
    ),
    "control-pending-stranger": (
        {"test_pd_ctl[FeePool]"},
        "a two-step ownership transfer to 0x000000000000000000000000000000000000bEEF is under way",
    ),
    "control-treasury-is-owner": (
        {"test_pd_rule_treasury"},
        f"fee-pool.json:treasury: the treasury Governance ({SAFE}) is also",
    ),
    "control-extra-signer": (
        {"test_pd_cfg[energy-oracle.json:signers]", "test_pd_plan_empty", "test_pd_evt_roster"},
        "added 0x000000000000000000000000000000000000bEEF, which the reviewed config does not list",
    ),
    "control-wrong-wiring": (
        {"test_pd_wire_modules"},
        "JobRegistry.feePool() is StakeManager (0xDe09E74d4888Bc4e65F589e8c13Bce9F71DdF4c7), expected FeePool",
    ),
    "control-ownership-round-trip": (
        {"test_pd_evt_control"},
        "JobRegistry: OwnershipTransferred at block 41 handed control to Owner1",
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_control_variant_fails_exactly_its_checks(run_suite, variant: str) -> None:
    failing, message = VARIANTS[variant]
    run: SuiteRun = run_suite("-m", "control", target=DEFECTIVE / variant / "signoff.toml")
    assert run.result.ret == 1, run.output
    assert _failed(run) == failing, run.outcomes()
    assert message in run.output
    assert "Traceback" not in run.output


def test_a_change_behind_a_timelock_is_scheduled_then_executed(run_suite) -> None:
    from eth_abi.abi import decode

    run: SuiteRun = run_suite("-m", "change_plan", target=DEFECTIVE / "control-roles-fee-drift" / "signoff.toml")
    assert run.result.ret == 1, run.output
    [row] = _rows(run, "PD-PLAN")
    assert row["route"] == f"Vault.setFeeBps(uint16) <- GovernanceTimelock ({TIMELOCK}).schedule, execute after 86400 s"
    assert row["signer"] == f"Governance ({SAFE})"  # the timelock's proposer
    prefix = f"eth-tester-change-plan-{SAFE[:10].lower()}"
    schedule = json.loads((run.reports / f"{prefix}.json").read_text())["transactions"]
    execute = json.loads((run.reports / f"{prefix}-execute.json").read_text())["transactions"]
    assert [t["to"] for t in schedule] == [TIMELOCK] == [t["to"] for t in execute]
    target, value, inner, _, _, delay = decode(
        ["address", "uint256", "bytes", "bytes32", "bytes32", "uint256"], bytes.fromhex(schedule[0]["data"][10:])
    )
    assert (target.lower(), value, delay) == ("0x2946259e0334f33a064106302415ad3391bed384", 0, 86400)
    assert inner.hex() == "023b1fc9" + f"{30:064x}"  # setFeeBps(30)


def test_the_change_plan_is_a_safe_batch_routed_through_the_pause_authority(run_suite) -> None:
    from eth_abi.abi import encode
    from eth_utils import keccak

    run: SuiteRun = run_suite("-m", "change_plan", target=DEFECTIVE / "control-parameter-drift" / "signoff.toml")
    assert run.result.ret == 1, run.output
    plan = _rows(run, "PD-PLAN")
    assert [(r["call"], r["route"], r["simulated"]) for r in plan] == [
        (
            "Thermostat.setSystemTemperature(100)",
            "Thermostat.setSystemTemperature(int256) <- SystemPause.executeGovernanceCall",
            "succeeds as the signer",
        )
    ]
    batch = json.loads((run.reports / f"eth-tester-change-plan-{SAFE[:10].lower()}.json").read_text())
    inner = keccak(text="setSystemTemperature(int256)")[:4] + encode(["int256"], [100])
    relay = keccak(text="executeGovernanceCall(address,bytes)")[:4] + encode(["address", "bytes"], [THERMOSTAT, inner])
    assert batch["chainId"] == "131277322940537" or batch["chainId"].isdigit()
    assert batch["meta"]["createdFromSafeAddress"] == SAFE
    assert batch["transactions"] == [
        {
            "to": SYSTEM_PAUSE,
            "value": "0",
            "data": "0x" + relay.hex(),
            "contractMethod": None,
            "contractInputsValues": None,
        }
    ]


def test_a_target_without_control_says_not_applicable_once(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "control", target=FIXTURES / "reference" / "signoff.toml")
    assert run.result.ret == 1, run.output  # a gate that could not look is not green
    assert "no check passed (1 not applicable): nothing was verified" in run.output
    [check] = run.evidence()["checks"]
    assert check["result"] == "not applicable" and "no [control] in" in check["message"]
    assert 'add [control] config = "config"' in check["message"]


def test_a_config_file_that_is_not_json_fails_every_control_check_with_its_line(run_suite, tmp_path: Path) -> None:
    copy = tmp_path / "protocol"
    _copy_reference(copy)
    (copy / "config" / "fee-pool.json").write_text('{"burnPct": 1,\n  "treasury": }\n')
    run: SuiteRun = run_suite("-m", "config_drift", target=copy / "signoff.toml")
    assert run.result.ret == 1, run.output
    assert "fee-pool.json: the config file is not valid JSON (Expecting value at line 2, column 15)" in run.output
    assert "Traceback" not in run.output


def test_an_invalid_config_value_fails_its_own_key(run_suite, tmp_path: Path) -> None:
    copy = tmp_path / "protocol"
    _copy_reference(copy)
    data = json.loads((copy / "config" / "job-registry.json").read_text())
    data["jobStakeTokens"] = "one"
    (copy / "config" / "job-registry.json").write_text(json.dumps(data))
    run: SuiteRun = run_suite("-m", "config_drift", target=copy / "signoff.toml")
    assert _failed(run) == {"test_pd_cfg[job-registry.json:jobStakeTokens]"}, run.outcomes()
    assert 'jobStakeTokens = "one" must be a number of whole tokens' in run.output


@pytest.mark.skipif(not anvil_available(), reason="needs anvil (npm ci)")
def test_the_control_reference_passes_on_anvil(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "control", "--network", "anvil", target=CONTROL)
    assert run.result.ret == 0, run.output
    assert "failed" not in run.outcomes().values()


@pytest.fixture(scope="module")
def live_control(tmp_path_factory: pytest.TempPathFactory):
    """anvil with the control reference rehearsed onto it, behind a recording proxy, as network "local"."""
    from signoff.chain import Endpoint
    from signoff.chain.anvil import AnvilNode, find_anvil
    from signoff.chain.backends import open_endpoint
    from signoff.chain.proxy import RecordingRpcProxy
    from signoff.deploy.rehearsal import rehearse
    from signoff.session import resolve_session

    folder = tmp_path_factory.mktemp("live-control") / "protocol"
    _copy_reference(folder)
    settings = resolve_session(CONTROL, "anvil")
    assert settings.deploy_plan is not None
    with AnvilNode(find_anvil(FIXTURES)) as node:
        chain = open_endpoint(Endpoint("anvil", node.url, 31337, "anvil"))
        system = rehearse(chain, settings.target, settings.artifacts, settings.deploy_plan, governance="@Governance")
        safe = system.safes["Governance"].address
        (folder / "deployments").mkdir()
        (folder / "deployments" / "local.json").write_text(json.dumps({"Governance": safe, **system.addresses}))
        with RecordingRpcProxy(node.url) as proxy:
            target = folder / "signoff.toml"
            target.write_text(
                target.read_text()
                + f'\n[networks.local]\nrpc_url = "{proxy.url}"\nchain_id = 31337\n'
                + f'deployments = "deployments/local.json"\ngovernance = ["{safe}"]\n'
                + f'deployer = "{system.accounts["Deployer"]}"\n'
            )
            yield {"target": target, "proxy": proxy}


@pytest.mark.skipif(not anvil_available(), reason="needs anvil (npm ci)")
def test_the_control_plane_on_a_live_network_is_read_only(run_suite, live_control) -> None:
    proxy = live_control["proxy"]
    run: SuiteRun = run_suite("-m", "control", "--network=local", target=live_control["target"])
    assert run.result.ret == 0, run.output
    outcomes = run.outcomes()
    assert outcomes["test_pd_pse_drill"] == "skipped" and "NOT RUN on live network local" in run.output
    assert {o for t, o in outcomes.items() if t != "test_pd_pse_drill"} == {"passed"}, outcomes
    assert "eth_getLogs" in proxy.methods() and "eth_call" in proxy.methods()
    assert proxy.write_methods() == (), proxy.write_methods()
    forked: SuiteRun = run_suite(
        "-m", "pause_authority", "--network=local", "--signoff-fork", target=live_control["target"]
    )
    assert forked.result.ret == 0, forked.output
    assert forked.outcomes()["test_pd_pse_drill"] == "passed"
    assert proxy.write_methods() == (), proxy.write_methods()


# -- the pure parts ---------------------------------------------------------------------------------


def _param(unit: str, **kwargs: Any) -> ParamMapping:
    return ParamMapping(file="f.json", key="k", contract="C", getter="k", unit=unit, **kwargs)


def test_units_turn_config_values_into_on_chain_values() -> None:
    source = Path("config/f.json")
    assert expected_value(_param("tokens"), "1.5", source) == 15 * 10**17
    assert expected_value(_param("tokens", decimals=6), 100, source) == 100_000_000
    assert expected_value(_param("percent"), 5, source) == 5
    assert expected_value(_param("integer"), "-10", source) == -10
    assert expected_value(_param("address-set"), {SAFE.lower(): True, THERMOSTAT: False}, source) == frozenset({SAFE})
    problems = {
        ("tokens", "one"): "must be a number of whole tokens",
        ("tokens", "0.0000001"): "has more decimal places than the token's 6",
        ("percent", 101): "is outside 0..100 (unit percent)",
        ("bps", 10_001): "is outside 0..10000 (unit bps)",
        ("seconds", -1): "must not be negative",
        ("integer", 1.5): "must be a whole number",
        ("bool", "yes"): "must be true or false",
        ("address", "0x9DB516B65E1e6Fd5e6f296FC85Ad7b43Fafc6885"): "wrong EIP-55 checksum",
        ("address-set", "0xabc"): "must be a list of addresses or a map of address -> true",
    }
    for (unit, raw), message in problems.items():
        decimals = {"decimals": 6} if raw == "0.0000001" else {}
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            expected_value(_param(unit, **decimals), raw, source)


def test_every_key_is_mapped_or_ignored() -> None:
    data = {"a": 1, "nested": {"x": 1, "y": 2}, "allow": {SAFE: True}, "notes": {"deep": {"er": 1}}}
    assert leaves(data, ["allow"])["allow"] == {SAFE: True}
    assert unmapped(data, ["a", "allow", "nested.x"], ["notes"]) == ["nested.y"]
    assert unmapped(data, ["a", "allow", "nested.x", "nested.y"], ["notes"]) == []


FEE_POOL = '[[control.file]]\npath = "fee-pool.json"\ncontract = "FeePool"\n'


def _control(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "fee-pool.json").write_text('{"burnPct": 1}')
    target = tmp_path / "signoff.toml"
    target.write_text('[control]\nconfig = "config"\n' + extra)
    return target


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            FEE_POOL + 'keys.burnPct = "percentage"\n',
            "unit 'percentage' is not one of integer, wei, percent",
        ),
        ('[[control.file]]\npath = "nope.json"\ncontract = "FeePool"\n', "is not a file in [control] config"),
        (
            FEE_POOL + 'keys.burnPct = "percent"\nignore = { burnPct = "x" }\n',
            "both maps and ignores burnPct",
        ),
        (
            FEE_POOL + 'keys.burnPct = { unit = "percent", decimals = 6 }\n',
            "decimals applies to unit 'tokens' only",
        ),
        (
            FEE_POOL + 'keys.burnPct = { unit = "percent", getter = "burnPct()" }\n',
            "must be a function name",
        ),
        ('pause_authorty = "SystemPause"\n', "unknown key(s) pause_authorty in [control]"),
    ],
)
def test_control_settings_errors_name_the_key(tmp_path: Path, extra: str, message: str) -> None:
    import tomllib

    target = _control(tmp_path, extra)
    with pytest.raises(ConfigError) as error:
        parse_control(target, tomllib.loads(target.read_text())["control"])
    assert message in str(error.value), str(error.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"modules": {"feePool": {"type": "owned"}}}, "modules.feePool.type = 'owned' is not one of ownable"),
        ({"modules": {"feePool": {"type": "ownable", "admin": SAFE}}}, "modules.feePool has key(s) admin"),
        ({"governance": "0x123", "modules": {}}, 'governance = "0x123" must be a 0x address'),
        ({"modules": []}, '"modules" must be an object'),
    ],
)
def test_owner_control_file_errors_name_the_key(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_owner_control(document, Path("config/owner-control.json"))
    assert message in str(error.value), str(error.value)


def test_the_committed_variants_are_what_the_generator_writes(tmp_path: Path) -> None:
    import runpy

    generator = runpy.run_path(str(FIXTURES / "tools" / "make_control_variants.py"))
    generator["main"](tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert {p.parts[0] for p in written} == set(VARIANTS)
    for path in written:
        assert (tmp_path / path).read_bytes() == (DEFECTIVE / path).read_bytes(), f"rerun the generator: {path}"
