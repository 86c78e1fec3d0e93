"""Dispatcher plans: the Merkle manifest a ManifestDispatcher commits, applies and activates.

A plan is a JSON file (``[manifest] plan`` in signoff.toml) that says which facet answers
each selector, pinned to the facet's runtime codehash, with the Merkle root that
``commitRoot`` commits and the proof that ``applyRoutes`` checks for every route::

    {
      "format": "signoff-dispatcher-plan/1",
      "dispatcher": "ManifestDispatcher",        # contract name in the artifacts
      "epoch": 1,                                # the epoch commitRoot is called with
      "root": "0x<32 bytes>",
      "factory": {                               # optional: how facet addresses were derived
        "contract": "DeterministicChunkFactory", #   optional, for the reader
        "address": "0x<20 bytes>",
        "deployer": "0x<20 bytes>", "nonce": 0   #   optional pair: factory = CREATE(deployer, nonce)
      },
      "facets": [                                # optional: one entry per facet
        {"name": "PingFacet", "address": "0x..",
         "salt": "0x<32 bytes>", "initCodeHash": "0x<32 bytes>"}   # optional pair: CREATE2
      ],
      "routes": [                                # one per selector, any order
        {"selector": "0x5c36b186", "signature": "ping()", "facet": "PingFacet",
         "address": "0x..", "codehash": "0x<32 bytes>",
         "proof": ["0x<32 bytes>", ...], "isRight": [true, ...]}   # optional pair
      ]
    }

The encoding is the dispatcher's (CRITERIA.md, PF-MRK):
``leaf = keccak256(0x00 ‖ keccak256(abi.encode(bytes4 selector, address facet, bytes32
codehash)))``, ``node = keccak256(0x01 ‖ left ‖ right)``; leaves sorted by selector ascending
(ties keep plan order), an odd node is paired with itself, and ``isRight[i]`` is true when the
current node is the left child (so ``proof[i]`` is its right sibling).

The writer derives a correct plan from the artifacts: every function of every facet of the
target's ``[[diamonds]]`` entry for the dispatcher, codehash = keccak256 of the runtime code,
and facet addresses predicted for a CREATE2 deployment through the factory with
``salt = keccak256(facet name)`` and ``initCode`` = the facet's creation code::

    signoff manifest write --target path/to/signoff.toml [--out PATH|-]
        [--epoch N] [--factory ADDRESS | --deployer ADDRESS --nonce N] [--facet NAME ...]

By default the factory is the one eth-tester's first account deploys with its first
transaction (nonce 0), so the reference plan is reproducible on a fresh rehearsal chain;
``--out`` defaults to the ``[manifest] plan`` path. Nothing here needs web3.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from signoff.artifacts.abi import selector as text_selector
from signoff.artifacts.abi import signature as abi_signature
from signoff.artifacts.hashing import keccak256
from signoff.artifacts.loader import ArtifactSet, Contract, load_artifacts
from signoff.errors import ArtifactError, ConfigError, SignoffError, describe_value
from signoff.target import ManifestSettings, Target, load_target

PLAN_FORMAT = "signoff-dispatcher-plan/1"
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
# How a dispatcher hashes a route into a leaf ([manifest] leaf, and "leaf" in a plan file):
#   hashed-abi-encode  keccak256(0x00 ‖ keccak256(abi.encode(bytes4 selector, address facet, bytes32 codehash)))
#   packed             keccak256(abi.encodePacked(bytes1(0x00), bytes4 selector, address facet, bytes32 codehash))
#   oz-standard        keccak256(keccak256(abi.encode(bytes4 selector, address facet, bytes32 codehash)))
#                      (OpenZeppelin's StandardMerkleTree leaf)
LEAF_ENCODINGS = ("hashed-abi-encode", "packed", "oz-standard")
DEFAULT_LEAF = LEAF_ENCODINGS[0]
LEAF_FORMULAS = {
    "hashed-abi-encode": "keccak256(0x00 ‖ keccak256(abi.encode(selector, facet, codehash)))",
    "packed": "keccak256(abi.encodePacked(0x00, selector, facet, codehash))",
    "oz-standard": "keccak256(keccak256(abi.encode(selector, facet, codehash)))",
}
# How it hashes two nodes into their parent ([manifest] node, and "node" in a plan file):
#   prefixed     keccak256(0x01 ‖ left ‖ right), the proof saying per level which side the node is on
#   sorted-pair  keccak256(min(a, b) ‖ max(a, b)), OpenZeppelin's MerkleProof: proofs carry no sides
NODE_ENCODINGS = ("prefixed", "sorted-pair")
DEFAULT_NODE = NODE_ENCODINGS[0]
NODE_FORMULAS = {
    "prefixed": "keccak256(0x01 ‖ left ‖ right)",
    "sorted-pair": "keccak256(min(a, b) ‖ max(a, b))",
}
# eth-tester's first default account (private key 0x…01); a fresh chain starts it at nonce 0.
ETH_TESTER_DEPLOYER = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
WRITE_COMMAND = "signoff manifest write --target <signoff.toml>"


class PlanError(SignoffError):
    """A plan file (or a plan the writer was asked for) cannot be read or built."""


# -- hex and addresses -------------------------------------------------------------------------


def hx(data: bytes) -> str:
    """``0x``-prefixed lowercase hex."""
    return "0x" + data.hex()


def checksum(address: bytes) -> str:
    """EIP-55 mixed-case form of a 20-byte address."""
    plain = address.hex()
    digest = keccak256(plain.encode()).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(plain))


def _rlp_bytes(data: bytes) -> bytes:
    if len(data) == 1 and data[0] < 0x80:
        return data
    if len(data) > 55:  # never for an address or a nonce
        raise ValueError("long RLP strings are not needed here")
    return bytes([0x80 + len(data)]) + data


def create_address(sender: bytes, nonce: int) -> bytes:
    """The address CREATE gives: ``keccak256(rlp([sender, nonce]))[12:]``."""
    if nonce < 0:
        raise ValueError("a nonce is never negative")
    nonce_bytes = nonce.to_bytes((nonce.bit_length() + 7) // 8, "big")  # 0 -> b"" -> 0x80
    payload = _rlp_bytes(sender) + _rlp_bytes(nonce_bytes)
    return keccak256(bytes([0xC0 + len(payload)]) + payload)[12:]


def create2_address(factory: bytes, salt: bytes, init_code_hash: bytes) -> bytes:
    """The address CREATE2 gives: ``keccak256(0xff ‖ factory ‖ salt ‖ initCodeHash)[12:]``."""
    return keccak256(b"\xff" + factory + salt + init_code_hash)[12:]


def facet_salt(name: str) -> bytes:
    """The writer's CREATE2 salt for a facet: keccak256 of its contract name (bare, however it was
    written: ``path/File.sol:Name`` and ``Name`` give the same salt)."""
    return keccak256(name.rsplit(":", 1)[-1].encode())


# -- the Merkle tree ---------------------------------------------------------------------------


def encode_route(selector: bytes, facet: bytes, codehash: bytes) -> bytes:
    """``abi.encode(bytes4, address, bytes32)``: three words, bytes4 left- and address right-aligned."""
    if (len(selector), len(facet), len(codehash)) != (4, 20, 32):
        raise ValueError("a route is a 4-byte selector, a 20-byte address and a 32-byte codehash")
    return selector + bytes(28) + bytes(12) + facet + codehash


def leaf_hash(selector: bytes, facet: bytes, codehash: bytes, encoding: str = DEFAULT_LEAF) -> bytes:
    if encoding == "packed":
        encode_route(selector, facet, codehash)  # the same size checks
        return keccak256(LEAF_PREFIX + selector + facet + codehash)
    if encoding == "oz-standard":
        return keccak256(keccak256(encode_route(selector, facet, codehash)))
    return keccak256(LEAF_PREFIX + keccak256(encode_route(selector, facet, codehash)))


def node_hash(left: bytes, right: bytes, encoding: str = DEFAULT_NODE) -> bytes:
    if encoding == "sorted-pair":
        return keccak256(min(left, right) + max(left, right))
    return keccak256(NODE_PREFIX + left + right)


@dataclass(frozen=True)
class MerkleTree:
    """Every level of the tree, leaves first; an odd node was paired with itself."""

    levels: tuple[tuple[bytes, ...], ...]

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def proof(self, index: int) -> tuple[tuple[bytes, ...], tuple[bool, ...]]:
        """Siblings of leaf ``index`` bottom-up and, per level, whether the node is the left child."""
        siblings: list[bytes] = []
        is_right: list[bool] = []
        for level in self.levels[:-1]:
            if index % 2 == 0:
                siblings.append(level[index + 1] if index + 1 < len(level) else level[index])
                is_right.append(True)
            else:
                siblings.append(level[index - 1])
                is_right.append(False)
            index //= 2
        return tuple(siblings), tuple(is_right)


def build_tree(leaves: Sequence[bytes], node: str = DEFAULT_NODE) -> MerkleTree:
    """The tree over ``leaves`` in the order given (sort them first), nodes hashed as ``node``."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    levels = [tuple(leaves)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        levels.append(
            tuple(
                node_hash(level[i], level[i + 1] if i + 1 < len(level) else level[i], node)
                for i in range(0, len(level), 2)
            )
        )
    return MerkleTree(tuple(levels))


def fold_proof(leaf: bytes, proof: Sequence[bytes], is_right: Sequence[bool], node: str = DEFAULT_NODE) -> bytes:
    """The root a proof leads to, as the dispatcher's verification computes it (a sorted pair ignores sides)."""
    reached = leaf
    for sibling, right in zip(proof, is_right, strict=True):
        reached = node_hash(reached, sibling, node) if right else node_hash(sibling, reached, node)
    return reached


def verify_proof(
    leaf: bytes, proof: Sequence[bytes], is_right: Sequence[bool], root: bytes, node: str = DEFAULT_NODE
) -> bool:
    return len(proof) == len(is_right) and fold_proof(leaf, proof, is_right, node) == root


# -- the plan model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRoute:
    """One route: ``selector`` answered by facet ``facet`` at ``address`` with ``codehash``."""

    index: int  # position in the plan's routes list
    selector: bytes
    signature: str
    facet: str
    address: bytes
    codehash: bytes
    proof: tuple[bytes, ...] | None = None
    is_right: tuple[bool, ...] | None = None
    leaf_encoding: str = DEFAULT_LEAF

    @property
    def leaf(self) -> bytes:
        return leaf_hash(self.selector, self.address, self.codehash, self.leaf_encoding)

    @property
    def where(self) -> str:
        return f"routes[{self.index}] {hx(self.selector)} {self.signature} -> {self.facet}"


@dataclass(frozen=True)
class PlanFacet:
    name: str
    address: bytes
    salt: bytes | None = None
    init_code_hash: bytes | None = None


@dataclass(frozen=True)
class PlanFactory:
    address: bytes
    contract: str | None = None
    deployer: bytes | None = None
    nonce: int | None = None


@dataclass(frozen=True)
class Plan:
    """A dispatcher plan as read from its file (``label`` names it in messages)."""

    label: str
    dispatcher: str
    epoch: int
    root: bytes
    routes: tuple[PlanRoute, ...]
    facets: tuple[PlanFacet, ...] = ()
    factory: PlanFactory | None = None
    leaf_encoding: str = DEFAULT_LEAF
    node_encoding: str = DEFAULT_NODE
    covers: tuple[str, ...] = ()  # the facets it says it covers (empty: every [[diamonds]] facet)

    @property
    def hashing(self) -> str:
        """How its leaves and nodes are hashed, for messages."""
        return f"leaf = {LEAF_FORMULAS[self.leaf_encoding]}, node = {NODE_FORMULAS[self.node_encoding]}"


def sorted_routes(routes: Sequence[PlanRoute]) -> list[PlanRoute]:
    """Routes in leaf order: selector ascending; equal selectors keep their plan order."""
    return sorted(routes, key=lambda r: (r.selector, r.index))


def route_tree(routes: Sequence[PlanRoute], node: str = DEFAULT_NODE) -> tuple[MerkleTree, dict[int, int]]:
    """The tree over ``routes`` and, per route index, its leaf position."""
    ordered = sorted_routes(routes)
    return build_tree([r.leaf for r in ordered], node), {r.index: pos for pos, r in enumerate(ordered)}


def assemble(
    label: str,
    dispatcher: str,
    epoch: int,
    routes: Sequence[PlanRoute],
    *,
    facets: Sequence[PlanFacet] = (),
    factory: PlanFactory | None = None,
    leaf_encoding: str = DEFAULT_LEAF,
    node_encoding: str = DEFAULT_NODE,
) -> Plan:
    """A plan over ``routes`` (re-indexed in leaf order, hashed with ``leaf_encoding`` and ``node_encoding``)
    with its root and every proof."""
    ordered = [replace(r, index=i, leaf_encoding=leaf_encoding) for i, r in enumerate(sorted_routes(routes))]
    tree = build_tree([r.leaf for r in ordered], node_encoding)
    proven = []
    for position, route in enumerate(ordered):
        proof, is_right = tree.proof(position)
        proven.append(replace(route, proof=proof, is_right=is_right))
    return Plan(
        label, dispatcher, epoch, tree.root, tuple(proven), tuple(facets), factory, leaf_encoding, node_encoding
    )


def plan_document(plan: Plan) -> dict[str, Any]:
    """The JSON form of ``plan`` (key order fixed, addresses checksummed)."""
    document: dict[str, Any] = {
        "format": PLAN_FORMAT,
        "dispatcher": plan.dispatcher,
        "epoch": plan.epoch,
        "root": hx(plan.root),
    }
    if plan.leaf_encoding != DEFAULT_LEAF:
        document["leaf"] = plan.leaf_encoding
    if plan.node_encoding != DEFAULT_NODE:
        document["node"] = plan.node_encoding
    if plan.covers:
        document["covers"] = list(plan.covers)
    if plan.factory is not None:
        factory: dict[str, Any] = {}
        if plan.factory.contract is not None:
            factory["contract"] = plan.factory.contract
        factory["address"] = checksum(plan.factory.address)
        if plan.factory.deployer is not None:
            factory["deployer"] = checksum(plan.factory.deployer)
            factory["nonce"] = plan.factory.nonce
        document["factory"] = factory
    if plan.facets:
        entries = []
        for facet in plan.facets:
            entry: dict[str, Any] = {"name": facet.name, "address": checksum(facet.address)}
            if facet.salt is not None and facet.init_code_hash is not None:
                entry["salt"] = hx(facet.salt)
                entry["initCodeHash"] = hx(facet.init_code_hash)
            entries.append(entry)
        document["facets"] = entries
    routes = []
    for route in plan.routes:
        item: dict[str, Any] = {
            "selector": hx(route.selector),
            "signature": route.signature,
            "facet": route.facet,
            "address": checksum(route.address),
            "codehash": hx(route.codehash),
        }
        if route.proof is not None and route.is_right is not None:
            item["proof"] = [hx(p) for p in route.proof]
            item["isRight"] = list(route.is_right)
        routes.append(item)
    document["routes"] = routes
    return document


def dump_plan(plan: Plan) -> str:
    return json.dumps(plan_document(plan), indent=2, ensure_ascii=False) + "\n"


# -- reading a plan file -----------------------------------------------------------------------

_HEX = re.compile(r"0x[0-9a-fA-F]*")
_REGENERATE = f"Next step: fix the file, or regenerate it with `{WRITE_COMMAND}`"


def load_plan(
    path: Path,
    label: str | None = None,
    *,
    leaf: str | None = None,
    fields: Mapping[str, str] | None = None,
    dispatcher: str | None = None,
    node: str | None = None,
    selectors: Path | None = None,
    covers: Sequence[str] = (),
) -> Plan:
    """Read and validate the plan at ``path``; every problem is a :class:`PlanError`. ``leaf`` is the
    target's ``[manifest] leaf`` (``node``: its ``[manifest] node``): it applies to a plan that names none,
    and must agree with one that does.
    ``fields`` (``[manifest.fields]``) reads a team's own plan JSON: where its root, epoch, routes and
    each route's parts are, its proof sides as a bitmask if so (``dispatcher`` names the contract).
    ``selectors`` (``[manifest] selectors``) is a second file of the team's whose routes are read side by
    side with the plan's; ``covers`` (``[manifest] covers``) names the facets the plan covers."""
    shown = label or path.name
    document = _read_json(path, shown, "[manifest] plan")
    if fields or selectors is not None:
        extra = (
            None
            if selectors is None
            else (_read_json(selectors, selectors.name, "[manifest] selectors"), selectors.name)
        )
        document = mapped_document(
            document, fields or {}, dispatcher or "", shown, sides=node != "sorted-pair", selectors=extra
        )
    if covers:
        if not isinstance(document, dict):
            raise PlanError(f"{shown}: expected a JSON object at the top level, found {describe_value(document)}")
        document = {**document, "covers": list(covers)}
    return parse_plan(document, shown, leaf, node)


def _read_json(path: Path, shown: str, key: str) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PlanError(
            f"dispatcher plan {shown} does not exist ({path}, from {key}). "
            f"Next step: write it with `{WRITE_COMMAND}`, or correct {key}"
        ) from None
    except OSError as exc:
        raise PlanError(f"dispatcher plan {shown} cannot be read ({exc.strerror})") from None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PlanError(f"{shown}: not valid JSON ({exc}). {_REGENERATE}") from None


def load_target_plan(manifest: ManifestSettings, label: str | None = None) -> Plan:
    """The ``[manifest]`` plan, read as the target declares it (leaf encoding, field mapping)."""
    return load_plan(
        manifest.plan,
        label,
        leaf=manifest.leaf,
        fields=manifest.fields,
        dispatcher=manifest.dispatcher,
        node=manifest.node,
        selectors=manifest.selectors,
        covers=manifest.covers,
    )


# [manifest.fields]: a part of the plan -> where a team's JSON keeps it ("a.b" for nested keys)
FIELD_KEYS = (
    "root",
    "epoch",
    "routes",
    "selector",
    "signature",
    "facet",
    "address",
    "codehash",
    "proof",
    "is_right",
    "positions",
    "covers",
    "selector_routes",
)


def _at(data: Any, path: str, label: str, where: str) -> Any:
    value = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise PlanError(
                f"{label}: {where} has no {path!r} (read through [manifest.fields]). Next step: correct the "
                "mapping in [manifest.fields], or the plan file"
            )
        value = value[part]
    return value


def mapped_document(
    document: Any,
    fields: Mapping[str, str],
    dispatcher: str,
    label: str,
    *,
    sides: bool = True,
    selectors: tuple[Any, str] | None = None,
) -> dict[str, Any]:
    """A team's plan JSON in signoff's plan form, through ``[manifest.fields]`` (keys it does not map are
    theirs and ignored; proof sides may be ``is_right`` booleans or a ``positions`` bitmask, and are not
    read when ``sides`` is false: a sorted-pair proof has none). ``selectors`` is a second file's document
    and name: its routes (at ``selector_routes``; a list of objects or of selectors/signatures, or an object
    of facet name -> such a list) are read side by side with the plan's, a part found in either."""
    key = {name: fields.get(name, name) for name in FIELD_KEYS}
    items = _at(document, key["routes"], label, "the top level")
    if not isinstance(items, list):
        raise PlanError(f"{label}: {key['routes']!r} must be a list of routes, found {describe_value(items)}")
    beside: list[Any] = [{}] * len(items)
    if selectors is not None:
        beside = _selector_routes(selectors, key, fields, label, len(items))
    routes = []
    for index, (item, other) in enumerate(zip(items, beside, strict=True)):
        where = f"{key['routes']}[{index}]"
        merged = _Either(item, other, where, f"{selectors[1]} entry {index}" if selectors else "")
        route: dict[str, Any] = {
            part: merged.get(key[part], label) for part in ("selector", "facet", "address", "codehash")
        }
        if "signature" in fields or merged.has("signature"):
            route["signature"] = merged.get(key["signature"], label)
        if isinstance(route["selector"], str) and "(" in route["selector"]:  # a signature where the selector is
            route.setdefault("signature", route["selector"])
            route["selector"] = text_selector(route["selector"])
        if "proof" in fields or merged.has("proof"):
            proof = merged.get(key["proof"], label)
            route["proof"] = proof
            if "positions" in fields:
                route["isRight"] = _sides(merged.get(key["positions"], label), len(proof), label, where)
            elif sides or "is_right" in fields:
                route["isRight"] = merged.get(key["is_right"], label)
        routes.append(route)
    epoch = _at(document, key["epoch"], label, "the top level")
    if isinstance(epoch, str) and epoch.strip().isdigit():
        epoch = int(epoch)
    mapped = {
        "format": PLAN_FORMAT,
        "dispatcher": dispatcher,
        "epoch": epoch,
        "root": _at(document, key["root"], label, "the top level"),
        "routes": routes,
    }
    if "covers" in fields:
        mapped["covers"] = _at(document, key["covers"], label, "the top level")
    return mapped


def _selector_routes(
    selectors: tuple[Any, str], key: Mapping[str, str], fields: Mapping[str, str], label: str, count: int
) -> list[Any]:
    """The second file's routes, one per plan route: objects as they are; a bare selector or signature as
    ``{selector}``; an object of facet name -> list as ``{facet, selector}`` in file order."""
    document, name = selectors
    found = _at(document, key["selector_routes"], name, "the top level") if "selector_routes" in fields else document
    entries: list[Any] = []
    if isinstance(found, dict):
        for facet, listed in found.items():
            if not isinstance(listed, list):
                raise PlanError(
                    f"{name}: facet {facet!r} must list its selectors, found {describe_value(listed)}. Next step: "
                    "correct the file or [manifest.fields] selector_routes"
                )
            entries.extend({key["facet"]: facet, key["selector"]: s} for s in listed)
    elif isinstance(found, list):
        entries = [{key["selector"]: e} if isinstance(e, str) else e for e in found]
    else:
        raise PlanError(
            f"{name}: expected a list of routes or an object of facet -> selectors, found {describe_value(found)}. "
            "Next step: correct the file or [manifest.fields] selector_routes"
        )
    if len(entries) != count:
        raise PlanError(
            f"{label} has {count} routes but {name} has {len(entries)}: they are read side by side, route i with "
            f"entry i. Next step: write both files from one list, or correct [manifest] selectors"
        )
    return entries


class _Either:
    """A route's parts, found in the plan's entry or else in the second file's."""

    def __init__(self, first: Any, second: Any, where: str, second_where: str) -> None:
        self.first, self.second, self.where, self.second_where = first, second, where, second_where

    def has(self, path: str) -> bool:
        return any(_has(data, path) for data in (self.first, self.second))

    def get(self, path: str, label: str) -> Any:
        for data in (self.first, self.second):
            if _has(data, path):
                return _at(data, path, label, self.where)
        where = f"{self.where} (nor {self.second_where})" if self.second_where else self.where
        return _at(self.first, path, label, where)  # raises, naming the path


def _has(data: Any, path: str) -> bool:
    value = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def _sides(positions: Any, depth: int, label: str, where: str) -> list[bool]:
    """A positions bitmask (an integer, or a decimal or 0x string): bit i set when the node at level i
    is the left child."""
    value = positions
    if isinstance(value, str):
        text = value.strip()
        value = int(text, 16) if text.startswith("0x") else int(text) if text.isdigit() else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >> depth:
        raise PlanError(
            f"{label}: {where} positions must be a bitmask below 2**{depth} (one bit per proof level), found "
            f"{describe_value(positions)}. Next step: correct the plan file or [manifest.fields] positions"
        )
    return [bool(value >> level & 1) for level in range(depth)]


def parse_plan(document: Any, label: str, leaf: str | None = None, node: str | None = None) -> Plan:
    top = _Obj(document, label, "the top level")
    fmt = top.text("format")
    if fmt != PLAN_FORMAT:
        raise PlanError(f"{label}: format is {fmt!r}, expected {PLAN_FORMAT!r}. {_REGENERATE}")
    dispatcher = top.text("dispatcher")
    epoch = top.integer("epoch", minimum=1)
    root = top.hex_bytes("root", 32)
    leaf_encoding = _encoding(top, label, "leaf", declared=leaf, choices=LEAF_ENCODINGS, does="hashes a route")
    node_encoding = _encoding(top, label, "node", declared=node, choices=NODE_ENCODINGS, does="hashes two nodes")
    factory = None
    if top.has("factory"):
        f = top.obj("factory")
        deployer = f.hex_bytes("deployer", 20) if f.has("deployer") else None
        nonce = f.integer("nonce", minimum=0) if f.has("nonce") else None
        if (deployer is None) != (nonce is None):
            raise PlanError(f"{label}: factory must give deployer and nonce together, or neither. {_REGENERATE}")
        factory = PlanFactory(
            f.hex_bytes("address", 20), f.text("contract") if f.has("contract") else None, deployer, nonce
        )
        f.done()
    facets = []
    for f in top.obj_list("facets", required=False):
        salt = f.hex_bytes("salt", 32) if f.has("salt") else None
        init_code_hash = f.hex_bytes("initCodeHash", 32) if f.has("initCodeHash") else None
        if (salt is None) != (init_code_hash is None):
            raise PlanError(f"{label}: {f.where} must give salt and initCodeHash together, or neither. {_REGENERATE}")
        facets.append(PlanFacet(f.text("name"), f.hex_bytes("address", 20), salt, init_code_hash))
        f.done()
    routes = []
    for index, r in enumerate(top.obj_list("routes", required=True)):
        proof = tuple(r.hex_list("proof", 32)) if r.has("proof") else None
        is_right = tuple(r.bool_list("isRight")) if r.has("isRight") else None
        if proof is not None and is_right is None and node_encoding == "sorted-pair":
            is_right = (False,) * len(proof)  # a sorted pair has no sides: any will do
        if (proof is None) != (is_right is None):
            raise PlanError(f"{label}: {r.where} must give proof and isRight together, or neither. {_REGENERATE}")
        routes.append(
            PlanRoute(
                index=index,
                selector=r.hex_bytes("selector", 4),
                signature=r.text("signature") if r.has("signature") else "",
                facet=r.text("facet"),
                address=r.hex_bytes("address", 20),
                codehash=r.hex_bytes("codehash", 32),
                proof=proof,
                is_right=is_right,
                leaf_encoding=leaf_encoding,
            )
        )
        r.done()
    covers = tuple(top.text_list("covers")) if top.has("covers") else ()
    top.done()
    return Plan(
        label, dispatcher, epoch, root, tuple(routes), tuple(facets), factory, leaf_encoding, node_encoding, covers
    )


def _encoding(top: _Obj, label: str, key: str, *, declared: str | None, choices: Sequence[str], does: str) -> str:
    """The plan's ``leaf`` or ``node`` encoding: its own, else the target's, else the default; the two agree."""
    found = top.text(key) if top.has(key) else (declared or choices[0])
    if found not in choices:
        raise PlanError(f"{label}: {key} is {found!r}, expected one of {', '.join(choices)}. {_REGENERATE}")
    if declared is not None and found != declared:
        raise PlanError(
            f"{label} says its {key} encoding is {found!r}, but [manifest] {key} is {declared!r}: its root and "
            f"proofs would not be the dispatcher's. Next step: set [manifest] {key} to how the dispatcher {does}, "
            f"and rewrite the plan with `{WRITE_COMMAND}`"
        )
    return found


class _Obj:
    """Reads one JSON object key by key; :meth:`done` rejects keys nobody asked for."""

    def __init__(self, data: Any, label: str, where: str) -> None:
        if not isinstance(data, dict):
            raise PlanError(f"{label}: {where} must be a JSON object, found {describe_value(data)}. {_REGENERATE}")
        self.data: dict[str, Any] = dict(data)
        self.label = label
        self.where = where
        self.asked: list[str] = []

    def _key(self, key: str) -> str:
        return key if self.where == "the top level" else f"{self.where}.{key}"

    def has(self, key: str) -> bool:
        return key in self.data

    def _take(self, key: str) -> Any:
        self.asked.append(key)
        if key not in self.data:
            raise PlanError(f"{self.label}: missing key {self._key(key)!r}. {_REGENERATE}")
        return self.data.pop(key)

    def _bad(self, key: str, expected: str, value: Any) -> PlanError:
        return PlanError(
            f"{self.label}: {self._key(key)} must be {expected}, found {describe_value(value)}. {_REGENERATE}"
        )

    def text(self, key: str) -> str:
        value = self._take(key)
        if not isinstance(value, str) or not value:
            raise self._bad(key, "a non-empty string", value)
        return value

    def integer(self, key: str, *, minimum: int) -> int:
        value = self._take(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self._bad(key, f"an integer >= {minimum}", value)
        return value

    def hex_bytes(self, key: str, size: int) -> bytes:
        return self._hex(key, self._take(key), size)

    def _hex(self, key: str, value: Any, size: int) -> bytes:
        if not isinstance(value, str) or not _HEX.fullmatch(value) or len(value) != 2 + 2 * size:
            raise self._bad(key, f"0x followed by {2 * size} hex digits ({size} bytes)", value)
        return bytes.fromhex(value[2:])

    def hex_list(self, key: str, size: int) -> list[bytes]:
        value = self._take(key)
        if not isinstance(value, list):
            raise self._bad(key, f"a list of {size}-byte hex strings", value)
        return [self._hex(f"{key}[{i}]", item, size) for i, item in enumerate(value)]

    def bool_list(self, key: str) -> list[bool]:
        value = self._take(key)
        if not isinstance(value, list) or not all(isinstance(v, bool) for v in value):
            raise self._bad(key, "a list of true/false", value)
        return list(value)

    def text_list(self, key: str) -> list[str]:
        value = self._take(key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self._bad(key, "a list of names", value)
        return list(value)

    def obj(self, key: str) -> _Obj:
        return _Obj(self._take(key), self.label, self._key(key))

    def obj_list(self, key: str, *, required: bool) -> list[_Obj]:
        if not required and key not in self.data:
            self.asked.append(key)
            return []
        value = self._take(key)
        if not isinstance(value, list) or (required and not value):
            raise self._bad(key, "a non-empty list of objects" if required else "a list of objects", value)
        return [_Obj(item, self.label, f"{self._key(key)}[{i}]") for i, item in enumerate(value)]

    def done(self) -> None:
        if self.data:
            unknown = ", ".join(sorted(self.data))
            valid = ", ".join(sorted(set(self.asked)))
            raise PlanError(
                f"{self.label}: unknown key(s) {unknown} in {self.where}. Valid keys: {valid}. "
                "Next step: fix the spelling or remove the key"
            )


# -- the writer ----------------------------------------------------------------------------------


def function_selectors(contract: Contract) -> dict[bytes, str]:
    """Selector -> canonical signature of every function in ``contract``'s ABI."""
    found: dict[bytes, str] = {}
    for entry in contract.abi:
        if entry.get("type") == "function":
            text = abi_signature(entry)
            found[bytes.fromhex(text_selector(text)[2:])] = text
    return found


def runtime_codehash(contract: Contract) -> bytes:
    return keccak256(contract.runtime.to_bytes())


def derive_plan(
    artifacts: ArtifactSet,
    *,
    dispatcher: str,
    facets: Sequence[str],
    epoch: int = 1,
    factory: bytes | None = None,
    deployer: bytes | None = None,
    nonce: int = 0,
    factory_contract: str | None = "DeterministicChunkFactory",
    label: str = "plan",
    leaf_encoding: str = DEFAULT_LEAF,
    node_encoding: str = DEFAULT_NODE,
) -> Plan:
    """A correct plan for ``facets`` behind ``dispatcher``, with CREATE2-predicted addresses.

    The factory is ``factory`` when given, else the CREATE address of ``deployer`` (default:
    eth-tester's first account) at ``nonce``. Raises :class:`PlanError` when no correct plan
    exists (a facet without code, unlinked libraries, constructor arguments, a selector in two
    facets or answered by the dispatcher itself)."""
    if not facets:
        raise PlanError(f"no facets to route behind {dispatcher}: list them in [[diamonds]] facets or pass --facet")
    if factory is None:
        deployer = deployer or bytes.fromhex(ETH_TESTER_DEPLOYER[2:])
        factory = create_address(deployer, nonce)
        plan_factory = PlanFactory(factory, factory_contract, deployer, nonce)
    else:
        plan_factory = PlanFactory(factory, factory_contract)
    dispatcher_contract = _resolve(artifacts, dispatcher)
    own = function_selectors(dispatcher_contract)
    claimed: dict[bytes, str] = {}
    plan_facets: list[PlanFacet] = []
    routes: list[PlanRoute] = []
    for written in facets:
        contract = _resolve(artifacts, written)
        problem = _undeployable(contract)
        if problem:
            raise PlanError(f"{contract.fqn}: {problem}; the writer cannot predict its address or codehash")
        name = contract.name  # plans name facets as deployments do: by bare name (unique in the build)
        salt = facet_salt(name)
        init_code_hash = keccak256(contract.creation.to_bytes())
        address = create2_address(factory, salt, init_code_hash)
        codehash = _deployed_codehash(contract, address)
        plan_facets.append(PlanFacet(name, address, salt, init_code_hash))
        functions = function_selectors(contract)
        if not functions:
            raise PlanError(f"{contract.fqn} has no external function to route")
        for sel, text in functions.items():
            if sel in own:
                raise PlanError(
                    f"{name}.{text} ({hx(sel)}) is answered by {dispatcher} itself ({own[sel]}): no route to it "
                    "can be reached. Next step: rename the facet function (see PF-SEL)"
                )
            if sel in claimed:
                raise PlanError(
                    f"selector {hx(sel)} {text} is in both {claimed[sel]} and {name}; a selector has one route. "
                    "Next step: remove it from one facet (see PF-SEL)"
                )
            claimed[sel] = name
            routes.append(PlanRoute(0, sel, text, name, address, codehash))
    return assemble(
        label,
        dispatcher,
        epoch,
        routes,
        facets=plan_facets,
        factory=plan_factory,
        leaf_encoding=leaf_encoding,
        node_encoding=node_encoding,
    )


def _deployed_codehash(contract: Contract, address: bytes) -> bytes:
    """keccak256 of the runtime code ``contract`` will have at ``address`` (its immutables filled in)."""
    from signoff.deploy.immutables import deployed_codehash

    codehash, how = deployed_codehash(contract, address)
    if codehash is None:
        raise PlanError(
            f"{contract.fqn} has immutables whose deployed values the writer cannot know ({how}), so "
            "its codehash would be a guess. Next step: pin the codehash of the deployed code in your own plan"
        )
    return codehash


def _resolve(artifacts: ArtifactSet, name: str) -> Contract:
    try:
        return artifacts.resolve(name)
    except LookupError as exc:
        raise PlanError(str(exc)) from None


def _undeployable(contract: Contract) -> str | None:
    if contract.runtime.is_empty or contract.creation.is_empty:
        return "no code (an interface or abstract contract)"
    if contract.runtime.placeholder_count or contract.creation.placeholder_count:
        return "unlinked library placeholders in its code"
    for entry in contract.abi:
        if entry.get("type") == "constructor" and entry.get("inputs"):
            return "constructor arguments (its init code, hence its address, depends on them)"
    return None


def plan_for_target(
    target: Target,
    artifacts: ArtifactSet,
    *,
    dispatcher: str | None = None,
    facets: Sequence[str] = (),
    **options: Any,
) -> Plan:
    """:func:`derive_plan` with the dispatcher and facets taken from the target file."""
    name = dispatcher or (target.manifest.dispatcher if target.manifest else None)
    if name is None:
        names = sorted({d.dispatcher for d in target.diamonds})
        if len(names) != 1:
            raise PlanError(
                f"{target.path}: which dispatcher? set [manifest] dispatcher or pass --dispatcher "
                f"([[diamonds]] names {', '.join(names) or 'none'})"
            )
        name = names[0]
    if not facets:
        facets = diamond_facets(target, artifacts, name)
    if target.manifest is not None:
        options.setdefault("leaf_encoding", target.manifest.leaf)
        options.setdefault("node_encoding", target.manifest.node)
    return derive_plan(artifacts, dispatcher=name, facets=facets, **options)


def diamond_facets(target: Target, artifacts: ArtifactSet, dispatcher: str) -> tuple[str, ...]:
    """Facets of every ``[[diamonds]]`` entry whose dispatcher is ``dispatcher``."""
    wanted = _resolve(artifacts, dispatcher)
    found: list[str] = []
    for diamond in target.diamonds:
        try:
            same = artifacts.resolve(diamond.dispatcher) is wanted
        except LookupError:
            continue
        if same:
            found.extend(f for f in diamond.facets if f not in found)
    return tuple(found)


def _address_arg(text: str) -> bytes:
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a 0x-prefixed 20-byte address")
    return bytes.fromhex(text[2:])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="signoff manifest", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="write a correct dispatcher plan for a target")
    write.add_argument("--target", required=True, type=Path, help="the target's signoff.toml")
    write.add_argument("--out", help="where to write (default: [manifest] plan; '-' for stdout)")
    write.add_argument("--dispatcher", help="dispatcher contract (default: [manifest] dispatcher)")
    write.add_argument("--facet", action="append", default=[], help="a facet to route (default: [[diamonds]] facets)")
    write.add_argument("--epoch", type=int, default=1, help="epoch for commitRoot (default 1)")
    write.add_argument("--factory", type=_address_arg, help="the CREATE2 factory's address")
    write.add_argument("--deployer", type=_address_arg, help=f"factory deployer (default {ETH_TESTER_DEPLOYER})")
    write.add_argument("--nonce", type=int, default=0, help="the deployer's nonce when deploying the factory")
    args = parser.parse_args(argv)
    if args.epoch < 1 or args.nonce < 0:
        parser.error("--epoch must be >= 1 and --nonce >= 0")
    try:
        target = load_target(args.target)
        artifacts = load_artifacts(target.artifacts)
        out = args.out or (str(target.manifest.plan) if target.manifest else None)
        if out is None:
            raise PlanError(f"{target.path} has no [manifest] plan: pass --out PATH (or --out - for stdout)")
        label = "-" if out == "-" else Path(out).name
        plan = plan_for_target(
            target,
            artifacts,
            dispatcher=args.dispatcher,
            facets=args.facet,
            epoch=args.epoch,
            factory=args.factory,
            deployer=args.deployer,
            nonce=args.nonce,
            label=label,
        )
    except (ConfigError, ArtifactError, PlanError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = dump_plan(plan)
    if out == "-":
        sys.stdout.write(text)
    else:
        Path(out).write_text(text, encoding="utf-8")
        print(f"wrote {out}: {len(plan.routes)} routes, root {hx(plan.root)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
