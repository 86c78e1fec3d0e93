"""PF-ADDR: what counts as an address, the AST scan, and the real suite on its fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from signoff.artifacts.evm import disassemble, split_metadata
from signoff.artifacts.loader import Bytecode, Contract, LinkReference, load_artifacts
from signoff.preflight.addresses import (
    AstIndex,
    AstScan,
    SourceLiteral,
    check_addresses,
    checksum,
    not_an_address,
    unused_allow_entries,
)
from signoff.target import AllowEntry
from tests.conftest import FIXTURES, SuiteRun

DEFECTIVE = FIXTURES / "defective"
USDT = 0xDAC17F958D2EE523A2206206994597C13D831EC7
DEPOSIT = 0x00000000219AB540356CBB839CBE05303D7705FA
TRAILER = bytes.fromhex("a1647465737443000000") + (10).to_bytes(2, "big")  # {"test": h'000000'}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (0, "zero"),
        (1, "small constant (precompile or sentinel range, below 2**16)"),
        (0x100, "small constant (precompile or sentinel range, below 2**16)"),
        ((1 << 160) - 1, "bit mask (one run of 1-bits)"),  # the address mask
        (((1 << 160) - 1) ^ 0xFF, "bit mask (one run of 1-bits)"),
        (1 << 159, "bit mask (one run of 1-bits)"),
        (0xFFFFFFFF << 96, "bit mask (one run of 1-bits)"),
        (1 << 160, "wider than 160 bits"),
        (USDT, None),
        (DEPOSIT, None),
        (0x10000 + 1, None),
    ],
)
def test_what_is_not_an_address(value: int, reason: str | None) -> None:
    assert not_an_address(value) == reason


def test_checksum_is_eip55() -> None:
    for text in ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"):
        assert checksum(int(text, 16)) == text
    assert checksum(DEPOSIT) == "0x00000000219ab540356cBB839Cbe05303d7705Fa"


# -- the AST scan on a hand-made build-info ---------------------------------------------------------

SOURCE = """\
pragma solidity 0.8.30;
address constant TOP = 0x1111111111111111111111111111111111111111;
function freeAddr() pure returns (address) { return 0x2222222222222222222222222222222222222222; }
library Lib {
    function inner() internal pure returns (address) { return address(uint160(0x1234567890abcdef1234)); }
    function outer() public pure returns (address) { return 0x3333333333333333333333333333333333333333; }
}
contract Base { function b() internal { assembly { let x := 0x00000000219ab540356cbb839cbe05303d7705fa } } }
contract Other { function o() external pure returns (address) { return 0x4444444444444444444444444444444444444444; } }
contract A is Base { function a() external { address(0); address(0x0000000000000000000000000000000000000001); } }
"""


def _src(text: str) -> str:
    start = SOURCE.encode().index(text.encode())
    return f"{start}:{len(text.encode())}:0"


def _literal(node_id: int, text: str, type_string: str, src: str | None = None) -> dict[str, Any]:
    return {
        "id": node_id,
        "nodeType": "Literal",
        "kind": "number",
        "value": text,
        "src": src or _src(text),
        "typeDescriptions": {"typeString": type_string},
    }


def _conversion(node_id: int, to: str, argument: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": node_id,
        "nodeType": "FunctionCall",
        "kind": "typeConversion",
        "arguments": [argument],
        "typeDescriptions": {"typeString": to},
    }


def _ref(node_id: int, target: int) -> dict[str, Any]:
    return {"id": node_id, "nodeType": "Identifier", "referencedDeclaration": target}


def _function(node_id: int, visibility: str, *body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": node_id,
        "nodeType": "FunctionDefinition",
        "visibility": visibility,
        "body": {"id": node_id + 1000, "nodeType": "Block", "statements": list(body)},
    }


def _contract_node(node_id: int, name: str, kind: str, bases: list[int], *nodes: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": node_id,
        "nodeType": "ContractDefinition",
        "name": name,
        "contractKind": kind,
        "linearizedBaseContracts": bases,
        "nodes": list(nodes),
        "src": "0:1:0",
    }


def _build_info() -> dict[str, Any]:
    top = {
        "id": 2,
        "nodeType": "VariableDeclaration",
        "constant": True,
        "value": _literal(3, "0x1111111111111111111111111111111111111111", "address"),
    }
    free = _function(4, "internal", _literal(5, "0x2222222222222222222222222222222222222222", "address"))
    library = _contract_node(
        10,
        "Lib",
        "library",
        [10],
        _function(
            11,
            "internal",
            _conversion(
                12, "address", _conversion(13, "uint160", _literal(14, "0x1234567890abcdef1234", "int_const 8598"))
            ),
        ),
        _function(15, "public", _literal(16, "0x3333333333333333333333333333333333333333", "address")),
    )
    yul = {
        "nodeType": "YulLiteral",
        "kind": "number",
        "value": "0x00000000219ab540356cbb839cbe05303d7705fa",
        "src": _src("0x00000000219ab540356cbb839cbe05303d7705fa"),
    }
    base = _contract_node(
        20, "Base", "contract", [20], _function(21, "internal", {"id": 22, "nodeType": "InlineAssembly", "AST": yul})
    )
    other = _contract_node(
        30,
        "Other",
        "contract",
        [30],
        _function(31, "external", _literal(32, "0x4444444444444444444444444444444444444444", "address")),
    )
    a = _contract_node(
        40,
        "A",
        "contract",
        [40, 20],
        _function(
            41,
            "external",
            _ref(42, 2),
            _ref(43, 4),
            _ref(44, 11),
            _ref(45, 15),
            _ref(46, 31),
            _conversion(47, "address", _literal(48, "0", "int_const 0", f"{SOURCE.index('address(0)') + 8}:1:0")),
            _conversion(49, "address", _literal(50, "0x0000000000000000000000000000000000000001", "address")),
        ),
    )
    unit = {"id": 1, "nodeType": "SourceUnit", "nodes": [top, free, library, base, other, a]}
    return {
        "input": {"sources": {"contracts/A.sol": {"content": SOURCE}}},
        "output": {"sources": {"contracts/A.sol": {"id": 0, "ast": unit}}},
    }


def test_ast_scan_covers_the_contract_its_bases_and_what_it_inlines() -> None:
    scan = AstIndex(_build_info()).scan("contracts/A.sol", "A")
    assert isinstance(scan, AstScan)
    found = {(lit.location, lit.kind, lit.text) for lit in scan.literals}
    assert found == {
        ("contracts/A.sol:2", "address literal", "0x1111111111111111111111111111111111111111"),
        ("contracts/A.sol:3", "address literal", "0x2222222222222222222222222222222222222222"),
        ("contracts/A.sol:5", "number converted to address", "0x1234567890abcdef1234"),
        ("contracts/A.sol:8", "40-digit hex in inline assembly", "0x00000000219ab540356cbb839cbe05303d7705fa"),
        ("contracts/A.sol:10", "address literal", "0x0000000000000000000000000000000000000001"),
        ("contracts/A.sol:10", "number converted to address", "0"),
    }  # not Lib.outer (public: delegatecalled, not inlined) nor Other.o (another contract's code)
    assert (scan.declarations, scan.files) == (5, ("contracts/A.sol",))  # A, Base, TOP, freeAddr, Lib.inner


def test_ast_scan_says_why_it_cannot_tell() -> None:
    index = AstIndex(_build_info())
    assert index.scan("contracts/B.sol", "B") == (
        "the build-info has no AST for contracts/B.sol (outputSelection without 'ast')"
    )
    assert index.scan("contracts/A.sol", "Missing") == "the AST of contracts/A.sol defines no contract Missing"


# -- the check on hand-made bytecode ------------------------------------------------------------------


def _contract(code: bytes, links: tuple[LinkReference, ...] = (), name: str = "A") -> Contract:
    return Contract(
        f"contracts/{name}.sol",
        name,
        (),
        Bytecode("00"),
        Bytecode(code.hex(), links),
        Path(f"{name}.json"),
        "hardhat",
        lambda: None,  # type: ignore[arg-type,return-value]
    )


def _push(value: int, size: int = 20) -> bytes:
    return bytes([0x5F + size]) + value.to_bytes(size, "big")


CODE = (
    _push((1 << 160) - 1)  # the address mask
    + _push(USDT)
    + _push(0)  # where a library address is linked
    + _push(DEPOSIT, 16)
    + bytes([0x00])
    + TRAILER
)
LIB_LINK = (LinkReference("contracts/L.sol:L", (43,)),)


def test_push20_constants_are_found_masks_and_links_are_not() -> None:
    result = check_addresses(_contract(CODE, LIB_LINK), (), AstScan((), 1, ("contracts/A.sol",)))
    assert [f.message.split(";")[0] for f in result.findings] == [
        "contracts/A.sol:A: hard-coded address 0xdAC17F958D2ee523a2206206994597C13D831ec7 pushed by PUSH20 at "
        "runtime offset 0x15"
    ]
    assert [(i["where"], i["why"]) for i in result.ignored] == [
        ("PUSH20 @0x0", "bit mask (one run of 1-bits)"),
        ("PUSH20 @0x2a", "unlinked library address"),
    ]
    assert result.summary["push20"] == 3
    assert result.summary["metadata_bytes"] == len(TRAILER)
    assert result.verdict == "fail"


def test_a_leading_zero_address_is_seen_only_through_the_ast() -> None:
    bytecode_only = check_addresses(_contract(CODE), (), None, "no build-info")
    assert [lit["address"] for lit in bytecode_only.literals] == [checksum(USDT)]
    assert bytecode_only.findings[-1].severity == "warning"
    assert bytecode_only.findings[-1].message.startswith(
        "contracts/A.sol:A: address literals checked in bytecode only (no build-info): an address with leading "
        "zero bytes, which the optimizer pushes with a shorter PUSH, cannot be seen."
    )
    literal = SourceLiteral(
        DEPOSIT, "0x00000000219ab540356cBB839Cbe05303d7705Fa", "contracts/A.sol:9", "address literal"
    )
    with_ast = check_addresses(_contract(CODE), (), AstScan((literal,), 1, ("contracts/A.sol",)))
    messages = [f.message for f in with_ast.findings]
    assert any(
        m.startswith(
            "contracts/A.sol:A: hard-coded address 0x00000000219ab540356cBB839Cbe05303d7705Fa written at "
            "contracts/A.sol:9 and pushed by PUSH16 at runtime offset 0x3f: its 4 leading zero bytes hide it "
            "from a PUSH20 scan; expected no address literal outside [[addresses.allow]]. Next step:"
        )
        for m in messages
    ), messages


@pytest.mark.parametrize(
    ("contracts", "allowed"),
    [((), True), (("A",), True), (("contracts/A.sol:A",), True), (("Other",), False)],
)
def test_allow_list_entries_scope_by_contract(contracts: tuple[str, ...], allowed: bool) -> None:
    entry = AllowEntry(checksum(USDT).lower(), "USDT is the settlement token", contracts)
    result = check_addresses(_contract(CODE), (entry,), AstScan((), 1, ("contracts/A.sol",)))
    row = next(r for r in result.literals if r["address"] == checksum(USDT))
    assert row["status"] == ("allowed: USDT is the settlement token" if allowed else "not allow-listed")
    assert (result.verdict == "pass") is allowed
    assert result.allowed == ((checksum(USDT).lower(),) if allowed else ())


def test_an_allow_entry_that_covers_nothing_is_a_warning() -> None:
    entry = AllowEntry("0x" + "12" * 20, "left over", ())
    [finding] = unused_allow_entries((entry,), set())
    assert finding.severity == "warning"
    assert finding.message.startswith("[[addresses.allow]] 0x" + "12" * 20 + " (left over) matched no address literal")
    assert unused_allow_entries((entry,), {"0x" + "12" * 20}) == []


def test_the_leading_zero_fixture_pushes_a_push16_that_only_the_ast_path_reports() -> None:
    artifacts = load_artifacts(DEFECTIVE / "addresses-leading-zero" / "artifacts")
    contract = artifacts.resolve("DepositForwarder")
    section, _ = split_metadata(contract.runtime.to_bytes())
    walk = disassemble(section)
    pushes = [i for i in walk.pushes() if i.value == DEPOSIT]
    assert pushes and {i.name for i in pushes} == {"PUSH16"}
    assert not any(i.value == DEPOSIT for i in walk.pushes(20, reachable_only=False))

    bytecode_only = check_addresses(contract, (), None, "AST withheld")
    assert [f.severity for f in bytecode_only.findings] == ["warning"]
    assert bytecode_only.literals == ()

    build_info = next((DEFECTIVE / "addresses-leading-zero" / "artifacts" / "build-info").glob("*.json"))
    scan = AstIndex(json.loads(build_info.read_text())).scan(contract.source, contract.name)
    assert isinstance(scan, AstScan)
    with_ast = check_addresses(contract, (), scan)
    assert [f.severity for f in with_ast.findings] == ["error"]
    assert "pushed by PUSH16 at runtime offsets" in with_ast.findings[0].message


# -- the real suite -------------------------------------------------------------------------------


def test_reference_passes_and_shows_the_walk(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "addresses")
    assert run.result.ret == 0, run.output
    assert "SignoffWarning" not in run.output
    evidence = run.evidence()
    rows = {row["contract"].rsplit(":", 1)[1]: row for row in evidence["tables"]["PF-ADDR"]["rows"]}
    assert sorted(rows) == sorted(
        [
            "DeterministicChunkFactory",
            "ManifestDispatcher",
            "PayRoxProxyRouter",
            "PingFacet",
            "ReentrancyAttacker",
            "VaultFacet",
        ]
    )
    for row in rows.values():
        assert (row["literals"], row["verdict"], row["metadata_bytes"]) == (0, "pass", 53)
        assert row["instructions"] > 100 and row["ast"].split()[0].isdigit()
    assert rows["ReentrancyAttacker"]["data_bytes"] == 65
    attacker = next(c for c in evidence["checks"] if c["nodeid"].endswith("ReentrancyAttacker.sol:ReentrancyAttacker]"))
    assert attacker["data"]["walk"]["truncated_push"] == (
        "PUSH20 at 0x846 wants 20 bytes, 8 left: data, not an instruction"
    )
    assert "PF-ADDR-literals" not in evidence["tables"]
    [allow] = evidence["tables"]["PF-ADDR-allow"]["rows"]
    assert allow["address"] == "(none): every address literal found is a finding"


DEFECTS = {
    "addresses-leading-zero": (
        "test_pf_addr[contracts/DepositForwarder.sol:DepositForwarder]",
        "contracts/DepositForwarder.sol:DepositForwarder: hard-coded address "
        "0x00000000219ab540356cBB839Cbe05303d7705Fa written at contracts/DepositForwarder.sol:22 and pushed by "
        "PUSH16 at runtime offsets 0x96, 0x107: its 4 leading zero bytes hide it from a PUSH20 scan; expected no "
        "address literal outside [[addresses.allow]]. Next step: pass it to the constructor and keep it in an "
        "immutable (or read it from configuration), or allow-list it: [[addresses.allow]] address = "
        '"0x00000000219ab540356cBB839Cbe05303d7705Fa" with a reason',
    ),
    "addresses-push20": (
        "test_pf_addr[contracts/PaymentRouter.sol:PaymentRouter]",
        "contracts/PaymentRouter.sol:PaymentRouter: hard-coded address 0xdAC17F958D2ee523a2206206994597C13D831ec7 "
        "pushed by PUSH20 at runtime offset 0x134 and written at contracts/PaymentRouter.sol:14; expected no "
        "address literal outside [[addresses.allow]]. Next step: pass it to the constructor and keep it in an "
        "immutable (or read it from configuration), or allow-list it: [[addresses.allow]] address = "
        '"0xdAC17F958D2ee523a2206206994597C13D831ec7" with a reason',
    ),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defective_fixture_fails_exactly_its_check(run_suite, defect: str) -> None:
    failing_test, message = DEFECTS[defect]
    # PF-COMP runs too: it must pass on an address defect
    run: SuiteRun = run_suite("-m", "compiler or addresses", target=DEFECTIVE / defect / "signoff.toml")
    run.assert_fails_only(failing_test, message)


def test_allow_listed_weth_is_in_the_evidence_with_its_reason(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "addresses", target=DEFECTIVE / "addresses-push20" / "signoff.toml")
    tables = run.evidence()["tables"]
    weth = next(r for r in tables["PF-ADDR-literals"]["rows"] if r["address"].lower().startswith("0xc02aaa39"))
    assert weth["status"].startswith("allowed: WETH9 is the canonical wrapped ether")
    assert weth["bytecode"].startswith("PUSH20 @0x")
    [entry] = tables["PF-ADDR-allow"]["rows"]
    assert entry["covered"] == "contracts/PaymentRouter.sol:PaymentRouter"


def test_stale_allow_entry_warns_but_does_not_fail(run_suite, tmp_path: Path) -> None:
    target = tmp_path / "signoff.toml"
    target.write_text(
        f'[target]\nname = "stale allow"\nartifacts = "{FIXTURES / "reference" / "artifacts"}"\n'
        '[compiler]\nexclude = ["@openzeppelin/**"]\n'
        '[[addresses.allow]]\naddress = "0x1212121212121212121212121212121212121212"\nreason = "left over"\n'
    )
    run: SuiteRun = run_suite("-m", "addresses", target=target)
    assert run.result.ret == 0, run.output
    assert (
        "[[addresses.allow]] 0x1212121212121212121212121212121212121212 (left over) matched no address literal "
        "in the project contracts."
    ) in run.output
