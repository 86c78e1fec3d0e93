"""EVM bytecode, read the way the EVM reads it: the metadata trailer split off, then opcodes.

solc lays out runtime code as::

    [code][INVALID separator][embedded child code][data: CODECOPY constants][CBOR][length:2]

The last two bytes give the length of the CBOR metadata before them (:func:`split_metadata`).
What remains is walked by :func:`disassemble` with the EVM's own JUMPDEST-analysis rule: from
offset 0, every byte is an opcode or the immediate data of the PUSH1..PUSH32 before it (PUSH0
has none). Two refinements keep data from being read as code:

* **Reachability.** Execution cannot fall through STOP, JUMP, RETURN, REVERT, INVALID or
  SELFDESTRUCT; the byte after one of them runs only if it is a JUMPDEST at an instruction
  boundary. The stretch in between is unreachable: an instruction there is marked
  ``reachable=False``. This is where solc puts its data: after the separator INVALID come
  constants read with CODECOPY, such as the two 32-byte keccak slots after the final INVALID
  of the reference's ReentrancyAttacker, and nothing in them can execute. Code of an embedded
  child contract has JUMPDESTs of its own, so it is walked as code again. (solc's peephole
  optimiser, on by default even with the optimizer off, removes code after a terminator up to
  the next JUMPDEST, so compiled code holds no instruction worth reading in such a stretch.)
* **Truncation.** A PUSH whose immediate runs past the end of the code section is not an
  instruction but data cut off by the metadata trailer (the last bytes of ReentrancyAttacker's
  data decode as a PUSH20 with 8 bytes left): it is reported as :attr:`Disassembly.truncated`
  and never as a constant.

Pure functions of bytes; nothing here reads files or imports web3.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple

PUSH0 = 0x5F
PUSH1 = 0x60
PUSH32 = 0x7F
JUMPDEST = 0x5B

# Execution never falls through these; the next byte runs only if it is a JUMPDEST.
HALTING = {0x00: "STOP", 0x56: "JUMP", 0xF3: "RETURN", 0xFD: "REVERT", 0xFE: "INVALID", 0xFF: "SELFDESTRUCT"}


def push_size(opcode: int) -> int:
    """Bytes of immediate data after ``opcode``: 1..32 for PUSH1..PUSH32, else 0 (PUSH0 too)."""
    return opcode - PUSH0 if PUSH1 <= opcode <= PUSH32 else 0


def mnemonic(opcode: int) -> str:
    """``PUSH0``..``PUSH32``, ``JUMPDEST`` and the halting opcodes by name; others as hex."""
    if PUSH0 <= opcode <= PUSH32:
        return f"PUSH{opcode - PUSH0}"
    if opcode == JUMPDEST:
        return "JUMPDEST"
    return HALTING.get(opcode, f"0x{opcode:02x}")


# -- metadata trailer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Metadata:
    """The CBOR trailer solc (and Vyper) append to runtime code."""

    offset: int  # where the CBOR starts in the runtime code
    size: int  # CBOR bytes plus the 2-byte length
    fields: Mapping[str, object]  # {"ipfs": b"...", "solc": b"\x00\x08\x1e"} for solc

    @property
    def solc(self) -> str | None:
        """The compiler version it names: 3 bytes for a release, a string for a pre-release."""
        value = self.fields.get("solc")
        if isinstance(value, bytes) and len(value) == 3:
            return ".".join(str(part) for part in value)
        return value if isinstance(value, str) else None


def split_metadata(runtime: bytes) -> tuple[bytes, Metadata | None]:
    """``(code section, trailer)``; the whole code and ``None`` when there is no valid trailer.

    The trailer is accepted only when the last two bytes give a length that fits and the bytes
    before them decode as exactly one CBOR map (solc) or array (Vyper) of that length: code
    built with ``appendCBOR: false`` simply ends in two code bytes.
    """
    if len(runtime) < 2:
        return runtime, None
    length = int.from_bytes(runtime[-2:], "big")
    start = len(runtime) - 2 - length
    if length == 0 or start < 0:
        return runtime, None
    blob = runtime[start:-2]
    try:
        value, end = _cbor(blob, 0)
    except (IndexError, ValueError, UnicodeDecodeError):
        return runtime, None
    if end != len(blob) or not isinstance(value, (dict, list)):
        return runtime, None
    fields = value if isinstance(value, dict) else {"items": value}
    return runtime[:start], Metadata(start, length + 2, fields)


def _cbor(data: bytes, at: int) -> tuple[object, int]:
    """One definite-length CBOR item at ``at``: enough for compiler metadata, nothing more."""
    head = data[at]
    major, info = head >> 5, head & 0x1F
    at += 1
    if info < 24:
        argument = info
    elif info <= 27:
        width = 1 << (info - 24)
        if at + width > len(data):
            raise ValueError("CBOR argument runs past the end")
        argument = int.from_bytes(data[at : at + width], "big")
        at += width
    else:
        raise ValueError(f"unsupported CBOR additional info {info}")
    if major == 0:
        return argument, at
    if major in (2, 3):
        if at + argument > len(data):
            raise ValueError("CBOR string runs past the end")
        raw = data[at : at + argument]
        return (raw if major == 2 else raw.decode("utf-8")), at + argument
    if major == 4:
        items = []
        for _ in range(argument):
            item, at = _cbor(data, at)
            items.append(item)
        return items, at
    if major == 5:
        mapping: dict[str, object] = {}
        for _ in range(argument):
            key, at = _cbor(data, at)
            mapping[str(key)], at = _cbor(data, at)
        return mapping, at
    if major == 7 and argument in (20, 21, 22):
        return {20: False, 21: True, 22: None}[argument], at
    raise ValueError(f"unsupported CBOR item 0x{head:02x}")


# -- opcode walk --------------------------------------------------------------------------------


class Instruction(NamedTuple):
    """One opcode at ``offset`` with its PUSH data, and whether execution can reach it."""

    offset: int
    opcode: int
    immediate: bytes
    reachable: bool

    @property
    def name(self) -> str:
        return mnemonic(self.opcode)

    @property
    def value(self) -> int:
        """The number a PUSH puts on the stack (0 for PUSH0 and for every other opcode)."""
        return int.from_bytes(self.immediate, "big")


class TruncatedPush(NamedTuple):
    """A PUSH opcode byte whose data would run past the end of the code section."""

    offset: int
    opcode: int
    available: int  # bytes left after the opcode

    @property
    def name(self) -> str:
        return mnemonic(self.opcode)

    @property
    def wanted(self) -> int:
        return push_size(self.opcode)


@dataclass(frozen=True)
class Disassembly:
    """The linear walk of one code section (runtime code with its metadata trailer removed)."""

    instructions: tuple[Instruction, ...]
    truncated: TruncatedPush | None
    size: int  # bytes in the code section

    @property
    def unreachable_bytes(self) -> int:
        """Bytes (opcodes and their data) execution cannot reach: solc's data, mostly."""
        dead = sum(1 + len(i.immediate) for i in self.instructions if not i.reachable)
        return dead + (self.size - self.truncated.offset if self.truncated else 0)

    def pushes(self, size: int | None = None, *, reachable_only: bool = True) -> Iterator[Instruction]:
        """PUSH instructions (of ``size`` data bytes, if given), by default only reachable ones."""
        for instruction in self.instructions:
            wanted = push_size(instruction.opcode)
            if wanted and (size is None or wanted == size) and (instruction.reachable or not reachable_only):
                yield instruction


def instructions(code: bytes) -> Iterator[Instruction]:
    """Walk ``code`` from offset 0 (see the module docstring); a truncated PUSH ends the walk."""
    at, reachable, end = 0, True, len(code)
    while at < end:
        opcode = code[at]
        if opcode == JUMPDEST:
            reachable = True
        width = push_size(opcode)
        if at + 1 + width > end:
            return
        yield Instruction(at, opcode, code[at + 1 : at + 1 + width], reachable)
        if opcode in HALTING:
            reachable = False
        at += 1 + width


def disassemble(code: bytes) -> Disassembly:
    """Every instruction of ``code`` (a code section: use :func:`split_metadata` first)."""
    walked = tuple(instructions(code))
    end = walked[-1].offset + 1 + len(walked[-1].immediate) if walked else 0
    truncated = None
    if end < len(code):
        truncated = TruncatedPush(end, code[end], len(code) - end - 1)
    return Disassembly(walked, truncated, len(code))
