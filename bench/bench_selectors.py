"""PF-SEL speed: one generated diamond of 1,000 facets and 10,000 facet selectors.

    python bench/bench_selectors.py [--facets 1000] [--per-facet 10] [--repeat 7]
    python bench/bench_selectors.py --run [--slither PATH]   # the whole `pytest -m selectors`, side by side

Builds, from one seeded ``random.Random``, a dispatcher (40 functions), a router in front of
it (15 functions, 3 shared with the dispatcher as in the reference) and the facets, with ABI
entries shaped like solc's (named parameters, tuples, arrays of tuples, nested tuples) and
correct ``methodIdentifiers`` for the cross-check. One defect of each kind is planted (a
collision, a duplicate, a shadowed selector), so the finding paths run too.

Times :func:`signoff.preflight.selectors.check_diamond` in this process (selectors recomputed,
cross-checked, grouped N-way, routing table built): the first (cold) call, then the best and
the median of the repeats; then the same through the public one-hash-object-per-signature
path, for comparison; then turning the routing table into evidence rows. The budget is 0.1 s
for the analysis; it is printed here and never asserted in a test.

With ``--run`` the same diamond is written as a Hardhat project (one artifact per contract, a
signoff.toml with its ``[[diamonds]]`` entry) and the whole command a user types, ``pytest -m
selectors``, is timed as a fresh subprocess (bytecode cache on, one warm-up), side by side with
slither-check-upgradeability's function-id-collision check of one proxy/implementation pair on the
reference (``fixtures/reference``: ManifestDispatcher and PingFacet, read from its Hardhat
build-info with ``--hardhat-ignore-compile``) when slither is installed (``--slither PATH`` or on PATH).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _timing import cached_env, timed

from signoff.artifacts.abi import selector, signature
from signoff.preflight import selectors as sel

BUDGET_S = 0.1
_ATOMS = ("uint256", "address", "bytes32", "bool", "bytes", "string", "uint64", "uint8", "bytes4", "int128")
_MUTABILITY = ("view", "nonpayable", "pure", "payable")
# (facet index, name, parameter types) replacing that facet's first function
_PLANTED = (
    (10, "burn", ("uint256",)),  # collision: burn(uint256) and collate_propagate_storage(bytes16) are 0x42966c68
    (20, "collate_propagate_storage", ("bytes16",)),
    (30, "supportsInterface", ("bytes4",)),  # duplicate: the same signature in two facets
    (40, "supportsInterface", ("bytes4",)),
    (50, "paused", ()),  # shadowed: the router and the dispatcher answer paused() themselves
)


def _param(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    roll = rng.random()
    if depth < 2 and roll < 0.08:  # a struct, sometimes an array of structs, sometimes nested
        components = [_param(rng, depth + 1) for _ in range(rng.randint(1, 3))]
        return {
            "name": f"s{rng.randrange(99)}",
            "type": "tuple" + rng.choice(("", "[]", "[2]")),
            "components": components,
        }
    atom = rng.choice(_ATOMS) + ("[]" if roll > 0.9 else "")
    return {"name": f"p{rng.randrange(99)}", "type": atom, "internalType": atom}


def _function(rng: random.Random, name: str, types: tuple[str, ...] | None = None) -> dict[str, Any]:
    inputs = (
        [_param(rng) for _ in range(rng.randint(0, 4))] if types is None else [{"name": "", "type": t} for t in types]
    )
    return {
        "type": "function",
        "name": name,
        "inputs": inputs,
        "outputs": [_param(rng) for _ in range(rng.randint(0, 2))],
        "stateMutability": rng.choice(_MUTABILITY),
    }


def _member(role: sel.Role, fqn: str, functions: list[dict[str, Any]]) -> sel.Member:
    abi = [
        *functions,
        {"type": "event", "name": "Done", "inputs": [], "anonymous": False},
        {"type": "error", "name": "Nope", "inputs": []},
    ]
    identifiers = {signature(f): selector(signature(f))[2:] for f in functions}
    return sel.Member(role, fqn, abi, identifiers)


def generate(facets: int, per_facet: int, seed: int = 2535) -> tuple[sel.Member, list[sel.Member], sel.Member]:
    rng = random.Random(seed)
    shared = [_function(rng, name, ()) for name in ("pause", "unpause", "paused")]
    dispatcher_fns = [*shared, *(_function(rng, f"dispatcherOp{i}") for i in range(37))]
    router_fns = [*shared, *(_function(rng, f"routerOp{i}") for i in range(12))]
    planted = {index: (name, types) for index, name, types in _PLANTED}
    members = []
    for index in range(facets):
        functions = [_function(rng, f"f{index}x{j}") for j in range(per_facet)]
        if index in planted:
            functions[0] = _function(rng, *planted[index])
        members.append(_member("facet", f"contracts/facets/Facet{index}.sol:Facet{index}", functions))
    return (
        _member("dispatcher", "contracts/dispatcher/Dispatcher.sol:Dispatcher", dispatcher_fns),
        members,
        _member("router", "contracts/router/Router.sol:Router", router_fns),
    )


def _time(repeat: int, run: Callable[[], object]) -> list[float]:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return timings


def _report(label: str, timings: list[float]) -> None:
    median = statistics.median(timings)
    verdict = "under" if median < BUDGET_S else "OVER"
    print(
        f"{label:<34} cold {timings[0] * 1000:6.1f} ms   best {min(timings) * 1000:6.1f} ms   "
        f"median {median * 1000:6.1f} ms  ({verdict} the {BUDGET_S * 1000:.0f} ms budget)"
    )


REPO = Path(__file__).resolve().parents[1]


def write_project(root: Path, dispatcher: sel.Member, facets: list[sel.Member], router: sel.Member) -> Path:
    """The diamond as Hardhat artifacts (code present, so every contract is deployable) and a signoff.toml."""
    for member in (dispatcher, router, *facets):
        source, name = member.contract.rsplit(":", 1)
        folder = root / "artifacts" / source
        folder.mkdir(parents=True, exist_ok=True)
        artifact = {
            "_format": "hh-sol-artifact-1",
            "contractName": name,
            "sourceName": source,
            "abi": list(member.abi),
            "bytecode": "0x6080604052348015600e575f80fd5b50",
            "deployedBytecode": "0x6080604052348015600e575f80fd5b50",
            "linkReferences": {},
            "deployedLinkReferences": {},
        }
        (folder / f"{name}.json").write_text(json.dumps(artifact))
    facet_names = ", ".join(f'"{m.contract.rsplit(":", 1)[1]}"' for m in facets)
    (root / "signoff.toml").write_text(
        '[target]\nname = "generated diamond"\nartifacts = "artifacts"\n\n[[diamonds]]\ndispatcher = "Dispatcher"\n'
        f'router = "Router"\nfacets = [{facet_names}]\n'
    )
    (root / "pytest.ini").write_text("[pytest]\nsignoff_target = signoff.toml\nsignoff_reports = none\n")
    return root


def run_side_by_side(
    args: argparse.Namespace, dispatcher: sel.Member, facets: list[sel.Member], router: sel.Member
) -> int:
    with tempfile.TemporaryDirectory(prefix="signoff-bench-sel-") as work:
        project = write_project(Path(work) / "project", dispatcher, facets, router)
        env = cached_env(Path(work))
        check = subprocess.run(
            [sys.executable, "-m", "pytest", "-m", "selectors", "-q", "-p", "no:cacheprovider"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        summary = [
            line for line in check.stdout.splitlines() if " in " in line and ("passed" in line or "failed" in line)
        ]
        print(f"pytest -m selectors exit {check.returncode}: {summary[-1] if summary else check.stdout[-400:]}")
        ours = timed(
            [sys.executable, "-m", "pytest", "-m", "selectors", "-q", "-p", "no:cacheprovider"],
            project,
            env,
            args.repeat,
        )
        version = timed([sys.executable, "-m", "pytest", "--version"], project, env, args.repeat)
        rows = [
            ("`pytest --version` (no plugin loads)", version),
            (f"`pytest -m selectors`, {len(facets):,} facets", ours),
        ]
        slither = args.slither or shutil.which("slither-check-upgradeability")
        if slither:
            reference = Path(work) / "reference"
            shutil.copytree(REPO / "fixtures" / "reference", reference)
            (reference / "hardhat.config.js").write_text('module.exports = { solidity: "0.8.30" };\n')
            modules = reference / "node_modules" / "@openzeppelin"
            modules.mkdir(parents=True)
            shutil.copytree(REPO / "node_modules" / "@openzeppelin" / "contracts", modules / "contracts")
            command = [slither, ".", "PingFacet", "--proxy-name", "ManifestDispatcher", "--hardhat-ignore-compile"]
            rows.append(
                ("slither-check-upgradeability, one facet/proxy pair", timed(command, reference, env, args.repeat))
            )
        print(f"\nside by side, {args.repeat} runs each, load average {os.getloadavg()[0]:.2f}\n")
        print("| command | best s | median s |")
        print("|---|---|---|")
        for label, times in rows:
            print(f"| {label} | {min(times):.3f} | {statistics.median(times):.3f} |")
        if not slither:
            print("\nslither-check-upgradeability is not installed: pass --slither PATH")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--facets", type=int, default=1000)
    parser.add_argument("--per-facet", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--run", action="store_true", help="time the whole pytest -m selectors, side by side")
    parser.add_argument("--slither", help="slither-check-upgradeability to compare with (default: on PATH)")
    args = parser.parse_args()

    dispatcher, facets, router = generate(args.facets, args.per_facet)
    count = sum(1 for f in facets for e in f.abi if e["type"] == "function")
    print(f"diamond: {len(facets):,} facets, {count:,} facet selectors, a dispatcher and a router in front")
    if args.run:
        return run_side_by_side(args, dispatcher, facets, router)

    def analyse() -> sel.DiamondResult:
        return sel.check_diamond("diamond Dispatcher", dispatcher, facets, router)

    result = analyse()
    kinds = sorted(
        {m.group(0) for f in result.findings if (m := re.search(r"collision|duplicate|shadowed", f.message))}
    )
    errors = sum(f.is_error for f in result.findings)
    print(f"findings: {errors} ({', '.join(kinds)}); routing rows: {len(result.routes):,}")
    from signoff.artifacts import hashing

    print(f"keccak backend: {'safe-pysha3' if hashing._keccak is not hashing._pycryptodome else 'pycryptodome'}")
    _report("check_diamond", _time(args.repeat, analyse))
    fast, hashing._keccak = hashing._keccak, hashing._pycryptodome
    try:
        _report("check_diamond, pycryptodome keccak", _time(args.repeat, analyse))
    finally:
        hashing._keccak = fast
    rows = _time(args.repeat, result.rows)
    print(f"{'routing table -> evidence rows':<34} median {statistics.median(rows) * 1000:6.1f} ms (not in the budget)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
