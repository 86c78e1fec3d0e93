"""PD-ACL and PD-REE: argument generation, the simulator's honesty, the checks on a rehearsed
reference (in process, real eth-tester), and the real suites on the reference (eth-tester,
anvil, a live network read-only and forked), on "pd-unprotected-setter", on
"pd-reentrant-withdraw" and on configurations with a wrong privileged entry."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import decode, encode

from signoff.artifacts.loader import load_artifacts
from signoff.errors import ChainError
from signoff.postdeploy import access_control as acl
from signoff.postdeploy.settings import FunctionRef, Privileged
from tests.conftest import FIXTURES, REFERENCE, SuiteRun, anvil_available

DEFECTIVE = FIXTURES / "defective"
MARKERS = "postdeploy and (access_control or reentrancy)"
ARTIFACTS = load_artifacts(FIXTURES / "reference" / "artifacts")
needs_anvil = pytest.mark.skipif(not anvil_available(), reason="needs anvil (npm ci)")
PRIVILEGED = [
    "DeterministicChunkFactory.pause",
    "ManifestDispatcher.commitRoot",
    "ManifestDispatcher.grantRole",
    "ManifestDispatcher.pause",
    "PayRoxProxyRouter.pause",
    "PayRoxProxyRouter.transferOwnership",
]
OPEN_ON_THE_REFERENCE = {  # what an outsider can do on the reference, every one listed public
    "DeterministicChunkFactory.stage(bytes)",
    "ManifestDispatcher.renounceRole(bytes32,address)",
    "PayRoxProxyRouter.deposit()",
    "VaultFacet.vaultDeposit()",
    "VaultFacet.vaultDeposit() through ManifestDispatcher",  # the facet's routes, called at the dispatcher
}


# -- arguments from ABI types ---------------------------------------------------------------------------

TYPES = [
    "address",
    "bool",
    "uint8",
    "uint64",
    "int16",
    "bytes",
    "bytes4",
    "bytes32",
    "string",
    "uint256[2]",
    "bytes32[][]",
    "(address,bytes32)[]",
    "(uint8,(bool,string))",
]


@pytest.mark.parametrize("abi_type", TYPES)
def test_generated_values_encode_as_their_type(abi_type: str) -> None:
    values = acl.draw_examples(acl.strategy_for(abi_type, ["0x" + "11" * 20]), 12)
    assert len(values) > 1
    for value in values:
        assert decode([abi_type], encode([abi_type], [value]))  # eth_abi accepts and round-trips it


def test_generated_integers_stay_in_range_and_start_at_the_edges() -> None:
    unsigned = acl.draw_examples(acl.strategy_for("uint8", []), 30)
    signed = acl.draw_examples(acl.strategy_for("int8", []), 30)
    assert all(0 <= v <= 255 for v in unsigned) and all(-128 <= v <= 127 for v in signed)
    assert unsigned[0] == 0
    assert {0, 1, 255} <= set(unsigned)


def test_addresses_lean_on_the_system_and_zero() -> None:
    system = "0x" + "ab" * 20
    drawn = acl.draw_examples(acl.strategy_for("address", [system]), 30)
    assert system in drawn and acl.ZERO_ADDRESS in drawn


def test_draws_are_the_same_on_every_run_and_stop_when_exhausted() -> None:
    entry = _entry("f", ["bytes32", "address", "uint64[]"], "payable")
    first = acl.draw_examples(acl.call_strategy(entry, ["0x" + "11" * 20], with_value=True), 12)
    assert first == acl.draw_examples(acl.call_strategy(entry, ["0x" + "11" * 20], with_value=True), 12)
    assert len(first) == 12 and {value for _, value in first} == {0, acl.DISCOVERY_VALUE}
    nothing = acl.draw_examples(acl.call_strategy(_entry("g", [], "nonpayable"), [], with_value=True), 12)
    assert nothing == [((), 0)]
    pay = acl.draw_examples(acl.call_strategy(_entry("h", [], "payable"), [], with_value=True), 12)
    assert sorted(pay) == [((), 0), ((), acl.DISCOVERY_VALUE)]


def test_calldata_and_the_args_template() -> None:
    entry = _entry("commitRoot", ["bytes32", "uint64"], "nonpayable")
    data = acl.calldata(entry, [b"\x11" * 32, 2])
    assert data.hex() == "00ebb5f0" + "11" * 32 + f"{2:064x}"
    assert acl.args_template(entry) == "[<bytes32>, <uint64>]"


def test_view_and_pure_functions_are_not_probed() -> None:
    abi = ARTIFACTS.resolve("ManifestDispatcher").abi
    names = {e["name"] for e in acl.state_changing(abi)}
    assert names == {
        "activateCommittedRoot",
        "applyRoutes",
        "commitRoot",
        "grantRole",
        "pause",
        "renounceRole",
        "revokeRole",
        "unpause",
    }
    assert acl.state_changing(ARTIFACTS.resolve("PingFacet").abi) == []


def test_public_entries_that_name_nothing_are_config_findings() -> None:
    router = acl.ProbeTarget("PayRoxProxyRouter", "0x" + "00" * 20, ARTIFACTS.resolve("PayRoxProxyRouter").abi)
    typo, ghost, both = (
        FunctionRef("PayRoxProxyRouter", "depositt"),
        FunctionRef("Nowhere", "deposit"),
        FunctionRef("PayRoxProxyRouter", "pause"),
    )
    found = acl.list_findings([router], [typo, ghost, both, FunctionRef("PayRoxProxyRouter", "deposit")], [both])
    assert [f.message for f in found] == [
        "[postdeploy] public lists PayRoxProxyRouter.depositt, but PayRoxProxyRouter has no function depositt "
        "(state-changing: acceptOwnership(), deposit(), pause(), transferOwnership(address), unpause(), "
        "withdraw(uint256)). Next step: correct or remove the entry",
        "[postdeploy] public lists Nowhere.deposit, but Nowhere is not a deployed contract with an artifact "
        "(PayRoxProxyRouter). Next step: correct or remove the entry",
        "[postdeploy] public lists PayRoxProxyRouter.pause, but it is also listed in [[postdeploy.privileged]]: a "
        "function is either public or privileged. Next step: correct or remove the entry",
    ]


def test_a_contract_the_discovery_cannot_probe_is_a_finding() -> None:
    found = acl.missing_targets(
        ["A", "B", "C"], {"A": "0x" + "00" * 20, "B": "0x" + "00" * 20}, {"A": ARTIFACTS.resolve("PingFacet")}
    )
    assert [(f.subject, f.message.split(":")[0]) for f in found] == [
        ("B", "B has no artifact, so its ABI is unknown"),
        ("C", "C is not deployed in this system"),
    ]


def _entry(name: str, types: list[str], mutability: str) -> dict[str, Any]:
    return {"type": "function", "name": name, "inputs": [{"type": t} for t in types], "stateMutability": mutability}


# -- the checks on a reference rehearsed in process -----------------------------------------------------


@pytest.fixture(scope="module")
def rehearsed() -> Iterator[dict[str, Any]]:
    from signoff.chain.backends import open_eth_tester
    from signoff.deploy.rehearsal import Operator, rehearse
    from signoff.session import resolve_session

    settings = resolve_session(REFERENCE, "eth-tester")
    assert settings.deploy_plan is not None
    chain = open_eth_tester()
    system = rehearse(chain, settings.target, settings.artifacts, settings.deploy_plan, governance="@Governance")
    simulator = acl.eth_call_simulator(chain.w3, [c.abi for c in ARTIFACTS.contracts], override_balances=False)
    yield {
        "chain": chain,
        "system": system,
        "simulator": simulator,
        "outsider": Operator(chain, system).outsider(0),
        "safe": system.safes["Governance"].address,
        "settings": settings,
    }
    chain.close()


def _target(system: Any, name: str) -> acl.ProbeTarget:
    return acl.ProbeTarget(name, system.addresses[name], system.artifacts[name].abi)


def test_a_sender_without_gas_money_is_an_error_never_a_revert(rehearsed: dict[str, Any]) -> None:
    """eth-tester charges a simulation's gas: an unfunded sender's call must not count as "reverted"."""
    system, nobody = rehearsed["system"], acl.stand_in("Nobody")
    assert rehearsed["chain"].w3.eth.get_balance(nobody) == 0
    with pytest.raises(ChainError, match=r"failed without executing: .*cannot afford txn gas"):
        rehearsed["simulator"].call(nobody, system.addresses["ManifestDispatcher"], bytes.fromhex("8456cb59"), 0)


def test_privileged_with_generated_arguments_and_the_verdicts(rehearsed: dict[str, Any]) -> None:
    system, chain = rehearsed["system"], rehearsed["chain"]
    snapshot = chain.snapshot()
    try:
        chain.w3.eth.send_transaction({"from": chain.w3.eth.accounts[-2], "to": rehearsed["safe"], "value": 10**18})
        dispatcher = _target(system, "ManifestDispatcher")
        common = {
            "role": rehearsed["safe"],
            "role_label": "@Governance",
            "simulator": rehearsed["simulator"],
            "examples": 12,
            "addresses": tuple(system.addresses.values()),
        }
        revoke = acl.check_privileged(
            Privileged(FunctionRef("ManifestDispatcher", "revokeRole"), "@Governance", None),
            dispatcher,
            outsider=rehearsed["outsider"],
            args=None,
            **common,
        )
        assert revoke.findings == () and revoke.row["verdict"] == "pass", revoke
        assert revoke.row["as_outsider"].startswith("reverted: AccessControlUnauthorizedAccount(")
        not_ready = acl.check_privileged(
            Privileged(FunctionRef("ManifestDispatcher", "activateCommittedRoot"), "@Governance", None),
            dispatcher,
            outsider=rehearsed["outsider"],
            args=None,
            **common,
        )
        (finding,) = not_ready.findings
        assert finding.message.startswith(
            "could not prove ManifestDispatcher.activateCommittedRoot is privileged: the rightful role's call as "
            "@Governance reverted with NoPendingRoot() (1 generated argument set(s); calldata 0x"
        )
        assert not_ready.row["as_outsider"] == "not tried"
        # The role itself as the "outsider": the identical call succeeds, so nothing protects it.
        open_door = acl.check_privileged(
            Privileged(FunctionRef("ManifestDispatcher", "pause"), "@Governance", None),
            dispatcher,
            outsider=rehearsed["safe"],
            args=[],
            **common,
        )
        (finding,) = open_door.findings
        assert finding.message.startswith(
            f"ManifestDispatcher.pause is not privileged: it succeeded for unprivileged {rehearsed['safe']} with the "
            "same calldata 0x8456cb59 that @Governance sends."
        )
    finally:
        chain.revert(snapshot)


def test_discovery_finds_exactly_what_is_open_and_is_deterministic(rehearsed: dict[str, Any]) -> None:
    system = rehearsed["system"]
    targets = [_target(system, name) for name in system.contract_names()]

    def run() -> acl.Discovery:
        return acl.discover(
            targets,
            public=[],
            privileged=[FunctionRef("PayRoxProxyRouter", "pause")],
            outsider=rehearsed["outsider"],
            simulator=rehearsed["simulator"],
            examples=12,
            addresses=tuple(system.names().values()),
        )

    first = run()
    assert {f.subject for f in first.findings} == {s for s in OPEN_ON_THE_REFERENCE if " through " not in s}
    assert (first.contracts, first.functions) == (5, 22)
    assert 100 < first.calls <= 22 * 12
    renounce = next(f for f in first.findings if f.subject.startswith("ManifestDispatcher.renounceRole"))
    # it succeeds only when the account is the caller itself: the generator put the caller there
    assert rehearsed["outsider"][2:].lower() in renounce.message.lower()
    assert run() == first


# -- the real suites --------------------------------------------------------------------------------------


def _assert_reference_passes(run: SuiteRun) -> None:
    assert run.result.ret == 0, run.output
    outcomes = run.outcomes()
    assert outcomes == {
        **{f"test_pd_acl_privileged[{name}]": "passed" for name in PRIVILEGED},
        "test_pd_acl_discovery": "passed",
        "test_pd_ree[PayRoxProxyRouter.withdraw]": "passed",
        "test_pd_ree[ManifestDispatcher.vaultWithdraw]": "passed",
    }, outcomes
    tables = run.evidence()["tables"]
    acl_rows = tables["PD-ACL"]["rows"]
    assert [r["function"] for r in acl_rows] == PRIVILEGED
    assert all(r["as_role"] == "succeeded" and r["verdict"] == "pass" for r in acl_rows), acl_rows
    assert all(re.match(r"reverted: (Ownable|AccessControl)UnauthorizedAccount\(", r["as_outsider"]) for r in acl_rows)
    found = tables["PD-ACL-discovery"]["rows"]
    assert len(found) == 24  # 22 functions at their own addresses, the 2 of VaultFacet through the dispatcher
    assert {r["function"] for r in found if not r["succeeded"].startswith("0 of")} == OPEN_ON_THE_REFERENCE
    assert all(r["verdict"] == "pass" for r in found)
    reentry = {r["contract"]: r for r in tables["PD-REE"]["rows"]}
    assert reentry["PayRoxProxyRouter"]["reason"] == "ReentrancyGuardReentrantCall()"
    assert reentry["ManifestDispatcher"]["reason"] == "VaultReentrantCall()"
    assert all(r["reentered"] is True and r["inner"] == "reverted" for r in reentry.values())


def test_reference_passes_on_eth_tester(run_suite) -> None:
    _assert_reference_passes(run_suite("-m", MARKERS))


@needs_anvil
def test_reference_passes_on_anvil(run_suite) -> None:
    _assert_reference_passes(run_suite("-m", MARKERS, "--network=anvil"))


NETWORKS = ["eth-tester", pytest.param("anvil", marks=needs_anvil)]


@pytest.mark.parametrize("network", NETWORKS)
def test_unprotected_setter_fails_the_discovery_only(run_suite, network: str) -> None:
    run: SuiteRun = run_suite(
        "-m", MARKERS, f"--network={network}", target=DEFECTIVE / "pd-unprotected-setter" / "signoff.toml"
    )
    record = run.assert_fails_only(
        "test_pd_acl_discovery",
        "unexpected permission escalation: PayRoxProxyRouter.setWithdrawLimit(uint256) succeeded for unprivileged 0x",
    )
    (finding,) = record["findings"]
    assert re.search(
        r"with calldata 0x4abdf2e0[0-9a-f]{64} \(\d+ of \d+ generated calls succeeded; it is not listed in "
        r"\[postdeploy\] public\); sent for real in a snapshot, it changed the storage of PayRoxProxyRouter\. "
        r"Next step: restrict it",
        finding["message"],
    ), finding
    row = next(r for r in run.evidence()["tables"]["PD-ACL-discovery"]["rows"] if r["verdict"] == "fail")
    assert row["function"] == "PayRoxProxyRouter.setWithdrawLimit(uint256)" and row["listed"] == "no"


@pytest.mark.parametrize("network", NETWORKS)
def test_reentrant_withdraw_fails_the_router_probe_only(run_suite, network: str) -> None:
    run: SuiteRun = run_suite(
        "-m", MARKERS, f"--network={network}", target=DEFECTIVE / "pd-reentrant-withdraw" / "signoff.toml"
    )
    run.assert_fails_only(
        "test_pd_ree[PayRoxProxyRouter.withdraw]",
        "re-entry into PayRoxProxyRouter.withdraw succeeded: the entry point is not guarded. The attacker's second "
        "withdraw from inside the payout went through, and PayRoxProxyRouter paid out 1000000000000000000 wei more "
        "than the attacker deposited (another depositor's ether).",
    )
    row = next(r for r in run.evidence()["tables"]["PD-REE"]["rows"] if r["contract"] == "PayRoxProxyRouter")
    assert (row["reentered"], row["inner"], row["verdict"]) == (True, "succeeded", "fail")


def _reference_copy(folder: Path) -> Path:
    source = FIXTURES / "reference"
    shutil.copytree(source, folder, ignore=lambda at, _: ["contracts"] if Path(at) == source else [])
    return folder / "signoff.toml"


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, f"the reference signoff.toml no longer holds {old!r}: update this test"
    return text.replace(old, new, 1)


def test_wrong_privileged_entries_fail_with_their_reason(run_suite, tmp_path: Path) -> None:
    target = _reference_copy(tmp_path / "protocol")
    text = _edit(target.read_text(), '    "DeterministicChunkFactory.stage",\n', "")
    root = '"0x1111111111111111111111111111111111111111111111111111111111111111"'
    text = _edit(text, f"{root}, 2]", f"{root}, 5]")  # the epoch after the active one is 2
    text = _edit(
        text, '    "ManifestDispatcher.renounceRole",\n', '    "ManifestDispatcher.renounceRole",\n    "Nowhere.x",\n'
    )
    text += (
        '\n[[postdeploy.privileged]]   # anyone can stage a chunk\nfunction = "DeterministicChunkFactory.stage"\n'
        'role = "@Governance"\nargs = ["0x01"]\n'
        '\n[[postdeploy.privileged]]   # generated arguments\nfunction = "ManifestDispatcher.revokeRole"\n'
        'role = "@Governance"\n'
    )
    target.write_text(text)
    run: SuiteRun = run_suite("-m", "postdeploy and access_control", target=target)
    assert run.result.ret == 1, run.output
    outcomes = run.outcomes()
    assert {t for t, o in outcomes.items() if o != "passed"} == {
        "test_pd_acl_privileged[ManifestDispatcher.commitRoot]",
        "test_pd_acl_privileged[DeterministicChunkFactory.stage]",
        "test_pd_acl_discovery",
    }, outcomes
    assert outcomes["test_pd_acl_privileged[ManifestDispatcher.revokeRole]"] == "passed"
    assert "Traceback" not in run.output
    messages = {c["nodeid"].split("::")[1]: [f["message"] for f in c["findings"]] for c in run.evidence()["checks"]}
    (commit,) = messages["test_pd_acl_privileged[ManifestDispatcher.commitRoot]"]
    assert re.fullmatch(
        r"could not prove ManifestDispatcher\.commitRoot is privileged: the rightful role's call as @Governance "
        r"\(0x[0-9a-fA-F]{40}\) reverted with BadEpoch\(2, 5\) \(the configured args; calldata 0x00ebb5f0[0-9a-f]+\), "
        r"so an outsider's revert would prove nothing\. Next step: if @Governance \(0x[0-9a-fA-F]{40}\) does not hold "
        r"the right, correct role \(or grant it\); if the function does not answer at ManifestDispatcher, route it or "
        r"name the contract that answers it; otherwise give args = \[<bytes32>, <uint64>\] in the "
        r"\[\[postdeploy\.privileged\]\] entry for ManifestDispatcher\.commitRoot with values the role can call at "
        r"this state",
        commit,
    ), commit
    (stage,) = messages["test_pd_acl_privileged[DeterministicChunkFactory.stage]"]
    assert re.match(
        r"DeterministicChunkFactory\.stage is not privileged: it succeeded for unprivileged 0x[0-9a-fA-F]{40} with "
        r"the same calldata 0xfa8c96ef[0-9a-f]+ that @Governance \(0x[0-9a-fA-F]{40}\) sends\.",
        stage,
    ), stage
    discovery = messages["test_pd_acl_discovery"]
    assert discovery[0] == (
        "[postdeploy] public lists Nowhere.x, but Nowhere is not a deployed contract with an artifact "
        "(DeterministicChunkFactory, PingFacet, VaultFacet, ManifestDispatcher, PayRoxProxyRouter). Next step: "
        "correct or remove the entry"
    )
    assert discovery[1].startswith(
        "unexpected permission escalation: DeterministicChunkFactory.stage(bytes) succeeded for unprivileged 0x"
    )
    assert "it is listed in [[postdeploy.privileged]], so only its role may call it" in discovery[1]
    assert len(discovery) == 2


# -- a live network: read-only PD-ACL, PD-REE not run (or on a fork) ----------------------------------------


@needs_anvil
def test_live_network_runs_pd_acl_read_only_and_reports_pd_ree_not_run(run_suite, live_network) -> None:
    run: SuiteRun = run_suite("-m", MARKERS, "--network=local", "-rs", target=live_network["target"])
    assert run.result.ret == 0, run.output
    outcomes = run.outcomes()
    assert {t: o for t, o in outcomes.items() if o != "passed"} == {
        "test_pd_ree[PayRoxProxyRouter.withdraw]": "skipped",
        "test_pd_ree[ManifestDispatcher.vaultWithdraw]": "skipped",
    }, outcomes
    assert "NOT RUN on live network local: this drill sends transactions" in run.output
    assert live_network["proxy"].write_methods() == ()
    found = {r["function"]: r for r in run.evidence()["tables"]["PD-ACL-discovery"]["rows"]}
    outsider = acl.live_outsider([])
    # a payable function is tried with value from a keyless outsider: the state override funds it
    assert found["PayRoxProxyRouter.deposit()"]["succeeded"] == "1 of 2"
    assert found["ManifestDispatcher.renounceRole(bytes32,address)"]["calldata"].endswith(outsider[2:].lower())
    # @Deployer (a rehearsal account in the reference's args) is unknown on the network: a stand-in takes its place
    grant = next(c for c in run.evidence()["checks"] if c["nodeid"].endswith("[ManifestDispatcher.grantRole]"))
    assert grant["data"]["stand_ins"] == {"@Deployer": acl.stand_in("Deployer")}
    assert grant["data"]["calldata"].endswith(acl.stand_in("Deployer")[2:].lower())


@needs_anvil
def test_live_network_with_a_fork_runs_pd_ree(run_suite, live_network) -> None:
    run: SuiteRun = run_suite(
        "-m", "postdeploy and reentrancy", "--network=local", "--signoff-fork", target=live_network["target"]
    )
    assert run.outcomes() == {
        "test_pd_ree[PayRoxProxyRouter.withdraw]": "passed",
        "test_pd_ree[ManifestDispatcher.vaultWithdraw]": "passed",
    }, run.output
    assert live_network["proxy"].write_methods() == ()


def test_push32_literals_are_read_from_code_not_from_metadata() -> None:
    from signoff.postdeploy.access_control import push32_values

    salt = bytes(range(32))
    code = bytes([0x60, 0x01, 0x7F]) + salt + bytes([0x50, 0x61, 0x7F, 0x7F])  # PUSH2 whose data is 0x7f7f
    metadata = bytes([0x7F]) + bytes(32) + (33).to_bytes(2, "big")  # a PUSH32-looking CBOR tail: skipped
    assert push32_values(code + metadata) == [salt]


def test_the_constant_sweep_tries_each_constant_in_each_slot_with_the_caller_as_address() -> None:
    from signoff.postdeploy.access_control import Constants, constant_sweep

    entry = {
        "type": "function",
        "name": "init",
        "inputs": [{"type": "bytes32"}, {"type": "address"}, {"type": "uint8"}],
    }
    constants = Constants(words=(b"\x01" * 32, b"\x02" * 32), numbers=(7, 300))
    caller = "0x" + "ab" * 20
    assert constant_sweep(entry, constants, caller) == [
        (b"\x01" * 32, caller, 1),
        (b"\x02" * 32, caller, 1),
        (bytes(32), caller, 7),  # 300 does not fit a uint8
    ]
