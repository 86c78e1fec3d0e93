"""PD-OWN and PD-WIRE: the ABI detection and the judgements, the reads on a real rehearsed
chain, and the real suites on the reference (eth-tester and anvil), on each defective fixture
(exactly one test fails), on a target with a getter its ABI lacks, and read-only on anvil
standing in for a live network.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signoff.artifacts.loader import load_artifacts
from signoff.postdeploy import ownership as own
from signoff.postdeploy import wiring as wire
from signoff.postdeploy.settings import FunctionRef
from signoff.session import SessionSettings, resolve_session
from tests.conftest import FIXTURES, REFERENCE, SuiteRun, anvil_available

ARTIFACTS = load_artifacts(FIXTURES / "reference" / "artifacts")
DEFECTIVE = FIXTURES / "defective"
GOVERNANCE = "0x1c2EA5e2538764E4C92aA9bE3320cbfe9B633F10"
DEPLOYER = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
OTHER = "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"
NAMES = {GOVERNANCE: "Governance", DEPLOYER: "Deployer", OTHER: "Owner1"}
ADMIN_ID = "0x" + "00" * 32
OWN = "ownership or wiring"
ROUTED_FACETS = {"test_pd_own[PingFacet]", "test_pd_own[VaultFacet]"}  # judged at ManifestDispatcher
EXPECTED_TESTS = [
    *(
        f"test_pd_own[{name}]"
        for name in ("DeterministicChunkFactory", "ManifestDispatcher", "PayRoxProxyRouter", "PingFacet", "VaultFacet")
    ),
    "test_pd_own_governance",
    "test_pd_wire[PayRoxProxyRouter.dispatcher]",
]


def label(address: str) -> str:
    name = NAMES.get(address)
    return f"{name} ({address})" if name else address


def abi(name: str) -> list[dict[str, Any]]:
    return list(ARTIFACTS.resolve(name).abi)


def facts(**values: Any) -> own.OwnershipFacts:
    base: dict[str, Any] = {"contract": "Box", "address": "0x" + "11" * 20, "authority": own.detect_authority([])}
    return own.OwnershipFacts(**{**base, **values})


def ownable(owner: str, *, code: int = 0, pending: str | None = None) -> own.OwnershipFacts:
    authority = own.Authority(
        ("owner",), pending_owner=pending is not None, access_control=False, enumerable=False, roles=()
    )
    return facts(
        authority=authority,
        owners=(own.Holder("owner()", owner, code),),
        pending=None if pending is None else own.Holder("pendingOwner()", pending, 0),
    )


def access_control(*roles: own.RoleHolders) -> own.OwnershipFacts:
    authority = own.Authority(
        (), pending_owner=False, access_control=True, enumerable=False, roles=tuple(r.role for r in roles[1:])
    )
    return facts(authority=authority, roles=roles)


def messages(result: own.OwnershipResult, severity: str = "error") -> list[str]:
    return [f.message for f in result.findings if f.severity == severity]


# -- the ABI ----------------------------------------------------------------------------------------


def test_authority_is_read_from_the_abi() -> None:
    factory = own.detect_authority(abi("DeterministicChunkFactory"))
    assert factory.owner_getters == ("owner",) and factory.pending_owner and not factory.access_control
    dispatcher = own.detect_authority(abi("ManifestDispatcher"))
    assert dispatcher.access_control and not dispatcher.enumerable and not dispatcher.owner_getters
    assert dispatcher.roles == ("APPLY_ROLE", "COMMIT_ROLE", "EMERGENCY_ROLE")
    assert own.detect_authority(abi("PingFacet")).ownerless
    # An owner() that does not return an address is not an owner getter.
    assert own.detect_authority(
        [{"type": "function", "name": "owner", "inputs": [], "outputs": [{"type": "uint256"}]}]
    ).ownerless


def test_enumerable_access_control_is_detected() -> None:
    enumerable = [
        *abi("ManifestDispatcher"),
        {
            "type": "function",
            "name": "getRoleMemberCount",
            "inputs": [{"type": "bytes32"}],
            "outputs": [{"type": "uint256"}],
        },
        {
            "type": "function",
            "name": "getRoleMember",
            "inputs": [{"type": "bytes32"}, {"type": "uint256"}],
            "outputs": [{"type": "address"}],
        },
    ]
    assert own.detect_authority(enumerable).enumerable


# -- judging ownership --------------------------------------------------------------------------------


def test_the_governance_as_owner_passes() -> None:
    result = own.judge_ownership(ownable(GOVERNANCE, code=171), [GOVERNANCE], label)
    assert result.findings == ()
    assert [r["verdict"] for r in result.rows] == ["pass"]


def test_an_eoa_owner_is_named_as_such() -> None:
    result = own.judge_ownership(ownable(DEPLOYER), [GOVERNANCE], label)
    assert messages(result) == [
        f"Box: owner() is Deployer ({DEPLOYER}), an EOA, not the governance Governance ({GOVERNANCE}). "
        "Next step: transfer ownership to the governance (transferOwnership, then acceptOwnership from the "
        "governance when it is Ownable2Step)"
    ]
    other_contract = own.judge_ownership(ownable(OTHER, code=500), [GOVERNANCE], label)
    assert "a contract (500 bytes), not the governance" in messages(other_contract)[0]


def test_a_renounced_owner_fails() -> None:
    result = own.judge_ownership(ownable(own.ZERO_ADDRESS), [GOVERNANCE], label)
    assert "owner() is the zero address: ownership was renounced" in messages(result)[0]


def test_a_pending_transfer_is_a_warning_either_way() -> None:
    to_stranger = own.judge_ownership(ownable(GOVERNANCE, code=1, pending=DEPLOYER), [GOVERNANCE], label)
    assert messages(to_stranger) == []
    (warning,) = messages(to_stranger, "warning")
    assert warning.startswith(f"Box: pending two-step transfer to Deployer ({DEPLOYER}), which is NOT the governance")
    assert "NOT the governance" in to_stranger.rows[0]["pending"]
    to_governance = own.judge_ownership(ownable(DEPLOYER, pending=GOVERNANCE), [GOVERNANCE], label)
    assert "pending two-step transfer to Governance" in messages(to_governance, "warning")[0]
    assert "an EOA, not the governance" in messages(to_governance)[0]  # the owner is still the key


def test_admin_role_must_be_the_governance_alone() -> None:
    held = own.RoleHolders(own.ADMIN_ROLE, ADMIN_ID, (GOVERNANCE,), enumerated=False)
    assert own.judge_ownership(access_control(held), [GOVERNANCE], label).findings == ()

    shared = own.RoleHolders(own.ADMIN_ROLE, ADMIN_ID, (GOVERNANCE, DEPLOYER), enumerated=False)
    result = own.judge_ownership(access_control(shared), [GOVERNANCE], label, accounts={"Deployer": DEPLOYER})
    assert messages(result)[0].startswith(f"Box: Deployer ({DEPLOYER}) still holds DEFAULT_ADMIN_ROLE")

    missing = own.RoleHolders(own.ADMIN_ROLE, ADMIN_ID, (), enumerated=False)
    result = own.judge_ownership(access_control(missing), [GOVERNANCE], label)
    assert "does not hold DEFAULT_ADMIN_ROLE" in messages(result)[0]
    assert result.rows[0]["holder"] == "none of the known addresses asked [known addresses asked]"


def test_other_roles_are_reported_and_a_key_holding_one_warns() -> None:
    admin = own.RoleHolders(own.ADMIN_ROLE, ADMIN_ID, (GOVERNANCE,), enumerated=True)
    commit = own.RoleHolders("COMMIT_ROLE", "0x" + "22" * 32, (DEPLOYER,), enumerated=True)
    result = own.judge_ownership(access_control(admin, commit), [GOVERNANCE], label, accounts={"Deployer": DEPLOYER})
    assert messages(result) == []
    assert messages(result, "warning") == [f"Box: Deployer ({DEPLOYER}) holds COMMIT_ROLE (0x{'22' * 32})"]
    row = result.rows[1]
    assert (row["authority"], row["expected"], row["verdict"]) == (
        "COMMIT_ROLE",
        "reported (governance holds it: no)",
        "warn",
    )


def test_ownerless_contracts_pass_and_say_so() -> None:
    result = own.judge_ownership(facts(), [GOVERNANCE], label)
    assert result.findings == () and result.summary == own.OWNERLESS
    assert result.rows[0]["holder"] == "no owner/admin (ownerless)"


def test_without_a_governance_holders_are_reported_not_judged() -> None:
    result = own.judge_ownership(ownable(DEPLOYER), [], label)
    assert result.findings == () and result.rows[0]["verdict"] == "info"
    finding = own.no_governance("signoff.toml", "eth-tester", live=False)
    assert '[postdeploy] governance = "@Governance"' in finding.message
    assert "[networks.sepolia] governance" in own.no_governance("signoff.toml", "sepolia", live=True).message


def test_names_known_only_to_the_check_are_shown() -> None:
    named = own.with_names(lambda a: a, {"Deployer": DEPLOYER})
    assert named(DEPLOYER.lower()) == f"Deployer ({DEPLOYER.lower()})"
    assert named(OTHER) == OTHER
    assert own.probe_accounts({"Deployer": DEPLOYER}, DEPLOYER.lower()) == {"Deployer": DEPLOYER}
    assert own.probe_accounts({}, OTHER) == {"Deployer": OTHER}


# -- what is checked, known at collection -------------------------------------------------------------


def test_contracts_come_from_the_plan_the_settings_or_the_deployments_file(tmp_path: Path) -> None:
    settings = resolve_session(REFERENCE, "eth-tester")
    assert own.planned_contracts(settings) == (
        "DeterministicChunkFactory",
        "PingFacet",
        "VaultFacet",
        "ManifestDispatcher",
        "PayRoxProxyRouter",
    )
    target = _copy_reference(tmp_path / "listed")
    _edit(target, "[postdeploy]\n", '[postdeploy]\ncontracts = ["PayRoxProxyRouter"]\n')
    assert own.planned_contracts(resolve_session(target, "eth-tester")) == ("PayRoxProxyRouter",)

    live = _copy_reference(tmp_path / "live")
    book = live.parent / "book.json"
    book.write_text(json.dumps({"PayRoxProxyRouter": DEPLOYER, "Governance": GOVERNANCE}))  # no artifact: skipped
    _append_network(live, "http://127.0.0.1:9", book, GOVERNANCE)
    assert own.planned_contracts(resolve_session(live, "local")) == ("PayRoxProxyRouter",)
    book.write_text("not json")  # left to the deployed_system fixture to report
    assert own.planned_contracts(resolve_session(live, "local")) == ()


# -- the wiring getter -----------------------------------------------------------------------------------


def test_getters_are_found_in_the_abi_or_reported_missing() -> None:
    router = abi("PayRoxProxyRouter")
    entry = wire.getter_entry(router, FunctionRef("PayRoxProxyRouter", "dispatcher"))
    assert entry is not None and wire.not_a_getter(entry) is None
    assert wire.getter_entry(router, FunctionRef("PayRoxProxyRouter", "dispatcherAddress")) is None
    assert wire.getter_entry(router, FunctionRef("PayRoxProxyRouter", "dispatcher", "dispatcher(uint256)")) is None
    balance = wire.getter_entry(router, FunctionRef("PayRoxProxyRouter", "balanceOf"))
    assert balance is not None and "takes 1 argument(s) (address)" in (wire.not_a_getter(balance) or "")
    paused = wire.getter_entry(router, FunctionRef("PayRoxProxyRouter", "paused"))
    assert paused is not None and wire.not_a_getter(paused) == "returns (bool), not one address"
    assert wire.address_getters(router) == ["dispatcher", "owner", "pendingOwner"]


def test_wiring_compares_and_names_both_sides() -> None:
    assert wire.judge_wiring("R.dispatcher", GOVERNANCE, GOVERNANCE.lower(), label).findings == ()
    result = wire.judge_wiring("R.dispatcher", GOVERNANCE, DEPLOYER, label)
    assert result.row["verdict"] == "fail"
    assert result.findings[0].message.startswith(
        f"R.dispatcher() is Deployer ({DEPLOYER}), expected Governance ({GOVERNANCE})"
    )
    assert wire.wiring_ids(["A.x", "B.y", "A.x"]) == ["A.x#1", "B.y", "A.x#2"]


# -- reads on a real rehearsed chain ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def rehearsed() -> Iterator[tuple[SessionSettings, Any, Any]]:
    from signoff.chain.backends import open_eth_tester
    from signoff.deploy.rehearsal import rehearse

    settings = resolve_session(REFERENCE, "eth-tester")
    assert settings.deploy_plan is not None and settings.postdeploy is not None
    chain = open_eth_tester()
    system = rehearse(
        chain, settings.target, settings.artifacts, settings.deploy_plan, governance=settings.postdeploy.governance
    )
    yield settings, chain, system
    chain.close()


@pytest.fixture
def onchain(rehearsed: tuple[SessionSettings, Any, Any]) -> Iterator[tuple[Any, Any, Any, own.ChainReader]]:
    """The rehearsed reference, an Operator to change it, and a reader; changes are reverted."""
    from signoff.deploy.rehearsal import Operator

    settings, chain, system = rehearsed
    snapshot = chain.snapshot()
    abis = [c.abi for c in settings.artifacts.contracts]
    try:
        yield chain, system, Operator(chain, system, abis=abis), own.ChainReader(chain.w3, "latest", abis)
    finally:
        chain.revert(snapshot)


def test_a_deployer_granted_admin_and_a_pending_transfer_are_found_on_chain(onchain) -> None:
    from signoff.artifacts.abi import encode_call

    _, system, operator, reader = onchain
    governance, deployer = system.governance[0], system.accounts["Deployer"]
    dispatcher, router = system.addresses["ManifestDispatcher"], system.addresses["PayRoxProxyRouter"]
    operator.send(
        governance, dispatcher, encode_call(abi("ManifestDispatcher"), "grantRole", [ADMIN_ID, deployer], "t")
    )
    operator.send(governance, router, encode_call(abi("PayRoxProxyRouter"), "transferOwnership", [deployer], "t"))
    probe = [governance, *system.accounts.values()]

    read = own.read_ownership(reader, "ManifestDispatcher", dispatcher, abi("ManifestDispatcher"), probe)
    admin = read.roles[0]
    assert admin.role == own.ADMIN_ROLE and set(admin.holders) == {governance, deployer}
    result = own.judge_ownership(read, system.governance, system.name_of, accounts=system.accounts)
    assert messages(result) == [
        f"ManifestDispatcher: Deployer ({deployer}) still holds DEFAULT_ADMIN_ROLE besides the governance. Next "
        f"step: revokeRole(DEFAULT_ADMIN_ROLE, {deployer}) from the governance, or renounceRole from that key"
    ]

    read = own.read_ownership(reader, "PayRoxProxyRouter", router, abi("PayRoxProxyRouter"), probe)
    assert read.owners[0].address == governance and read.owners[0].code_size > 0
    assert read.pending is not None and read.pending.address == deployer
    result = own.judge_ownership(read, system.governance, system.name_of)
    assert messages(result) == [] and "NOT the governance" in messages(result, "warning")[0]


def test_a_reverting_getter_is_reported_with_its_decoded_reason(onchain) -> None:
    _, system, _, reader = onchain
    router = system.addresses["PayRoxProxyRouter"]
    # The router forwards what it does not know to the dispatcher, which has no route for it.
    pretend = [
        *abi("PayRoxProxyRouter"),
        {
            "type": "function",
            "name": "dispatcherAddress",
            "inputs": [],
            "outputs": [{"type": "address"}],
            "stateMutability": "view",
        },
    ]
    result = wire.check_wiring(
        reader,
        FunctionRef("PayRoxProxyRouter", "dispatcherAddress"),
        address=router,
        abi=pretend,
        expected=system.addresses["ManifestDispatcher"],
        label=system.name_of,
    )
    selector = own.call_data("dispatcherAddress()").hex()
    assert result.row["actual"] == "reverted"
    assert (
        result.findings[0].message == f"PayRoxProxyRouter.dispatcherAddress() reverted: UnknownSelector(0x{selector})"
    )
    missing = wire.check_wiring(
        reader,
        FunctionRef("PayRoxProxyRouter", "dispatcherAddress"),
        address=router,
        abi=abi("PayRoxProxyRouter"),
        expected=system.addresses["ManifestDispatcher"],
        label=system.name_of,
    )
    assert missing.row["actual"] == "missing from the ABI"


# -- the real suites --------------------------------------------------------------------------------------


@pytest.mark.parametrize("network", ["eth-tester", "anvil"])
def test_reference_passes(run_suite, network: str) -> None:
    if network == "anvil" and not anvil_available():
        pytest.skip("needs anvil (npm ci)")
    run: SuiteRun = run_suite("-m", OWN, f"--network={network}")
    outcomes = run.outcomes()
    assert run.result.ret == 0, run.output
    assert {t: o for t, o in outcomes.items() if t not in ROUTED_FACETS} == dict.fromkeys(
        sorted(set(EXPECTED_TESTS) - ROUTED_FACETS), "passed"
    ), outcomes
    assert sorted(outcomes) == EXPECTED_TESTS
    ping = next(c for c in run.evidence()["checks"] if c["nodeid"].endswith("test_pd_own[PingFacet]"))
    assert ping["outcome"] == "skipped" and "a facet routed by ManifestDispatcher" in ping["message"]


def test_an_eoa_owned_factory_fails_only_its_test(run_suite) -> None:
    run: SuiteRun = run_suite("-m", OWN, target=DEFECTIVE / "pd-owned-by-eoa" / "signoff.toml")
    run.assert_fails_only(
        "test_pd_own[DeterministicChunkFactory]",
        f"DeterministicChunkFactory: owner() is Deployer ({DEPLOYER}), an EOA, not the governance Governance (",
    )


def test_a_safe_below_threshold_fails_only_the_governance_test(run_suite) -> None:
    run: SuiteRun = run_suite("-m", OWN, target=DEFECTIVE / "pd-safe-below-threshold" / "signoff.toml")
    record = run.assert_fails_only(
        "test_pd_own_governance", ") threshold 2 of 5 is below the required 3 of 5", skips_count=False
    )
    assert "Safe Governance (0x" in record["message"]
    (row,) = run.evidence()["tables"]["PD-OWN-governance"]["rows"]
    assert (row["threshold"], row["verdict"]) == ("2 of 5", "fail")


def test_a_router_wired_to_a_stale_dispatcher_fails_only_its_wiring_test(run_suite) -> None:
    run: SuiteRun = run_suite("-m", OWN, target=DEFECTIVE / "pd-wrong-wiring" / "signoff.toml")
    run.assert_fails_only(
        "test_pd_wire[PayRoxProxyRouter.dispatcher]",
        "PayRoxProxyRouter.dispatcher() is StaleDispatcher (0x",
    )
    assert "expected ManifestDispatcher (0x51a240271AB8AB9f9a21C82d9a85396b704E164d)" in run.output


def test_a_getter_missing_from_the_abi_and_a_missing_governance_are_reported(run_suite, tmp_path: Path) -> None:
    target = _copy_reference(tmp_path / "variant")
    _edit(target, 'getter = "PayRoxProxyRouter.dispatcher"', 'getter = "PayRoxProxyRouter.dispatcherAddress"')
    _edit(target, 'governance = "@Governance"\n', "")
    run: SuiteRun = run_suite("-m", OWN, target=target)
    outcomes = run.outcomes()
    failed = sorted(test for test, outcome in outcomes.items() if outcome != "passed" and test not in ROUTED_FACETS)
    assert failed == ["test_pd_own_governance", "test_pd_wire[PayRoxProxyRouter.dispatcherAddress]"], outcomes
    assert (
        "PayRoxProxyRouter.dispatcherAddress is missing from the ABI of PayRoxProxyRouter (not called; its address "
        "getters: dispatcher, owner, pendingOwner)" in run.output
    )
    assert "no governance is configured" in run.output and "Traceback" not in run.output


# -- read-only on a live network --------------------------------------------------------------------------


@pytest.mark.skipif(not anvil_available(), reason="needs anvil (npm ci)")
def test_both_checks_run_read_only_on_a_live_network(run_suite, tmp_path: Path) -> None:
    from signoff.chain import Endpoint
    from signoff.chain.anvil import AnvilNode, find_anvil
    from signoff.chain.backends import open_endpoint
    from signoff.deploy.rehearsal import rehearse

    settings = resolve_session(REFERENCE, "anvil")
    assert settings.deploy_plan is not None and settings.postdeploy is not None
    target = _copy_reference(tmp_path / "protocol")
    with AnvilNode(find_anvil(FIXTURES)) as node:
        chain = open_endpoint(Endpoint("anvil", node.url, 31337, "anvil"))
        system = rehearse(
            chain, settings.target, settings.artifacts, settings.deploy_plan, governance=settings.postdeploy.governance
        )
        book = tmp_path / "local.json"
        book.write_text(json.dumps(system.addresses, indent=2))
        safe = system.safes["Governance"].address
        _append_network(target, node.url, book, safe, deployer=system.accounts["Deployer"])
        run: SuiteRun = run_suite("-m", OWN, "--network=local", target=target)
    outcomes = run.outcomes()
    assert run.result.ret == 0, run.output
    assert sorted(outcomes) == EXPECTED_TESTS, outcomes
    assert {t for t, o in outcomes.items() if o != "passed"} == ROUTED_FACETS, outcomes
    evidence = run.evidence()
    governance_row = evidence["tables"]["PD-OWN-governance"]["rows"][0]
    assert (governance_row["kind"], governance_row["threshold"]) == ("safe 1.4.1", "3 of 5")
    assert safe in governance_row["governance"]
    admin = next(r for r in evidence["tables"]["PD-OWN"]["rows"] if r["authority"] == own.ADMIN_ROLE)
    assert admin["verdict"] == "pass" and safe in admin["holder"]
    dispatcher = next(c for c in evidence["checks"] if c["nodeid"].endswith("test_pd_own[ManifestDispatcher]"))
    assert any(f"Deployer ({system.accounts['Deployer']})" in p for p in dispatcher["data"]["probed"])


# -- helpers ----------------------------------------------------------------------------------------------


def _copy_reference(folder: Path) -> Path:
    shutil.copytree(FIXTURES / "reference", folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder / "signoff.toml"


def _edit(target: Path, old: str, new: str) -> None:
    text = target.read_text()
    assert text.count(old) == 1, old
    target.write_text(text.replace(old, new))


def _append_network(target: Path, url: str, book: Path, governance: str, *, deployer: str | None = None) -> None:
    text = target.read_text() + (
        f'\n[networks.local]\nrpc_url = "{url}"\nchain_id = 31337\ndeployments = "{book}"\n'
        f'governance = ["{governance}"]\n'
    )
    if deployer:
        text += f'deployer = "{deployer}"\n'
    target.write_text(text)
