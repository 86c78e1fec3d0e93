"""The opcode walker and the CBOR trailer split, on hand-made code and on the reference."""

from __future__ import annotations

import json

import pytest

from signoff.artifacts.evm import (
    TruncatedPush,
    disassemble,
    instructions,
    mnemonic,
    push_size,
    split_metadata,
)
from tests.conftest import FIXTURES

ARTIFACTS = FIXTURES / "reference" / "artifacts" / "contracts"
ADDRESS = bytes.fromhex("dac17f958d2ee523a2206206994597c13d831ec7")


def _runtime(relative: str) -> bytes:
    return bytes.fromhex(json.loads((ARTIFACTS / relative).read_text())["deployedBytecode"][2:])


def _cbor_trailer(version: bytes = bytes([0, 8, 30])) -> bytes:
    """A solc-shaped trailer: {"ipfs": 34 bytes, "solc": version} and its 2-byte length."""
    blob = bytes([0xA2, 0x64]) + b"ipfs" + bytes([0x58, 34]) + b"\x12\x20" + b"\x5b" * 32
    blob += bytes([0x64]) + b"solc" + bytes([0x43]) + version
    return blob + len(blob).to_bytes(2, "big")


def test_push_sizes_and_names() -> None:
    assert [push_size(op) for op in (0x5F, 0x60, 0x73, 0x7F, 0x80, 0x5B)] == [0, 1, 20, 32, 0, 0]
    assert [mnemonic(op) for op in (0x5F, 0x73, 0x5B, 0xFE, 0x01)] == ["PUSH0", "PUSH20", "JUMPDEST", "INVALID", "0x01"]


def test_push_data_is_skipped_not_decoded() -> None:
    # PUSH2 0x5b73 (a JUMPDEST and a PUSH20 opcode byte, as data), JUMPDEST, STOP
    walked = list(instructions(bytes.fromhex("615b735b00")))
    assert [(i.offset, i.name, i.immediate.hex()) for i in walked] == [
        (0, "PUSH2", "5b73"),
        (3, "JUMPDEST", ""),
        (4, "STOP", ""),
    ]


def test_push0_has_no_data() -> None:
    walked = list(instructions(bytes([0x5F, 0x73, *ADDRESS, 0x00])))
    assert [(i.offset, i.name) for i in walked] == [(0, "PUSH0"), (1, "PUSH20"), (22, "STOP")]
    assert walked[0].value == 0 and walked[1].value == int.from_bytes(ADDRESS, "big")


def test_a_push_running_past_the_end_is_truncated_data_not_an_instruction() -> None:
    code = bytes([0x60, 0x01, 0x73]) + ADDRESS[:8]
    walk = disassemble(code)
    assert [i.name for i in walk.instructions] == ["PUSH1"]
    assert walk.truncated == TruncatedPush(offset=2, opcode=0x73, available=8)
    assert walk.truncated.wanted == 20
    assert list(walk.pushes(20, reachable_only=False)) == []


def test_bytes_after_a_terminator_are_unreachable_until_a_jumpdest() -> None:
    # live PUSH20, REVERT, INVALID separator, data that decodes as a PUSH20, then code again
    data_push = bytes([0x73]) + bytes(range(1, 21))
    code = bytes([0x73, *ADDRESS, 0xFD, 0xFE]) + data_push + bytes([0x5B, 0x73, *ADDRESS[::-1], 0x00])
    walk = disassemble(code)
    live = [(i.offset, i.immediate) for i in walk.pushes(20)]
    assert live == [(0, ADDRESS), (45, ADDRESS[::-1])]  # the embedded child's code is walked again
    dead = [i for i in walk.pushes(20, reachable_only=False) if not i.reachable]
    assert [i.offset for i in dead] == [23]
    assert walk.unreachable_bytes == 1 + 21  # the INVALID and the data


def test_cbor_trailer_is_split_and_names_the_compiler() -> None:
    code = bytes([0x60, 0x80, 0x00])
    section, metadata = split_metadata(code + _cbor_trailer())
    assert section == code
    assert metadata is not None
    assert (metadata.offset, metadata.size, metadata.solc) == (3, 53, "0.8.30")
    assert isinstance(metadata.fields["ipfs"], bytes) and len(metadata.fields["ipfs"]) == 34


def test_trailer_bytes_are_never_walked_as_code() -> None:
    # the fake ipfs hash is all 0x5b (JUMPDEST): walked, it would revive dead code
    section, _ = split_metadata(bytes([0x00]) + _cbor_trailer())
    assert [i.name for i in disassemble(section).instructions] == ["STOP"]


@pytest.mark.parametrize(
    "code",
    [
        b"",
        b"\x00",
        bytes([0x60, 0x01, 0x00, 0x00]),  # length 0
        bytes([0x60, 0x01, 0x00, 0x40]),  # length 64 > code
        bytes([0x60, 0x01, 0x56, 0x00, 0x02]),  # "01 56" is a CBOR integer and a stray byte
        bytes([0xA1, 0x64]) + b"solc" + bytes([0x00, 0x06]),  # a map whose one key has no value
    ],
)
def test_code_without_a_valid_trailer_is_all_code(code: bytes) -> None:
    section, metadata = split_metadata(code)
    assert (section, metadata) == (code, None)


def test_a_prerelease_version_is_a_string() -> None:
    blob = bytes([0xA1, 0x64]) + b"solc" + bytes([0x6C]) + b"0.8.31-ci.20"
    _, metadata = split_metadata(blob + len(blob).to_bytes(2, "big"))
    assert metadata is not None and metadata.solc == "0.8.31-ci.20"


def test_reference_reentrancy_attacker_trailing_constants_are_data() -> None:
    """Its two 32-byte keccak slots after the final INVALID end in a cut-off PUSH20."""
    runtime = _runtime("test/ReentrancyAttacker.sol/ReentrancyAttacker.json")
    section, metadata = split_metadata(runtime)
    assert metadata is not None and metadata.solc == "0.8.30" and metadata.size == 53
    walk = disassemble(section)
    final_invalid = max(i.offset for i in walk.instructions if i.name == "INVALID")
    assert walk.truncated is not None
    assert (walk.truncated.name, walk.truncated.available) == ("PUSH20", 8)
    assert walk.truncated.offset > final_invalid
    assert list(walk.pushes(20)) == []
    assert walk.unreachable_bytes == len(section) - final_invalid == 65
    assert all(not i.reachable for i in walk.instructions if i.offset > final_invalid)


@pytest.mark.parametrize(
    "relative",
    [
        "dispatcher/ManifestDispatcher.sol/ManifestDispatcher.json",
        "facets/PingFacet.sol/PingFacet.json",
        "facets/VaultFacet.sol/VaultFacet.json",
        "factory/DeterministicChunkFactory.sol/DeterministicChunkFactory.json",
        "router/PayRoxProxyRouter.sol/PayRoxProxyRouter.json",
    ],
)
def test_reference_code_walks_to_the_end_without_a_live_push20(relative: str) -> None:
    section, metadata = split_metadata(_runtime(relative))
    assert metadata is not None and metadata.solc == "0.8.30"
    walk = disassemble(section)
    walked = sum(1 + len(i.immediate) for i in walk.instructions)
    assert walked + (walk.size - walk.truncated.offset if walk.truncated else 0) == len(section)
    assert list(walk.pushes(20)) == []
