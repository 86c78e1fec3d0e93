"""The dispatcher's lifecycle interface (signoff.deploy.lifecycle): detected from the ABI by
name among synonyms and by argument types, overridden by [manifest.interface], and a clear
"not applicable ... map it with" when a needed role is absent."""

from __future__ import annotations

from typing import Any

import pytest

from signoff.artifacts.loader import load_artifacts
from signoff.deploy import lifecycle as lc
from signoff.errors import ConfigError
from tests.conftest import FIXTURES


def fn(name: str, inputs: list[str], outputs: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "inputs": [{"type": t, "name": f"a{i}"} for i, t in enumerate(inputs)],
        "outputs": [{"type": t} for t in (outputs or [])],
        "stateMutability": "view" if outputs else "nonpayable",
    }


def err(name: str, inputs: list[str]) -> dict[str, Any]:
    return {"type": "error", "name": name, "inputs": [{"type": t, "name": ""} for t in inputs]}


def ev(name: str, inputs: list[tuple[str, bool]]) -> dict[str, Any]:
    return {"type": "event", "name": name, "inputs": [{"type": t, "indexed": i, "name": ""} for t, i in inputs]}


# A dispatcher shaped unlike the reference: other names, committedAt + activationDelay, the apply
# arguments in another order with side bitmasks, no loupe, no aggregate apply event.
ORBIT = [
    fn("proposeRoot", ["bytes32", "uint64"]),
    fn("installRoutes", ["bytes32[][]", "uint256[]", "bytes4[]", "address[]", "bytes32[]"]),
    fn("activate", []),
    fn("currentEpoch", [], ["uint64"]),
    fn("queuedEpoch", [], ["uint64"]),
    fn("currentRoot", [], ["bytes32"]),
    fn("queuedRoot", [], ["bytes32"]),
    fn("committedAt", [], ["uint64"]),
    fn("activationDelay", [], ["uint64"]),
    fn("routeOf", ["bytes4"], ["address"]),
    err("WrongEpoch", ["uint64", "uint64"]),
    err("InvalidProof", ["bytes4"]),
    err("CodeMismatch", ["bytes4", "bytes32", "bytes32"]),
    err("TooEarly", ["uint256", "uint256"]),
    err("NoRoute", ["bytes4"]),
    ev("RootProposed", [("bytes32", True), ("uint64", True), ("uint64", False)]),
    ev("RouteInstalled", [("bytes4", True), ("address", True)]),
    ev("RootActivated", [("bytes32", True), ("uint64", True)]),
]


def test_the_reference_dispatcher_is_detected() -> None:
    abi = load_artifacts(FIXTURES / "reference" / "artifacts").resolve("ManifestDispatcher").abi
    found = lc.detect("ManifestDispatcher", abi)
    assert found.not_applicable() is None
    assert found.functions["commit"] == "commitRoot(bytes32,uint64)"
    assert found.functions["apply"] == "applyRoutes(bytes4[],address[],bytes32[],bytes32[][],bool[][])"
    assert found.functions["activate"] == "activateCommittedRoot()"
    assert found.functions["route_of"] == "facetAddress(bytes4)"
    assert found.functions["loupe"] == "facets()"
    assert found.readiness == "eta()"
    assert found.apply_arguments == ("selectors", "facets", "codehashes", "proofs", "is_right")
    assert found.errors["not_ready"] == "ActivationNotReady(uint256,uint256)"
    assert found.events["committed"] == "Committed(bytes32,uint256,uint256)"


def test_another_shape_is_detected_by_synonyms_and_argument_types() -> None:
    found = lc.detect("OrbitHub", ORBIT)
    assert found.not_applicable() is None
    assert (found.name("commit"), found.name("apply"), found.name("activate")) == (
        "proposeRoot",
        "installRoutes",
        "activate",
    )
    assert found.readiness == "committedAt() + activationDelay()"
    assert found.apply_arguments == ("proofs", "positions", "selectors", "facets", "codehashes")
    assert found.functions["loupe"] is None
    assert found.errors == {
        "bad_epoch": "WrongEpoch(uint64,uint64)",
        "bad_proof": "InvalidProof(bytes4)",
        "codehash_mismatch": "CodeMismatch(bytes4,bytes32,bytes32)",
        "not_ready": "TooEarly(uint256,uint256)",
        "unknown_selector": "NoRoute(bytes4)",
    }
    assert found.events["committed"] == "RootProposed(bytes32,uint64,uint64)"
    assert found.events["applied"] is None
    rows = {row["role"]: row for row in found.rows()}
    assert rows["apply"]["from"] == "detected" and rows["loupe"]["from"] == "not present"


def test_the_apply_values_follow_the_function_s_order_and_side_encoding() -> None:
    from signoff.deploy.manifest import PlanRoute

    route = PlanRoute(
        0, b"\x01\x02\x03\x04", "f()", "F", b"\x11" * 20, b"\x22" * 32, (b"\x33" * 32, b"\x44" * 32), (True, False)
    )
    found = lc.detect("OrbitHub", ORBIT)
    values = lc.apply_values(found, [route], lambda a: "0x" + a.hex())
    assert values == [[[b"\x33" * 32, b"\x44" * 32]], [1], [b"\x01\x02\x03\x04"], ["0x" + "11" * 20], [b"\x22" * 32]]
    assert lc.positions((False, True, True)) == 6
    assert lc.commit_values(found, b"\xaa" * 32, 7) == [b"\xaa" * 32, 7]


def test_a_mapping_wins_and_a_missing_role_names_the_key_that_maps_it() -> None:
    abi = [entry for entry in ORBIT if entry.get("name") != "activate"] + [fn("enact", [])]
    found = lc.detect("OrbitHub", abi)
    assert found.not_applicable() == (
        "OrbitHub's ABI lacks the function that activates the committed root ([manifest.interface] activate, tried "
        "activateCommittedRoot, activateRoot, activate, executeRoot, enactRoot). Map it with [manifest.interface] "
        'in signoff.toml, e.g. activate = "name(argument types)"'
    )
    mapped = lc.detect("OrbitHub", abi, {"activate": "enact()"})
    assert mapped.not_applicable() is None
    assert {row["role"]: row["from"] for row in mapped.rows()}["activate"] == "[manifest.interface]"


def test_a_mapped_signature_the_abi_lacks_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"\[manifest.interface\] activate = 'enact\(\)': OrbitHub has no function"):
        lc.detect("OrbitHub", ORBIT, {"activate": "enact()"})


def test_pd_dsp_on_a_dispatcher_without_a_lifecycle_is_not_applicable_once(run_suite, tmp_path) -> None:
    from tests.conftest import SuiteRun

    target = tmp_path / "signoff.toml"
    target.write_text(
        f'[target]\nname = "no lifecycle"\nartifacts = "{FIXTURES / "reference" / "artifacts"}"\n'
        f'[manifest]\nplan = "{FIXTURES / "reference" / "dispatcher.plan.json"}"\ndispatcher = "PayRoxProxyRouter"\n'
    )
    run: SuiteRun = run_suite("-m", "dispatcher", target=target)
    no_diamonds = {"test_pd_dsp_declared_routes[not-configured]": "skipped"}  # no [[diamonds]]: said once too
    assert run.outcomes() == {"test_pd_dsp[interface]": "skipped", **no_diamonds}, run.output
    [record] = [c for c in run.evidence()["checks"] if c["nodeid"].endswith("test_pd_dsp[interface]")]
    assert (
        record["message"]
        .removeprefix("Skipped: ")
        .startswith(
            "not applicable: PD-DSP drives the dispatcher's manifest lifecycle, but PayRoxProxyRouter's ABI lacks the "
            "function that commits a root for an epoch ([manifest.interface] commit, tried commitRoot"
        )
    ), record["message"]
    assert "Map it with [manifest.interface] in signoff.toml" in record["message"]
    assert "Traceback" not in run.output


def test_a_mapped_signature_the_dispatcher_lacks_fails_pd_dsp_once(run_suite, tmp_path) -> None:
    from tests.conftest import SuiteRun

    target = tmp_path / "signoff.toml"
    target.write_text(
        f'[target]\nname = "typo"\nartifacts = "{FIXTURES / "reference" / "artifacts"}"\n'
        f'[manifest]\nplan = "{FIXTURES / "reference" / "dispatcher.plan.json"}"\ndispatcher = "ManifestDispatcher"\n'
        '[manifest.interface]\ncommit = "commitRoot(bytes32,uint256)"\n'
    )
    run: SuiteRun = run_suite("-m", "dispatcher", target=target)
    no_diamonds = {"test_pd_dsp_declared_routes[not-configured]": "skipped"}
    assert run.outcomes() == {"test_pd_dsp[interface]": "failed", **no_diamonds}, run.output
    assert (
        "[manifest.interface] commit = 'commitRoot(bytes32,uint256)': ManifestDispatcher has no function" in run.output
    )
