"""PF-ABI: canonical snapshots, their diff, implements; the real suite on the reference, its
defective fixtures and the --signoff-update-snapshots round trip."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from signoff.artifacts.hashing import keccak256
from signoff.preflight import abi_shape as shape
from tests.conftest import FIXTURES, SuiteRun


def p(type_: str, name: str = "", **extra: Any) -> dict[str, Any]:
    return {"type": type_, "name": name, "internalType": type_, **extra}


def fn(name: str, inputs: list[dict[str, Any]], mutability: str = "nonpayable", outputs: Any = ()) -> dict[str, Any]:
    return {"type": "function", "name": name, "inputs": inputs, "outputs": list(outputs), "stateMutability": mutability}


def event(name: str, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "event", "name": name, "inputs": inputs, "anonymous": False}


ORDER = p("tuple[]", "orders", components=[p("uint256", "id"), p("tuple", "leg", components=[p("address"), p("bool")])])
REGISTRY_V1 = [
    {"type": "constructor", "inputs": [p("address", "owner")], "stateMutability": "nonpayable"},
    fn("register", [p("bytes32", "id"), p("address", "owner")]),
    fn("lookup", [p("bytes32", "id")], "view", [p("address")]),
    fn("remove", [p("bytes32", "id")]),
    fn("settle", [ORDER], "payable"),
    event("Registered", [p("bytes32", "id", indexed=True), p("address", "owner", indexed=False)]),
    {"type": "error", "name": "NotOwner", "inputs": [p("bytes32", "id"), p("address", "caller")]},
    {"type": "receive", "stateMutability": "payable"},
]


# -- the canonical snapshot ---------------------------------------------------------------------------


def test_snapshot_is_canonical_sorted_and_stable() -> None:
    first = shape.render_snapshot(shape.snapshot_of("contracts/R.sol:R", REGISTRY_V1))
    second = shape.render_snapshot(shape.snapshot_of("contracts/R.sol:R", list(reversed(REGISTRY_V1))))
    assert first == second and first.endswith("}\n")
    data = json.loads(first)
    assert list(data) == sorted(data)  # keys sorted at every level
    assert [f["signature"] for f in data["functions"]] == [
        "lookup(bytes32)",
        "register(bytes32,address)",
        "remove(bytes32)",
        "settle((uint256,(address,bool))[])",
    ]
    assert data["functions"][3] == {
        "signature": "settle((uint256,(address,bool))[])",
        "selector": "0x" + keccak256(b"settle((uint256,(address,bool))[])").hex()[:8],
        "inputs": [{"name": "orders", "type": "(uint256,(address,bool))[]"}],
        "outputs": [],
        "stateMutability": "payable",
    }
    assert data["events"][0]["inputs"] == [
        {"name": "id", "type": "bytes32", "indexed": True},
        {"name": "owner", "type": "address", "indexed": False},
    ]
    assert data["events"][0]["topic"].startswith("0x") and len(data["events"][0]["topic"]) == 66
    assert [e["signature"] for e in data["errors"]] == ["NotOwner(bytes32,address)"]
    assert "constructor" not in first
    assert data["entry_points"] == {"receive": "payable"}  # how a call no function matches is answered


def test_legacy_constant_and_payable_flags_become_state_mutability() -> None:
    legacy = [
        {"type": "function", "name": "get", "inputs": [], "outputs": [], "constant": True},
        {"type": "function", "name": "pay", "inputs": [], "outputs": [], "payable": True},
    ]
    functions = shape.snapshot_of("L.sol:L", legacy)["functions"]
    assert [(f["signature"], f["stateMutability"]) for f in functions] == [("get()", "view"), ("pay()", "payable")]


def test_snapshot_file_names() -> None:
    assert shape.snapshot_name("Vault", "contracts/Vault.sol:Vault", unique=True) == "Vault.json"
    assert (
        shape.snapshot_name("Vault", "contracts/v2/Vault.sol:Vault", unique=False)
        == "contracts__v2__Vault.sol--Vault.json"
    )


# -- the comparison -----------------------------------------------------------------------------------

REGISTRY_V2 = [
    fn("register", [p("bytes32", "id"), p("address", "owner")]),
    fn("lookup", [p("bytes32", "id")], "nonpayable", [p("address")]),
    fn("transfer", [p("bytes32", "id"), p("address", "to")]),
    fn("settle", [ORDER], "payable"),
    event("Registered", [p("bytes32", "id", indexed=True), p("address", "owner", indexed=True)]),
    {"type": "error", "name": "NotOwner", "inputs": [p("bytes32", "id"), p("address", "caller")]},
]


def test_a_changed_abi_fails_with_a_readable_diff() -> None:
    stored = shape.render_snapshot(shape.snapshot_of("contracts/R.sol:R", REGISTRY_V1))
    result = shape.check_snapshot(
        "contracts/R.sol:R", shape.snapshot_of("contracts/R.sol:R", REGISTRY_V2), stored, "abi/R.json"
    )
    assert result.status == "differs"
    assert [f.message for f in result.findings] == [
        "contracts/R.sol:R: the ABI differs from its snapshot abi/R.json (1 added, 2 removed, 2 changed); expected "
        "the committed interface, found:\n"
        "  + function transfer(bytes32 id, address to) nonpayable\n"
        "  - receive() payable\n"
        "  - function remove(bytes32 id) nonpayable\n"
        "  ~ function lookup(bytes32): stateMutability view -> nonpayable\n"
        "  ~ event Registered(bytes32,address): inputs (bytes32 indexed id, address owner) -> "
        "(bytes32 indexed id, address indexed owner)\n"
        "Next step: if the change is intended, run `pytest -m abi --signoff-update-snapshots`, review and commit "
        "abi/R.json; otherwise restore the interface in the contract"
    ]
    assert result.row()["status"] == "differs: 1 added, 2 removed, 2 changed"
    assert result.row()["verdict"] == "fail"


def test_an_identical_abi_in_another_order_matches() -> None:
    stored = shape.render_snapshot(shape.snapshot_of("R.sol:R", REGISTRY_V1))
    result = shape.check_snapshot("R.sol:R", shape.snapshot_of("R.sol:R", REGISTRY_V1[::-1]), stored, "abi/R.json")
    assert (result.status, result.findings) == ("match", ())


def test_a_missing_or_unreadable_snapshot_fails_with_the_instruction() -> None:
    actual = shape.snapshot_of("contracts/R.sol:R", REGISTRY_V1)
    missing = shape.check_snapshot("contracts/R.sol:R", actual, None, "abi/R.json")
    assert [f.message for f in missing.findings] == [
        "contracts/R.sol:R: no expected-interface snapshot at abi/R.json (expected one per contract), so there is "
        "nothing to compare its ABI (4 functions, 1 events, 1 errors) with. Next step: run "
        "`pytest -m abi --signoff-update-snapshots`, review and commit abi/R.json"
    ]
    broken = shape.check_snapshot("contracts/R.sol:R", actual, '{"schema": "other"}', "abi/R.json")
    assert broken.status == "unreadable"
    assert broken.findings[0].message.startswith(
        "contracts/R.sol:R: the snapshot abi/R.json cannot be read: not a signoff-abi/1 snapshot (schema: 'other')."
    )


def test_update_reports_created_updated_and_unchanged() -> None:
    v1 = shape.snapshot_of("contracts/R.sol:R", REGISTRY_V1)
    v2 = shape.snapshot_of("contracts/R.sol:R", REGISTRY_V2)
    created = shape.update_snapshot("contracts/R.sol:R", v1, None, "abi/R.json")
    assert created.status == "created"
    assert created.findings[0].severity == "warning"
    assert created.findings[0].message == (
        "contracts/R.sol:R: snapshot abi/R.json created (4 functions, 1 events, 1 errors); review and commit it"
    )
    updated = shape.update_snapshot("contracts/R.sol:R", v2, shape.render_snapshot(v1), "abi/R.json")
    assert updated.status == "updated"
    assert updated.findings[0].message.splitlines()[:2] == [
        "contracts/R.sol:R: snapshot abi/R.json updated (1 added, 2 removed, 2 changed); review and commit it:",
        "  + function transfer(bytes32 id, address to) nonpayable",
    ]
    unchanged = shape.update_snapshot("contracts/R.sol:R", v2, shape.render_snapshot(v2), "abi/R.json")
    assert (unchanged.status, unchanged.findings) == ("unchanged", ())


# -- implements ---------------------------------------------------------------------------------------

IVAULT = [
    fn("deposit", [p("address", "account"), p("uint256", "amount")]),
    fn("move", [p("address", "from"), p("address", "to")]),
    fn("balanceOf", [p("address", "account")], "view", [p("uint256")]),
    fn("pay", [], "payable"),
    event("Deposited", [p("address", "account", indexed=True), p("uint256", "amount")]),
    {"type": "error", "name": "ZeroAmount", "inputs": []},
    {"type": "error", "name": "Frozen", "inputs": [p("address", "account")]},
]


def test_a_faithful_implementation_passes_and_may_be_stricter() -> None:
    stricter = [dict(e) for e in IVAULT]
    stricter[2] = fn("balanceOf", [p("address", "who")], "pure", [p("uint256", "balance")])  # view -> pure is fine
    result = shape.check_implements("V.sol:V", [*stricter, fn("extra", [])], "IV.sol:IV", IVAULT)
    assert result.findings == ()
    assert [m.status for m in result.members] == ["present"] * 7


def test_argument_order_names_mutability_returns_indexed_and_missing_members_fail() -> None:
    vault = [
        fn("deposit", [p("uint256", "amount"), p("address", "account")]),  # types in another order
        fn("move", [p("address", "to"), p("address", "from")]),  # same types, names swapped
        fn("balanceOf", [p("address", "account")], "nonpayable", [p("bool")]),  # view promised; returns differ
        fn("pay", [], "nonpayable"),  # payable promised
        event("Deposited", [p("address", "account"), p("uint256", "amount")]),  # indexed flag lost
        {"type": "error", "name": "Frozen", "inputs": [p("address", "account"), p("uint256", "until")]},
    ]
    result = shape.check_implements("contracts/V.sol:V", vault, "contracts/IV.sol:IV", IVAULT)
    assert {m.signature: m.status for m in result.members} == {
        "balanceOf(address)": "mutability differs + returns differ",
        "deposit(address,uint256)": "argument order differs",
        "move(address,address)": "argument order differs",
        "pay()": "mutability differs",
        "Deposited(address,uint256)": "indexed flags differ",
        "Frozen(address)": "signature differs",
        "ZeroAmount()": "missing",
    }
    assert [f.message for f in result.findings] == [
        "contracts/V.sol:V does not implement contracts/IV.sol:IV as declared in implements: 7 of 7 members differ "
        "(expected every function, event and error of contracts/IV.sol:IV with the same signature):\n"
        "  - function balanceOf(address): stateMutability is nonpayable on the contract, the interface promises view; "
        "returns (bool) on the contract, the interface declares (uint256)\n"
        "  - function deposit(address,uint256) (0x47e7ef24): the contract has deposit(uint256,address) instead, the "
        "same arguments in another order, so code built from the interface uses another selector than the "
        "contract's (0x6e553f65)\n"
        "  - function move(address,address): named arguments in another order: interface (from, to), contract "
        "(to, from); the types match, so callers compile and pass the values swapped\n"
        "  - function pay(): stateMutability is nonpayable on the contract, the interface promises payable\n"
        "  - event Deposited(address,uint256): declared event Deposited(address account, uint256 amount) on the "
        "contract, the interface declares event Deposited(address indexed account, uint256 amount); log filters "
        "and decoders built from the interface miss or misread it\n"
        "  - error Frozen(address) (0x" + shape.selector("Frozen(address)")[2:] + "): missing; the contract has "
        "Frozen(address,uint256) instead\n"
        "  - error ZeroAmount() (0x" + shape.selector("ZeroAmount()")[2:] + "): missing from the contract\n"
        "Next step: make contracts/V.sol:V declare each member exactly as contracts/IV.sol:IV does (same argument "
        "order and types; inheriting IV lets the compiler enforce it), or correct implements"
    ]


def test_an_empty_interface_is_not_implemented_vacuously() -> None:
    result = shape.check_implements("V.sol:V", IVAULT, "E.sol:E", [])
    assert len(result.findings) == 1
    assert "E.sol:E declares no function, event or error (expected at least one)" in result.findings[0].message


# -- the real suite -----------------------------------------------------------------------------------

REFERENCE_CONTRACTS = (
    "contracts/dispatcher/ManifestDispatcher.sol:ManifestDispatcher",
    "contracts/facets/PingFacet.sol:PingFacet",
    "contracts/facets/VaultFacet.sol:VaultFacet",
    "contracts/factory/DeterministicChunkFactory.sol:DeterministicChunkFactory",
    "contracts/router/PayRoxProxyRouter.sol:PayRoxProxyRouter",
)


def test_reference_matches_its_snapshots_and_implements_the_openzeppelin_interfaces(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "abi")
    assert run.result.ret == 0, run.output
    assert run.outcomes() == {
        **{f"test_pf_abi_snapshot[{name}]": "passed" for name in REFERENCE_CONTRACTS},
        "test_pf_abi_implements[ManifestDispatcher-implements-IAccessControl]": "passed",
        "test_pf_abi_implements[ManifestDispatcher-implements-IERC165]": "passed",
        "test_pf_abi_inventory": "passed",
        "test_pf_abi_unique_names": "passed",
    }
    tables = run.evidence()["tables"]
    assert [r["contract"] for r in tables["PF-ABI"]["rows"]] == sorted(REFERENCE_CONTRACTS)
    assert {r["status"] for r in tables["PF-ABI"]["rows"]} == {"match"}
    members = tables["PF-ABI-implements"]["rows"]
    assert len(members) == 11  # IAccessControl: 5 functions, 3 events, 2 errors; IERC165: 1 function
    assert {r["status"] for r in members} == {"present"}
    assert "warning" not in run.output.lower()
    inventory = next(c for c in run.evidence()["checks"] if c["nodeid"].endswith("test_pf_abi_inventory"))
    assert inventory["data"]["left_out_by_default"] == [
        "contracts/test/ReentrancyAttacker.sol:ReentrancyAttacker (a test or mock contract: under test/)"
    ]


FN = [{"type": "function"}]
ERR = [{"type": "error", "name": "MerkleProofInvalidMultiproof"}]
TEST = "a test or mock contract: "
LIBRARY = "a library (its code refuses to be called, or has only internal functions)"


@pytest.mark.parametrize(
    ("source", "name", "runtime", "abi", "expected"),
    [
        ("contracts/Vault.sol", "Vault", "6080", [{"type": "function", "name": "f"}], None),
        ("contracts/test/Attacker.sol", "Attacker", "6080", FN, TEST + "under test/"),
        ("test/Vault.t.sol", "VaultTest", "6080", FN, TEST + "under test/"),
        ("src/Vault.t.sol", "VaultTest", "6080", FN, TEST + "a .t.sol file"),
        ("script/Deploy.s.sol", "Deploy", "6080", FN, TEST + "under script/"),
        ("contracts/mocks/Token.sol", "Token", "6080", FN, TEST + "under mocks/"),
        ("contracts/ERC20Mock.sol", "ERC20Mock", "6080", FN, TEST + "named *Mock*"),
        ("contracts/MockOracle.sol", "MockOracle", "6080", FN, TEST + "named *Mock*"),
        ("contracts/libs/LibVault.sol", "LibVault", "73" + "00" * 20 + "3014", [], LIBRARY),
        ("contracts/libs/Storage.sol", "Storage", "6080", [], "no external interface (an empty ABI)"),
        # OpenZeppelin's MerkleProof: internal functions only, an error in its ABI, code that reverts at entry
        ("@openzeppelin/contracts/utils/cryptography/MerkleProof.sol", "MerkleProof", "5f80fdfe", ERR, LIBRARY),
        ("contracts/libs/Old.sol", "Old", "6080604052600080fdfe", ERR, LIBRARY),
        ("contracts/Mockingbird.sol", "Mockingbird", "6080", FN, None),
    ],
)
def test_the_default_scope_is_deployable_project_contracts(
    source: str, name: str, runtime: str, abi: list[dict[str, str]], expected: str | None
) -> None:
    assert shape.left_out_by_default(source, name, runtime, abi) == expected


DEFECTS = {
    "abi-changed": (
        "test_pf_abi_snapshot[contracts/Registry.sol:Registry]",
        "contracts/Registry.sol:Registry: the ABI differs from its snapshot abi/Registry.json (1 added, 1 removed, "
        "1 changed); expected the committed interface, found:\n"
        "  + function transfer(bytes32 id, address to) nonpayable\n"
        "  - function remove(bytes32 id) nonpayable\n"
        "  ~ event Registered(bytes32,address): inputs (bytes32 indexed id, address owner) -> "
        "(bytes32 indexed id, address indexed owner)\n"
        "Next step: if the change is intended, run `pytest -m abi --signoff-update-snapshots`, review and commit "
        "abi/Registry.json; otherwise restore the interface in the contract",
    ),
    "abi-argument-order": (
        "test_pf_abi_implements[Vault-implements-IVault]",
        "contracts/Vault.sol:Vault does not implement contracts/IVault.sol:IVault as declared in implements: 1 of 4 "
        "members differ (expected every function, event and error of contracts/IVault.sol:IVault with the same "
        "signature):\n"
        "  - function deposit(address,uint256) (0x47e7ef24): the contract has deposit(uint256,address) instead, the "
        "same arguments in another order, so code built from the interface uses another selector than the "
        "contract's (0x6e553f65)\n"
        "Next step: make contracts/Vault.sol:Vault declare each member exactly as contracts/IVault.sol:IVault does "
        "(same argument order and types; inheriting IVault lets the compiler enforce it), or correct implements",
    ),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defective_fixture_fails_exactly_its_check(run_suite, defect: str) -> None:
    failing_test, message = DEFECTS[defect]
    run: SuiteRun = run_suite("-m", "preflight", target=FIXTURES / "defective" / defect / "signoff.toml")
    record = run.assert_fails_only(failing_test, message, skips_count=False)
    assert record["message"] == message


def test_update_snapshots_rewrites_reports_what_changed_and_passes(run_suite, tmp_path: Path) -> None:
    target_dir = tmp_path / "abi-changed"
    shutil.copytree(FIXTURES / "defective" / "abi-changed", target_dir)
    target = target_dir / "signoff.toml"
    snapshot = target_dir / "abi" / "Registry.json"

    run: SuiteRun = run_suite("-m", "abi", "--signoff-update-snapshots", target=target)
    assert run.result.ret == 0, run.output
    assert (
        "contracts/Registry.sol:Registry: snapshot abi/Registry.json updated (1 added, 1 removed, 1 changed); "
        "review and commit it:" in run.output
    )
    assert "+ function transfer(bytes32 id, address to) nonpayable" in run.output
    row = run.evidence()["tables"]["PF-ABI"]["rows"][0]
    assert (row["status"], row["verdict"]) == ("updated: 1 added, 1 removed, 1 changed", "pass")
    written = snapshot.read_text()
    assert '"signature": "transfer(bytes32,address)"' in written and "remove(bytes32)" not in written

    again: SuiteRun = run_suite("-m", "abi", target=target)
    assert again.result.ret == 0, again.output
    assert again.evidence()["tables"]["PF-ABI"]["rows"][0]["status"] == "match"

    quiet: SuiteRun = run_suite("-m", "abi", "--signoff-update-snapshots", target=target)
    assert quiet.result.ret == 0, quiet.output
    assert quiet.evidence()["tables"]["PF-ABI"]["rows"][0]["status"] == "unchanged"
    assert "snapshot abi/Registry.json" not in quiet.output
    assert snapshot.read_text() == written


def test_a_contract_without_a_snapshot_fails_and_says_how_to_write_one(run_suite, tmp_path: Path) -> None:
    target_dir = tmp_path / "no-snapshots"
    shutil.copytree(FIXTURES / "defective" / "abi-argument-order", target_dir, ignore=shutil.ignore_patterns("abi"))
    (target_dir / "abi").mkdir()  # snapshots exist, just not this one (none at all is a first run: one failure)
    (target_dir / "abi" / "Retired.json").write_text("{}")
    run: SuiteRun = run_suite("-m", "abi", target=target_dir / "signoff.toml")
    assert run.result.ret == 1, run.output
    assert run.outcomes()["test_pf_abi_snapshot[contracts/Vault.sol:Vault]"] == "failed"
    assert (
        "contracts/Vault.sol:Vault: no expected-interface snapshot at abi/Vault.json (expected one per contract), so "
        "there is nothing to compare its ABI (2 functions, 1 events, 1 errors) with. Next step: run "
        "`pytest -m abi --signoff-update-snapshots`, review and commit abi/Vault.json" in run.output
    )


def test_checking_no_contract_fails_and_an_orphan_snapshot_is_a_warning(run_suite, tmp_path: Path) -> None:
    fixture = FIXTURES / "defective" / "abi-changed"
    (tmp_path / "abi").mkdir()
    (tmp_path / "abi" / "Gone.json").write_text("{}")
    target = tmp_path / "signoff.toml"
    target.write_text(
        f'[target]\nname = "nothing"\nartifacts = "{fixture / "artifacts"}"\n[compiler]\nexclude = ["contracts/**"]\n'
    )
    run: SuiteRun = run_suite("-m", "abi", target=target)
    assert run.result.ret == 1, run.output
    assert run.outcomes() == {
        "test_pf_abi_snapshot[none]": "skipped",
        "test_pf_abi_implements[none-declared]": "passed",  # nothing declared: nothing to check
        "test_pf_abi_inventory": "failed",
        "test_pf_abi_unique_names": "passed",
    }
    assert "no contract's ABI was checked among 1 in" in run.output
    assert "PF-ABI would pass on nothing" in run.output
    assert "abi/Gone.json: snapshot of no checked contract" in run.output


def test_a_first_run_without_snapshots_is_one_clear_failure(run_suite, tmp_path: Path) -> None:
    target = tmp_path / "signoff.toml"
    target.write_text(
        f'[target]\nname = "first run"\nartifacts = "{FIXTURES / "reference" / "artifacts"}"\n'
        '[compiler]\nexclude = ["@openzeppelin/**", "contracts/test/**"]\n'
    )
    first: SuiteRun = run_suite("-m", "abi", target=target)
    assert first.result.ret == 1, first.output
    failed = [test for test, outcome in first.outcomes().items() if outcome == "failed"]
    assert failed == ["test_pf_abi_snapshot[no-snapshots-yet]"]
    assert "no ABI snapshots yet in abi/ for the 5 contract(s) PF-ABI checks" in first.output
    assert "Next step: `pytest -m abi --signoff-update-snapshots`" in first.output
    update = run_suite("-m", "abi", "--signoff-update-snapshots", target=target)
    assert update.result.ret == 0, update.output
    assert len(list((tmp_path / "abi").glob("*.json"))) == 5
    again = run_suite("-m", "abi", target=target)
    assert again.result.ret == 0, again.output


def _with_a_second(tmp_path: Path, name: str, folder: str) -> Path:
    """The reference's build plus a second contract called ``name`` (a copy) under ``folder``."""
    artifacts = tmp_path / "artifacts"
    shutil.copytree(FIXTURES / "reference" / "artifacts", artifacts)
    original = next(artifacts.glob(f"contracts/**/{name}.sol/{name}.json"))
    document = json.loads(original.read_text())
    document["sourceName"] = f"{folder}/{name}.sol"
    copy = artifacts / folder / f"{name}.sol" / f"{name}.json"
    copy.parent.mkdir(parents=True)
    copy.write_text(json.dumps(document))
    target = tmp_path / "signoff.toml"
    target.write_text(
        f'[target]\nname = "duplicate names"\nartifacts = "{artifacts}"\n[abi]\ncontracts = ["ManifestDispatcher"]\n'
    )
    return target


def test_two_contracts_with_one_name_are_a_finding_listing_both_paths(run_suite, tmp_path: Path) -> None:
    """Deploy scripts name contracts by bare name (`getContractFactory("PingFacet")`); two in one build
    make that ambiguous, and a script may deploy the wrong one."""
    run: SuiteRun = run_suite("-m", "abi", target=_with_a_second(tmp_path, "PingFacet", "contracts/legacy"))
    outcomes = run.outcomes()
    assert outcomes["test_pf_abi_unique_names"] == "failed", outcomes
    assert (
        "2 contracts are named PingFacet: contracts/facets/PingFacet.sol:PingFacet, "
        "contracts/legacy/PingFacet.sol:PingFacet; expected one contract per name, so that a deploy script that "
        "names PingFacet deploys the one you reviewed. Next step: rename or remove one of them, or name them by "
        "path/File.sol:Name everywhere (signoff.toml keys included) and add "
        '[compiler] exclude = ["contracts/legacy/**"] if one is not part of the product' in run.output
    ), run.output


def test_a_build_with_unique_names_passes_the_name_check(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "abi")
    record = next(c for c in run.evidence()["checks"] if c["nodeid"].endswith("test_pf_abi_unique_names"))
    assert record["outcome"] == "passed"


def test_fallback_and_receive_are_compared_where_the_snapshot_records_them() -> None:
    """A dispatcher's fallback is its whole routed interface: dropping receive() or making the fallback
    non-payable is a change; a snapshot written before they were recorded only warns, never fails."""
    fn = {"type": "function", "name": "f", "inputs": [], "outputs": [], "stateMutability": "view"}
    with_both = [
        fn,
        {"type": "fallback", "stateMutability": "payable"},
        {"type": "receive", "stateMutability": "payable"},
    ]
    recorded = shape.render_snapshot(shape.snapshot_of("c.sol:C", with_both))
    assert (
        shape.check_snapshot("c.sol:C", shape.snapshot_of("c.sol:C", with_both), recorded, "abi/C.json").findings == ()
    )

    changed = shape.snapshot_of("c.sol:C", [fn, {"type": "fallback", "stateMutability": "nonpayable"}])
    result = shape.check_snapshot("c.sol:C", changed, recorded, "abi/C.json")
    [finding] = result.findings
    assert finding.is_error
    assert "  - receive() payable" in finding.message and "  ~ fallback(): payable -> nonpayable" in finding.message

    legacy = shape.render_snapshot(shape.snapshot_of("c.sol:C", [fn]))  # no entry points recorded
    [note] = shape.check_snapshot("c.sol:C", shape.snapshot_of("c.sol:C", with_both), legacy, "abi/C.json").findings
    assert note.severity == "warning"
    assert "its fallback() payable, receive() payable are not in the snapshot abi/C.json" in note.message
