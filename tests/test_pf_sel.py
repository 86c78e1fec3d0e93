"""PF-SEL: the pure check N-way, and the real suite on the reference and its defective fixtures."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from signoff.artifacts.abi import selector
from signoff.preflight import selectors as sel
from tests.conftest import FIXTURES, SuiteRun

DISPATCHER = "contracts/D.sol:D"
ROUTER = "contracts/R.sol:R"


def fn(name: str, *types: str, **extra: Any) -> dict[str, Any]:
    return {"type": "function", "name": name, "inputs": [{"name": "", "type": t} for t in types], **extra}


def member(
    role: sel.Role, fqn: str, *functions: dict[str, Any], identifiers: dict[str, str] | None = None
) -> sel.Member:
    return sel.Member(role, fqn, functions, identifiers)


def facet(name: str, *functions: dict[str, Any]) -> sel.Member:
    return member("facet", f"contracts/facets/{name}.sol:{name}", *functions)


def errors(result: sel.DiamondResult) -> list[str]:
    return [f.message for f in result.findings if f.is_error]


# -- selectors from canonical signatures ------------------------------------------------------------


def test_tuples_and_arrays_of_tuples_are_expanded_canonically() -> None:
    swap = {
        "name": "",
        "type": "tuple[]",
        "components": [{"type": t} for t in ("bytes32", "uint256", "uint256", "uint256", "bytes")],
    }
    funds = {"name": "", "type": "tuple", "components": [{"type": t} for t in ("address", "bool", "address", "bool")]}
    batch_swap = {
        "type": "function",
        "name": "batchSwap",
        "inputs": [{"type": "uint8"}, swap, {"type": "address[]"}, funds, {"type": "int256[]"}, {"type": "uint256"}],
    }
    calls = {
        "name": "calls",
        "type": "tuple[]",
        "components": [{"type": "address"}, {"type": "bool"}, {"type": "bytes"}],
    }
    nested = {
        "name": "x",
        "type": "tuple[2][]",
        "components": [
            {"type": "uint256"},
            {"type": "tuple[]", "components": [{"type": "address"}, {"type": "bytes32"}]},
        ],
    }
    claims, findings = sel.member_claims(
        member(
            "facet",
            "F.sol:F",
            batch_swap,
            {"type": "function", "name": "aggregate3", "inputs": [calls]},
            fn("n", "bool"),
        )
    )
    claims2, _ = sel.member_claims(member("facet", "F.sol:F", {"type": "function", "name": "deep", "inputs": [nested]}))
    assert findings == []
    assert [(c.signature, c.selector) for c in claims] == [
        (
            "batchSwap(uint8,(bytes32,uint256,uint256,uint256,bytes)[],address[],(address,bool,address,bool),int256[],uint256)",
            "0x945bcec9",
        ),
        ("aggregate3((address,bool,bytes)[])", "0x82ad56cb"),  # Multicall3
        ("n(bool)", selector("n(bool)")),
    ]
    assert claims2[0].signature == "deep((uint256,(address,bytes32)[])[2][])"


def test_fast_keccak_equals_pycryptodome() -> None:
    from signoff.artifacts import hashing

    rng = random.Random(7)
    texts = [
        f"f{rng.randrange(10**9)}({','.join(rng.choice(['uint256', 'bytes', '(address,bool)[]']) for _ in range(3))})"
        for _ in range(500)
    ]
    assert sel._selectors(texts) == [selector(t) for t in texts]
    slow = hashing._pycryptodome()
    assert all(hashing.keccak256(t.encode()) == slow(t.encode()) for t in texts)
    assert hashing.keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert slow(b"") == hashing._EMPTY


def test_the_artifact_path_does_not_import_pycryptodome_beside_the_accelerator() -> None:
    code = "import sys\nfrom signoff.artifacts.hashing import keccak256\nprint('Crypto' in sys.modules)\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_functions_only_and_an_abi_without_type_means_function() -> None:
    abi = (
        {"type": "event", "name": "E", "inputs": []},
        {"type": "error", "name": "Er", "inputs": []},
        {"type": "constructor", "inputs": []},
        {"type": "fallback"},
        {"name": "legacy", "inputs": []},  # solc < 0.5 may leave "type" out: a function
    )
    claims, _ = sel.member_claims(member("facet", "F.sol:F", *abi))
    assert [c.signature for c in claims] == ["legacy()"]


def test_method_identifiers_disagreement_is_a_finding() -> None:
    wrong = member(
        "facet",
        "contracts/facets/F.sol:F",
        fn("burn", "uint256"),
        fn("ping"),
        identifiers={"burn(uint256)": "deadbeef", "stale()": "12345678"},
    )
    _, findings = sel.member_claims(wrong)
    rebuild = (
        "; the ABI and the compiled code disagree, so the routing table cannot be trusted. Next step: rebuild the "
        "artifacts from clean (e.g. `npx hardhat clean && npx hardhat compile` or `forge build --force`) so the "
        "ABI and the compiled code come from the same build"
    )
    assert [f.message for f in findings] == [
        "contracts/facets/F.sol:F: ABI function burn(uint256) hashes to 0x42966c68 (keccak256 of the canonical "
        "signature), but the artifact's methodIdentifiers give 0xdeadbeef" + rebuild,
        "contracts/facets/F.sol:F: ABI function ping() (selector 0x5c36b186) is missing from the artifact's "
        "methodIdentifiers" + rebuild,
        "contracts/facets/F.sol:F: methodIdentifiers list stale() (0x12345678), which the ABI does not declare"
        + rebuild,
    ]
    agreeing = member("facet", "F.sol:F", fn("burn", "uint256"), identifiers={"burn(uint256)": "42966C68"})
    assert sel.member_claims(agreeing)[1] == []


def test_a_malformed_abi_entry_is_a_finding_not_a_crash() -> None:
    _, findings = sel.member_claims(member("facet", "F.sol:F", {"type": "function", "inputs": []}))
    assert len(findings) == 1
    assert findings[0].message.startswith("F.sol:F: ABI entry #0 is a function without a usable name")


# -- the three findings, N-way ----------------------------------------------------------------------


def test_collision_duplicate_and_shadowed_across_four_facets_router_and_dispatcher() -> None:
    dispatcher = member("dispatcher", DISPATCHER, fn("owner"), fn("pause"), fn("paused"))
    router = member("router", ROUTER, fn("pause"), fn("paused"), fn("withdraw", "uint256"))
    facets = [
        facet("BurnFacet", fn("burn", "uint256"), fn("supportsInterface", "bytes4")),
        facet("StorageFacet", fn("collate_propagate_storage", "bytes16")),
        facet("LegacyBurnFacet", fn("burn", "uint256"), fn("supportsInterface", "bytes4")),
        facet("AdminFacet", fn("owner"), fn("withdraw", "uint256"), fn("supportsInterface", "bytes4")),
        facet("PingFacet", fn("ping")),
    ]
    result = sel.check_diamond("diamond D", dispatcher, facets, router)
    allow_hint = ", or add a [[selectors.allow]] entry with a reason if this is intended"
    assert errors(result) == [
        "diamond D: duplicate selector 0x01ffc9a7: supportsInterface(bytes4) is declared by 3 facets "
        "(contracts/facets/BurnFacet.sol:BurnFacet supportsInterface(bytes4), "
        "contracts/facets/LegacyBurnFacet.sol:LegacyBurnFacet supportsInterface(bytes4), "
        "contracts/facets/AdminFacet.sol:AdminFacet supportsInterface(bytes4)); expected one facet per selector. "
        "The dispatcher routes it to only one of them, so the other implementations are never called. "
        "Next step: keep the function in one facet and remove it from the others" + allow_hint,
        "diamond D: shadowed selector 0x2e1a7d4d: facet contracts/facets/AdminFacet.sol:AdminFacet withdraw(uint256) "
        "is unreachable, because the router contracts/R.sol:R answers it itself with withdraw(uint256) before "
        "forwarding to the dispatcher; expected every facet selector to reach the dispatcher's fallback. "
        "Next step: rename the facet function or remove it from the facet (or drop it from the router)" + allow_hint,
        "diamond D: selector collision 0x42966c68: 2 different signatures hash to the same 4 bytes in 3 facets "
        "(contracts/facets/BurnFacet.sol:BurnFacet burn(uint256), "
        "contracts/facets/StorageFacet.sol:StorageFacet collate_propagate_storage(bytes16), "
        "contracts/facets/LegacyBurnFacet.sol:LegacyBurnFacet burn(uint256)); expected one facet per selector. "
        "The dispatcher can route 0x42966c68 to only one of them, so the others are unreachable. "
        "Next step: rename or change the parameters of all but one of these functions" + allow_hint,
        "diamond D: shadowed selector 0x8da5cb5b: facet contracts/facets/AdminFacet.sol:AdminFacet owner() is "
        "unreachable, because the dispatcher contracts/D.sol:D answers it itself with owner() before its fallback "
        "routes anything; expected every facet selector to reach the dispatcher's fallback. "
        "Next step: rename the facet function or remove it from the facet (or drop it from the dispatcher)"
        + allow_hint,
        "diamond D: shadowed selector 0x5c975abb: the dispatcher contracts/D.sol:D's own paused() is unreachable "
        "through the router contracts/R.sol:R, which answers paused() itself instead of forwarding it; expected "
        "every dispatcher function to be reachable through the router. Next step: rename one of the two functions, "
        "or, when the dispatcher's is meant to be called at its own address only, say so with a [[selectors.allow]] "
        'entry (selector = "0x5c975abb", contracts = [router, dispatcher]) and its reason',
        "diamond D: shadowed selector 0x8456cb59: the dispatcher contracts/D.sol:D's own pause() is unreachable "
        "through the router contracts/R.sol:R, which answers pause() itself instead of forwarding it; expected "
        "every dispatcher function to be reachable through the router. Next step: rename one of the two functions, "
        "or, when the dispatcher's is meant to be called at its own address only, say so with a [[selectors.allow]] "
        'entry (selector = "0x8456cb59", contracts = [router, dispatcher]) and its reason',
    ]
    status = {(r.selector, r.contract.split(":")[1]): (r.status, r.verdict) for r in result.routes}
    assert status[("0x5c36b186", "PingFacet")] == ("routed", "pass")
    assert status[("0x42966c68", "StorageFacet")] == ("collision", "fail")
    assert status[("0x01ffc9a7", "AdminFacet")] == ("duplicate", "fail")
    assert status[("0x8da5cb5b", "AdminFacet")] == ("shadowed", "fail")
    assert status[("0x8da5cb5b", "D")] == ("dispatcher", "pass")
    # the router answering pause()/paused() itself makes the dispatcher's own unreachable through it
    assert status[(selector("pause()"), "R")] == ("router", "pass")
    assert status[(selector("pause()"), "D")] == ("shadowed", "fail")
    assert result.facet_selectors == 9
    rows = result.rows()
    assert [r["selector"] for r in rows] == sorted(r["selector"] for r in rows)
    assert {r["status"] for r in rows if r["verdict"] == "fail"} == {"COLLISION", "DUPLICATE", "SHADOWED"}


def test_a_selector_both_duplicated_and_shadowed_says_both() -> None:
    dispatcher = member("dispatcher", DISPATCHER, fn("owner"))
    result = sel.check_diamond("diamond D", dispatcher, [facet("A", fn("owner")), facet("B", fn("owner"))])
    assert [m.split(":")[1].strip().split(" selector")[0] for m in errors(result)] == ["duplicate", "shadowed"]
    assert {r.status for r in result.routes if r.role == "facet"} == {"duplicate + shadowed"}


def test_no_facet_an_empty_facet_and_a_repeated_facet_fail() -> None:
    dispatcher = member("dispatcher", DISPATCHER, fn("owner"))
    assert errors(sel.check_diamond("diamond D", dispatcher, [])) == [
        "diamond D: no facet declared (expected at least one), so there is no selector to route and PF-SEL would "
        "pass on nothing. Next step: list the diamond's facets in [[diamonds]] facets"
    ]
    ping = facet("PingFacet", fn("ping"))
    assert errors(sel.check_diamond("diamond D", dispatcher, [facet("Empty"), ping, ping])) == [
        "diamond D: facet contracts/facets/Empty.sol:Empty has no external function (expected at least one selector "
        "to route), so it adds nothing to the diamond. Next step: check the facet name in [[diamonds]] facets, or "
        "remove it",
        "diamond D: facet contracts/facets/PingFacet.sol:PingFacet is listed more than once (expected each facet "
        "once). Next step: remove the repeated name from the diamond's facets",
    ]


# -- the allow-list ---------------------------------------------------------------------------------


def test_allow_entries_excuse_with_a_reason_and_stale_ones_are_reported() -> None:
    dispatcher = member("dispatcher", DISPATCHER, fn("owner"))
    a, b = facet("A", fn("supportsInterface", "bytes4")), facet("B", fn("supportsInterface", "bytes4"))
    both = frozenset({a.contract, b.contract})
    rules = [
        sel.AllowRule(0, "0x01ffc9a7", "both facets answer ERC-165 identically; the plan routes A", both),
        sel.AllowRule(1, "0xdeadbeef", "left over from v1"),
    ]
    result = sel.check_diamond("diamond D", dispatcher, [a, b], allow=rules)
    assert errors(result) == []
    assert result.used_allow == {0}
    info = [f.message for f in result.findings if f.severity == "info"]
    assert len(info) == 1
    assert info[0].startswith(
        "diamond D: duplicate allowed by [[selectors.allow]][0] (selector = 0x01ffc9a7, reason: 'both facets "
        "answer ERC-165 identically; the plan routes A'): duplicate selector 0x01ffc9a7"
    )
    facet_rows = [r for r in result.rows() if r["role"] == "facet"]
    assert {(r["status"], r["verdict"]) for r in facet_rows} == {("allowed duplicate", "allowed")}
    assert {r["note"] for r in facet_rows} == {
        "duplicate allowed: both facets answer ERC-165 identically; the plan routes A"
    }
    stale = sel.stale_allow_entries(rules, result.used_allow, "signoff.toml")
    assert [f.message for f in stale] == [
        "signoff.toml: [[selectors.allow]][1] (selector = 0xdeadbeef, reason: 'left over from v1') excuses nothing: "
        "no collision, duplicate or shadowed selector 0xdeadbeef among those contracts in any [[diamonds]] "
        "(expected the exception to match a finding). The exception is stale. Next step: remove the entry, or "
        "correct its selector or contracts"
    ]


def test_an_allow_entry_narrowed_to_contracts_does_not_cover_a_third_facet() -> None:
    dispatcher = member("dispatcher", DISPATCHER, fn("owner"))
    a, b, c = (facet(n, fn("supportsInterface", "bytes4")) for n in "ABC")
    rule = sel.AllowRule(0, "0x01ffc9a7", "A and B only", frozenset({a.contract, b.contract}))
    result = sel.check_diamond("diamond D", dispatcher, [a, b, c], allow=[rule])
    assert len(errors(result)) == 1
    assert "declared by 3 facets" in errors(result)[0]
    assert result.used_allow == frozenset()


# -- the real suite ---------------------------------------------------------------------------------


def test_reference_passes_with_the_full_routing_table(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "selectors")
    assert run.result.ret == 0, run.output
    outcomes = run.outcomes()
    assert outcomes == {"test_pf_sel[ManifestDispatcher]": "passed", "test_pf_sel_allow_list": "passed"}
    allowed = run.evidence()["tables"]["PF-SEL-allow"]["rows"]
    assert len(allowed) == 3  # the router's own pause switch, excused with reasons, none stale
    rows = run.evidence()["tables"]["PF-SEL"]["rows"]
    facets = {(r["signature"], r["contract"].split(":")[1], r["status"]) for r in rows if r["role"] == "facet"}
    assert facets == {
        ("ping()", "PingFacet", "routed"),
        ("echo(bytes)", "PingFacet", "routed"),
        ("vaultDeposit()", "VaultFacet", "routed"),
        ("vaultWithdraw(uint256)", "VaultFacet", "routed"),
        ("vaultBalanceOf(address)", "VaultFacet", "routed"),
    }
    shared = [r for r in rows if r["signature"] == "pause()"]
    assert [(r["role"], r["status"], r["verdict"]) for r in shared] == [
        ("router", "router", "pass"),
        ("dispatcher", "allowed shadowed", "allowed"),
    ]
    assert shared[1]["note"].startswith("shadowed allowed: the router's own pause switch; governance pauses")
    assert {r["role"] for r in rows} == {"router", "dispatcher", "facet"}
    assert len(rows) == 46


def test_a_router_that_answers_a_dispatcher_function_itself_is_reported(run_suite) -> None:
    """The reference's build without its reasoned exceptions: pause(), paused() and unpause() of the
    dispatcher cannot be reached through the router, which is how users call the system."""
    target = FIXTURES / "defective" / "selectors-router-shadows-dispatcher" / "signoff.toml"
    run: SuiteRun = run_suite("-m", "selectors", target=target)
    record = run.assert_fails_only(
        "test_pf_sel[ManifestDispatcher]",
        "diamond ManifestDispatcher ([[diamonds]][0]): shadowed selector 0x3f4ba83a: the dispatcher "
        "contracts/dispatcher/ManifestDispatcher.sol:ManifestDispatcher's own unpause() is unreachable through the "
        "router contracts/router/PayRoxProxyRouter.sol:PayRoxProxyRouter, which answers unpause() itself instead of "
        "forwarding it; expected every dispatcher function to be reachable through the router. Next step: rename "
        "one of the two functions, or, when the dispatcher's is meant to be called at its own address only, say so "
        'with a [[selectors.allow]] entry (selector = "0x3f4ba83a", contracts = [router, dispatcher]) and its reason',
    )
    assert sorted(f["subject"] for f in record["findings"]) == ["diamond ManifestDispatcher ([[diamonds]][0])"] * 3
    rows = [r for r in run.evidence()["tables"]["PF-SEL"]["rows"] if r["verdict"] == "fail"]
    assert sorted(r["signature"] for r in rows) == ["pause()", "paused()", "unpause()"]
    assert {(r["role"], r["status"]) for r in rows} == {("dispatcher", "SHADOWED")}


ALLOW_HINT = ", or add a [[selectors.allow]] entry with a reason if this is intended"
DEFECTS = {
    "selectors-collision": (
        "diamond Dispatcher ([[diamonds]][0]): selector collision 0x42966c68: 2 different signatures hash to the same "
        "4 bytes in 2 facets (contracts/facets/BurnFacet.sol:BurnFacet burn(uint256), "
        "contracts/facets/StorageFacet.sol:StorageFacet collate_propagate_storage(bytes16)); expected one facet per "
        "selector. The dispatcher can route 0x42966c68 to only one of them, so the others are unreachable. "
        "Next step: rename or change the parameters of all but one of these functions" + ALLOW_HINT
    ),
    "selectors-duplicate": (
        "diamond Dispatcher ([[diamonds]][0]): duplicate selector 0x01ffc9a7: supportsInterface(bytes4) is declared "
        "by 2 facets (contracts/facets/IntrospectionFacet.sol:IntrospectionFacet supportsInterface(bytes4), "
        "contracts/facets/TokenFacet.sol:TokenFacet supportsInterface(bytes4)); expected one facet per selector. "
        "The dispatcher routes it to only one of them, so the other implementations are never called. "
        "Next step: keep the function in one facet and remove it from the others" + ALLOW_HINT
    ),
    "selectors-shadowed": (
        "diamond Dispatcher ([[diamonds]][0]): shadowed selector 0x8da5cb5b: facet "
        "contracts/facets/OwnershipFacet.sol:OwnershipFacet owner() is unreachable, because the dispatcher "
        "contracts/Dispatcher.sol:Dispatcher answers it itself with owner() before its fallback routes anything; "
        "expected every facet selector to reach the dispatcher's fallback. Next step: rename the facet function or "
        "remove it from the facet (or drop it from the dispatcher)" + ALLOW_HINT
    ),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defective_fixture_fails_exactly_its_check(run_suite, defect: str) -> None:
    run: SuiteRun = run_suite("-m", "preflight", target=FIXTURES / "defective" / defect / "signoff.toml")
    message = DEFECTS[defect]
    record = run.assert_fails_only("test_pf_sel[Dispatcher]", message, skips_count=False)
    assert record["message"] == message
    flagged = [r for r in run.evidence()["tables"]["PF-SEL"]["rows"] if r["verdict"] == "fail"]
    assert len(flagged) >= 1 and all(r["role"] == "facet" for r in flagged)


def _duplicate_target(tmp_path: Path, allow: str) -> Path:
    fixture = FIXTURES / "defective" / "selectors-duplicate"
    target = tmp_path / "signoff.toml"
    target.write_text(
        f'[target]\nname = "allow-list"\nartifacts = "{fixture / "artifacts"}"\n'
        '[[diamonds]]\ndispatcher = "Dispatcher"\nfacets = ["IntrospectionFacet", "TokenFacet"]\n' + allow
    )
    return target


def test_an_allow_entry_with_a_reason_turns_the_duplicate_green_and_shows_the_reason(run_suite, tmp_path: Path) -> None:
    allow = (
        '[[selectors.allow]]\nselector = "0x01ffc9a7"\nreason = "TokenFacet keeps ERC-165 for standalone use; '
        'the plan routes IntrospectionFacet"\ncontracts = ["IntrospectionFacet", "TokenFacet"]\n'
    )
    run: SuiteRun = run_suite("-m", "selectors", target=_duplicate_target(tmp_path, allow))
    assert run.result.ret == 0, run.output
    assert run.outcomes() == {"test_pf_sel[Dispatcher]": "passed", "test_pf_sel_allow_list": "passed"}
    evidence = run.evidence()
    reason = "TokenFacet keeps ERC-165 for standalone use; the plan routes IntrospectionFacet"
    assert [r["reason"] for r in evidence["tables"]["PF-SEL-allow"]["rows"]] == [reason]
    rows = [r for r in evidence["tables"]["PF-SEL"]["rows"] if r["selector"] == "0x01ffc9a7"]
    assert {(r["status"], r["note"]) for r in rows} == {("allowed duplicate", f"duplicate allowed: {reason}")}


def test_a_stale_allow_entry_fails_its_own_test(run_suite, tmp_path: Path) -> None:
    allow = (
        '[[selectors.allow]]\nselector = "0x01ffc9a7"\nreason = "intended"\n'
        '[[selectors.allow]]\nselector = "0x12345678"\nreason = "removed in v2"\n'
    )
    target = _duplicate_target(tmp_path, allow)
    run: SuiteRun = run_suite("-m", "selectors", target=target)
    assert run.result.ret == 1, run.output
    assert run.outcomes() == {"test_pf_sel[Dispatcher]": "passed", "test_pf_sel_allow_list": "failed"}
    assert (
        f"{target}: [[selectors.allow]][1] (selector = 0x12345678, reason: 'removed in v2') excuses nothing: no "
        "collision, duplicate or shadowed selector 0x12345678 among those contracts in any [[diamonds]] (expected "
        "the exception to match a finding). The exception is stale." in run.output
    )


def test_no_diamonds_is_a_reported_skip_not_a_silent_pass(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "selectors", target=FIXTURES / "defective" / "abi-changed" / "signoff.toml")
    assert run.result.ret == 0, run.output
    assert run.outcomes() == {"test_pf_sel[no-diamonds]": "skipped", "test_pf_sel_allow_list": "passed"}
    assert "not applicable: no [[diamonds]] in" in run.output
    assert "PF-SEL applies to a dispatcher and its facets" in run.output
    [row] = run.evidence()["tables"]["NOT-APPLICABLE"]["rows"]
    assert (row["check"], row["test"]) == ("PF-SEL", "test_pf_sel[no-diamonds]")
    # not applicable is not "not run": a strict sign-off does not fail on it
    strict = run_suite(
        "-m", "selectors", "--signoff-strict", target=FIXTURES / "defective" / "abi-changed" / "signoff.toml"
    )
    assert strict.result.ret == 0, strict.output
