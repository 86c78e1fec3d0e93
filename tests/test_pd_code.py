"""PD-CODE: the findings and rows of :mod:`signoff.postdeploy.code` on real artifacts, and the real
suite on the reference (green on eth-tester and anvil), on "pd-code-differs" (the router deployed
from another build), on "pd-immutable-wrong" (the dispatcher deployed with activationDelay 60
instead of 3600) and on anvil standing in for a live network (a deployments file naming a
contract the artifacts lack).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from signoff.artifacts.loader import Contract, load_artifacts
from signoff.findings import Finding
from signoff.postdeploy import code as pd_code
from signoff.postdeploy.bytecode import split_metadata, verify
from tests.conftest import FIXTURES, SuiteRun, anvil_available

DEFECTIVE = FIXTURES / "defective"
NAMES = ("DeterministicChunkFactory", "PingFacet", "VaultFacet", "ManifestDispatcher", "PayRoxProxyRouter")
GOVERNANCE = "0x00000000000000000000000000000000000000A1"
DISPATCHER = "0x51a240271AB8AB9f9a21C82d9a85396b704E164d"
needs_anvil = pytest.mark.skipif(not anvil_available(), reason="needs anvil (npm ci)")


@cache
def reference(name: str) -> Contract:
    return load_artifacts(FIXTURES / "reference" / "artifacts").resolve(name)


def deployed_code(contract: Contract, **words: int) -> bytes:
    """The artifact's runtime code with each named immutable's word written in, as a deployment does."""
    code = bytearray(contract.runtime.to_bytes())
    build = contract.build_info()
    assert build is not None
    for key, spots in (contract.immutable_references or {}).items():
        declaration = _declaration(build, int(key))
        for spot in spots:
            code[spot["start"] : spot["start"] + spot["length"]] = words[declaration].to_bytes(32, "big")
    return bytes(code)


def _declaration(build: Any, ast_id: int) -> str:
    stack: list[Any] = [unit["ast"] for unit in build["output"]["sources"].values()]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("id") == ast_id and node.get("nodeType") == "VariableDeclaration":
                return str(node["name"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    raise AssertionError(f"no declaration {ast_id}")


def judged(
    name: str, onchain: bytes, args: tuple[Any, ...] | None
) -> tuple[tuple[Finding, ...], dict[str, Any], tuple[dict[str, Any], ...]]:
    contract = reference(name)
    verification = verify(contract, onchain, pd_code.constructor_args_for(contract, args))
    address = DISPATCHER
    return (
        pd_code.code_findings(name, address, contract, verification),
        pd_code.code_row(name, address, contract, verification),
        pd_code.immutable_rows(name, verification),
    )


# -- the pure part ----------------------------------------------------------------------------------


def test_exact_code_with_the_expected_immutable_has_no_finding() -> None:
    contract = reference("ManifestDispatcher")
    findings, row, immutables = judged(
        "ManifestDispatcher", deployed_code(contract, activationDelay=3600), (GOVERNANCE, 3600)
    )
    assert findings == ()
    assert row["verdict"] == "pass" and row["reason"].startswith("exact: ")
    assert row["onchain_bytes"] == row["artifact_bytes"] == len(contract.runtime.to_bytes())
    assert row["first_difference"] == "" and row["metadata"].startswith("equal: ipfs Qm")
    assert immutables == (
        {
            "contract": "ManifestDispatcher",
            "immutable": "activationDelay (uint64)",
            "onchain": "3600",
            "expected": "3600 (constructor argument 1 (activationDelay_))",
            "verdict": "pass",
        },
    )


def test_an_immutable_off_its_constructor_argument_fails_naming_both_values_and_the_argument() -> None:
    contract = reference("ManifestDispatcher")
    findings, row, immutables = judged(
        "ManifestDispatcher", deployed_code(contract, activationDelay=60), (GOVERNANCE, 3600)
    )
    assert row["verdict"] == "pass"  # the code is the artifact's; the immutable is the defect
    assert [(f.severity, f.subject) for f in findings] == [("error", "ManifestDispatcher")]
    assert findings[0].message.startswith(
        f"ManifestDispatcher at {DISPATCHER}: immutable activationDelay (uint64) is 60 on chain, but 3600 is "
        "expected from constructor argument 1 (activationDelay_) in [contracts.ManifestDispatcher] "
        "constructor_args. Next step: "
    )
    assert immutables[0]["verdict"] == "fail" and immutables[0]["onchain"] == "60"


def test_an_address_immutable_is_compared_in_any_case() -> None:
    contract = reference("PayRoxProxyRouter")
    onchain = deployed_code(contract, dispatcher=int(DISPATCHER, 16))
    findings, _, immutables = judged("PayRoxProxyRouter", onchain, (GOVERNANCE, DISPATCHER.lower()))
    assert findings == ()
    assert immutables[0]["onchain"] == DISPATCHER


def test_unknown_constructor_arguments_make_immutables_warnings_listed_in_the_table() -> None:
    contract = reference("ManifestDispatcher")
    findings, _, immutables = judged("ManifestDispatcher", deployed_code(contract, activationDelay=60), None)
    assert [f.severity for f in findings] == ["warning"]
    assert "immutable activationDelay (uint64) is 60 on chain and cannot be checked" in findings[0].message
    assert "not derivable: no constructor arguments given" in findings[0].message
    assert immutables[0]["verdict"] == "warn"
    assert immutables[0]["expected"] == "not derivable: no constructor arguments given"


def test_a_constructor_without_inputs_needs_no_configured_arguments() -> None:
    assert pd_code.constructor_args_for(reference("PingFacet"), None) == ()
    assert pd_code.constructor_args_for(reference("ManifestDispatcher"), None) is None
    assert pd_code.constructor_args_for(reference("ManifestDispatcher"), (GOVERNANCE, 1)) == (GOVERNANCE, 1)


def test_other_metadata_is_a_match_warning_naming_both_trailers() -> None:
    code = reference("PingFacet").runtime.to_bytes()
    executable, trailer = split_metadata(code)
    assert trailer is not None
    hash_at = trailer.index(b"\x58\x22") + 2 + 2  # the ipfs multihash (0x1220 + 32 bytes): change its digest
    other = executable + trailer[:hash_at] + bytes([trailer[hash_at] ^ 1]) + trailer[hash_at + 1 :]
    findings, row, _ = judged("PingFacet", other, ())
    assert [f.severity for f in findings] == ["warning"]
    assert findings[0].message.startswith(
        f"PingFacet at {DISPATCHER}: verdict match against contracts/facets/PingFacet.sol:PingFacet: executable "
        "code equals the artifact but the metadata differs: artifact ipfs Qm"
    )
    assert row["verdict"] == "warn" and row["reason"].startswith("match: ")
    assert row["metadata"].startswith("artifact ipfs Qm") and "; on-chain ipfs Qm" in row["metadata"]


def test_other_code_fails_with_the_first_differing_offset_and_both_sizes() -> None:
    code = bytearray(reference("PingFacet").runtime.to_bytes())
    code[40] ^= 0xFF
    findings, row, _ = judged("PingFacet", bytes(code), ())
    executable = len(split_metadata(bytes(code))[0])
    assert [f.severity for f in findings] == ["error"]
    assert findings[0].message.startswith(
        f"PingFacet at {DISPATCHER}: on-chain runtime differs from artifact contracts/facets/PingFacet.sol:PingFacet "
        f"at byte 40 (on-chain {executable} bytes, artifact {executable} bytes, metadata trailers aside). Next step: "
    )
    assert row["verdict"] == "fail" and row["first_difference"] == 40


def test_no_code_at_the_address_says_so() -> None:
    findings, row, immutables = judged("ManifestDispatcher", b"", (GOVERNANCE, 3600))
    assert len(findings) == 1 and findings[0].is_error
    assert findings[0].message.startswith(f"ManifestDispatcher at {DISPATCHER}: no code at the address, but artifact ")
    assert "an EOA" in findings[0].message
    assert row["onchain_bytes"] == 0 and immutables == ()


def test_a_name_without_an_artifact_fails_clearly() -> None:
    detail = "no contract named 'Ghost' among the artifacts in artifacts"
    finding = pd_code.missing_artifact("Ghost", DISPATCHER, "deployments/x.json", detail)
    assert finding.is_error
    assert finding.message.startswith(
        f"Ghost at {DISPATCHER} is deployed according to deployments/x.json, but there is no artifact to compare "
        f"its code with: {detail}. Next step: "
    )


# -- the real suite -----------------------------------------------------------------------------------


def _assert_reference_green(run: SuiteRun) -> None:
    assert run.result.ret == 0, run.output
    assert run.outcomes() == {f"test_pd_code[{name}]": "passed" for name in NAMES}, run.outcomes()
    tables = run.evidence()["tables"]
    rows = {row["contract"]: row for row in tables["PD-CODE"]["rows"]}
    assert set(rows) == set(NAMES)
    assert {row["verdict"] for row in rows.values()} == {"pass"}
    assert all(row["reason"].startswith("exact: ") for row in rows.values())
    immutables = {row["contract"]: row for row in tables["PD-CODE-immutables"]["rows"]}
    assert immutables["ManifestDispatcher"]["onchain"] == "3600"
    assert immutables["PayRoxProxyRouter"]["onchain"] == rows["ManifestDispatcher"]["address"]
    assert {row["verdict"] for row in immutables.values()} == {"pass"}


def test_reference_is_exact_on_eth_tester(run_suite) -> None:
    _assert_reference_green(run_suite("-m", "bytecode"))


@needs_anvil
def test_reference_is_exact_on_anvil(run_suite) -> None:
    _assert_reference_green(run_suite("-m", "bytecode", "--network=anvil"))


def test_router_from_another_build_fails_with_its_first_differing_byte(run_suite) -> None:
    run = run_suite("-m", "bytecode", target=DEFECTIVE / "pd-code-differs" / "signoff.toml")
    record = run.assert_fails_only(
        "test_pd_code[PayRoxProxyRouter]",
        "on-chain runtime differs from artifact contracts/router/PayRoxProxyRouter.sol:PayRoxProxyRouter at byte 26 "
        "(on-chain 1795 bytes, artifact 1794 bytes, metadata trailers aside)",
    )
    assert record["data"]["verdict"] == "mismatch"
    rows = {row["contract"]: row for row in run.evidence()["tables"]["PD-CODE"]["rows"]}
    assert rows["PayRoxProxyRouter"]["verdict"] == "fail" and rows["PayRoxProxyRouter"]["first_difference"] == 26
    assert {name for name, row in rows.items() if row["verdict"] == "pass"} == set(NAMES) - {"PayRoxProxyRouter"}


@pytest.mark.parametrize("network", ["eth-tester", pytest.param("anvil", marks=needs_anvil)])
def test_dispatcher_deployed_with_another_delay_fails_naming_the_immutable(run_suite, network: str) -> None:
    run = run_suite("-m", "bytecode", f"--network={network}", target=DEFECTIVE / "pd-immutable-wrong" / "signoff.toml")
    run.assert_fails_only(
        "test_pd_code[ManifestDispatcher]",
        "immutable activationDelay (uint64) is 60 on chain, but 3600 is expected from constructor argument 1 "
        "(activationDelay_) in [contracts.ManifestDispatcher] constructor_args",
    )
    immutables = {row["contract"]: row for row in run.evidence()["tables"]["PD-CODE-immutables"]["rows"]}
    assert immutables["ManifestDispatcher"]["verdict"] == "fail"
    assert immutables["ManifestDispatcher"]["expected"] == "3600 (constructor argument 1 (activationDelay_))"


def test_a_target_without_a_deploy_plan_skips_as_not_configured(run_suite, tmp_path: Path) -> None:
    target = tmp_path / "signoff.toml"
    target.write_text(f'[target]\nname = "no plan"\nartifacts = "{FIXTURES / "reference" / "artifacts"}"\n')
    run = run_suite("-m", "bytecode", target=target)
    assert run.outcomes() == {"test_pd_code[not-configured]": "skipped"}, run.output
    assert "has no [deploy] plan with deploy steps" in run.output


# -- a live network: anvil with the reference on it, read through a deployments file ---------------


@needs_anvil
def test_live_network_checks_every_deployed_contract_read_only(run_suite, live_network) -> None:
    proxy = live_network["proxy"]
    before = len(proxy.methods())
    run = run_suite("-m", "bytecode", "--network=local", target=live_network["target"])
    assert run.result.ret == 0, run.output
    assert run.outcomes() == {f"test_pd_code[{name}]": "passed" for name in NAMES}, run.outcomes()
    pinned = run.evidence()["checks"][0]["data"]["block"]
    assert isinstance(pinned, int) and pinned >= live_network["system"].block.number
    assert "eth_getCode" in proxy.methods()[before:]
    assert proxy.write_methods() == ()


@needs_anvil
def test_collection_reads_the_deployments_file_without_touching_the_network(run_suite, live_network) -> None:
    proxy = live_network["proxy"]
    before = len(proxy.methods())
    run = run_suite("-m", "bytecode", "--network=ghosted", "--collect-only", "-q", target=live_network["target"])
    assert "test_pd_code[Ghost]" in run.output and "test_pd_code[Governance]" not in run.output, run.output
    # Only the plugin's session start (chain id, the block it pins); no code is read while collecting.
    assert set(proxy.methods()[before:]) <= {"eth_chainId", "eth_getBlockByNumber"}, proxy.methods()[before:]


@needs_anvil
def test_live_network_fails_a_deployed_name_without_artifact(run_suite, live_network) -> None:
    run = run_suite("-m", "bytecode", "--network=ghosted", target=live_network["target"])
    ghost = live_network["system"].addresses["PingFacet"]
    run.assert_fails_only("test_pd_code[Ghost]", f"Ghost at {ghost} is deployed according to ")
    assert "no contract named 'Ghost' among the artifacts" in run.output
    assert live_network["proxy"].write_methods() == ()
