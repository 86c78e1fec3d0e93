"""PD-CODE's comparison on real deployments: the reference contracts and the samples in
tests/data/bytecode (libraries, linked callers, a child-deploying parent, immutables of every
kind, a legacy-codegen build and a build that differs only by a comment) are deployed on
eth-tester and their on-chain code is judged against their artifacts. The CBOR decoder is
checked on the real trailers, against the metadata JSON whose hash they carry."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from web3 import EthereumTesterProvider, Web3

from signoff.artifacts.loader import ArtifactSet, Contract, load_artifacts
from signoff.errors import ArtifactError, ConfigError
from signoff.postdeploy.bytecode import (
    EXACT,
    IMMUTABLE_DIFFERS,
    IMMUTABLE_OK,
    MATCH,
    MISMATCH,
    NOT_DERIVABLE,
    Metadata,
    compare_runtime,
    decode_immutable,
    decode_metadata,
    embedded_metadata,
    expected_immutables,
    immutable_names,
    split_metadata,
    values_equal,
    verify,
)
from tests.conftest import FIXTURES, REPO

SAMPLES = REPO / "tests" / "data" / "bytecode"
DELAY = 3600
# Configured(keeper_, cap_, tag_, flag_, delta_, maybe_), after the keeper
CONFIGURED_TAIL = [2**130 + 5, "0x0102030405060708", True, -3, "0x" + "00" * 20]


@dataclass
class Deployed:
    w3: Web3
    gov: str
    reference: ArtifactSet
    samples: ArtifactSet
    legacy: ArtifactSet
    variant: ArtifactSet
    addresses: dict[str, str]
    args: dict[str, list[Any]]

    def code(self, key: str) -> bytes:
        return bytes(self.w3.eth.get_code(self.addresses[key]))  # type: ignore[arg-type]


def _deploy(w3: Web3, contract: Contract, *args: Any, library: str | None = None) -> str:
    creation = contract.creation.to_bytes(bytes.fromhex(library[2:]) if library else bytes(20))
    factory = w3.eth.contract(abi=list(contract.abi), bytecode=creation)
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor(*args).transact({"from": w3.eth.accounts[0]}))
    assert receipt["status"] == 1, f"deploying {contract.name} failed"
    return str(receipt["contractAddress"])


@pytest.fixture(scope="module")
def chain() -> Iterator[Deployed]:
    w3 = Web3(EthereumTesterProvider())
    accounts = list(w3.eth.accounts)
    gov = accounts[0]
    reference = load_artifacts(FIXTURES / "reference" / "artifacts")
    sets = {
        "": load_artifacts(SAMPLES / "artifacts"),
        "legacy:": load_artifacts(SAMPLES / "legacy" / "artifacts"),
        "variant:": load_artifacts(SAMPLES / "variant" / "artifacts"),
    }
    addresses: dict[str, str] = {}
    args: dict[str, list[Any]] = {}

    def put(key: str, contract: Contract, *values: Any, library: str | None = None) -> None:
        addresses[key] = _deploy(w3, contract, *values, library=library)
        args[key] = list(values)

    put("dispatcher", reference.resolve("ManifestDispatcher"), gov, DELAY)
    put("other_dispatcher", reference.resolve("ManifestDispatcher"), gov, DELAY)
    put("router", reference.resolve("PayRoxProxyRouter"), gov, addresses["dispatcher"])
    put("rerouted", reference.resolve("PayRoxProxyRouter"), gov, addresses["other_dispatcher"])
    put("attacker", reference.resolve("ReentrancyAttacker"), addresses["router"])
    for name in ("PingFacet", "VaultFacet"):
        put(name, reference.resolve(name))
    put("DeterministicChunkFactory", reference.resolve("DeterministicChunkFactory"), gov)
    for prefix, artifacts in sets.items():
        put(f"{prefix}Tally", artifacts.resolve("Tally"))
        put(f"{prefix}UsesTally", artifacts.resolve("UsesTally"), library=addresses[f"{prefix}Tally"])
        put(f"{prefix}Parent", artifacts.resolve("Parent"))
    for prefix in ("", "legacy:"):
        put(f"{prefix}Configured", sets[prefix].resolve("Configured"), accounts[1], *CONFIGURED_TAIL)
    yield Deployed(w3, gov, reference, sets[""], sets["legacy:"], sets["variant:"], addresses, args)


@pytest.mark.parametrize("build", ["artifacts", "legacy/artifacts", "variant/artifacts"])
def test_sample_builds_are_compiled_from_the_committed_sources(build: str) -> None:
    source = SAMPLES / ("variant" if build.startswith("variant") else "") / "contracts" / "Samples.sol"
    (info,) = (SAMPLES / build / "build-info").glob("*.json")
    compiled = json.loads(info.read_text())["input"]["sources"]["contracts/Samples.sol"]["content"]
    assert compiled == source.read_text(), f"recompile {build}: see the header of {source}"
    original = (SAMPLES / "contracts" / "Samples.sol").read_text().splitlines()
    variant = (SAMPLES / "variant" / "contracts" / "Samples.sol").read_text().splitlines()
    assert [i for i, (a, b) in enumerate(zip(original, variant, strict=True)) if a != b] == [9], "one comment line"


# -- the CBOR trailer ---------------------------------------------------------------------------


def _varint(number: int) -> bytes:
    out = b""
    while number >= 0x80:
        out += bytes([number & 0x7F | 0x80])
        number >>= 7
    return out + bytes([number])


def _ipfs_multihash(content: bytes) -> bytes:
    """What solc puts under "ipfs": sha256 of the file as one dag-pb node (UnixFS, type File),
    which is how IPFS adds a file under 256 KiB; ``0x12 0x20`` says sha2-256, 32 bytes."""
    unixfs = b"\x08\x02" + b"\x12" + _varint(len(content)) + content + b"\x18" + _varint(len(content))
    node = b"\x0a" + _varint(len(unixfs)) + unixfs
    return b"\x12\x20" + hashlib.sha256(node).digest()


def _runtimes(artifacts: ArtifactSet) -> list[Contract]:
    return [c for c in artifacts.contracts if c.deployable]


def test_real_trailers_decode_to_the_hash_of_their_metadata_json() -> None:
    reference = load_artifacts(FIXTURES / "reference" / "artifacts")
    for contract in _runtimes(reference):
        code = contract.runtime.to_bytes()
        executable, trailer = split_metadata(code)
        assert trailer is not None and executable + trailer == code, contract.name
        fields = decode_metadata(trailer)
        assert set(fields) == {"ipfs", "solc"} and fields["solc"] == bytes([0, 8, 30])
        output = contract.build_info()["output"]["contracts"][contract.source][contract.name]
        assert fields["ipfs"] == _ipfs_multihash(output["metadata"].encode()), contract.name
        metadata = Metadata.of(trailer)
        assert metadata is not None and metadata.solc == "0.8.30" and metadata.hash_kind == "ipfs"
        assert metadata.ipfs_cid is not None and metadata.ipfs_cid.startswith("Qm") and len(metadata.ipfs_cid) == 46
        assert metadata.describe() == f"ipfs {metadata.ipfs_cid} solc 0.8.30"


def test_cid_is_bitcoin_alphabet_base58() -> None:
    assert Metadata(b"", {"ipfs": b"hello world"}).ipfs_cid == "StV1DL6CwTryKyV"  # the usual test vector
    assert Metadata(b"", {"ipfs": b"\x00\x00\x01"}).ipfs_cid == "112"  # each leading zero byte is a "1"


def _trailer(pairs: bytes, count: int) -> bytes:
    blob = bytes([0xA0 + count]) + pairs
    return blob + len(blob).to_bytes(2, "big")


def _text(key: str) -> bytes:
    header = bytes([0x60 + len(key)]) if len(key) < 24 else bytes([0x78, len(key)])
    return header + key.encode()


def test_older_and_prerelease_trailers_decode() -> None:
    swarm = b"\x5a" * 32
    bzzr0 = _trailer(_text("bzzr0") + b"\x58\x20" + swarm, 1)  # solc 0.4.x
    assert bzzr0[-2:] == b"\x00\x29"
    assert decode_metadata(bzzr0) == {"bzzr0": swarm}
    bzzr1 = _trailer(_text("bzzr1") + b"\x58\x20" + swarm + _text("solc") + b"\x43\x00\x05\x0b", 2)  # 0.5.11
    assert decode_metadata(bzzr1) == {"bzzr1": swarm, "solc": b"\x00\x05\x0b"}
    meta = Metadata.of(bzzr1)
    assert meta is not None and meta.hash_kind == "bzzr1" and meta.solc == "0.5.11" and meta.ipfs_cid is None
    assert meta.describe() == f"bzzr1 0x{swarm.hex()} solc 0.5.11"
    nightly = "0.8.31-ci.2025.1.1+commit.abcdef12"
    odd = _trailer(_text("experimental") + b"\xf5" + _text("solc") + _text(nightly), 2)
    meta = Metadata.of(odd)
    assert meta is not None and meta.experimental and meta.solc == nightly and meta.hash is None
    assert meta.describe() == f"no source hash solc {nightly} experimental"


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x00\x33",
        _trailer(_text("vyper") + b"\x83\x00\x03\x0a", 1),  # a map, but not solc's
        b"\x84\x00\x00\x00\xa1" + (5).to_bytes(2, "big"),  # a Vyper-style array
        _trailer(_text("ipfs") + b"\x58\x22" + b"\x12\x20" + b"\x01" * 10, 1),  # hash cut short
        b"\x60\x80" + (1).to_bytes(2, "big"),  # the last 2 bytes of code, not a trailer
        bytes([0xA1]) + b"\x81" * 5000 + (5001).to_bytes(2, "big"),  # nested beyond any recursion limit
    ],
    ids=["empty", "length-only", "other-keys", "array", "truncated", "code", "deep"],
)
def test_what_is_not_a_solc_trailer(blob: bytes) -> None:
    assert split_metadata(blob) == (blob, None)
    with pytest.raises(ValueError, match="not a solc CBOR metadata trailer"):
        decode_metadata(blob)


def test_only_the_final_trailer_counts_and_children_are_found_inside() -> None:
    samples = load_artifacts(SAMPLES / "artifacts")
    parent = samples.resolve("Parent").runtime.to_bytes()
    child = samples.resolve("Child").runtime.to_bytes()
    executable, trailer = split_metadata(parent)
    child_code, child_trailer = split_metadata(child)
    assert trailer is not None and child_trailer is not None and trailer != child_trailer
    # Child's code, trailer included, is the last thing in Parent's executable part.
    assert executable.endswith(child_trailer)
    assert embedded_metadata(executable) == ((len(executable) - len(child_trailer), len(executable)),)
    assert embedded_metadata(child_code) == ()


# -- reference contracts on chain ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["PingFacet", "VaultFacet", "DeterministicChunkFactory"])
def test_contracts_without_immutables_are_exact(chain: Deployed, name: str) -> None:
    result = verify(chain.reference.resolve(name), chain.code(name), chain.args[name])
    assert result.comparison.verdict == EXACT, result.comparison.reason
    assert result.comparison.first_difference is None and result.comparison.metadata_equal
    assert result.comparison.immutables == {} and result.immutables == ()
    assert result.comparison.reason == "runtime code and metadata equal the artifact byte for byte"


def test_router_and_dispatcher_are_exact_with_their_constructor_values(chain: Deployed) -> None:
    router = verify(chain.reference.resolve("PayRoxProxyRouter"), chain.code("router"), chain.args["router"])
    assert router.comparison.verdict == EXACT, router.comparison.reason
    assert "1 immutable" in router.comparison.reason
    (check,) = router.immutables
    assert (check.name, check.type_string, check.status) == ("dispatcher", "address", IMMUTABLE_OK)
    assert check.onchain == chain.addresses["dispatcher"] == chain.args["router"][1]
    assert "constructor argument 1 (dispatcher_)" in check.detail

    dispatcher = chain.reference.resolve("ManifestDispatcher")
    result = verify(dispatcher, chain.code("dispatcher"), chain.args["dispatcher"])
    assert result.comparison.verdict == EXACT
    (check,) = result.immutables
    assert (check.name, check.type_string, check.onchain, check.status) == (
        "activationDelay",
        "uint64",
        DELAY,
        IMMUTABLE_OK,
    )
    names = immutable_names(dispatcher.build_info(), dispatcher.source, dispatcher.name)
    (var,) = names.values()
    assert (var.name, var.contract, var.type_string) == ("activationDelay", "ManifestDispatcher", "uint64")
    assert var.references == tuple(
        (r["start"], r["length"]) for r in (dispatcher.immutable_references or {})[var.ast_id]
    )

    attacker = verify(chain.reference.resolve("ReentrancyAttacker"), chain.code("attacker"), chain.args["attacker"])
    assert attacker.comparison.verdict == EXACT
    assert [(c.name, c.status, c.onchain) for c in attacker.immutables] == [
        ("target", IMMUTABLE_OK, chain.addresses["router"])
    ]


def test_router_pointing_at_another_dispatcher_is_the_same_code_with_a_wrong_immutable(chain: Deployed) -> None:
    router = chain.reference.resolve("PayRoxProxyRouter")
    expected = expected_immutables(router.build_info(), router.source, router.name, chain.args["router"])
    assert expected["dispatcher"].value == chain.addresses["dispatcher"] and expected["dispatcher"].derivable
    result = verify(router, chain.code("rerouted"), chain.args["router"])  # the deployer meant "dispatcher"
    assert result.comparison.verdict == EXACT, "the code is the artifact's; only the value differs"
    (check,) = result.immutables
    assert check.status == IMMUTABLE_DIFFERS and not result.immutables_ok
    assert check.onchain == chain.addresses["other_dispatcher"] and check.expected == chain.addresses["dispatcher"]
    assert f"on chain '{chain.addresses['other_dispatcher']}', expected '{chain.addresses['dispatcher']}'" in (
        check.detail
    )


def test_expected_addresses_compare_in_any_case(chain: Deployed) -> None:
    router = chain.reference.resolve("PayRoxProxyRouter")
    lower = [chain.gov.lower(), chain.addresses["dispatcher"].lower()]
    result = verify(router, chain.code("router"), lower)
    assert [c.status for c in result.immutables] == [IMMUTABLE_OK]


def test_another_contracts_code_is_a_mismatch_at_the_first_differing_byte(chain: Deployed) -> None:
    router = chain.reference.resolve("PayRoxProxyRouter")
    onchain = chain.code("dispatcher")
    result = verify(router, onchain, chain.args["router"])
    comparison = result.comparison
    assert comparison.verdict == MISMATCH and result.immutables == ()
    mine = split_metadata(router.runtime.to_bytes())[0]
    theirs = split_metadata(onchain)[0]
    first = comparison.first_difference
    assert first is not None and mine[:first] == theirs[:first] and mine[first] != theirs[first]
    assert (comparison.artifact_size, comparison.onchain_size) == (len(mine), len(theirs))
    assert comparison.reason == (
        f"code differs from the artifact from byte {first} on "
        f"(executable part: artifact {len(mine)} bytes, on-chain {len(theirs)} bytes)"
    )


def test_no_code_at_the_address_is_a_mismatch(chain: Deployed) -> None:
    comparison = verify(chain.reference.resolve("PingFacet"), b"", []).comparison
    assert comparison.verdict == MISMATCH and comparison.first_difference == 0
    assert comparison.reason.startswith("no code at address")
    assert comparison.onchain_metadata is None


def test_metadata_stripped_or_changed_is_a_match(chain: Deployed) -> None:
    router = chain.reference.resolve("PayRoxProxyRouter")
    onchain = chain.code("router")
    executable, trailer = split_metadata(onchain)
    assert trailer is not None
    refs = router.immutable_references

    stripped = compare_runtime(router.runtime.to_bytes(), executable, refs)
    assert stripped.verdict == MATCH and stripped.first_difference is None and not stripped.metadata_equal
    assert stripped.onchain_metadata is None and stripped.artifact_metadata is not None
    assert "the on-chain code carries no metadata trailer" in stripped.reason
    assert stripped.immutables == verify(router, onchain, None).comparison.immutables

    other_hash = bytearray(trailer)
    other_hash[12] ^= 0xFF  # inside the ipfs digest
    changed = compare_runtime(router.runtime.to_bytes(), executable + bytes(other_hash), refs)
    assert changed.verdict == MATCH
    assert changed.artifact_metadata is not None and changed.onchain_metadata is not None
    assert changed.artifact_metadata.hash != changed.onchain_metadata.hash
    assert changed.artifact_metadata.solc == changed.onchain_metadata.solc == "0.8.30"
    assert f"artifact {changed.artifact_metadata.describe()}, on-chain {changed.onchain_metadata.describe()}" in (
        changed.reason
    )

    bare_artifact = compare_runtime(split_metadata(router.runtime.to_bytes())[0], onchain, refs)
    assert bare_artifact.verdict == MATCH and "the artifact carries no metadata trailer" in bare_artifact.reason


def test_trailerless_code_on_both_sides_is_exact_and_length_differences_count(chain: Deployed) -> None:
    ping = chain.reference.resolve("PingFacet")
    executable, trailer = split_metadata(chain.code("PingFacet"))
    artifact = split_metadata(ping.runtime.to_bytes())[0]
    both_bare = compare_runtime(artifact, executable, None)
    assert both_bare.verdict == EXACT and both_bare.artifact_metadata is None and both_bare.metadata_equal

    longer = compare_runtime(ping.runtime.to_bytes(), executable + b"\x00" + (trailer or b""), None)
    assert longer.verdict == MISMATCH and longer.first_difference == len(artifact)
    assert (longer.artifact_size, longer.onchain_size) == (len(artifact), len(artifact) + 1)
    assert longer.reason.startswith(f"code equals the artifact up to byte {len(artifact)}, where the shorter one ends")


def test_an_immutable_reading_two_values_is_a_mismatch(chain: Deployed) -> None:
    router = chain.reference.resolve("PayRoxProxyRouter")
    refs = router.immutable_references or {}
    ((key, spots),) = refs.items()
    second = spots[1]["start"]
    onchain = bytearray(chain.code("router"))
    onchain[second + 31] ^= 0x01
    comparison = compare_runtime(router.runtime.to_bytes(), bytes(onchain), refs)
    assert comparison.verdict == MISMATCH and comparison.first_difference == second
    assert len(comparison.inconsistent_immutables[key]) == 2
    assert comparison.reason.startswith(f"immutable {key} reads 2 different values at its references")


def test_references_that_do_not_fit_the_artifact_are_an_artifact_error() -> None:
    with pytest.raises(ArtifactError, match=r"immutable reference 7 at bytes 30..62 lies outside .* 40-byte"):
        compare_runtime(b"\x60" * 40, b"\x60" * 40, {"7": [{"start": 30, "length": 32}]})
    with pytest.raises(ArtifactError, match="runtime code is empty"):
        compare_runtime(b"", b"\x60", None)


def test_proxies_and_delegated_eoas_are_named_in_the_reason(chain: Deployed) -> None:
    ping = chain.reference.resolve("PingFacet").runtime.to_bytes()
    target = bytes.fromhex(chain.addresses["PingFacet"][2:])
    clone = bytes.fromhex("363d3d373d3d3d363d73") + target + bytes.fromhex("5af43d82803e903d91602b57fd5bf3")
    assert f"EIP-1167 minimal proxy to {chain.addresses['PingFacet']}" in compare_runtime(ping, clone, None).reason
    delegated = b"\xef\x01\x00" + target
    assert (
        f"EOA delegating to {chain.addresses['PingFacet']} (EIP-7702)" in compare_runtime(ping, delegated, None).reason
    )


# -- samples: libraries, children, immutables of every kind ------------------------------------


@pytest.mark.parametrize("build", ["", "legacy:"], ids=["via-ir", "legacy"])
def test_libraries_and_linked_callers(chain: Deployed, build: str) -> None:
    artifacts = chain.legacy if build else chain.samples
    tally = verify(artifacts.resolve("Tally"), chain.code(f"{build}Tally"), [])
    assert tally.comparison.verdict == EXACT, tally.comparison.reason
    assert tally.comparison.library_address == chain.addresses[f"{build}Tally"]
    assert "the library's own address" in tally.comparison.reason
    # viaIR keeps the address as a reserved immutable: reported, never failed.
    assert all(c.status == NOT_DERIVABLE for c in tally.immutables) and tally.immutables_ok

    caller = artifacts.resolve("UsesTally")
    onchain = chain.code(f"{build}UsesTally")
    linked = verify(caller, onchain, [])
    assert linked.comparison.verdict == EXACT, linked.comparison.reason
    assert linked.comparison.libraries == {"contracts/Samples.sol:Tally": chain.addresses[f"{build}Tally"]}
    solc_form = caller.build_info()["output"]["contracts"][caller.source][caller.name]["evm"]["deployedBytecode"]
    assert compare_runtime(caller.runtime.to_bytes(), onchain, None, solc_form["linkReferences"]).verdict == EXACT
    unlinked = compare_runtime(caller.runtime.to_bytes(), onchain, None)
    assert unlinked.verdict == MISMATCH, "without the link references the library address is a difference"


def test_a_library_linked_to_two_addresses_is_a_mismatch(chain: Deployed) -> None:
    caller = chain.samples.resolve("UsesTally")
    (link,) = caller.runtime.links
    onchain = bytearray(chain.code("UsesTally"))
    onchain[link.offsets[1] + 19] ^= 0x01
    comparison = compare_runtime(caller.runtime.to_bytes(), bytes(onchain), None, caller.runtime.links)
    assert comparison.verdict == MISMATCH and comparison.first_difference == link.offsets[1]
    assert "is linked to different addresses" in comparison.reason


def test_a_parent_stripped_of_its_trailer_still_ends_in_its_childs_and_is_a_match(chain: Deployed) -> None:
    parent = chain.samples.resolve("Parent")
    executable, _ = split_metadata(chain.code("Parent"))
    assert split_metadata(executable)[1] is not None, "the child's trailer looks like Parent's own"
    comparison = compare_runtime(parent.runtime.to_bytes(), executable, None)
    assert comparison.verdict == MATCH and comparison.onchain_metadata is None, comparison.reason
    assert comparison.onchain_size == len(executable)
    bare_artifact = compare_runtime(split_metadata(parent.runtime.to_bytes())[0], chain.code("Parent"), None)
    assert bare_artifact.verdict == MATCH and bare_artifact.artifact_metadata is None


def test_a_child_built_from_another_source_text_is_a_match(chain: Deployed) -> None:
    parent = chain.samples.resolve("Parent")
    assert verify(parent, chain.code("Parent"), []).comparison.verdict == EXACT
    comparison = verify(parent, chain.code("variant:Parent"), []).comparison
    assert comparison.verdict == MATCH, comparison.reason
    assert comparison.first_difference is None and len(comparison.child_metadata_differs) == 1
    assert "the metadata of embedded child contract code differs" in comparison.reason
    assert "the metadata differs: artifact ipfs" in comparison.reason  # the parent's own trailer too


@pytest.mark.parametrize("build", ["", "legacy:"], ids=["via-ir", "legacy"])
def test_immutables_of_every_kind(chain: Deployed, build: str) -> None:
    contract = (chain.legacy if build else chain.samples).resolve("Configured")
    args = chain.args[f"{build}Configured"]
    result = verify(contract, chain.code(f"{build}Configured"), args)
    assert result.comparison.verdict == EXACT
    checks = {c.name: c for c in result.immutables}
    assert {name: c.status for name, c in checks.items()} == {
        "keeper": IMMUTABLE_OK,
        "cap": IMMUTABLE_OK,
        "tag": IMMUTABLE_OK,
        "flag": IMMUTABLE_OK,
        "delta": IMMUTABLE_OK,
        "seven": IMMUTABLE_OK,
        "floor": IMMUTABLE_OK,
        "bornAt": NOT_DERIVABLE,
        "maybe": NOT_DERIVABLE,
    }
    assert checks["keeper"].onchain == args[0] and "via Owned(keeper_)" in checks["keeper"].detail
    assert checks["cap"].onchain == 5 and "as uint128" in checks["cap"].detail  # 2**130 + 5 truncated
    assert checks["tag"].onchain == bytes.fromhex("0102030405060708")
    assert checks["flag"].onchain is True and checks["delta"].onchain == -3
    assert "initialised to 7 at its declaration" in checks["seven"].detail
    assert checks["floor"].onchain == 3600 and "initialised to 3600" in checks["floor"].detail  # = MIN_DELAY
    assert "not derivable: assigned from block.timestamp" in checks["bornAt"].detail
    assert "not derivable: assigned in 2 places" in checks["maybe"].detail
    assert checks["maybe"].onchain == chain.gov  # the branch taken for a zero argument
    assert result.immutables_ok


def test_without_constructor_arguments_nothing_is_derivable(chain: Deployed) -> None:
    result = verify(chain.samples.resolve("Configured"), chain.code("Configured"), None)
    assert {c.status for c in result.immutables} == {NOT_DERIVABLE}
    assert all("no constructor arguments given" in c.detail for c in result.immutables)


def test_wrong_argument_count_is_a_config_error(chain: Deployed) -> None:
    router = chain.reference.resolve("PayRoxProxyRouter")
    with pytest.raises(ConfigError, match=r"PayRoxProxyRouter: the constructor takes 2 argument\(s\) "):
        expected_immutables(router.build_info(), router.source, router.name, [chain.gov])


def test_a_build_info_without_the_ast_is_an_artifact_error(chain: Deployed) -> None:
    router = chain.reference.resolve("PayRoxProxyRouter")
    stripped = json.loads(json.dumps(router.build_info()))
    del stripped["output"]["sources"][router.source]["ast"]
    with pytest.raises(ArtifactError, match=r"no AST for contracts/router/PayRoxProxyRouter\.sol"):
        immutable_names(stripped, router.source, router.name)
    with pytest.raises(ArtifactError, match=r"no output for contracts/router/PayRoxProxyRouter\.sol:Nope"):
        immutable_names(router.build_info(), router.source, "Nope")


# -- decoding and comparing values --------------------------------------------------------------


def test_decode_immutable() -> None:
    address = bytes.fromhex("dac17f958d2ee523a2206206994597c13d831ec7")
    word = bytes(12) + address
    assert decode_immutable("address", word) == "0xdAC17F958D2ee523a2206206994597C13D831ec7"
    assert decode_immutable("address payable", word) == decode_immutable("contract IERC20", word)
    assert decode_immutable("uint64", (3600).to_bytes(32, "big")) == 3600
    assert decode_immutable("int32", (-3).to_bytes(32, "big", signed=True)) == -3
    assert decode_immutable("bool", (1).to_bytes(32, "big")) is True
    assert decode_immutable("bytes4", b"\xde\xad\xbe\xef" + bytes(28)) == b"\xde\xad\xbe\xef"
    assert decode_immutable("enum Mode", (2).to_bytes(32, "big")) == 2
    with pytest.raises(ValueError, match="cannot decode an immutable of type 'Price'"):
        decode_immutable("Price", bytes(32))


def test_values_equal() -> None:
    assert values_equal(
        "address", "0xdAC17F958D2ee523a2206206994597C13D831ec7", "0xdac17f958d2ee523a2206206994597c13d831ec7"
    )
    assert not values_equal("address", "0xdAC17F958D2ee523a2206206994597C13D831ec7", "0x1234")
    assert values_equal("uint256", 3600, "3600") and values_equal("uint256", 16, "0x10")
    assert not values_equal("uint256", 1, True), "a bool is not the number 1"
    assert values_equal("bytes2", b"\x01\x02", "0x0102") and not values_equal("bytes2", b"\x01\x02", "zz")
    assert values_equal("bool", False, False) and not values_equal("bool", False, 0)
