"""PD-DSP and PD-GAS: their pure parts, and the real suites on the reference (green on eth-tester
and anvil), on each defective fixture (exactly the intended test fails, with its message), on a
live network (read-only: live routes checked, drills not run) and on its fork (drills run)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from signoff.artifacts.hashing import keccak256
from signoff.artifacts.loader import load_artifacts
from signoff.deploy.manifest import PlanRoute, checksum, fold_proof, load_plan, verify_proof
from signoff.deploy.system import REHEARSAL, DeployedSystem
from signoff.errors import ConfigError
from signoff.postdeploy import dispatcher as dsp
from signoff.postdeploy import gas
from signoff.postdeploy.settings import GasBudgets
from signoff.target import load_target
from tests.conftest import FIXTURES, REFERENCE, SuiteRun, anvil_available

DEFECTIVE = FIXTURES / "defective"
PLAN = load_plan(FIXTURES / "reference" / "dispatcher.plan.json")
BASELINE = FIXTURES / "reference" / "gas-baseline.json"
MARKERS = "dispatcher or gas"
ASPECT_TESTS = {f"test_pd_dsp[{aspect}]" for aspect in dsp.ASPECTS}
# the reference ManifestDispatcher's errors and events (its lifecycle interface, as detected)
BAD_EPOCH = "BadEpoch(uint64,uint64)"
BAD_PROOF = "BadProof(bytes4)"
UNKNOWN_SELECTOR = "UnknownSelector(bytes4)"
COMMITTED = "Committed(bytes32,uint256,uint256)"
ACTIVATED = "Activated(bytes32,uint256)"
ROUTES_TEST = "test_pd_dsp_declared_routes[ManifestDispatcher]"  # read-only, like live-routes
ALL_TESTS = {*ASPECT_TESTS, "test_pd_gas[workflow]", ROUTES_TEST}
needs_anvil = pytest.mark.skipif(not anvil_available(), reason="needs anvil (npm ci)")


# -- pure parts -------------------------------------------------------------------------------------


def test_custom_errors_round_trip_and_other_data_is_not_them() -> None:
    data = dsp.encode_error(BAD_EPOCH, 2, 5)
    assert data[:4] == keccak256(b"BadEpoch(uint64,uint64)")[:4]
    assert dsp.error_args(data, BAD_EPOCH) == (2, 5)
    assert dsp.error_args(data, BAD_PROOF) is None
    assert dsp.error_args(data[:20], BAD_EPOCH) is None  # truncated: not decodable
    assert dsp.error_args(b"", UNKNOWN_SELECTOR) is None
    selector = bytes.fromhex("5c36b186")
    assert dsp.error_args(dsp.encode_error(UNKNOWN_SELECTOR, selector), UNKNOWN_SELECTOR) == (selector,)


def test_drill_manifest_proves_every_route_and_a_tampered_proof_fails() -> None:
    extra = PlanRoute(
        0, bytes.fromhex("2f0e14fb"), "MAX_CHUNK_SIZE()", "DeterministicChunkFactory", bytes(20), bytes(32)
    )
    manifest = dsp.drill_manifest(PLAN, 2, [*PLAN.routes, extra])
    assert manifest.epoch == 2 and len(manifest.routes) == len(PLAN.routes) + 1
    assert manifest.root != PLAN.root
    for route in manifest.routes:
        assert route.proof is not None and route.is_right is not None
        assert verify_proof(route.leaf, route.proof, route.is_right, manifest.root), route.where
        forged = dsp.tampered(route.proof)
        assert len(forged) == len(route.proof)
        assert fold_proof(route.leaf, forged, route.is_right) != manifest.root
    assert dsp.next_manifest(PLAN, 2).root == PLAN.root  # the plan's routes alone: the plan's root


def test_events_are_filtered_by_emitter_and_topic() -> None:
    dispatcher = "0x51a240271AB8AB9f9a21C82d9a85396b704E164d"
    root, epoch = keccak256(b"root"), (7).to_bytes(32, "big")
    activated = {"address": dispatcher, "topics": [dsp.event_topic(ACTIVATED), root, epoch], "data": b""}
    from_elsewhere = {**activated, "address": "0x" + "11" * 20}
    committed = {
        "address": dispatcher.lower(),
        "topics": ["0x" + dsp.event_topic(COMMITTED).hex(), root, epoch],
        "data": "0x" + (123).to_bytes(32, "big").hex(),
    }
    logs = [activated, from_elsewhere, committed]
    assert dsp.events(logs, dispatcher, ACTIVATED) == [activated]
    (found,) = dsp.events(logs, dispatcher, COMMITTED)
    assert dsp.topic_word(found, 1) == root and dsp.data_word(found, 0) == 123


def _reference_system() -> DeployedSystem:
    """The reference's names and artifacts at the plan's addresses (no chain needed)."""
    artifacts = load_artifacts(FIXTURES / "reference" / "artifacts")
    names = ["DeterministicChunkFactory", "PingFacet", "VaultFacet", "ManifestDispatcher", "PayRoxProxyRouter"]
    addresses = {name: checksum(keccak256(name.encode())[12:]) for name in names}
    assert PLAN.factory is not None
    addresses["DeterministicChunkFactory"] = checksum(PLAN.factory.address)
    for facet in PLAN.facets:
        addresses[facet.name] = checksum(facet.address)
    return DeployedSystem(
        origin=REHEARSAL,
        source="plan",
        network="eth-tester",
        chain_id=1,
        addresses=addresses,
        artifacts={name: artifacts.resolve(name) for name in names},
        expected_args={},
        governance=("0x" + "22" * 20,),
    )


def test_probe_is_an_unrouted_argument_free_function_pure_first() -> None:
    system = _reference_system()
    ctx = dsp.dispatcher_context(system, "ManifestDispatcher", PLAN)
    probes = dsp.probe_candidates(system, ctx)
    # PingFacet and VaultFacet have no function the plan leaves out: the factory's constant comes first.
    assert (probes[0].contract, probes[0].signature, probes[0].synthetic) == (
        "DeterministicChunkFactory",
        "MAX_CHUNK_SIZE()",
        False,
    )
    routed = {r.selector for r in PLAN.routes} | ctx.own_selectors()
    assert all(p.selector not in routed for p in probes)
    assert "paused()" not in {p.signature for p in probes}  # the dispatcher answers paused() itself
    assert probes[-1].synthetic and probes[-1].signature == dsp.SYNTHETIC_PROBE


def test_dispatcher_context_needs_an_artifact_and_a_governance() -> None:
    system = _reference_system()
    del system.artifacts["ManifestDispatcher"]
    with pytest.raises(ConfigError, match="has no artifact"):
        dsp.dispatcher_context(system, "ManifestDispatcher", PLAN)
    system = _reference_system()
    system.governance = ()
    with pytest.raises(ConfigError, match=r"set \[postdeploy\] governance"):
        dsp.dispatcher_context(system, "ManifestDispatcher", PLAN)


MEASURED = gas.GasMeasurement(commit=53_564, apply=104_749, activate=32_735, selectors=2)
BUDGETS = GasBudgets(selectors=2, baseline=Path("gas-baseline.json"), tolerance=0.2)
COMMAND = "pytest -m gas --signoff-update-snapshots --signoff-target=t.toml"


def _judge(baseline: gas.GasBaseline | None, budgets: GasBudgets = BUDGETS, shown: str | None = "gas-baseline.json"):
    return gas.judge_gas(MEASURED, budgets, baseline, baseline_shown=shown, command=COMMAND, subject="D")


def _baseline(**changes: int) -> gas.GasBaseline:
    values = {**MEASURED.values(), **changes}
    return gas.GasBaseline(values, MEASURED.selectors, "eth-tester")


def test_gas_within_budgets_and_baseline_gives_five_passing_rows() -> None:
    assert (MEASURED.apply_per_selector, MEASURED.workflow) == (52_374, 191_048)
    result = _judge(_baseline(commit=52_000))
    assert result.findings == []
    assert [r["operation"] for r in result.rows] == [
        "commitRoot",
        "applyRoutes (2 selectors)",
        "applyRoutes per selector",
        "activateCommittedRoot",
        "workflow (commit + apply + activate)",
    ]
    assert [r["order"] for r in result.rows] == [1, 2, 3, 4, 5]
    assert result.rows[0] == {
        "order": 1,
        "operation": "commitRoot",
        "budget": 80_000,
        "measured": 53_564,
        "baseline": 52_000,
        "delta": "+3.0%",
        "verdict": "pass",
    }
    assert result.rows[1]["budget"] == 180_000  # 2 x apply_per_selector
    assert {r["verdict"] for r in result.rows} == {"pass"}


def test_gas_over_budget_and_regressions_are_errors_naming_the_numbers() -> None:
    budgets = GasBudgets(commit=50_000, selectors=2, baseline=Path("b.json"), tolerance=0.2)
    result = _judge(_baseline(activate=20_000), budgets)
    messages = [f.message for f in result.findings if f.is_error]
    assert messages[0].startswith(
        "commitRoot used 53,564 gas (receipt gasUsed), over its budget of 50,000 ([postdeploy.gas] commit)"
    )
    assert messages[1].startswith(
        "activateCommittedRoot used 32,735 gas, +63.7% against the baseline 20,000 in gas-baseline.json "
        "(tolerance 20%: at most 24,000)"
    )
    assert COMMAND in messages[1]
    assert len(messages) == 2
    assert [r["verdict"] for r in result.rows] == ["fail", "pass", "pass", "fail", "pass"]


def test_gas_baseline_missing_mismatched_or_unconfigured() -> None:
    (missing,) = _judge(None).findings
    assert missing.is_error and missing.message == (
        "gas baseline gas-baseline.json ([postdeploy.gas] baseline) does not exist, so a gas regression cannot be "
        f"told. Next step: write it from this build with `{COMMAND}`, review and commit it"
    )
    (mismatch,) = _judge(gas.GasBaseline(MEASURED.values(), 5, "eth-tester")).findings
    assert mismatch.is_error and "measured a workflow of 5 selector(s), this run applies 2" in mismatch.message
    (unconfigured,) = _judge(None, shown=None).findings
    assert unconfigured.severity == "warning" and "only the budgets are checked" in unconfigured.message
    cheaper = _judge(_baseline(commit=90_000)).findings
    assert [f.severity for f in cheaper] == ["info"]


def test_gas_baseline_file_round_trips_and_bad_files_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "gas-baseline.json"
    path.write_text(gas.render_baseline(MEASURED, "anvil"))
    loaded = gas.load_baseline(path, "gas-baseline.json", COMMAND)
    assert loaded == gas.GasBaseline(MEASURED.values(), 2, "anvil")
    assert gas.load_baseline(tmp_path / "absent.json", "absent.json", COMMAND) is None
    document = json.loads(path.read_text())
    document["apply"] = "104749"
    with pytest.raises(ConfigError, match=r"'apply' must be a positive integer \(gas units\), found '104749'"):
        gas.parse_baseline(json.dumps(document), "gas-baseline.json", COMMAND)
    with pytest.raises(ConfigError, match="not valid JSON"):
        gas.parse_baseline("{", "gas-baseline.json", COMMAND)
    assert gas.delta(103, 100) == "+3.0%" and gas.delta(97, 100) == "-3.0%"


def test_committed_reference_baseline_matches_its_settings_and_budgets() -> None:
    target = load_target(REFERENCE)
    from signoff.postdeploy.settings import load_postdeploy

    budgets = load_postdeploy(target).gas
    assert budgets.baseline == BASELINE
    baseline = gas.load_baseline(BASELINE, BASELINE.name, COMMAND)
    assert baseline is not None and baseline.selectors == budgets.selectors
    values = baseline.values
    assert values["apply_per_selector"] == values["apply"] // baseline.selectors
    assert values["workflow"] == values["commit"] + values["apply"] + values["activate"]
    assert values["commit"] <= budgets.commit and values["activate"] <= budgets.activate
    assert values["apply_per_selector"] <= budgets.apply_per_selector and values["workflow"] <= budgets.workflow


# -- the suites ---------------------------------------------------------------------------------------


def _assert_reference_green(run: SuiteRun) -> dict[str, Any]:
    assert run.result.ret == 0, run.output
    assert run.outcomes() == dict.fromkeys(ALL_TESTS, "passed"), run.output
    tables = run.evidence()["tables"]
    assert {r["verdict"] for r in tables["PD-DSP"]["rows"]} == {"pass"}
    assert {r["verdict"] for r in tables["PD-GAS"]["rows"]} == {"pass"}
    return tables


def test_reference_passes_on_eth_tester(run_suite) -> None:
    tables = _assert_reference_green(run_suite("-m", MARKERS))
    committed = json.loads(BASELINE.read_text())
    measured = {r["operation"]: r for r in tables["PD-GAS"]["rows"]}
    assert measured["commitRoot"]["measured"] == committed["commit"]  # eth-tester wrote the baseline
    assert measured["workflow (commit + apply + activate)"]["delta"] == "+0.0%"
    aspects = {r["aspect"] for r in tables["PD-DSP"]["rows"]}
    assert "no-early-routes: call MAX_CHUNK_SIZE() through the dispatcher before activation" in aspects


@needs_anvil
def test_reference_passes_on_anvil(run_suite) -> None:
    _assert_reference_green(run_suite("-m", MARKERS, "--network=anvil"))


def test_routes_live_before_activation_fails_no_early_routes(run_suite) -> None:
    run: SuiteRun = run_suite("-m", MARKERS, target=DEFECTIVE / "pd-routes-live-before-activation" / "signoff.toml")
    record = run.assert_fails_only(
        "test_pd_dsp[no-early-routes]",
        "a route answers before activation: the timelock gates bookkeeping but not behaviour. MAX_CHUNK_SIZE() "
        "(0x2f0e14fb) -> DeterministicChunkFactory",
    )
    assert "instead of reverting UnknownSelector(0x2f0e14fb)" in record["message"]


def test_apply_accepting_a_wrong_codehash_fails_apply_proofs(run_suite) -> None:
    run: SuiteRun = run_suite("-m", MARKERS, target=DEFECTIVE / "pd-apply-accepts-wrong-codehash" / "signoff.toml")
    route = PLAN.routes[0]
    run.assert_fails_only(
        "test_pd_dsp[apply-proofs]",
        f"apply accepted a route whose codehash 0x{dsp.WRONG_CODEHASH.hex()} differs from the facet's "
        f"0x{route.codehash.hex()}: {route.signature} (0x{route.selector.hex()}) -> {route.facet}",
    )


def test_gas_regression_against_the_committed_baseline_fails_pd_gas(run_suite) -> None:
    run: SuiteRun = run_suite("-m", MARKERS, target=DEFECTIVE / "pd-gas-regression" / "signoff.toml")
    per = json.loads(BASELINE.read_text())["apply_per_selector"]
    record = run.assert_fails_only(
        "test_pd_gas[workflow]",
        f"applyRoutes per selector used {per:,} gas, {gas.delta(per, 40_000)} against the baseline 40,000 in "
        "gas-baseline.json (tolerance 20%: at most 48,000)",
    )
    assert "commitRoot used" not in record["message"]  # only the regressed operations are reported


def test_workflow_over_its_budget_fails_pd_gas(run_suite) -> None:
    run: SuiteRun = run_suite("-m", MARKERS, target=DEFECTIVE / "pd-gas-over-budget" / "signoff.toml")
    record = run.assert_fails_only(
        "test_pd_gas[workflow]",
        "workflow (commit + apply + activate) used 292,452 gas (receipt gasUsed), over its budget of 250,000 "
        "([postdeploy.gas] workflow)",
    )
    assert "applyRoutes per selector used" not in record["message"]  # 41,230 per selector: within 90,000


def _reference_copy(folder: Path) -> Path:
    source = FIXTURES / "reference"
    shutil.copytree(source, folder, ignore=lambda at, _: ["contracts"] if Path(at) == source else [])
    return folder / "signoff.toml"


def test_update_snapshots_writes_the_committed_baseline(run_suite, tmp_path: Path) -> None:
    """The documented command rewrites exactly the committed file (from a checkout without one)."""
    target = _reference_copy(tmp_path / "protocol")
    written = target.parent / "gas-baseline.json"
    written.unlink()
    run: SuiteRun = run_suite(
        str(Path("suites/postdeploy/test_pd_gas.py")), "--signoff-update-snapshots", target=target
    )
    assert run.result.ret == 0, run.output
    assert "wrote the gas baseline gas-baseline.json" in run.output
    assert written.read_text() == BASELINE.read_text()


# -- a live network: live routes read-only, drills not run; on its fork the drills run ----------------------


@needs_anvil
def test_live_network_checks_live_routes_only(run_suite, live_network: dict[str, Any]) -> None:
    run: SuiteRun = run_suite("-m", MARKERS, "--network=local", "-rs", target=live_network["target"])
    assert run.result.ret == 0, run.output
    expected = dict.fromkeys(ALL_TESTS - {"test_pd_dsp[live-routes]", ROUTES_TEST}, "skipped")
    assert run.outcomes() == {**expected, "test_pd_dsp[live-routes]": "passed", ROUTES_TEST: "passed"}, run.output
    assert "NOT RUN on live network local: this drill sends transactions" in run.output
    assert live_network["proxy"].write_methods() == ()


@needs_anvil
def test_live_network_fork_runs_the_drills(run_suite, live_network: dict[str, Any]) -> None:
    run: SuiteRun = run_suite("-m", MARKERS, "--network=local", "--signoff-fork", target=live_network["target"])
    assert run.outcomes() == dict.fromkeys(ALL_TESTS, "passed"), run.output
    assert live_network["proxy"].write_methods() == ()
