"""PD-EMG and PD-C2: their pure parts, and the real suites on the reference (eth-tester and anvil)
and on their defective fixtures ("pd-pause-irreversible", "pd-factory-prediction-off",
"pd-c2-networks-differ"), where the whole postdeploy phase runs and exactly the intended test fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signoff.artifacts.hashing import keccak256
from signoff.errors import ConfigError
from signoff.postdeploy import create2 as c2
from signoff.postdeploy import emergency as emg
from signoff.postdeploy.settings import Create2Expectation
from signoff.target import load_target
from tests.conftest import FIXTURES, SuiteRun, anvil_available

DEFECTIVE = FIXTURES / "defective"
PING = "0x0025ddf1D3c098DEebFd8D1c6301ECd7eE738d35"
VAULT = "0x735eCb573eBA0624f956CD7ad092e21E251A5b25"
FACTORY = "0xF2E246BB76DF876Cef8b38ae84130F4F55De395b"
EMG_TESTS = {
    "test_pd_emg_pause[PayRoxProxyRouter]",
    "test_pd_emg_pause[DeterministicChunkFactory]",
    "test_pd_emg_pause[ManifestDispatcher]",
    "test_pd_emg_rotation[ManifestDispatcher]",
    "test_pd_emg_rotation[PayRoxProxyRouter]",
}
C2_TESTS = {
    "test_pd_c2_predict[PingFacet]",
    "test_pd_c2_predict[VaultFacet]",
    "test_pd_c2_idempotent[PingFacet]",
    "test_pd_c2_idempotent[VaultFacet]",
    "test_pd_c2_networks",
}


# -- pure parts -------------------------------------------------------------------------------------


def test_role_ids_prefer_the_contracts_getter() -> None:
    own = bytes.fromhex("ab" * 32)
    assert emg.role_id("EMERGENCY_ROLE", own) == (own, "EMERGENCY_ROLE() of the contract")
    assert emg.role_id("DEFAULT_ADMIN_ROLE", None)[0] == bytes(32)
    assert emg.role_id("PAUSER_ROLE", None) == (keccak256(b"PAUSER_ROLE"), 'keccak256("PAUSER_ROLE")')
    assert emg.role_id("0x" + "01" * 32, None)[0] == bytes([1] * 32)


def test_drill_rows_are_ordered_per_drill_and_failed_steps_make_findings() -> None:
    report = emg.DrillReport("pause", "Router", emg.drill_order(1))
    assert report.record("paused()", "false", "false", ok=True, finding="unused")
    assert not report.record("unpause()", "succeeds", "reverted: X()", ok=False, finding="irreversible")
    assert [r["order"] for r in report.rows()] == [201, 202]
    assert [r["verdict"] for r in report.rows()] == ["ok", "FINDING"]
    assert [(f.check, f.severity, f.message) for f in report.findings] == [("PD-EMG", "error", "irreversible")]


def test_the_irreversible_message_names_the_reason() -> None:
    text = emg.irreversible_message("Router (0x1)", "unpause()", "Governance (0x2)", "EnforcedPause()")
    assert "unpause cannot be reached while paused: the pause is irreversible (EnforcedPause())" in text
    assert "Next step:" in text


def test_create2_is_computed_twice_and_agrees_with_eip_1014() -> None:
    # EIP-1014 example 1: deployer 0, salt 0, init code 0x00
    assert c2.computed_address("0x" + "00" * 20, bytes(32), b"\x00") == "0x4D1A2e2bB4F88F0250f26Ffff098B0b30B26BF38"


def test_entry_salt_defaults_to_the_hashed_name() -> None:
    assert c2.entry_salt(Create2Expectation("F", "PingFacet", None)) == keccak256(b"PingFacet")
    assert c2.entry_salt(Create2Expectation("F", "PingFacet", "0x" + "11" * 32)) == bytes([0x11] * 32)


def _subject(deployed: str = PING) -> c2.Create2Subject:
    return c2.Create2Subject("PingFacet", "Factory", FACTORY, bytes(32), b"\x00", PING, deployed)


def test_predict_findings_name_all_three_addresses() -> None:
    assert c2.predict_findings(_subject(), PING) == []
    (wrong,) = c2.predict_findings(_subject(), VAULT)
    assert wrong.severity == "error" and "predict() names an address" in wrong.message
    assert all(a in wrong.message for a in (VAULT, PING, FACTORY))
    (moved,) = c2.predict_findings(_subject(deployed=VAULT), PING)
    assert "is not at the CREATE2 address" in moved.message and VAULT in moved.message
    (no_predict,) = c2.predict_findings(_subject(), None)
    assert no_predict.severity == "warning"


def test_repeat_findings() -> None:
    same = c2.RepeatResult(PING, 30000, False, PING, True)
    assert c2.repeat_findings(_subject(), same) == []
    fresh = c2.RepeatResult(VAULT, 30000, True, VAULT, True)
    (finding,) = c2.repeat_findings(_subject(), fresh)
    assert "not idempotent" in finding.message and "fresh=true" in finding.message and VAULT in finding.message


def _book(folder: Path, name: str, addresses: dict[str, str]) -> c2.NetworkBook:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(addresses))
    return c2.NetworkBook(name, path, f"deployments/{name}.json", None)


def test_compare_networks(tmp_path: Path) -> None:
    ours = {"PingFacet": PING, "VaultFacet": VAULT}
    books = [
        _book(tmp_path, "base", ours),
        _book(tmp_path, "optimism", {"PingFacet": VAULT}),
        c2.NetworkBook("sepolia", tmp_path / "absent.json", "deployments/sepolia.json", None),
    ]
    result = c2.compare_networks("eth-tester", ours, ["PingFacet", "VaultFacet"], books)
    assert result.compared == [
        "eth-tester (this system)",
        "base (deployments/base.json)",
        "optimism (deployments/optimism.json)",
    ]
    assert "without a deployments file: sepolia (deployments/sepolia.json)" in result.summary()
    errors = [f for f in result.findings if f.is_error]
    assert len(errors) == 1 and "PingFacet on network optimism (deployments/optimism.json) is at" in errors[0].message
    assert [f.severity for f in result.findings if not f.is_error] == ["warning"]  # VaultFacet missing there
    alone = c2.compare_networks("live", ours, ["PingFacet"], books[:1], skip="base")
    assert alone.compared == ["live (this system)"] and alone.summary().startswith("1 network compared")


def test_network_books_never_expand_an_rpc_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNSET_SIGNOFF_RPC", raising=False)
    (tmp_path / "signoff.toml").write_text(
        f'[target]\nname = "t"\nartifacts = "{FIXTURES / "reference" / "artifacts"}"\n\n'
        '[networks.far]\nrpc_url = "${UNSET_SIGNOFF_RPC}"\nchain_id = 5\ndeployments = "d/far.json"\n\n'
        '[networks.bare]\nrpc_url = "${UNSET_SIGNOFF_RPC}"\nchain_id = 6\n'
    )
    books = c2.network_books(load_target(tmp_path / "signoff.toml"))
    assert [(b.network, b.path, b.chain_id) for b in books] == [
        ("bare", None, 6),
        ("far", (tmp_path / "d" / "far.json").resolve(), 5),
    ]


def test_a_malformed_network_book_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"PingFacet": "0x12"}')
    with pytest.raises(ConfigError, match="expected an address"):
        c2.compare_networks("x", {"PingFacet": PING}, ["PingFacet"], [c2.NetworkBook("bad", bad, "bad.json", None)])


# -- the real suites ----------------------------------------------------------------------------------


def _assert_fails_exactly(run: SuiteRun, failing: set[str], message: str) -> None:
    """Like SuiteRun.assert_fails_only, for a defect that fails every entry of one aspect."""
    assert run.result.ret == 1, run.output
    outcomes = run.outcomes()
    bad = {test for test, outcome in outcomes.items() if outcome in {"failed", "error"}}
    assert bad == failing, outcomes
    assert "Traceback" not in run.output
    for record in run.evidence()["checks"]:
        if record["nodeid"].split("::", 1)[1] in failing:
            assert message in record["message"], record["message"]


def _assert_reference_passes(run: SuiteRun) -> None:
    assert run.result.ret == 0, run.output
    assert run.outcomes() == dict.fromkeys(EMG_TESTS | C2_TESTS, "passed"), run.outcomes()
    tables = run.evidence()["tables"]
    steps = tables["PD-EMG"]["rows"]
    assert len(steps) >= 30 and all(r["verdict"] == "ok" for r in steps)
    assert [r["order"] for r in steps] == sorted(r["order"] for r in steps)
    assert any(r["step"].startswith("unpause() as Governance") for r in steps)
    assert {r["contract"] for r in tables["PD-C2"]["rows"]} == {"PingFacet", "VaultFacet"}
    assert all(r["deployed"] == r["computed"] for r in tables["PD-C2"]["rows"])
    networks = next(c for c in run.evidence()["checks"] if c["nodeid"].endswith("test_pd_c2_networks"))
    assert networks["data"]["networks"].startswith("1 network compared: ")


def test_reference_passes_on_eth_tester(run_suite) -> None:
    _assert_reference_passes(run_suite("-m", "emergency or create2"))


@pytest.mark.skipif(not anvil_available(), reason="needs anvil (npm ci)")
def test_reference_passes_on_anvil(run_suite) -> None:
    _assert_reference_passes(run_suite("-m", "emergency or create2", "--network", "anvil"))


def test_an_irreversible_pause_fails_the_routers_pause_drill_only(run_suite) -> None:
    run = run_suite("-m", "postdeploy", target=DEFECTIVE / "pd-pause-irreversible" / "signoff.toml")
    record = run.assert_fails_only(
        "test_pd_emg_pause[PayRoxProxyRouter]",
        "unpause cannot be reached while paused: the pause is irreversible (EnforcedPause())",
    )
    assert len(record["findings"]) == 1


def test_a_wrong_factory_prediction_fails_the_predict_aspect_only(run_suite) -> None:
    run = run_suite("-m", "postdeploy", target=DEFECTIVE / "pd-factory-prediction-off" / "signoff.toml")
    _assert_fails_exactly(
        run,
        {"test_pd_c2_predict[PingFacet]", "test_pd_c2_predict[VaultFacet]"},
        "DeterministicChunkFactory.predict() names an address no CREATE2 deployment lands at",
    )
    assert run.outcomes()["test_pd_c2_idempotent[PingFacet]"] == "passed"
    assert PING in run.output and VAULT in run.output


def test_a_network_with_another_address_fails_the_networks_aspect_only(run_suite) -> None:
    run = run_suite("-m", "postdeploy", target=DEFECTIVE / "pd-c2-networks-differ" / "signoff.toml")
    record = run.assert_fails_only(
        "test_pd_c2_networks",
        "PingFacet on network optimism (deployments/optimism.json) is at "
        f"0xe78f0bCf7dF3F12928e99619E685514fDD385d09, expected {PING}",
    )
    assert record["data"]["networks_compared"] == 3
    rows = run.evidence()["tables"]["PD-C2-networks"]["rows"]
    assert {(r["network"], r["verdict"]) for r in rows if r["contract"] == "PingFacet"} == {
        ("eth-tester (this system)", "reference"),
        ("base", "same"),
        ("optimism", "DIFFERS"),
    }


def test_without_sections_both_checks_skip_as_not_configured(run_suite, tmp_path: Path) -> None:
    """No [postdeploy] at all: every test is collected once, skipped with how to configure it,
    and no chain is started (collection and the skips read settings only)."""
    target = tmp_path / "signoff.toml"
    target.write_text(f'[target]\nname = "bare"\nartifacts = "{FIXTURES / "reference" / "artifacts"}"\n')
    run = run_suite("-m", "emergency or create2", "-rs", target=target)
    assert run.result.ret == 1, run.output  # nothing applied, so nothing was verified: not a green gate
    assert "no check passed (5 not applicable): nothing was verified" in run.output
    assert run.outcomes() == {
        "test_pd_emg_pause[not-configured]": "skipped",
        "test_pd_emg_rotation[not-configured]": "skipped",
        "test_pd_c2_predict[not-configured]": "skipped",
        "test_pd_c2_idempotent[not-configured]": "skipped",
        "test_pd_c2_networks": "skipped",
    }
    assert "no [[postdeploy.emergency]] in" in run.output and "no [[postdeploy.create2]] in" in run.output
