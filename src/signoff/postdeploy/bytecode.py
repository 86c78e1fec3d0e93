"""Runtime code at an address against its compiled artifact (PD-CODE), the way Sourcify judges it.

The artifact's runtime code has zeros where immutables, linked libraries and a library's own
address go; the deployment writes them. :func:`compare_runtime` copies the on-chain bytes into
those places, splits the CBOR metadata trailer off both sides and compares what is left: equal
code and equal trailer is ``exact``, equal code with a different or missing trailer (or only
the metadata of an embedded child contract differing) is ``match``, anything else is
``mismatch`` with the first differing offset. The values read from the on-chain code are then
named and typed from the solc AST in the build-info (:func:`immutable_names`) and checked
against what the constructor arguments say they must be (:func:`expected_immutables`,
:func:`check_immutables`); an immutable whose value cannot be derived from the constructor is
reported as such, never passed silently. Pure functions of bytes and JSON; no web3.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from signoff.artifacts.evm import split_metadata as _split_cbor
from signoff.artifacts.loader import Contract, LinkReference
from signoff.deploy.manifest import checksum
from signoff.errors import ArtifactError, ConfigError

EXACT = "exact"
MATCH = "match"
MISMATCH = "mismatch"

# solc's keys: a content hash (ipfs, or swarm in older compilers), the compiler, a flag.
HASH_KEYS = ("ipfs", "bzzr1", "bzzr0")
_SOLC_KEYS = frozenset({*HASH_KEYS, "solc"})
# A solc trailer is a CBOR map of 1..23 pairs, so its first byte is 0xa1..0xb7.
_MAP_FIRST, _MAP_LAST = 0xA1, 0xB7
# How the first key of an embedded trailer starts (CBOR text header + key).
_EMBEDDED_KEYS = (b"\x64ipfs", b"\x65bzzr", b"\x64solc")
_MIN_CBOR, _MAX_CBOR = 10, 255  # smallest solc map ("solc" + 3 bytes) .. a generous bound

# solc (legacy codegen) starts a library's runtime with PUSH20 0 ADDRESS EQ; the deployment
# replaces the zeros with the library's address so a CALL (not DELEGATECALL) can be refused.
_CALL_PROTECTION = b"\x73" + bytes(20) + b"\x30\x14"
# viaIR keeps the same address as an immutable with this reserved name instead.
LIBRARY_DEPLOY_ADDRESS = "library_deploy_address"

_EIP7702_PREFIX = b"\xef\x01\x00"
_EIP1167_HEAD = bytes.fromhex("363d3d373d3d3d363d73")
_EIP1167_TAIL = bytes.fromhex("5af43d82803e903d91602b57fd5bf3")

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

ImmutableReferences = Mapping[str, Sequence[Mapping[str, int]]]
SolcLinkReferences = Mapping[str, Mapping[str, Sequence[Mapping[str, int]]]]


# -- metadata trailer ---------------------------------------------------------------------------


def split_metadata(code: bytes) -> tuple[bytes, bytes | None]:
    """``(executable part, trailer)`` where the trailer is solc's CBOR map plus its 2-byte length.

    Only the end of the code counts: a contract that deploys children embeds their trailers in
    its middle. The trailer is accepted when the last two bytes give a length that fits and the
    bytes before them are exactly one CBOR map naming ``solc``, ``ipfs`` or ``bzzr0``/``bzzr1``;
    otherwise (``appendCBOR: false``, Vyper, hand-made code) the whole code and ``None``.
    """
    fields = _trailer_fields(code)
    if fields is None:
        return code, None
    size = int.from_bytes(code[-2:], "big") + 2
    return code[:-size], code[-size:]


def decode_metadata(trailer: bytes) -> dict[str, object]:
    """The fields of a trailer as :func:`split_metadata` returns it (CBOR map + 2-byte length).

    Text keys; ``ipfs``/``bzzr0``/``bzzr1`` are byte strings, ``solc`` is 3 version bytes for a
    release or a string for a pre-release, ``experimental`` a bool. Raises :class:`ValueError`
    when the bytes are not such a trailer.
    """
    fields = _trailer_fields(trailer)
    if fields is None or int.from_bytes(trailer[-2:], "big") + 2 != len(trailer):
        raise ValueError(
            f"not a solc CBOR metadata trailer ({len(trailer)} bytes, starting {trailer[:4].hex() or 'empty'}): "
            "expected a CBOR map with solc/ipfs/bzzr keys followed by its 2-byte big-endian length"
        )
    return fields


def _trailer_fields(code: bytes) -> dict[str, object] | None:
    """The decoded map when ``code`` ends in a solc trailer, else ``None``."""
    if len(code) < 3:
        return None
    start = len(code) - 2 - int.from_bytes(code[-2:], "big")
    if start < 0 or not _MAP_FIRST <= code[start] <= _MAP_LAST:
        return None
    try:
        rest, found = _split_cbor(code[start:])
    except RecursionError:  # deliberately nested garbage at the end of someone's code
        return None
    if rest or found is None or not isinstance(found.fields, dict):
        return None
    fields = dict(found.fields)
    return fields if _SOLC_KEYS & fields.keys() else None


@dataclass(frozen=True)
class Metadata:
    """One side's trailer, decoded for people: which hash, which compiler."""

    raw: bytes  # CBOR map + 2-byte length, as at the end of the code
    fields: Mapping[str, object]

    @classmethod
    def of(cls, trailer: bytes | None) -> Metadata | None:
        return None if trailer is None else cls(trailer, decode_metadata(trailer))

    @property
    def hash_kind(self) -> str | None:
        """``ipfs``, ``bzzr1`` or ``bzzr0``; ``None`` when built with ``bytecodeHash: none``."""
        return next((key for key in HASH_KEYS if isinstance(self.fields.get(key), bytes)), None)

    @property
    def hash(self) -> bytes | None:
        value = self.fields.get(self.hash_kind) if self.hash_kind else None
        return value if isinstance(value, bytes) else None

    @property
    def ipfs_cid(self) -> str | None:
        """The CIDv0 (``Qm...``) of the metadata JSON: the form IPFS gateways and Sourcify show."""
        return _base58(self.hash) if self.hash_kind == "ipfs" and self.hash is not None else None

    @property
    def solc(self) -> str | None:
        value = self.fields.get("solc")
        if isinstance(value, bytes) and len(value) == 3:
            return ".".join(str(part) for part in value)
        return value if isinstance(value, str) else None

    @property
    def experimental(self) -> bool:
        return self.fields.get("experimental") is True

    def describe(self) -> str:
        """``ipfs QmX... solc 0.8.30``: enough to tell two builds apart in a report."""
        parts = []
        if self.ipfs_cid is not None:
            parts.append(f"ipfs {self.ipfs_cid}")
        elif self.hash is not None:
            parts.append(f"{self.hash_kind} 0x{self.hash.hex()}")
        else:
            parts.append("no source hash")
        parts.append(f"solc {self.solc or 'unknown'}")
        if self.experimental:
            parts.append("experimental")
        return " ".join(parts)


def _base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, digit = divmod(number, 58)
        digits = _BASE58[digit] + digits
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + digits


def embedded_metadata(executable: bytes) -> tuple[tuple[int, int], ...]:
    """``(start, end)`` of every solc trailer inside an executable part (children's code)."""
    found: list[tuple[int, int]] = []
    for start in sorted(_embedded_candidates(executable)):
        if found and start < found[-1][1]:
            continue
        for size in range(_MIN_CBOR, min(_MAX_CBOR, len(executable) - start - 2) + 1):
            end = start + size + 2
            if executable[start + size : end] == size.to_bytes(2, "big") and _trailer_fields(executable[start:end]):
                found.append((start, end))
                break
    return tuple(found)


def _embedded_candidates(code: bytes) -> Iterator[int]:
    for key in _EMBEDDED_KEYS:
        at = code.find(key, 1)
        while at != -1:
            if _MAP_FIRST <= code[at - 1] <= _MAP_LAST:
                yield at - 1
            at = code.find(key, at + 1)


# -- comparison ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeComparison:
    """The verdict on one address's runtime code, with everything read from it on the way."""

    verdict: str  # EXACT, MATCH or MISMATCH
    reason: str  # one sentence for the report
    first_difference: int | None  # offset in the executable part, after substitution
    artifact_size: int  # executable part, bytes
    onchain_size: int
    immutables: Mapping[str, bytes]  # AST id -> value at its first reference in the on-chain code
    inconsistent_immutables: Mapping[str, tuple[bytes, ...]]  # AST id -> the differing values
    libraries: Mapping[str, str]  # fully qualified library -> checksummed address linked in
    library_address: str | None  # a library's own address, written in by its deployment
    artifact_metadata: Metadata | None
    onchain_metadata: Metadata | None
    child_metadata_differs: tuple[int, ...] = ()  # offsets of embedded trailers that differ

    @property
    def metadata_equal(self) -> bool:
        mine, theirs = self.artifact_metadata, self.onchain_metadata
        return (mine.raw if mine else None) == (theirs.raw if theirs else None)


def compare_runtime(
    artifact_runtime: bytes,
    onchain: bytes,
    immutable_references: ImmutableReferences | None,
    link_references: Iterable[LinkReference] | SolcLinkReferences | None = None,
) -> CodeComparison:
    """Compare ``onchain`` code with the artifact's runtime code (library placeholders as zeros).

    ``immutable_references`` is solc's ``{ast id: [{"start", "length"}]}``; ``link_references``
    either the artifact model's :class:`LinkReference` tuple or solc's ``linkReferences``.
    Raises :class:`ArtifactError` when the artifact has no code or its references do not fit it.
    """
    if not artifact_runtime:
        raise ArtifactError(
            "the artifact's runtime code is empty (an interface or abstract contract), so no deployed "
            "code can match it. Next step: compare against the concrete contract deployed at the address"
        )
    expected = bytearray(artifact_runtime)
    immutables, inconsistent = _substitute_immutables(expected, onchain, immutable_references or {})
    libraries, bad_links = _substitute_links(expected, onchain, _link_offsets(link_references))
    library_address = _substitute_call_protection(expected, onchain)
    if library_address is None and LIBRARY_DEPLOY_ADDRESS in immutables:
        library_address = checksum(immutables[LIBRARY_DEPLOY_ADDRESS][-20:])
    mine, my_trailer, theirs, their_trailer = _align(bytes(expected), onchain)

    def result(verdict: str, reason: str, first: int | None = None, children: tuple[int, ...] = ()) -> CodeComparison:
        return CodeComparison(
            verdict=verdict,
            reason=reason,
            first_difference=first,
            artifact_size=len(mine),
            onchain_size=len(theirs),
            immutables=immutables,
            inconsistent_immutables={key: values for key, values, _ in inconsistent},
            libraries=libraries,
            library_address=library_address,
            artifact_metadata=Metadata.of(my_trailer),
            onchain_metadata=Metadata.of(their_trailer),
            child_metadata_differs=children,
        )

    first = _first_difference(mine, theirs) if onchain else 0
    children = _child_metadata_only(mine, theirs) if first is not None and onchain else None
    if first is not None and children is None:
        return result(MISMATCH, _mismatch_reason(first, mine, theirs, onchain), first)
    # The bytes agree; substitutions that disagree with each other still betray other code.
    broken = _broken(inconsistent, bad_links)
    if broken is not None:
        return result(MISMATCH, *broken)
    if children:
        return result(MATCH, _metadata_reason(my_trailer, their_trailer, children), None, children)
    if my_trailer == their_trailer:
        return result(EXACT, _exact_reason(immutables, libraries, library_address))
    return result(MATCH, _metadata_reason(my_trailer, their_trailer, ()))


def _align(mine: bytes, onchain: bytes) -> tuple[bytes, bytes | None, bytes, bytes | None]:
    """Both sides split into executable part and trailer, the split that makes them agree if any.

    Code without a trailer of its own that ends in an embedded child's trailer looks as if it
    had one; when the plain splits disagree, keeping either side whole is tried too.
    """
    my_split, their_split = split_metadata(mine), split_metadata(onchain)
    if my_split[0] != their_split[0]:
        for my_code, my_trailer in (my_split, (mine, None)):
            for their_code, their_trailer in (their_split, (onchain, None)):
                if my_code == their_code:
                    return my_code, my_trailer, their_code, their_trailer
    return *my_split, *their_split


def _substitute_immutables(
    code: bytearray, onchain: bytes, references: ImmutableReferences
) -> tuple[dict[str, bytes], list[tuple[str, tuple[bytes, ...], int]]]:
    """Write the on-chain bytes at every reference into ``code``; read each immutable's value."""
    values: dict[str, bytes] = {}
    inconsistent: list[tuple[str, tuple[bytes, ...], int]] = []
    for key, spots in sorted(references.items(), key=lambda item: _first_start(item[1])):
        seen: list[bytes] = []
        disagreement: int | None = None
        for start, length in _spans(key, spots, len(code), "immutable"):
            if start + length > len(onchain):
                continue  # the on-chain code is shorter: the size difference decides the verdict
            word = onchain[start : start + length]
            code[start : start + length] = word
            if word not in seen:
                seen.append(word)
                if len(seen) == 2:
                    disagreement = start
        if seen:
            values[key] = seen[0]
        if disagreement is not None:
            inconsistent.append((key, tuple(seen), disagreement))
    return values, inconsistent


def _first_start(spots: Sequence[Mapping[str, int]]) -> int:
    return min((int(spot.get("start", 0)) for spot in spots), default=0)


def _spans(key: str, spots: Sequence[Mapping[str, int]], size: int, what: str) -> Iterator[tuple[int, int]]:
    """Each reference as ``(start, length)``, checked against the artifact it belongs to."""
    for spot in spots:
        start, length = int(spot["start"]), int(spot["length"])
        if start < 0 or length <= 0 or start + length > size:
            raise ArtifactError(
                f"{what} reference {key} at bytes {start}..{start + length} lies outside the artifact's "
                f"{size}-byte runtime code: the references come from another build. "
                "Next step: recompile so the artifact and its build-info agree"
            )
        yield start, length


def _link_offsets(links: Iterable[LinkReference] | SolcLinkReferences | None) -> dict[str, tuple[int, ...]]:
    if links is None:
        return {}
    if isinstance(links, Mapping):
        return {
            f"{source}:{library}": tuple(int(spot["start"]) for spot in spots)
            for source, libraries in links.items()
            for library, spots in libraries.items()
        }
    return {link.library: link.offsets for link in links}


def _substitute_links(
    code: bytearray, onchain: bytes, offsets: Mapping[str, Sequence[int]]
) -> tuple[dict[str, str], list[tuple[str, int]]]:
    """Like immutables, but 20-byte library addresses the deployer linked in."""
    libraries: dict[str, str] = {}
    inconsistent: list[tuple[str, int]] = []
    for library, starts in sorted(offsets.items()):
        spans = _spans(library, [{"start": start, "length": 20} for start in starts], len(code), "library link")
        for start, _ in spans:
            if start + 20 > len(onchain):
                continue
            address = checksum(onchain[start : start + 20])
            code[start : start + 20] = onchain[start : start + 20]
            if libraries.setdefault(library, address) != address:
                inconsistent.append((library, start))
    return libraries, inconsistent


def _substitute_call_protection(code: bytearray, onchain: bytes) -> str | None:
    if not code.startswith(_CALL_PROTECTION) or len(onchain) < len(_CALL_PROTECTION):
        return None
    code[1:21] = onchain[1:21]
    return checksum(onchain[1:21])


def _broken(
    inconsistent: Sequence[tuple[str, tuple[bytes, ...], int]], bad_links: Sequence[tuple[str, int]]
) -> tuple[str, int] | None:
    """The reason and offset when one immutable or library reads differently at its references."""
    if inconsistent:
        key, values, offset = inconsistent[0]
        return (
            f"immutable {key} reads {len(values)} different values at its references in the on-chain code "
            f"(first disagreement at byte {offset}), so the code around it is not the artifact's",
            offset,
        )
    if bad_links:
        library, offset = bad_links[0]
        return f"library {library} is linked to different addresses in the on-chain code (byte {offset})", offset
    return None


def _first_difference(mine: bytes, theirs: bytes) -> int | None:
    if mine == theirs:
        return None
    for offset, (a, b) in enumerate(zip(mine, theirs, strict=False)):
        if a != b:
            return offset
    return None if len(mine) == len(theirs) else min(len(mine), len(theirs))


def _child_metadata_only(mine: bytes, theirs: bytes) -> tuple[int, ...] | None:
    """Offsets of the embedded trailers that differ, when they are the only difference."""
    if len(mine) != len(theirs):
        return None
    spans = embedded_metadata(mine)
    if not spans or embedded_metadata(theirs) != spans:
        return None
    differing = tuple(start for start, end in spans if mine[start:end] != theirs[start:end])
    masked_mine, masked_theirs = bytearray(mine), bytearray(theirs)
    for start, end in spans:
        masked_mine[start:end] = masked_theirs[start:end] = bytes(end - start)
    return differing if masked_mine == masked_theirs else None


def _exact_reason(immutables: Mapping[str, bytes], libraries: Mapping[str, str], library: str | None) -> str:
    filled = []
    if immutables:
        filled.append(f"{len(immutables)} immutable(s)")
    if libraries:
        filled.append(f"{len(libraries)} linked librar{'y' if len(libraries) == 1 else 'ies'}")
    if library is not None:
        filled.append("the library's own address")
    tail = f", with {' and '.join(filled)} read from the on-chain code" if filled else ""
    return f"runtime code and metadata equal the artifact byte for byte{tail}"


def _metadata_reason(mine: bytes | None, theirs: bytes | None, children: tuple[int, ...]) -> str:
    parts = []
    if children:
        where = ", ".join(str(offset) for offset in children)
        parts.append(f"the metadata of embedded child contract code differs (trailer at byte {where})")
    mine_meta, their_meta = Metadata.of(mine), Metadata.of(theirs)
    if mine == theirs:
        pass
    elif their_meta is None:
        parts.append("the on-chain code carries no metadata trailer (built with appendCBOR off?)")
    elif mine_meta is None:
        parts.append("the artifact carries no metadata trailer, the on-chain code does")
    else:
        parts.append(f"the metadata differs: artifact {mine_meta.describe()}, on-chain {their_meta.describe()}")
    if children or (mine_meta and their_meta):
        parts.append("so it was built from other source text (comments, paths) or metadata settings")
    return f"executable code equals the artifact but {'; '.join(parts)}"


def _mismatch_reason(first: int, mine: bytes, theirs: bytes, onchain: bytes) -> str:
    if not onchain:
        return "no code at address (an EOA, a self-destructed or a never-deployed contract)"
    sizes = f"executable part: artifact {len(mine)} bytes, on-chain {len(theirs)} bytes"
    if onchain.startswith(_EIP7702_PREFIX) and len(onchain) == 23:
        return f"the address is an EOA delegating to {checksum(onchain[3:])} (EIP-7702), not the contract; {sizes}"
    if len(onchain) == 45 and onchain.startswith(_EIP1167_HEAD) and onchain.endswith(_EIP1167_TAIL):
        return f"the address holds an EIP-1167 minimal proxy to {checksum(onchain[10:30])}, not the contract"
    if first == min(len(mine), len(theirs)):
        return f"code equals the artifact up to byte {first}, where the shorter one ends ({sizes})"
    return f"code differs from the artifact from byte {first} on ({sizes})"


# -- immutables: names, types and expected values from the solc AST ----------------------------


@dataclass(frozen=True)
class ImmutableVar:
    """An immutable state variable as the AST declares it."""

    ast_id: str
    name: str
    type_string: str  # "address", "uint64", "contract IERC20", ...
    contract: str  # the contract declaring it (a base contract, possibly)
    references: tuple[tuple[int, int], ...]  # (start, length) in the runtime code


@dataclass(frozen=True)
class ExpectedImmutable:
    """What an immutable must hold, or why that cannot be told from the constructor."""

    name: str
    ast_id: str
    type_string: str
    derivable: bool
    value: Any  # meaningful only when derivable
    origin: str  # "constructor argument 1 (dispatcher_)" or the reason it is not derivable


NOT_DERIVABLE = "not derivable"
IMMUTABLE_OK = "ok"
IMMUTABLE_DIFFERS = "differs"
NOT_IN_CODE = "not in runtime code"


@dataclass(frozen=True)
class ImmutableCheck:
    """One immutable: the on-chain value against the expected one."""

    name: str
    ast_id: str
    type_string: str
    status: str  # IMMUTABLE_OK, IMMUTABLE_DIFFERS, NOT_DERIVABLE or NOT_IN_CODE
    onchain: Any
    expected: Any
    detail: str
    origin: str = ""  # the expected value's source ("constructor argument 1 (x_)") or why there is none


def immutable_names(build_info: Mapping[str, Any], source: str, contract: str) -> Mapping[str, ImmutableVar]:
    """AST id -> the immutable it names, for every entry of the contract's immutableReferences.

    ``library_deploy_address`` (viaIR libraries) has no declaration; it is named as is, typed
    ``address``. Raises :class:`ArtifactError` when the build-info lacks the contract or its AST.
    """
    references = _contract_output(build_info, source, contract).get("evm", {}).get("deployedBytecode", {})
    refs: ImmutableReferences = references.get("immutableReferences") or {}
    index = _AstIndex(build_info, source)
    found: dict[str, ImmutableVar] = {}
    for key, spots in refs.items():
        spans = tuple((int(spot["start"]), int(spot["length"])) for spot in spots)
        if key == LIBRARY_DEPLOY_ADDRESS:
            found[key] = ImmutableVar(key, key, "address", contract, spans)
            continue
        node = index.nodes.get(int(key)) if key.isdigit() else None
        if node is None or node.get("nodeType") != "VariableDeclaration":
            raise ArtifactError(
                f"build-info of {source}:{contract}: immutable reference {key} names no variable declaration "
                "in the AST. Next step: recompile with the AST in outputSelection and use its build-info"
            )
        declaring = index.nodes.get(int(node.get("scope", -1)), {})
        found[key] = ImmutableVar(key, str(node["name"]), _type_string(node), str(declaring.get("name", "?")), spans)
    return found


def expected_immutables(
    build_info: Mapping[str, Any],
    source: str,
    contract: str,
    constructor_args: Sequence[Any],
    address: str | None = None,
) -> Mapping[str, ExpectedImmutable]:
    """Name -> expected value of every immutable in the contract and its bases.

    An immutable is derivable when it is initialised with a literal or a constant at its
    declaration, or set by exactly one plain top-level assignment in its contract's constructor
    from a literal, a constant or a constructor parameter (possibly through a type conversion
    and through base-constructor arguments) that the constructor never reassigns.
    ``constructor_args`` are concrete values (addresses as ``0x`` strings, ints, bools, bytes or
    hex strings). ``address`` is the contract's own: ``address(this)`` is then derivable too. Raises
    :class:`ConfigError` when their count does not fit the constructor.
    """
    index = _AstIndex(build_info, source)
    target = index.contract(source, contract)
    linearized = [index.nodes[int(i)] for i in target.get("linearizedBaseContracts", [target["id"]])]
    bindings = _constructor_bindings(index, linearized, constructor_args, f"{source}:{contract}")
    _add_constants(index, bindings)
    if address is not None:
        bindings[_THIS] = _Known(address, "its own address (this)")
    expected: dict[str, ExpectedImmutable] = {}
    for definition in linearized:
        for node in definition.get("nodes", []):
            if node.get("nodeType") == "VariableDeclaration" and node.get("mutability") == "immutable":
                value = _derive(node, index.constructor(definition), bindings)
                expected[str(node["name"])] = ExpectedImmutable(
                    name=str(node["name"]),
                    ast_id=str(node["id"]),
                    type_string=_type_string(node),
                    derivable=isinstance(value, _Known),
                    value=value.value if isinstance(value, _Known) else None,
                    origin=value.origin if isinstance(value, _Known) else f"{NOT_DERIVABLE}: {value.reason}",
                )
    return expected


def decode_immutable(type_string: str, word: bytes) -> Any:
    """The value of an immutable's 32-byte word: checksummed address, int, bool or ``bytesN``.

    Raises :class:`ValueError` for types that cannot be read from one word.
    """
    kind = _base_type(type_string)
    if kind == "address":
        return checksum(word[-20:])
    if kind.startswith("uint") or kind.startswith("enum "):
        return int.from_bytes(word, "big")
    if kind.startswith("int"):
        return int.from_bytes(word, "big", signed=True)  # solc keeps intN sign-extended
    if kind == "bool":
        return int.from_bytes(word, "big") != 0
    if kind.startswith("bytes") and kind[5:].isdigit():
        return word[: int(kind[5:])]
    raise ValueError(f"cannot decode an immutable of type {type_string!r} from its word")


def check_immutables(
    comparison: CodeComparison, expected: Mapping[str, ExpectedImmutable]
) -> tuple[ImmutableCheck, ...]:
    """Each expected immutable against the value :func:`compare_runtime` read on chain."""
    checks = []
    for name, want in sorted(expected.items()):
        word = comparison.immutables.get(want.ast_id)
        onchain: Any = None
        if word is not None:
            try:
                onchain = decode_immutable(want.type_string, word)
            except ValueError:
                onchain = "0x" + word.hex()
        if word is None:
            status, detail = NOT_IN_CODE, "never read after construction, so the runtime code does not hold it"
        elif not want.derivable:
            status, detail = NOT_DERIVABLE, f"on chain {_show(onchain)}; {want.origin}"
        elif values_equal(want.type_string, onchain, want.value):
            status, detail = IMMUTABLE_OK, f"{_show(onchain)} as expected ({want.origin})"
        else:
            status = IMMUTABLE_DIFFERS
            detail = f"on chain {_show(onchain)}, expected {_show(want.value)} ({want.origin})"
        checks.append(
            ImmutableCheck(name, want.ast_id, want.type_string, status, onchain, want.value, detail, want.origin)
        )
    return tuple(checks)


def values_equal(type_string: str, onchain: Any, expected: Any) -> bool:
    """Whether a decoded value equals an expected one: addresses in any case, hex or bytes alike."""
    kind = _base_type(type_string)
    try:
        if kind == "address":
            return isinstance(expected, str | bytes) and _address_bytes(onchain) == _address_bytes(expected)
        if kind == "bool":
            return isinstance(expected, bool) and onchain is expected
        if kind.startswith("bytes") and kind[5:].isdigit():
            return isinstance(onchain, bytes) and _as_bytes(expected) == onchain
        if kind.startswith(("uint", "int", "enum ")):
            return isinstance(expected, int | str) and not isinstance(expected, bool) and onchain == _as_int(expected)
    except ValueError:
        return False
    return bool(onchain == expected)


@dataclass(frozen=True)
class Verification:
    """:func:`verify`'s answer: the code verdict and every immutable's check."""

    comparison: CodeComparison
    variables: Mapping[str, ImmutableVar]
    immutables: tuple[ImmutableCheck, ...]

    @property
    def immutables_ok(self) -> bool:
        """No immutable differs from its expected value (not-derivable ones are reported, not failed)."""
        return all(check.status != IMMUTABLE_DIFFERS for check in self.immutables)


def verify(
    contract: Contract, onchain: bytes, constructor_args: Sequence[Any] | None, address: str | None = None
) -> Verification:
    """Everything PD-CODE needs for one contract: its code compared, its immutables checked.

    Immutables are named and checked only when the code is the artifact's (exact or match), and
    the contract's build-info is read only then. ``constructor_args=None`` means the
    arguments are unknown: every immutable is then reported as not derivable.
    """
    comparison = compare_runtime(
        contract.runtime.to_bytes(), onchain, contract.immutable_references, contract.runtime.links
    )
    if not contract.immutable_references or comparison.verdict == MISMATCH:
        # Values read from code that is not the artifact's mean nothing: the mismatch is the finding.
        return Verification(comparison, {}, ())
    build_info = contract.build_info()
    if build_info is None:
        raise ArtifactError(
            f"{contract.artifact_path}: {contract.fqn} has immutables but no build-info with its AST, so they cannot "
            "be named or checked. Next step: point signoff at Hardhat artifacts with their build-info"
        )
    variables = immutable_names(build_info, contract.source, contract.name)
    if constructor_args is None:
        expected = {
            var.name: ExpectedImmutable(
                var.name, key, var.type_string, False, None, f"{NOT_DERIVABLE}: no constructor arguments given"
            )
            for key, var in variables.items()
        }
    else:
        expected = dict(expected_immutables(build_info, contract.source, contract.name, constructor_args, address))
    for key, var in variables.items():  # e.g. library_deploy_address: no declaration to derive from
        expected.setdefault(
            var.name,
            ExpectedImmutable(
                var.name, key, var.type_string, False, None, f"{NOT_DERIVABLE}: the library's own address, set by solc"
            ),
        )
    return Verification(comparison, variables, check_immutables(comparison, expected))


# -- AST walking --------------------------------------------------------------------------------


class _AstIndex:
    """Every AST node of a build by id (ids are unique across one compilation)."""

    def __init__(self, build_info: Mapping[str, Any], source: str) -> None:
        sources = build_info.get("output", {}).get("sources", {})
        if not isinstance(sources.get(source), Mapping) or "ast" not in sources[source]:
            raise ArtifactError(
                f"build-info has no AST for {source}: immutables cannot be named. "
                "Next step: recompile with outputSelection {'*': {'': ['ast']}} (Hardhat does by default)"
            )
        self.source_ast: Mapping[str, Any] = sources[source]["ast"]
        self.nodes: dict[int, Mapping[str, Any]] = {}
        for unit in sources.values():
            if isinstance(unit, Mapping) and isinstance(unit.get("ast"), Mapping):
                self._walk(unit["ast"])

    def _walk(self, root: Mapping[str, Any]) -> None:
        stack: list[Any] = [root]
        while stack:
            item = stack.pop()
            if isinstance(item, Mapping):
                if "nodeType" in item and isinstance(item.get("id"), int):
                    self.nodes[item["id"]] = item
                stack.extend(value for value in item.values() if isinstance(value, Mapping | list))
            elif isinstance(item, list):
                stack.extend(value for value in item if isinstance(value, Mapping | list))

    def contract(self, source: str, name: str) -> Mapping[str, Any]:
        for node in self.source_ast.get("nodes", []):
            if node.get("nodeType") == "ContractDefinition" and node.get("name") == name:
                return dict(node)
        raise ArtifactError(
            f"build-info has no contract {source}:{name} in its AST. "
            "Next step: use the build-info the artifact's .dbg.json points at"
        )

    def constructor(self, definition: Mapping[str, Any]) -> Mapping[str, Any] | None:
        for node in definition.get("nodes", []):
            if node.get("nodeType") == "FunctionDefinition" and node.get("kind") == "constructor":
                return dict(node)
        return None


@dataclass(frozen=True)
class _Known:
    value: Any
    origin: str


_THIS = -(10**9)  # the bindings key of ``this``, the contract's own address (no AST declaration has it)


@dataclass(frozen=True)
class _Unknown:
    reason: str


def _contract_output(build_info: Mapping[str, Any], source: str, contract: str) -> Mapping[str, Any]:
    output = build_info.get("output", {}).get("contracts", {}).get(source, {}).get(contract)
    if not isinstance(output, Mapping):
        raise ArtifactError(
            f"build-info has no output for {source}:{contract}. "
            "Next step: use the build-info the artifact's .dbg.json points at"
        )
    return output


def _constructor_bindings(
    index: _AstIndex, linearized: Sequence[Mapping[str, Any]], args: Sequence[Any], where: str
) -> dict[int, _Known | _Unknown]:
    """Parameter declaration id -> its value, for the constructor of every contract in the chain.

    The most derived constructor takes ``args``; a base constructor takes what a derived
    contract passes it (``constructor(...) Base(x)`` or ``contract D is Base(x)``).
    """
    bindings: dict[int, _Known | _Unknown] = {}
    top = index.constructor(linearized[0])
    params = _parameters(top)
    if len(params) != len(args):
        names = ", ".join(f"{_type_string(p)} {p.get('name', '')}".strip() for p in params) or "none"
        raise ConfigError(
            f"{where}: the constructor takes {len(params)} argument(s) ({names}) but {len(args)} were given. "
            "Next step: fix the constructor arguments of this contract in the target file"
        )
    for position, (param, value) in enumerate(zip(params, args, strict=True)):
        bindings[int(param["id"])] = _Known(value, f"constructor argument {position} ({param.get('name', '')})")
    _forget_reassigned(top, bindings)
    for base in linearized[1:]:
        base_ctor = index.constructor(base)
        base_params = _parameters(base_ctor)
        passed = _arguments_to(int(base["id"]), linearized)
        for position, param in enumerate(base_params):
            if passed is None or position >= len(passed):
                bindings[int(param["id"])] = _Unknown(f"{base.get('name')}'s constructor argument not found")
            else:
                found = _evaluate(passed[position], bindings)
                if isinstance(found, _Known):
                    found = _Known(found.value, f"{found.origin} via {base.get('name')}({param.get('name', '')})")
                bindings[int(param["id"])] = found
        _forget_reassigned(base_ctor, bindings)
    return bindings


def _add_constants(index: _AstIndex, bindings: dict[int, _Known | _Unknown]) -> None:
    """``constant`` variables with a literal value (or one built from earlier constants)."""
    constants = [
        node
        for node in index.nodes.values()
        if node.get("nodeType") == "VariableDeclaration" and node.get("constant") and node.get("value")
    ]
    for _ in range(2):  # a second pass settles constants defined from constants
        for node in constants:
            found = _evaluate(node["value"], bindings)
            if isinstance(found, _Known):
                bindings[int(node["id"])] = _Known(found.value, f"the constant {node.get('name')}")


def _parameters(constructor: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if constructor is None:
        return []
    return list(constructor.get("parameters", {}).get("parameters", []))


def _arguments_to(base_id: int, linearized: Sequence[Mapping[str, Any]]) -> list[Any] | None:
    """The argument expressions some contract of the chain hands to ``base_id``'s constructor."""
    for definition in linearized:
        for spec in definition.get("baseContracts", []):
            if spec.get("baseName", {}).get("referencedDeclaration") == base_id and spec.get("arguments"):
                return list(spec["arguments"])
        for node in definition.get("nodes", []):
            if node.get("nodeType") == "FunctionDefinition" and node.get("kind") == "constructor":
                for modifier in node.get("modifiers", []):
                    if modifier.get("modifierName", {}).get("referencedDeclaration") == base_id:
                        return list(modifier.get("arguments") or [])
    return None


def _forget_reassigned(constructor: Mapping[str, Any] | None, bindings: dict[int, _Known | _Unknown]) -> None:
    """A parameter the constructor writes to no longer holds the argument."""
    for param in _parameters(constructor):
        if any(_targets(assignment) == param["id"] for assignment in _assignments(constructor)):
            bindings[int(param["id"])] = _Unknown(f"parameter {param.get('name')} is reassigned in the constructor")


def _assignments(root: Mapping[str, Any] | None) -> Iterator[Mapping[str, Any]]:
    stack: list[Any] = [root.get("body")] if root else []
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if item.get("nodeType") == "Assignment":
                yield item
            stack.extend(value for value in item.values() if isinstance(value, Mapping | list))
        elif isinstance(item, list):
            stack.extend(item)


def _targets(assignment: Mapping[str, Any]) -> int | None:
    left = assignment.get("leftHandSide", {})
    return left.get("referencedDeclaration") if left.get("nodeType") == "Identifier" else None


def _derive(
    declaration: Mapping[str, Any], constructor: Mapping[str, Any] | None, bindings: Mapping[int, _Known | _Unknown]
) -> _Known | _Unknown:
    """The expected value of one immutable, from its initialiser or its constructor."""
    writes = [a for a in _assignments(constructor) if _targets(a) == declaration["id"]]
    initial = declaration.get("value")
    if initial is not None and not writes:
        found = _evaluate(initial, bindings)
        return (
            _Known(found.value, f"initialised to {_show(found.value)} at its declaration")
            if isinstance(found, _Known)
            else found
        )
    if not writes:
        return _Unknown("never assigned")
    if initial is not None or len(writes) > 1:
        return _Unknown(f"assigned in {len(writes) + (initial is not None)} places")
    write = writes[0]
    top_level = [s.get("expression") for s in (constructor or {}).get("body", {}).get("statements", [])]
    if write.get("operator") != "=":
        return _Unknown(f"compound assignment {write.get('operator')}")
    if not any(statement is write for statement in top_level):
        return _Unknown("assigned conditionally (inside a block, branch or loop)")
    return _evaluate(write["rightHandSide"], bindings)


def _evaluate(expression: Mapping[str, Any], bindings: Mapping[int, _Known | _Unknown]) -> _Known | _Unknown:
    """A constructor-time expression's value when it is a parameter, a literal or a conversion."""
    kind = expression.get("nodeType")
    if kind == "Identifier":
        this = expression.get("name") == "this"  # the contract's own address: known only where it is deployed
        found = bindings.get(_THIS if this else int(expression.get("referencedDeclaration", -1)))
        shown = "this (its own address)" if this else expression.get("name")
        return found if found is not None else _Unknown(f"assigned from {shown}")
    if kind == "Literal":
        literal = _literal(expression)
        return literal if literal is not None else _Unknown(f"assigned from literal {expression.get('value')!r}")
    if kind == "FunctionCall" and expression.get("kind") == "typeConversion" and len(expression["arguments"]) == 1:
        inner = _evaluate(expression["arguments"][0], bindings)
        if isinstance(inner, _Unknown):
            return inner
        target = _type_string(expression)
        try:
            converted = _convert(target, inner.value)
        except (ValueError, TypeError):
            return _Unknown(f"assigned from {inner.origin} converted to {target}")
        return _Known(converted, f"{inner.origin} as {target}")
    return _Unknown(f"assigned from {_describe(expression)}")


_UNITS = {
    "wei": 1,
    "gwei": 10**9,
    "ether": 10**18,
    "seconds": 1,
    "minutes": 60,
    "hours": 3600,
    "days": 86400,
    "weeks": 604800,
}


def _literal(node: Mapping[str, Any]) -> _Known | None:
    text = str(node.get("value", "")).replace("_", "")
    kind = node.get("kind")
    if kind == "bool":
        return _Known(text == "true", f"the literal {text}")
    if kind != "number":
        return None
    try:
        number = int(text, 16) if text.lower().startswith("0x") else Decimal(text)
    except (ValueError, InvalidOperation):
        return None
    unit = _UNITS.get(str(node.get("subdenomination") or "wei"))
    if unit is None or number * unit != int(number * unit):
        return None
    scaled = number * unit
    if _base_type(_type_string(node)) == "address":
        return _Known(checksum(int(scaled).to_bytes(20, "big")), f"the literal {text}")
    return _Known(int(scaled), f"the literal {node.get('value')}")


def _convert(target: str, value: Any) -> Any:
    """solc's explicit conversion, for the value kinds constructor arguments come in."""
    kind = _base_type(target)
    if kind == "address":
        return (
            checksum(_as_int(value).to_bytes(20, "big")) if isinstance(value, int) else checksum(_address_bytes(value))
        )
    if kind.startswith("uint") and kind[4:].isdigit():
        return _as_int(value) % (1 << int(kind[4:]))
    if kind.startswith("int") and kind[3:].isdigit():
        bits = int(kind[3:])
        wrapped = _as_int(value) % (1 << bits)
        return wrapped - (1 << bits) if wrapped >= 1 << (bits - 1) else wrapped
    if kind.startswith("bytes") and kind[5:].isdigit():
        size = int(kind[5:])
        if isinstance(value, int):
            return value.to_bytes(size, "big")
        return _as_bytes(value)[:size].ljust(size, b"\0")
    raise ValueError(f"no conversion to {target}")


def _describe(expression: Mapping[str, Any]) -> str:
    if expression.get("nodeType") == "MemberAccess":
        inner = expression.get("expression", {})
        return f"{inner.get('name') or _describe(inner)}.{expression.get('memberName')}"
    if expression.get("nodeType") == "FunctionCall":
        return f"a call to {_describe(expression.get('expression', {}))}"
    return str(expression.get("name") or expression.get("nodeType") or "an expression")


def _type_string(node: Mapping[str, Any]) -> str:
    return str(node.get("typeDescriptions", {}).get("typeString") or node.get("typeName", {}).get("name") or "")


def _base_type(type_string: str) -> str:
    """``address payable`` and ``contract IFoo`` are addresses in code; ``enum E`` a small int."""
    if type_string.startswith(("address", "contract ")):
        return "address"
    return type_string


def _address_bytes(value: Any) -> bytes:
    raw = _as_bytes(value)
    if len(raw) != 20:
        raise ValueError(f"{value!r} is not a 20-byte address")
    return raw


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x").removeprefix("0X"))
    raise ValueError(f"{value!r} is neither bytes nor a hex string")


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a bool is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value, 0)
    raise ValueError(f"{value!r} is not an integer")


def _show(value: Any) -> str:
    return "0x" + bytes(value).hex() if isinstance(value, bytes | bytearray) else repr(value)
