"""PF-MRK: the Merkle tree and its conventions, the plan reader and writer, the check, and the
real suite on the reference (green) and on each defective plan (exactly one aspect fails).

The defective plans are derived from the reference plan by the recipes below, and a test keeps
the committed files equal to them; after a reference recompile, regenerate with

    python -c "from tests.test_pf_mrk import write_defective_plans; write_defective_plans()"
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from signoff.artifacts.hashing import keccak256
from signoff.artifacts.loader import load_artifacts
from signoff.deploy.manifest import (
    PLAN_FORMAT,
    Plan,
    PlanError,
    PlanRoute,
    assemble,
    build_tree,
    checksum,
    create2_address,
    create_address,
    derive_plan,
    dump_plan,
    encode_route,
    fold_proof,
    leaf_hash,
    load_plan,
    node_hash,
    parse_plan,
    plan_for_target,
    verify_proof,
)
from signoff.preflight.manifest_check import ASPECTS, check_manifest
from signoff.target import load_target
from tests.conftest import FIXTURES, REFERENCE, REPO, SuiteRun

ARTIFACTS = FIXTURES / "reference" / "artifacts"
REFERENCE_PLAN = FIXTURES / "reference" / "dispatcher.plan.json"
DEFECTIVE = FIXTURES / "defective"
DEADBEEF = bytes.fromhex("deadbeef" * 8)


def _leaves(count: int) -> list[bytes]:
    return [keccak256(bytes([i])) for i in range(count)]


# -- the tree ---------------------------------------------------------------------------------------


def test_one_leaf_is_its_own_root_with_an_empty_proof() -> None:
    (leaf,) = _leaves(1)
    tree = build_tree([leaf])
    assert tree.root == leaf
    assert tree.proof(0) == ((), ())
    assert verify_proof(leaf, (), (), leaf)


def test_two_leaves_and_the_is_right_convention() -> None:
    a, b = _leaves(2)
    tree = build_tree([a, b])
    assert tree.root == keccak256(b"\x01" + a + b)
    # isRight[i] is true when the current node is the LEFT child: its sibling is on the right.
    assert tree.proof(0) == ((b,), (True,))
    assert tree.proof(1) == ((a,), (False,))


def test_three_leaves_pair_the_odd_one_with_itself() -> None:
    a, b, c = _leaves(3)
    tree = build_tree([a, b, c])
    assert tree.root == node_hash(node_hash(a, b), node_hash(c, c))
    assert tree.proof(2) == ((c, node_hash(a, b)), (True, False))


def test_five_leaves_pair_odd_nodes_at_every_level() -> None:
    a, b, c, d, e = _leaves(5)
    tree = build_tree([a, b, c, d, e])
    left = node_hash(node_hash(a, b), node_hash(c, d))
    lonely = node_hash(e, e)
    assert tree.root == node_hash(left, node_hash(lonely, lonely))
    assert tree.proof(4) == ((e, lonely, left), (True, True, False))
    assert tree.proof(3) == ((c, node_hash(a, b), node_hash(lonely, lonely)), (False, False, True))


@pytest.mark.parametrize("count", range(1, 10))
def test_every_proof_verifies_and_a_tampered_one_does_not(count: int) -> None:
    leaves = _leaves(count)
    tree = build_tree(leaves)
    for index, leaf in enumerate(leaves):
        proof, is_right = tree.proof(index)
        assert verify_proof(leaf, proof, is_right, tree.root)
        assert not verify_proof(keccak256(b"other"), proof, is_right, tree.root)
        if proof:
            flipped = (not is_right[0], *is_right[1:])
            assert not verify_proof(leaf, proof, flipped, tree.root) or proof[0] == leaf
            assert not verify_proof(leaf, proof, is_right[:-1], tree.root)  # flags must match siblings
            assert not verify_proof(leaf, (keccak256(b"x"), *proof[1:]), is_right, tree.root)


def test_leaf_encoding_is_abi_encode_of_bytes4_address_bytes32() -> None:
    from eth_abi import encode

    selector, facet, codehash = bytes.fromhex("5c36b186"), bytes(range(20)), keccak256(b"code")
    words = encode(["bytes4", "address", "bytes32"], [selector, checksum(facet), codehash])
    assert encode_route(selector, facet, codehash) == words
    assert leaf_hash(selector, facet, codehash) == keccak256(b"\x00" + keccak256(words))


def test_addresses_match_known_vectors() -> None:
    sender = bytes.fromhex("6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0")
    expected = [
        "0xcd234A471b72ba2F1Ccf0A70FCABA648a5eeCD8d",
        "0x343c43A37D37dfF08AE8C4A11544c718AbB4fCF8",
        "0xf778B86FA74E846c4f0a1fBd1335FE81c00a0C91",
        "0xffFd933A0bC612844eaF0C6Fe3E5b8E9B6C1d19c",
    ]
    assert [checksum(create_address(sender, n)) for n in range(4)] == expected
    # EIP-1014, example 0
    assert checksum(create2_address(bytes(20), bytes(32), keccak256(b"\x00"))) == (
        "0x4D1A2e2bB4F88F0250f26Ffff098B0b30B26BF38"
    )
    assert checksum(bytes.fromhex("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")) == (
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    )


# -- the reference plan and the writer --------------------------------------------------------------


def _reference_plan() -> Plan:
    target = load_target(REFERENCE)
    return plan_for_target(target, load_artifacts(target.artifacts), label="dispatcher.plan.json")


def test_committed_reference_plan_is_what_the_writer_writes() -> None:
    assert REFERENCE_PLAN.read_text() == dump_plan(_reference_plan()), (
        "fixtures/reference/dispatcher.plan.json is stale: "
        "signoff manifest write --target fixtures/reference/signoff.toml"
    )


def test_writer_command_prints_the_same_plan() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "signoff.deploy.manifest", "write", "--target", str(REFERENCE), "--out", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == REFERENCE_PLAN.read_text()


def test_writer_refuses_a_target_without_a_plan_path(tmp_path: Path) -> None:
    target = tmp_path / "signoff.toml"
    target.write_text(f'[target]\nname = "x"\nartifacts = "{ARTIFACTS}"\n')
    done = subprocess.run(
        [sys.executable, "-m", "signoff.deploy.manifest", "write", "--target", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert f"error: {target.resolve()} has no [manifest] plan: pass --out PATH (or --out - for stdout)" in done.stderr


def test_reference_plan_routes_every_facet_function_once_with_runtime_codehashes() -> None:
    plan = load_plan(REFERENCE_PLAN)
    artifacts = load_artifacts(ARTIFACTS)
    assert [r.signature for r in plan.routes] == [
        "vaultBalanceOf(address)",
        "ping()",
        "echo(bytes)",
        "vaultDeposit()",
        "vaultWithdraw(uint256)",
    ]  # selector ascending: 0x313f85e8 < 0x5c36b186 < 0x624fbfdc < 0xbe65d27a < 0xfb839dda
    for route in plan.routes:
        facet = artifacts.resolve(route.facet)
        assert route.codehash == keccak256(facet.runtime.to_bytes())
        assert route.codehash != keccak256(facet.creation.to_bytes())
    assert plan.factory is not None and plan.factory.nonce == 0
    assert checksum(plan.factory.address) == "0xF2E246BB76DF876Cef8b38ae84130F4F55De395b"
    result = check_manifest(
        plan, artifacts, dispatcher="ManifestDispatcher", diamond_facets=("PingFacet", "VaultFacet")
    )
    assert {aspect: result.aspect(aspect) for aspect in ASPECTS} == {aspect: () for aspect in ASPECTS}
    assert (result.rebuilt_root, result.facet_selectors, result.proofs_supplied) == (plan.root, 5, 5)


def test_writer_refuses_a_facet_whose_selector_the_dispatcher_answers() -> None:
    with pytest.raises(PlanError) as caught:
        derive_plan(load_artifacts(ARTIFACTS), dispatcher="ManifestDispatcher", facets=["DeterministicChunkFactory"])
    assert "constructor arguments" in str(caught.value)
    with pytest.raises(PlanError) as caught:
        derive_plan(load_artifacts(ARTIFACTS), dispatcher="PingFacet", facets=["PingFacet"])
    assert str(caught.value) == (
        "PingFacet.echo(bytes) (0x624fbfdc) is answered by PingFacet itself (echo(bytes)): no route to it can be "
        "reached. "
        "Next step: rename the facet function (see PF-SEL)"
    )


# -- reading plans ----------------------------------------------------------------------------------


def _document() -> dict:
    return json.loads(REFERENCE_PLAN.read_text())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d.update(format="v0"),
            "p.json: format is 'v0', expected 'signoff-dispatcher-plan/1'.",
        ),
        (
            lambda d: d["routes"][1].update(codehash="0xdeadbeef"),
            "p.json: routes[1].codehash must be 0x followed by 64 hex digits (32 bytes), found str '0xdeadbeef'.",
        ),
        (
            lambda d: d["routes"][0].pop("isRight"),
            "p.json: routes[0] must give proof and isRight together, or neither.",
        ),
        (
            lambda d: d["routes"][2].update(isright=[True]),
            "p.json: unknown key(s) isright in routes[2]. Valid keys: address, codehash, facet, isRight, proof, "
            "selector, signature.",
        ),
        (lambda d: d.update(routes=[]), "p.json: routes must be a non-empty list of objects, found a list of 0."),
        (lambda d: d.update(epoch=0), "p.json: epoch must be an integer >= 1, found int 0."),
    ],
)
def test_malformed_plans_are_refused_with_the_key(mutate, message: str) -> None:
    document = _document()
    mutate(document)
    with pytest.raises(PlanError) as caught:
        parse_plan(document, "p.json")
    assert message in str(caught.value)
    assert "Next step:" in str(caught.value)


def test_missing_and_truncated_plan_files(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"dispatcher plan nope\.json does not exist .*Next step: write it"):
        load_plan(tmp_path / "nope.json")
    cut = tmp_path / "cut.json"
    cut.write_text(REFERENCE_PLAN.read_text()[:300])
    with pytest.raises(PlanError, match=r"cut\.json: not valid JSON \(.*\)\. Next step: fix the file, or regenerate"):
        load_plan(cut)


# -- the check on hand-made defects ----------------------------------------------------------------


def _check(plan: Plan, *, diamond: tuple[str, ...] = ()):
    return check_manifest(plan, load_artifacts(ARTIFACTS), dispatcher="ManifestDispatcher", diamond_facets=diamond)


def _rebuilt(plan: Plan, routes: list[PlanRoute]) -> Plan:
    return assemble(plan.label, plan.dispatcher, plan.epoch, routes, facets=plan.facets, factory=plan.factory)


def _errors(result, aspect: str) -> list[str]:
    return [f.message for f in result.aspect(aspect) if f.is_error]


def _only(result, aspect: str) -> list[str]:
    others = {a: _errors(result, a) for a in ASPECTS if a != aspect and _errors(result, a)}
    assert others == {}, others
    return _errors(result, aspect)


@pytest.mark.parametrize(
    ("fake", "what"),
    [
        (bytes(32), "a placeholder (all zero), not a codehash"),
        (DEADBEEF, "a placeholder (a repeated pattern), not a codehash"),
        (keccak256(b""), "the hash of empty code (an address without code)"),
        ("creation", "keccak256 of the creation code (bytecode), not of the runtime code"),
        (keccak256(b"something else"), "not the hash of the facet's runtime code"),
    ],
)
def test_fake_codehashes_are_named_for_what_they_are(fake, what: str) -> None:
    plan = _reference_plan()
    if fake == "creation":
        fake = keccak256(load_artifacts(ARTIFACTS).resolve("PingFacet").creation.to_bytes())
    routes = [replace(r, codehash=fake) if r.signature == "ping()" else r for r in plan.routes]
    result = _check(_rebuilt(plan, routes))
    (message,) = _only(result, "codehashes")
    assert f"PingFacet (routes[1] ping()): codehash 0x{fake.hex()} is {what}; expected 0x145595fa" in message
    assert result.codehash_ok == {0: True, 1: False, 2: True, 3: True, 4: True}


def test_a_root_the_routes_do_not_rebuild_fails_root_and_every_proof() -> None:
    plan = replace(_reference_plan(), root=keccak256(b"another manifest"))
    result = _check(plan)
    assert _errors(result, "root") == [
        f"dispatcher.plan.json: root is 0x{plan.root.hex()}, but its 5 routes rebuild to "
        "0x1b6769cf32a62466dc59be82e4da6e18b824f8f82d60259406868be3d9b8636e (leaf = keccak256(0x00 ‖ "
        "keccak256(abi.encode(selector, facet, codehash))), node = keccak256(0x01 ‖ left ‖ right), leaves by "
        "selector ascending, an odd node paired with itself); committing it would commit routes other than "
        "these. Next step: recompute the root from the routes (`signoff manifest write --target "
        "<signoff.toml>`)"
    ]
    assert len(_errors(result, "proofs")) == 5
    assert result.root_row()["verdict"] == "fail"


def test_route_identity_findings() -> None:
    plan = _reference_plan()
    wrong_sig = [replace(r, signature="pong()") if r.signature == "ping()" else r for r in plan.routes]
    (message,) = _only(_check(_rebuilt(plan, wrong_sig)), "routes")
    assert "selector 0x5c36b186 does not match its signature 'pong()', whose selector is 0x" in message

    moved = [
        replace(r, facet="VaultFacet", address=plan.facets[1].address) if r.signature == "ping()" else r
        for r in plan.routes
    ]
    messages = _errors(_check(_rebuilt(plan, moved)), "routes")
    assert any(
        "routes[1] 0x5c36b186 ping() -> VaultFacet: contracts/facets/VaultFacet.sol:VaultFacet has no "
        "function with selector 0x5c36b186" in m
        for m in messages
    ), messages
    assert any(
        "PingFacet.ping() (0x5c36b186) is not routed (its selector is routed to VaultFacet)" in m for m in messages
    ), messages

    supports = PlanRoute(
        9,
        bytes.fromhex("01ffc9a7"),
        "supportsInterface(bytes4)",
        "PingFacet",
        plan.facets[0].address,
        plan.routes[1].codehash,
    )
    messages = _errors(_check(_rebuilt(plan, [*plan.routes, supports])), "routes")
    assert any(
        "the dispatcher ManifestDispatcher answers 0x01ffc9a7 itself (supportsInterface(bytes4)), so this "
        "route can never be reached" in m
        for m in messages
    ), messages


def test_a_diamond_facet_the_plan_forgot_is_missing() -> None:
    plan = _reference_plan()
    only_ping = [r for r in plan.routes if r.facet == "PingFacet"]
    lean = assemble(plan.label, plan.dispatcher, 1, only_ping, facets=plan.facets[:1], factory=plan.factory)
    assert _only(_check(lean), "routes") == []
    messages = _only(_check(lean, diamond=("PingFacet", "VaultFacet")), "routes")
    assert len(messages) == 3
    assert messages[0].startswith(
        "dispatcher.plan.json: VaultFacet.vaultBalanceOf(address) (0x313f85e8) is not routed: the plan has 2 "
        "routes for 5 facet selectors"
    )


def test_unknown_facet_is_reported_where_it_blocks_a_verdict() -> None:
    plan = _reference_plan()
    routes = [replace(r, facet="PingFacetV2") if r.facet == "PingFacet" else r for r in plan.routes]
    result = _check(_rebuilt(plan, routes))
    assert any(
        "the codehash cannot be checked: no contract named 'PingFacetV2'" in m for m in _errors(result, "codehashes")
    )
    assert any("facet 'PingFacetV2' cannot be found" in m for m in _errors(result, "routes"))
    assert result.codehash_ok[1] is None


def test_address_derivation_is_audited() -> None:
    plan = _reference_plan()
    assert plan.factory is not None
    bad_factory = replace(plan, factory=replace(plan.factory, nonce=1))
    (message,) = _only(_check(bad_factory), "addresses")
    assert message == (
        "dispatcher.plan.json: factory.address is 0xF2E246BB76DF876Cef8b38ae84130F4F55De395b, but CREATE by "
        "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf at nonce 1 gives 0x2946259E0334f33A064106302415aD3391BeD384. "
        "Next step: record the real deployer and nonce, or regenerate the plan "
        "(`signoff manifest write --target <signoff.toml>`)"
    )
    salted = replace(plan, facets=(replace(plan.facets[0], salt=keccak256(b"other")), plan.facets[1]))
    (message,) = _only(_check(salted), "addresses")
    assert "facets[0] PingFacet: address 0x0025ddf1D3c098DEebFd8D1c6301ECd7eE738d35 is not CREATE2(factory" in message
    zero = [replace(r, address=bytes(20)) if r.signature == "echo(bytes)" else r for r in plan.routes]
    messages = _errors(_check(_rebuilt(plan, zero)), "addresses")
    assert any(
        "routes[2] 0x624fbfdc echo(bytes) -> PingFacet: the facet address is the zero address" in m for m in messages
    ), messages


def test_missing_proofs_warn_and_a_short_proof_fails() -> None:
    plan = _reference_plan()
    routes = list(plan.routes)
    routes[0] = replace(routes[0], proof=None, is_right=None)
    assert routes[1].proof is not None and routes[1].is_right is not None
    routes[1] = replace(routes[1], is_right=routes[1].is_right[:-1])
    result = _check(replace(plan, routes=tuple(routes)))
    (error,) = _errors(result, "proofs")
    assert "routes[1] 0x5c36b186 ping() -> PingFacet: the proof has 3 sibling(s) but isRight has 2 flag(s)" in error
    (warning,) = [f.message for f in result.aspect("proofs") if not f.is_error]
    assert "1 of 5 routes carry no proof (routes[0] vaultBalanceOf(address))" in warning
    assert result.proof_ok == {0: None, 1: False, 2: True, 3: True, 4: True}


# -- defective plans: recipes ------------------------------------------------------------------------


def _fake_codehash(plan: Plan) -> Plan:
    """PingFacet pinned to its creation-code hash, VaultFacet to a 0xdeadbeef placeholder;
    root and proofs consistent with those hashes, so only the codehash aspect fails."""
    creation = keccak256(load_artifacts(ARTIFACTS).resolve("PingFacet").creation.to_bytes())
    fakes = {"PingFacet": creation, "VaultFacet": DEADBEEF}
    return _rebuilt(plan, [replace(r, codehash=fakes[r.facet]) for r in plan.routes])


def _wrong_proof(plan: Plan) -> Plan:
    """ping()'s proof taken from the tree of another deployment (factory at nonce 1): it proves
    the route against that tree's root, not this plan's."""
    target = load_target(REFERENCE)
    other = plan_for_target(target, load_artifacts(target.artifacts), nonce=1)
    stale = next(r for r in other.routes if r.signature == "ping()")
    return replace(
        plan,
        routes=tuple(
            replace(r, proof=stale.proof, is_right=stale.is_right) if r.signature == "ping()" else r
            for r in plan.routes
        ),
    )


def _missing_selector(plan: Plan) -> Plan:
    return _rebuilt(plan, [r for r in plan.routes if r.signature != "vaultWithdraw(uint256)"])


def _double_route(plan: Plan) -> Plan:
    ping = next(r for r in plan.routes if r.signature == "ping()")
    return _rebuilt(plan, [*plan.routes, replace(ping, index=len(plan.routes))])


RECIPES = {
    "manifest-fake-codehash": _fake_codehash,
    "manifest-wrong-proof": _wrong_proof,
    "manifest-missing-selector": _missing_selector,
    "manifest-double-route": _double_route,
}


def write_defective_plans() -> None:
    plan = _reference_plan()
    for name, recipe in RECIPES.items():
        (DEFECTIVE / name / "dispatcher.plan.json").write_text(dump_plan(recipe(plan)))


@pytest.mark.parametrize("defect", sorted(RECIPES))
def test_committed_defective_plans_follow_their_recipe(defect: str) -> None:
    committed = (DEFECTIVE / defect / "dispatcher.plan.json").read_text()
    assert committed == dump_plan(RECIPES[defect](_reference_plan())), f"regenerate: see {__name__} docstring"
    assert json.loads(committed)["format"] == PLAN_FORMAT


# -- the real suite ------------------------------------------------------------------------------------


def test_reference_passes_every_aspect_and_reports_the_tables(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "manifest")
    assert run.result.ret == 0, run.output
    outcomes = run.outcomes()
    assert outcomes == {f"test_pf_mrk[{aspect}]": "passed" for aspect in ASPECTS}, outcomes
    tables = run.evidence()["tables"]
    routes = tables["PF-MRK"]["rows"]
    assert [r["signature"] for r in routes] == [
        "vaultBalanceOf(address)",
        "ping()",
        "echo(bytes)",
        "vaultDeposit()",
        "vaultWithdraw(uint256)",
    ]
    assert all(r["codehash_ok"] is True and r["proof_ok"] is True and r["verdict"] == "pass" for r in routes)
    (root,) = tables["PF-MRK-root"]["rows"]
    assert root["plan_root"] == root["rebuilt_root"] == json.loads(REFERENCE_PLAN.read_text())["root"]
    assert (root["routes"], root["facet_selectors"], root["verdict"]) == (5, 5, "pass")
    html = run.report(".html").read_text()
    assert "PF-MRK: dispatcher plan routes" in html and "PF-MRK: manifest root" in html


LABEL = "dispatcher.plan.json: "
WRITE = "(`signoff manifest write --target <signoff.toml>`)"
HASH_STEP = (
    "Next step: hash the deployed (runtime) code, i.e. the artifact's deployedBytecode, or regenerate the plan " + WRITE
)
DEFECTS = {
    "manifest-fake-codehash": (
        "codehashes",
        [
            LABEL + "VaultFacet (routes[0] vaultBalanceOf(address), routes[3] vaultDeposit(), routes[4] "
            "vaultWithdraw(uint256)): codehash 0xdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef "
            "is a placeholder (a repeated pattern), not a codehash; expected "
            "0xb2bc7176cb803bb688a7f82d273c2c75ce1767be7defc53236225a73a888a3d9, keccak256 of the runtime code of "
            "contracts/facets/VaultFacet.sol:VaultFacet. applyRoutes would revert with CodehashMismatch. " + HASH_STEP,
            LABEL + "PingFacet (routes[1] ping(), routes[2] echo(bytes)): codehash "
            "0x2845c23a7abebf37c143dbab59c570d1187160dbe59da56ca9f68af8f5f37102 is keccak256 of the creation code "
            "(bytecode), not of the runtime code; expected "
            "0x145595fa3b5863a521268273570ce9c6bf897ffb33586b981d521f1316cae3c9, keccak256 of the runtime code of "
            "contracts/facets/PingFacet.sol:PingFacet. applyRoutes would revert with CodehashMismatch. " + HASH_STEP,
        ],
    ),
    "manifest-wrong-proof": (
        "proofs",
        [
            LABEL + "routes[1] 0x5c36b186 ping() -> PingFacet: the proof does not verify: its leaf with 3 "
            "sibling(s) leads to 0x1631783346780406238ec1b893103545a4751cde583f5bdf22da459ecc9dc45e, not the plan "
            "root 0x1b6769cf32a62466dc59be82e4da6e18b824f8f82d60259406868be3d9b8636e: it proves the route against "
            "another root, and applyRoutes would revert with BadProof(0x5c36b186). Next step: regenerate the "
            "proofs against this root " + WRITE,
        ],
    ),
    "manifest-missing-selector": (
        "routes",
        [
            LABEL + "VaultFacet.vaultWithdraw(uint256) (0xfb839dda) is not routed: the plan has 4 routes for 5 "
            "facet selectors, and every function of every listed facet needs exactly one route. Next step: add "
            "the route and rebuild the root and proofs " + WRITE,
        ],
    ),
    "manifest-double-route": (
        "routes",
        [
            LABEL + "selector 0x5c36b186 ping() is routed 2 times (routes[1] -> PingFacet, routes[2] -> "
            "PingFacet): the plan has 6 routes for 5 facet selectors; a selector has one leaf, and applyRoutes "
            "would keep only the last route applied. Next step: remove the extra route(s) and rebuild the root "
            "and proofs " + WRITE,
        ],
    ),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defective_plan_fails_exactly_its_aspect(run_suite, defect: str) -> None:
    """The whole preflight phase runs: PF-MRK fails in exactly one aspect, every other check holds."""
    aspect, messages = DEFECTS[defect]
    run: SuiteRun = run_suite("-m", "preflight", target=DEFECTIVE / defect / "signoff.toml")
    assert run.result.ret == 1, run.output
    checks = run.evidence()["checks"]
    mrk = {c["nodeid"].split("::", 1)[1]: c["outcome"] for c in checks if c["check"] == "PF-MRK"}
    assert mrk == {f"test_pf_mrk[{a}]": ("failed" if a == aspect else "passed") for a in ASPECTS}, mrk
    others = {c["nodeid"]: c["outcome"] for c in checks if c["check"] != "PF-MRK" and c["outcome"] != "passed"}
    assert set(others.values()) <= {"skipped"}, others
    record = next(c for c in checks if c["nodeid"].endswith(f"test_pf_mrk[{aspect}]"))
    assert [f["message"] for f in record["findings"]] == messages
    for message in messages:
        assert message in run.output
    assert "Traceback" not in run.output


def test_a_missing_plan_fails_every_aspect_with_one_clear_message(run_suite, tmp_path: Path) -> None:
    target = tmp_path / "signoff.toml"
    target.write_text(
        f'[target]\nname = "no plan"\nartifacts = "{ARTIFACTS}"\n\n'
        '[manifest]\nplan = "plans/missing.json"\ndispatcher = "ManifestDispatcher"\n'
    )
    run: SuiteRun = run_suite("-m", "manifest", target=target)
    assert run.result.ret == 1, run.output
    assert set(run.outcomes().values()) == {"failed"} and len(run.outcomes()) == len(ASPECTS)
    assert (
        f"dispatcher plan plans/missing.json does not exist ({tmp_path / 'plans' / 'missing.json'}, from "
        "[manifest] plan). Next step: write it with `signoff manifest write --target <signoff.toml>`, "
        "or correct [manifest] plan"
    ) in run.output


def test_a_target_without_a_manifest_skips_with_the_reason(run_suite, tmp_path: Path) -> None:
    target = tmp_path / "signoff.toml"
    target.write_text(f'[target]\nname = "no manifest"\nartifacts = "{ARTIFACTS}"\n')
    run: SuiteRun = run_suite("-m", "manifest", "-rs", target=target)
    assert run.result.ret == 1, run.output  # nothing applied, so nothing was verified: not a green gate
    assert "no check passed (1 not applicable): nothing was verified" in run.output
    assert run.outcomes() == {"test_pf_mrk[not-configured]": "skipped"}
    assert "no [manifest] in" in run.output and 'add [manifest] plan = "dispatcher.plan.json"' in run.output


def test_the_artifact_only_path_never_imports_web3() -> None:
    suite = REPO / "suites" / "preflight" / "test_pf_mrk.py"
    code = (
        "import importlib.util, sys\n"
        "import signoff.deploy.manifest, signoff.preflight.manifest_check, signoff.plugin\n"
        f"spec = importlib.util.spec_from_file_location('pf_mrk', {str(suite)!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "assert 'web3' not in sys.modules, sorted(m for m in sys.modules if m.startswith('web3'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_fold_proof_is_what_the_dispatcher_computes() -> None:
    a, b = _leaves(2)
    assert fold_proof(a, [b], [True]) == keccak256(b"\x01" + a + b)
    assert fold_proof(a, [b], [False]) == keccak256(b"\x01" + b + a)
