"""PF-MRK: the dispatcher plan is a Merkle manifest the dispatcher will accept, of the right code.

Five aspects, each a verdict of its own so a report reads as a checklist:

* ``root``: the plan is for the configured dispatcher and its root is the one the routes
  rebuild to with the documented encoding (see :mod:`signoff.deploy.manifest`).
* ``proofs``: every supplied proof folds its route's leaf up to the plan root (what
  ``applyRoutes`` checks; a failure there is ``BadProof``).
* ``codehashes``: every route pins keccak256 of its facet artifact's runtime code (what
  ``applyRoutes`` compares with the facet's ``EXTCODEHASH``; placeholders, creation-code
  hashes and other fakes are named as such).
* ``routes``: each selector matches its signature and is a function of its facet, not one the
  dispatcher answers itself; every function of every listed facet is routed exactly once, so
  the route count equals the leaf count the facets call for.
* ``addresses``: one address per facet, never zero, and when the plan records the factory,
  deployer, salts and init-code hashes, the CREATE/CREATE2 derivation reproduces them.

Pure: the plan, the artifacts and names in; findings and evidence rows out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from signoff.artifacts.abi import selector as text_selector
from signoff.artifacts.hashing import keccak256
from signoff.artifacts.loader import ArtifactSet, Contract
from signoff.deploy.immutables import deployed_codehash
from signoff.deploy.manifest import (
    WRITE_COMMAND,
    Plan,
    PlanRoute,
    checksum,
    create2_address,
    create_address,
    fold_proof,
    function_selectors,
    hx,
    route_tree,
    runtime_codehash,
)
from signoff.findings import Finding

CHECK_ID = "PF-MRK"
ASPECTS = ("root", "proofs", "codehashes", "routes", "addresses")
EMPTY_CODEHASH = keccak256(b"")
_ZERO_ADDRESS = bytes(20)


@dataclass(frozen=True)
class ManifestResult:
    """Everything PF-MRK found about one plan: findings per aspect and the evidence."""

    plan: Plan
    dispatcher: str
    rebuilt_root: bytes
    facet_selectors: int  # functions of the listed facets: the leaves a complete plan has
    proofs_supplied: int
    codehashes_checked: int
    findings: Mapping[str, tuple[Finding, ...]]
    codehash_ok: Mapping[int, bool | None]  # route index -> verdict (None: not checkable)
    proof_ok: Mapping[int, bool | None]  # route index -> verdict (None: no proof supplied)
    failing_routes: frozenset[int] = field(default_factory=frozenset)

    def aspect(self, name: str) -> tuple[Finding, ...]:
        return self.findings.get(name, ())

    @property
    def root_ok(self) -> bool:
        return not any(f.is_error for f in self.aspect("root"))

    def root_row(self) -> dict[str, Any]:
        return {
            "dispatcher": self.dispatcher,
            "epoch": self.plan.epoch,
            "plan_root": hx(self.plan.root),
            "rebuilt_root": hx(self.rebuilt_root),
            "routes": len(self.plan.routes),
            "facet_selectors": self.facet_selectors,
            "covers": ", ".join(self.plan.covers) or "every [[diamonds]] facet",
            "hashing": self.plan.hashing,
            "verdict": "pass" if self.root_ok else "fail",
        }

    def route_rows(self) -> list[dict[str, Any]]:
        rows = []
        for route in self.plan.routes:
            codehash = self.codehash_ok.get(route.index)
            proof = self.proof_ok.get(route.index)
            rows.append(
                {
                    "selector": hx(route.selector),
                    "signature": route.signature,
                    "facet": route.facet,
                    "address": checksum(route.address),
                    "codehash": hx(route.codehash),
                    "codehash_ok": "not checkable" if codehash is None else codehash,
                    "proof_ok": "not supplied" if proof is None else proof,
                    "verdict": "fail" if route.index in self.failing_routes else "pass",
                }
            )
        return rows


class _Findings:
    def __init__(self, label: str) -> None:
        self.label = label
        self.by_aspect: dict[str, list[Finding]] = {aspect: [] for aspect in ASPECTS}
        self.failing: set[int] = set()

    def error(self, aspect: str, subject: str, message: str, *routes: PlanRoute) -> None:
        self.by_aspect[aspect].append(Finding(CHECK_ID, subject, "error", f"{self.label}: {message}"))
        self.failing.update(r.index for r in routes)

    def warning(self, aspect: str, subject: str, message: str) -> None:
        self.by_aspect[aspect].append(Finding(CHECK_ID, subject, "warning", f"{self.label}: {message}"))


def check_manifest(
    plan: Plan, artifacts: ArtifactSet, *, dispatcher: str, diamond_facets: Sequence[str] = ()
) -> ManifestResult:
    """Judge ``plan`` against the artifacts; ``dispatcher`` is the target's ``[manifest]`` name,
    ``diamond_facets`` the ``[[diamonds]]`` facets behind it (listed even if the plan omits them)."""
    out = _Findings(plan.label)
    if plan.covers:  # the plan says which facets it covers: those, not every [[diamonds]] facet
        diamond_facets = plan.covers
    tree, _ = route_tree(plan.routes, plan.node_encoding)
    resolved = _resolve_facets(plan, artifacts, diamond_facets)

    _check_root(plan, dispatcher, tree.root, out)
    proof_ok = _check_proofs(plan, out)
    codehash_ok = _check_codehashes(plan, resolved, out)
    facet_selectors = _check_routes(
        plan, artifacts=artifacts, dispatcher=dispatcher, diamond_facets=diamond_facets, resolved=resolved, out=out
    )
    _check_addresses(plan, resolved, out)

    return ManifestResult(
        plan=plan,
        dispatcher=dispatcher,
        rebuilt_root=tree.root,
        facet_selectors=facet_selectors,
        proofs_supplied=sum(1 for r in plan.routes if r.proof is not None),
        codehashes_checked=sum(1 for v in codehash_ok.values() if v is not None),
        findings={aspect: tuple(found) for aspect, found in out.by_aspect.items()},
        codehash_ok=codehash_ok,
        proof_ok=proof_ok,
        failing_routes=frozenset(out.failing),
    )


def _resolve_facets(plan: Plan, artifacts: ArtifactSet, diamond_facets: Sequence[str]) -> dict[str, Contract | str]:
    """Facet name -> its contract, or why it cannot be used."""
    names = [*diamond_facets, *(f.name for f in plan.facets), *(r.facet for r in plan.routes)]
    resolved: dict[str, Contract | str] = {}
    for name in names:
        if name in resolved:
            continue
        try:
            contract = artifacts.resolve(name)
        except LookupError as exc:
            resolved[name] = str(exc)
            continue
        resolved[name] = contract if not contract.runtime.is_empty else f"{contract.fqn} has no runtime code"
    return resolved


# -- root ------------------------------------------------------------------------------------------


def _check_root(plan: Plan, dispatcher: str, rebuilt: bytes, out: _Findings) -> None:
    if plan.dispatcher != dispatcher:
        out.error(
            "root",
            plan.dispatcher,
            f"the plan is for dispatcher {plan.dispatcher!r}, the target's [manifest] dispatcher is "
            f"{dispatcher!r}. Next step: point [manifest] plan at that dispatcher's plan, or regenerate it "
            f"(`{WRITE_COMMAND}`)",
        )
    if plan.root != rebuilt:
        out.error(
            "root",
            hx(plan.root),
            f"root is {hx(plan.root)}, but its {len(plan.routes)} routes rebuild to {hx(rebuilt)} "
            f"({plan.hashing}, leaves by selector ascending, an odd node paired with itself); "
            "committing it would commit routes other than these. Next step: recompute the root from the "
            f"routes (`{WRITE_COMMAND}`)",
        )


# -- proofs ----------------------------------------------------------------------------------------


def _check_proofs(plan: Plan, out: _Findings) -> dict[int, bool | None]:
    verdicts: dict[int, bool | None] = {}
    missing: list[PlanRoute] = []
    for route in plan.routes:
        if route.proof is None or route.is_right is None:
            verdicts[route.index] = None
            missing.append(route)
            continue
        if len(route.proof) != len(route.is_right):
            verdicts[route.index] = False
            out.error(
                "proofs",
                hx(route.selector),
                f"{route.where}: the proof has {len(route.proof)} sibling(s) but isRight has "
                f"{len(route.is_right)} flag(s); applyRoutes would revert with BadProof({hx(route.selector)}). "
                f"Next step: regenerate the proofs (`{WRITE_COMMAND}`)",
                route,
            )
            continue
        reached = fold_proof(route.leaf, route.proof, route.is_right, plan.node_encoding)
        verdicts[route.index] = reached == plan.root
        if reached != plan.root:
            out.error(
                "proofs",
                hx(route.selector),
                f"{route.where}: the proof does not verify: its leaf with {len(route.proof)} sibling(s) leads "
                f"to {hx(reached)}, not the plan root {hx(plan.root)}: it proves the route against another root, "
                f"and applyRoutes would revert with BadProof({hx(route.selector)}). Next step: regenerate the "
                f"proofs against this root (`{WRITE_COMMAND}`)",
                route,
            )
    if missing and len(missing) < len(plan.routes):
        listed = ", ".join(f"routes[{r.index}] {r.signature}" for r in missing)
        out.warning(
            "proofs",
            plan.label,
            f"{len(missing)} of {len(plan.routes)} routes carry no proof ({listed}): applyRoutes needs one "
            f"per route. Next step: add them (`{WRITE_COMMAND}`)",
        )
    return verdicts


# -- codehashes ------------------------------------------------------------------------------------


def _check_codehashes(plan: Plan, resolved: Mapping[str, Contract | str], out: _Findings) -> dict[int, bool | None]:
    verdicts: dict[int, bool | None] = {}
    wrong: dict[tuple[str, bytes, bytes], tuple[Contract, list[PlanRoute]]] = {}
    for route in plan.routes:
        facet = resolved[route.facet]
        if isinstance(facet, str):
            verdicts[route.index] = None
            out.error(
                "codehashes",
                route.facet,
                f"{route.where}: the codehash cannot be checked: {facet}. Next step: name a facet from the "
                "artifacts (bare name, or path/File.sol:Name when ambiguous)",
                route,
            )
            continue
        if facet.runtime.placeholder_count:
            verdicts[route.index] = None
            out.error(
                "codehashes",
                facet.fqn,
                f"{route.where}: {facet.fqn} has unlinked library placeholders, so its runtime codehash is "
                "not known before linking. Next step: link the libraries and rebuild the artifacts",
                route,
            )
            continue
        expected, how = deployed_codehash(facet, route.address)
        if expected is None:
            verdicts[route.index] = None
            out.warning(
                "codehashes",
                facet.fqn,
                f"{route.where}: {facet.fqn} has immutables, and its deployed code at {checksum(route.address)} "
                f"cannot be known from the artifact ({how}); the plan's codehash was not compared (PD-DSP's "
                "apply-proofs checks it against the deployed code)",
            )
            continue
        ok = route.codehash == expected
        verdicts[route.index] = ok
        if not ok:
            wrong.setdefault((route.facet, route.codehash, route.address), (facet, []))[1].append(route)
    for (name, given, address), (facet, routes) in wrong.items():
        expected, how = deployed_codehash(facet, address)
        listed = ", ".join(f"routes[{r.index}] {r.signature}" for r in routes)
        of = f"the runtime code of {facet.fqn}" + (f" as deployed at {checksum(address)} ({how})" if how else "")
        out.error(
            "codehashes",
            facet.fqn,
            f"{name} ({listed}): codehash {hx(given)} is {_what_hash(given, facet)}; expected {hx(expected or b'')}, "
            f"keccak256 of {of}. applyRoutes would revert with CodehashMismatch. "
            "Next step: hash the deployed (runtime) code, i.e. the artifact's deployedBytecode"
            + (" with its immutables filled in" if how else "")
            + f", or regenerate the plan (`{WRITE_COMMAND}`)",
            *routes,
        )
    return verdicts


def _what_hash(value: bytes, facet: Contract) -> str:
    if facet.immutable_references and value == runtime_codehash(facet):
        return "keccak256 of the artifact's runtime code with its immutables left as zeros, not as deployed"
    if value == bytes(32):
        return "a placeholder (all zero), not a codehash"
    if len(set(value)) <= 4:
        return "a placeholder (a repeated pattern), not a codehash"
    if value == EMPTY_CODEHASH:
        return "the hash of empty code (an address without code)"
    if not facet.creation.is_empty and not facet.creation.placeholder_count:
        if value == keccak256(facet.creation.to_bytes()):
            return "keccak256 of the creation code (bytecode), not of the runtime code"
    return "not the hash of the facet's runtime code"


# -- routes ----------------------------------------------------------------------------------------


def _check_routes(
    plan: Plan,
    *,
    artifacts: ArtifactSet,
    dispatcher: str,
    diamond_facets: Sequence[str],
    resolved: Mapping[str, Contract | str],
    out: _Findings,
) -> int:
    """Selector/signature/facet of each route, and exactly-once coverage; returns the leaf count."""
    own: dict[bytes, str] = {}
    try:
        own = function_selectors(artifacts.resolve(dispatcher))
    except LookupError:
        pass  # the session already refused an unknown [manifest] dispatcher

    def identity(name: str) -> str:  # "PingFacet" and "contracts/facets/PingFacet.sol:PingFacet" are one facet
        found = resolved.get(name)
        return found.fqn if isinstance(found, Contract) else name

    listed: list[str] = []
    for name in [*diamond_facets, *(f.name for f in plan.facets), *(r.facet for r in plan.routes)]:
        if identity(name) not in {identity(n) for n in listed}:
            listed.append(name)

    covered = {identity(name) for name in plan.covers}
    for route in plan.routes:
        if covered and identity(route.facet) not in covered:
            out.error(
                "routes",
                route.facet,
                f"{route.where}: facet {route.facet!r} is not one the plan says it covers "
                f"({', '.join(plan.covers)}). Next step: add it to the facets the plan covers, or drop the route",
                route,
            )
        computed = bytes.fromhex(text_selector(route.signature)[2:]) if route.signature else route.selector
        if computed != route.selector:  # a plan without signatures is judged by its facets' selectors alone
            out.error(
                "routes",
                hx(route.selector),
                f"routes[{route.index}]: selector {hx(route.selector)} does not match its signature "
                f"{route.signature!r}, whose selector is {hx(computed)}. Next step: correct the selector or the "
                f"signature (`{WRITE_COMMAND}` writes both from the ABI)",
                route,
            )
        if route.selector in own:
            out.error(
                "routes",
                hx(route.selector),
                f"{route.where}: the dispatcher {dispatcher} answers {hx(route.selector)} itself "
                f"({own[route.selector]}), so this route can never be reached. Next step: rename the facet "
                "function (see PF-SEL) and drop the route",
                route,
            )
        facet = resolved[route.facet]
        if isinstance(facet, str):
            out.error(
                "routes",
                route.facet,
                f"{route.where}: facet {route.facet!r} cannot be found: {facet}. Next step: name a facet from the "
                "artifacts",
                route,
            )
        elif route.selector not in function_selectors(facet):
            out.error(
                "routes",
                hx(route.selector),
                f"{route.where}: {facet.fqn} has no function with selector {hx(route.selector)}; calls routed "
                "there would fail. Next step: route it to the facet that implements it, or remove the route",
                route,
            )

    by_selector: dict[bytes, list[PlanRoute]] = {}
    for route in plan.routes:
        by_selector.setdefault(route.selector, []).append(route)
    expected: list[tuple[str, bytes, str]] = []
    for name in listed:
        listed_facet = resolved.get(name)
        if isinstance(listed_facet, Contract):
            expected.extend((name, sel, text) for sel, text in sorted(function_selectors(listed_facet).items()))
        elif listed_facet is not None and not any(identity(r.facet) == identity(name) for r in plan.routes):
            out.error(
                "routes",
                name,
                f"listed facet {name!r} cannot be checked: {listed_facet}. Next step: name a facet from the artifacts",
            )
    counts = f"the plan has {len(plan.routes)} routes for {len(expected)} facet selectors"

    for name, sel, text in expected:
        routed = by_selector.get(sel, [])
        if any(identity(r.facet) == identity(name) for r in routed):
            continue
        elsewhere = f" (its selector is routed to {', '.join(sorted({r.facet for r in routed}))})" if routed else ""
        out.error(
            "routes",
            name,
            f"{name}.{text} ({hx(sel)}) is not routed{elsewhere}: {counts}, and every function of every listed "
            f"facet needs exactly one route. Next step: add the route and rebuild the root and proofs "
            f"(`{WRITE_COMMAND}`)",
        )
    for sel, routed in sorted(by_selector.items()):
        if len(routed) < 2:
            continue
        where = ", ".join(f"routes[{r.index}] -> {r.facet}" for r in routed)
        out.error(
            "routes",
            hx(sel),
            f"selector {hx(sel)} {routed[0].signature} is routed {len(routed)} times ({where}): {counts}; a "
            "selector has one leaf, and applyRoutes would keep only the last route applied. Next step: remove "
            f"the extra route(s) and rebuild the root and proofs (`{WRITE_COMMAND}`)",
            *routed,
        )
    return len(expected)


# -- addresses -------------------------------------------------------------------------------------


def _check_addresses(plan: Plan, resolved: Mapping[str, Contract | str], out: _Findings) -> None:
    declared = {f.name: f for f in plan.facets}
    seen: dict[str, dict[bytes, list[PlanRoute]]] = {}
    for route in plan.routes:
        if route.address == _ZERO_ADDRESS:
            out.error(
                "addresses",
                route.facet,
                f"{route.where}: the facet address is the zero address. Next step: deploy (or predict) the "
                f"facet and write its address (`{WRITE_COMMAND}`)",
                route,
            )
            continue
        entry = declared.get(route.facet)
        if entry is not None and entry.address != route.address:
            out.error(
                "addresses",
                route.facet,
                f"{route.where}: address {checksum(route.address)} differs from the facets entry of "
                f"{route.facet}, {checksum(entry.address)}. Next step: use one address per facet",
                route,
            )
        seen.setdefault(route.facet, {}).setdefault(route.address, []).append(route)
    for name, addresses in seen.items():
        if len(addresses) > 1 and name not in declared:
            shown = ", ".join(
                f"{checksum(a)} (routes {', '.join(str(r.index) for r in rs)})" for a, rs in addresses.items()
            )
            out.error(
                "addresses",
                name,
                f"facet {name} is routed to {len(addresses)} addresses: {shown}. Next step: route every "
                "selector of a facet to its one deployment",
                *(r for rs in addresses.values() for r in rs),
            )

    factory = plan.factory
    if factory is not None and factory.deployer is not None and factory.nonce is not None:
        derived = create_address(factory.deployer, factory.nonce)
        if derived != factory.address:
            out.error(
                "addresses",
                checksum(factory.address),
                f"factory.address is {checksum(factory.address)}, but CREATE by {checksum(factory.deployer)} "
                f"at nonce {factory.nonce} gives {checksum(derived)}. Next step: record the real deployer and "
                f"nonce, or regenerate the plan (`{WRITE_COMMAND}`)",
            )
    for index, facet in enumerate(plan.facets):
        if facet.salt is None or facet.init_code_hash is None:
            continue
        where = f"facets[{index}] {facet.name}"
        if factory is None:
            out.error(
                "addresses",
                facet.name,
                f"{where} records a CREATE2 salt but the plan names no factory, so its address cannot be "
                "audited. Next step: add factory.address",
            )
            continue
        contract = resolved.get(facet.name)
        if isinstance(contract, Contract) and not contract.creation.placeholder_count:
            creation_hash = keccak256(contract.creation.to_bytes())
            if creation_hash != facet.init_code_hash:
                out.error(
                    "addresses",
                    facet.name,
                    f"{where}: initCodeHash {hx(facet.init_code_hash)} is not keccak256 of the creation code "
                    f"of {contract.fqn} ({hx(creation_hash)}); the factory would deploy other code at another "
                    f"address. Next step: regenerate the plan from these artifacts (`{WRITE_COMMAND}`)",
                )
        derived = create2_address(factory.address, facet.salt, facet.init_code_hash)
        if derived != facet.address:
            out.error(
                "addresses",
                facet.name,
                f"{where}: address {checksum(facet.address)} is not CREATE2(factory {checksum(factory.address)}, "
                f"salt {hx(facet.salt)}, initCodeHash {hx(facet.init_code_hash)}) = {checksum(derived)}. "
                f"Next step: correct the address or the salt (`{WRITE_COMMAND}`)",
            )
