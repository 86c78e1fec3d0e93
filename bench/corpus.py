"""A deterministic, Hardhat-shaped artifact corpus for the PF-SIZE benchmark.

``generate(root, artifacts=2000, seed=170)`` writes::

    root/signoff.toml
    root/artifacts/build-info/<id>.json                      compact JSON, like Hardhat 2
    root/artifacts/<sourceName>/<Name>.json                  hh-sol-artifact-1, indent=2
    root/artifacts/<sourceName>/<Name>.dbg.json              hh-sol-dbg-1 -> ../../../build-info/<id>.json

The shapes follow ``fixtures/reference/artifacts`` (same keys, same nesting). What varies:

* runtime sizes drawn log-uniformly between 200 B and 23.5 KB, plus ~1% inside the
  ``warn_headroom`` band just under the EIP-170 limit (so warnings appear, as in real trees);
* about a quarter with no code (``"bytecode": "0x"``, not deployable): interfaces (some under
  ``@openzeppelin/contracts/``), abstract contracts, and an interface or event holder next to
  ~10% of the implementations in the same source file;
* ~5% libraries and ~2% contracts with unlinked ``__$...$__`` placeholders and
  ``linkReferences`` (the size check counts them as 20-byte addresses);
* ~3% under ``contracts/test/`` which signoff.toml excludes via ``[sizes] exclude``;
* two build-info files, as after one full compile and one incremental recompile: the first
  holds every source, the second a ~20% subset whose artifacts point at it. Build-info holds
  ``input.sources`` (source text), ``input.settings`` and ``output.contracts`` (abi,
  bytecode and deployedBytecode objects, linkReferences, immutableReferences,
  methodIdentifiers) and ``output.sources`` ids. It leaves out what solc also writes there
  (AST, opcodes, source maps, metadata, storage layout), so it is a *lower bound* of a real
  build-info: the reference's is ~75 bytes per byte of runtime code, this one ~4.

Everything comes from one ``random.Random(seed)``: same arguments, same bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

SOLC_VERSION = "0.8.30"
SOLC_LONG_VERSION = "0.8.30+commit.73712a01"
WARN_HEADROOM = 1024
RUNTIME_LIMIT = 24_576

_AREAS = (
    "facets",
    "dispatcher",
    "router",
    "factory",
    "tokens",
    "governance",
    "oracles",
    "vaults",
    "bridges",
    "staking",
)
_WORDS = (
    "Vault",
    "Ping",
    "Manifest",
    "Router",
    "Chunk",
    "Factory",
    "Oracle",
    "Token",
    "Stake",
    "Bridge",
    "Governor",
    "Timelock",
    "Registry",
    "Escrow",
    "Treasury",
    "Minter",
    "Auction",
    "Pool",
    "Lens",
    "Keeper",
)
_SUFFIXES = ("Facet", "Module", "Manager", "Controller", "Adapter", "Storage", "Logic", "Hub", "")
_TYPES = ("uint256", "address", "bytes32", "bool", "bytes", "string", "uint64", "uint8", "address[]", "bytes4")
_VERBS = ("get", "set", "do", "is", "claim", "execute", "update")
_MUTABILITY = ("view", "nonpayable", "pure", "payable", "nonpayable", "view")
_OZ_DIRS = ("access", "utils/introspection", "token/ERC20", "token/ERC721", "interfaces", "proxy/utils")
_RUNTIME_HEAD = "6080604052"
_CBOR_HEAD = "a2646970667358221220"  # ipfs hash follows
_CBOR_TAIL = "64736f6c634300081e0033"  # solc 0.8.30


@dataclass
class _Contract:
    source: str
    name: str
    kind: str  # "contract", "interface", "abstract", "library", "linked", "test"
    runtime_size: int  # bytes, 0 for no code
    abi: list[dict]
    build: int = 0
    runtime_hex: str = ""
    creation_hex: str = ""
    link_refs: dict = field(default_factory=dict)
    deployed_link_refs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Corpus:
    root: Path
    toml: Path
    artifacts_dir: Path
    artifact_files: int  # contract artifacts (the N asked for)
    dbg_files: int
    build_info_files: int
    deployable: int  # contracts PF-SIZE parametrises over (deployable and not excluded)
    total_bytes: int
    build_info_bytes: int


def generate(root: Path, artifacts: int = 2000, seed: int = 170) -> Corpus:
    """Write the corpus below ``root`` (created if missing) and describe it."""
    rng = random.Random(seed)
    contracts = _plan(rng, artifacts)
    for contract in contracts:
        _fill_code(rng, contract)
    sources = _group_by_source(contracts)

    root.mkdir(parents=True, exist_ok=True)
    art = root / "artifacts"
    (art / "build-info").mkdir(parents=True, exist_ok=True)

    # One full build (every source) and an incremental one (a ~20% subset re-pointed to it).
    names = sorted(sources)
    incremental = set(rng.sample(names, k=max(1, len(names) // 5)))
    builds: list[tuple[str, list[str]]] = []
    for index, members in enumerate((names, sorted(incremental))):
        build_id = hashlib.md5(f"signoff-bench/{seed}/{artifacts}/{index}".encode()).hexdigest()
        builds.append((build_id, members))
    for source in incremental:
        for contract in sources[source]:
            contract.build = 1

    build_info_bytes = 0
    for build_id, members in builds:
        text = json.dumps(_build_info(rng, build_id, members, sources), separators=(",", ":"))
        (art / "build-info" / f"{build_id}.json").write_text(text, encoding="utf-8")
        build_info_bytes += len(text)

    total = build_info_bytes
    for contract in contracts:
        folder = art / contract.source
        folder.mkdir(parents=True, exist_ok=True)
        artifact = {
            "_format": "hh-sol-artifact-1",
            "contractName": contract.name,
            "sourceName": contract.source,
            "abi": contract.abi,
            "bytecode": "0x" + contract.creation_hex,
            "deployedBytecode": "0x" + contract.runtime_hex,
            "linkReferences": contract.link_refs,
            "deployedLinkReferences": contract.deployed_link_refs,
        }
        text = json.dumps(artifact, indent=2) + "\n"
        (folder / f"{contract.name}.json").write_text(text, encoding="utf-8")
        depth = contract.source.count("/") + 1  # artifacts/<source dirs>/<File.sol>/ -> artifacts/
        dbg = {"_format": "hh-sol-dbg-1", "buildInfo": "../" * depth + f"build-info/{builds[contract.build][0]}.json"}
        dbg_text = json.dumps(dbg, indent=2) + "\n"
        (folder / f"{contract.name}.dbg.json").write_text(dbg_text, encoding="utf-8")
        total += len(text) + len(dbg_text)

    toml = root / "signoff.toml"
    toml.write_text(
        "# Generated by bench/corpus.py: a synthetic Hardhat tree for the PF-SIZE benchmark.\n"
        "[target]\n"
        f'name = "bench corpus ({artifacts} artifacts, seed {seed})"\n'
        'artifacts = "artifacts"\n\n'
        "[sizes]\n"
        f"warn_headroom = {WARN_HEADROOM}\n"
        'exclude = ["contracts/test/**"]\n',
        encoding="utf-8",
    )
    deployable = sum(1 for c in contracts if c.creation_hex and c.kind != "test")
    return Corpus(root, toml, art, len(contracts), len(contracts), len(builds), deployable, total, build_info_bytes)


# -- planning --------------------------------------------------------------------------------


def _plan(rng: random.Random, count: int) -> list[_Contract]:
    contracts: list[_Contract] = []
    used: set[str] = set()

    def fresh_name(prefix: str = "", suffix: str | None = None) -> str:
        while True:
            base = rng.choice(_WORDS) + rng.choice(_WORDS) + (rng.choice(_SUFFIXES) if suffix is None else suffix)
            name = f"{prefix}{base}{rng.randrange(10_000):04d}"
            if name not in used:
                used.add(name)
                return name

    libraries: list[tuple[str, str]] = []
    while len(contracts) < count:
        roll = rng.random()
        if roll < 0.03:
            name = fresh_name(suffix="Mock")
            contracts.append(_Contract(f"contracts/test/{name}.sol", name, "test", _runtime_size(rng), []))
        elif roll < 0.06:  # OpenZeppelin-style interface, one per file
            name = fresh_name("I")
            path = f"@openzeppelin/contracts/{rng.choice(_OZ_DIRS)}/{name}.sol"
            contracts.append(_Contract(path, name, "interface", 0, []))
        elif roll < 0.15:
            name = fresh_name("I")
            contracts.append(_Contract(f"contracts/interfaces/{name}.sol", name, "interface", 0, []))
        elif roll < 0.19:
            name = fresh_name(suffix="Base")
            contracts.append(_Contract(f"contracts/{rng.choice(_AREAS)}/{name}.sol", name, "abstract", 0, []))
        elif roll < 0.24:
            name = fresh_name(suffix="Lib")
            source = f"contracts/libraries/{name}.sol"
            libraries.append((source, name))
            contracts.append(_Contract(source, name, "library", rng.randint(200, 3000), []))
        elif roll < 0.26 and libraries:
            name = fresh_name()
            contracts.append(
                _Contract(f"contracts/{rng.choice(_AREAS)}/{name}.sol", name, "linked", _runtime_size(rng), [])
            )
        else:
            name = fresh_name()
            source = f"contracts/{rng.choice(_AREAS)}/{name}.sol"
            contracts.append(_Contract(source, name, "contract", _runtime_size(rng), []))
            if rng.random() < 0.10 and len(contracts) < count:  # its interface in the same file
                contracts.append(_Contract(source, "I" + name, "interface", 0, []))
                if rng.random() < 0.3 and len(contracts) < count:  # and an event/error holder
                    contracts.append(_Contract(source, name + "Events", "abstract", 0, []))
    for contract in contracts:
        contract.abi = _abi(rng, contract)
        if contract.kind == "linked":
            contract.deployed_link_refs = {"__libs__": rng.sample(libraries, k=min(len(libraries), rng.randint(1, 2)))}
    return contracts


def _runtime_size(rng: random.Random) -> int:
    if rng.random() < 0.01:  # inside the warn band: headroom < warn_headroom, still passing
        return rng.randint(RUNTIME_LIMIT - WARN_HEADROOM + 1, RUNTIME_LIMIT - 1)
    return int(math.exp(rng.uniform(math.log(200), math.log(23_500))))


def _abi(rng: random.Random, contract: _Contract) -> list[dict]:
    if contract.kind in ("interface", "abstract"):
        functions = rng.randint(1, 25)
    elif contract.kind == "library":
        functions = rng.randint(0, 6)
    else:
        functions = min(80, 2 + contract.runtime_size // 600 + rng.randint(0, 6))
    entries: list[dict] = []
    if contract.kind in ("contract", "linked", "test") and rng.random() < 0.6:
        entries.append(
            {"inputs": _params(rng, rng.randint(1, 3)), "stateMutability": "nonpayable", "type": "constructor"}
        )
    for index in range(rng.randint(0, 4)):
        entries.append(
            {"inputs": _params(rng, rng.randint(0, 3)), "name": f"Error{index}{rng.choice(_WORDS)}", "type": "error"}
        )
    for index in range(rng.randint(0, 5)):
        params = _params(rng, rng.randint(1, 4))
        for param in params:
            param["indexed"] = rng.random() < 0.4
        entries.append(
            {"anonymous": False, "inputs": params, "name": f"{rng.choice(_WORDS)}Event{index}", "type": "event"}
        )
    for index in range(functions):
        entries.append(
            {
                "inputs": _params(rng, rng.randint(0, 4)),
                "name": f"{rng.choice(_VERBS)}{rng.choice(_WORDS)}{index}",
                "outputs": _params(rng, rng.randint(0, 2), named=False),
                "stateMutability": rng.choice(_MUTABILITY),
                "type": "function",
            }
        )
    return entries


def _params(rng: random.Random, count: int, named: bool = True) -> list[dict]:
    params = []
    for index in range(count):
        kind = rng.choice(_TYPES)
        params.append({"internalType": kind, "name": f"arg{index}" if named else "", "type": kind})
    return params


# -- code ------------------------------------------------------------------------------------


def _fill_code(rng: random.Random, contract: _Contract) -> None:
    if contract.runtime_size == 0:
        return
    tail = _CBOR_HEAD + rng.randbytes(32).hex() + _CBOR_TAIL
    body_bytes = max(0, contract.runtime_size - len(_RUNTIME_HEAD) // 2 - len(tail) // 2)
    runtime = _RUNTIME_HEAD + rng.randbytes(body_bytes).hex() + tail
    constructor = "6080604052" + rng.randbytes(rng.randint(20, 1200)).hex()
    prefix_bytes = len(constructor) // 2
    libs = contract.deployed_link_refs.pop("__libs__", None) if contract.deployed_link_refs else None
    if libs:
        deployed_refs: dict = {}
        creation_refs: dict = {}
        chars = list(runtime)
        for lib_source, lib_name in libs:
            placeholder = "__$" + hashlib.sha256(f"{lib_source}:{lib_name}".encode()).hexdigest()[:34] + "$__"
            starts = sorted(
                rng.sample(range(8, max(9, body_bytes - 24), 24), k=min(rng.randint(1, 3), max(1, body_bytes // 48)))
            )
            for start in starts:
                chars[start * 2 : start * 2 + 40] = placeholder
            deployed_refs.setdefault(lib_source, {})[lib_name] = [{"length": 20, "start": s} for s in starts]
            creation_refs.setdefault(lib_source, {})[lib_name] = [
                {"length": 20, "start": s + prefix_bytes} for s in starts
            ]
        runtime = "".join(chars)
        contract.deployed_link_refs, contract.link_refs = deployed_refs, creation_refs
    else:
        contract.deployed_link_refs = {}
    contract.runtime_hex = runtime
    contract.creation_hex = constructor + runtime


def _group_by_source(contracts: list[_Contract]) -> dict[str, list[_Contract]]:
    sources: dict[str, list[_Contract]] = {}
    for contract in contracts:
        sources.setdefault(contract.source, []).append(contract)
    return sources


def _build_info(rng: random.Random, build_id: str, members: list[str], sources: dict[str, list[_Contract]]) -> dict:
    input_sources = {}
    output_contracts = {}
    output_sources = {}
    for index, source in enumerate(members):
        holders = sources[source]
        input_sources[source] = {"content": _source_text(rng, holders)}
        output_sources[source] = {"id": index}
        output_contracts[source] = {
            c.name: {
                "abi": c.abi,
                "evm": {
                    "bytecode": {"linkReferences": c.link_refs, "object": c.creation_hex},
                    "deployedBytecode": {
                        "immutableReferences": {},
                        "linkReferences": c.deployed_link_refs,
                        "object": c.runtime_hex,
                    },
                    "methodIdentifiers": {
                        f"{e['name']}({','.join(p['type'] for p in e['inputs'])})": hashlib.sha256(
                            e["name"].encode()
                        ).hexdigest()[:8]
                        for e in c.abi
                        if e.get("type") == "function"
                    },
                },
            }
            for c in holders
        }
    return {
        "id": build_id,
        "_format": "hh-sol-build-info-1",
        "solcVersion": SOLC_VERSION,
        "solcLongVersion": SOLC_LONG_VERSION,
        "input": {
            "language": "Solidity",
            "sources": input_sources,
            "settings": {
                "viaIR": True,
                "optimizer": {"enabled": True, "runs": 200},
                "evmVersion": "prague",
                "outputSelection": {
                    "*": {
                        "*": ["abi", "evm.bytecode", "evm.deployedBytecode", "evm.methodIdentifiers", "metadata"],
                        "": ["ast"],
                    }
                },
            },
        },
        "output": {"contracts": output_contracts, "sources": output_sources},
    }


def _source_text(rng: random.Random, holders: list[_Contract]) -> str:
    lines = ["// SPDX-License-Identifier: MIT", f"pragma solidity ^{SOLC_VERSION};", ""]
    for contract in holders:
        keyword = {"interface": "interface", "abstract": "abstract contract", "library": "library"}.get(
            contract.kind, "contract"
        )
        lines.append(f"{keyword} {contract.name} {{")
        for entry in contract.abi:
            if entry.get("type") == "function":
                args = ", ".join(f"{p['type']} {p['name']}" for p in entry["inputs"])
                lines.append(f"    function {entry['name']}({args}) external {entry['stateMutability']} {{")
                lines.extend(
                    f"        // step {i}: {rng.getrandbits(64):016x}"
                    for i in range(rng.randint(1, max(2, contract.runtime_size // 400)))
                )
                lines.append("    }")
        lines.append("}")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # python bench/corpus.py OUT [N]
    import sys

    made = generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 2000)
    print(made)
