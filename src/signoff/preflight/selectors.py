"""PF-SEL: no selector is claimed twice across a diamond.

A diamond is a dispatcher that answers its own external functions and routes every other
selector, through its fallback, to exactly one facet; optionally a router in front of it
answers its own functions and forwards the rest. Every function's selector is recomputed
from its canonical ABI signature (tuples expanded) and, where the artifact carries them,
cross-checked against the compiler's ``methodIdentifiers``. Across all facets at once
(N-way), three defects are reported, each naming every contract and signature involved:

* *collision*: facets whose different signatures hash to the same 4 bytes;
* *duplicate*: the same signature in more than one facet;
* *shadowed*: a facet selector the dispatcher or the router answers itself, so the facet
  function is unreachable; and a dispatcher function the router answers itself (``pause()`` on
  both), so the dispatcher's own is unreachable through the router, which is how users call it.

A known, intended shared selector is excused by a ``[[selectors.allow]]``
entry with a reason, shown in the evidence; an entry that excuses nothing is stale and
reported by :func:`stale_allow_entries`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from signoff.artifacts.abi import selector as selector_of
from signoff.artifacts.abi import signature
from signoff.findings import Finding

CHECK_ID = "PF-SEL"

Role = Literal["router", "dispatcher", "facet"]
Kind = Literal["collision", "duplicate", "shadowed"]

_ROLE_ORDER: dict[str, int] = {"router": 0, "dispatcher": 1, "facet": 2}
_REBUILD = (
    "Next step: rebuild the artifacts from clean (e.g. `npx hardhat clean && npx hardhat compile` "
    "or `forge build --force`) so the ABI and the compiled code come from the same build"
)


@dataclass(frozen=True)
class Member:
    """One contract of a diamond, as the check needs it (no artifact I/O left to do)."""

    role: Role
    contract: str  # fully qualified name, "contracts/facets/PingFacet.sol:PingFacet"
    abi: Sequence[Mapping[str, Any]]
    method_identifiers: Mapping[str, str] | None = None  # signature -> 8 hex, from the compiler


@dataclass(frozen=True)
class AllowRule:
    """A ``[[selectors.allow]]`` entry with its contract names resolved to fully qualified ones."""

    index: int  # position in the target file, for "[[selectors.allow]][index]"
    selector: str  # "0x" + 8 lower-case hex
    reason: str
    contracts: frozenset[str] = frozenset()  # empty: any contracts

    @property
    def label(self) -> str:
        return f"[[selectors.allow]][{self.index}] (selector = {self.selector}, reason: {self.reason!r})"

    def excuses(self, selector: str, involved: Iterable[str]) -> bool:
        return selector == self.selector and (not self.contracts or set(involved) <= self.contracts)


class Claim(NamedTuple):  # a tuple, not a dataclass: 10,000 of them are made in well under 0.1 s
    """One external function of one member: who answers which 4 bytes with which signature."""

    selector: str
    signature: str
    contract: str
    role: Role

    def describe(self) -> str:
        return f"{self.contract} {self.signature}"


class Route(NamedTuple):
    """One row of the routing table."""

    selector: str
    signature: str
    contract: str
    role: Role
    status: str  # router / dispatcher / routed / collision / duplicate / shadowed / allowed <kind>
    verdict: Literal["pass", "fail", "allowed"] = "pass"
    note: str = ""


@dataclass(frozen=True)
class DiamondResult:
    """Everything PF-SEL concluded about one diamond."""

    label: str
    routes: tuple[Route, ...]
    findings: tuple[Finding, ...]
    used_allow: frozenset[int]  # indices of the allow rules that excused something here
    facet_selectors: int

    def rows(self) -> list[dict[str, object]]:
        return [
            {
                "order": f"{self.label}|{r.selector}|{_ROLE_ORDER[r.role]}|{r.contract}",
                "diamond": self.label,
                "selector": r.selector,
                "signature": r.signature,
                "contract": r.contract,
                "role": r.role,
                "status": r.status.upper() if r.verdict == "fail" else r.status,  # findings stand out
                "note": r.note,
                "verdict": r.verdict,
            }
            for r in self.routes
        ]


@dataclass
class _Builder:
    label: str
    allow: Sequence[AllowRule]
    findings: list[Finding] = field(default_factory=list)
    used_allow: set[int] = field(default_factory=set)
    # (selector, facet contract) -> the defects it is part of: (kind, reason of the excuse or None)
    marks: dict[tuple[str, str], list[tuple[Kind, str | None]]] = field(default_factory=dict)

    def report(
        self,
        kind: Kind,
        selector: str,
        involved: Sequence[Claim],
        facets: Sequence[Claim],
        *,
        text: str,
        fix: str,
        allow_hint: bool = True,
    ) -> None:
        """Record a defect, or its excuse when an allow rule covers every contract involved. ``facets``
        are the claims whose rows in the routing table carry the defect."""
        rule = next((r for r in self.allow if r.excuses(selector, (c.contract for c in involved))), None)
        if rule is None:
            hint = ", or add a [[selectors.allow]] entry with a reason if this is intended" if allow_hint else ""
            self.findings.append(
                Finding(CHECK_ID, self.label, "error", f"{self.label}: {text}. Next step: {fix}{hint}")
            )
        else:
            self.used_allow.add(rule.index)
            self.findings.append(
                Finding(CHECK_ID, self.label, "info", f"{self.label}: {kind} allowed by {rule.label}: {text}")
            )
        for claim in facets:
            self.marks.setdefault((claim.selector, claim.contract), []).append(
                (kind, None if rule is None else rule.reason)
            )

    def facet_route(self, claim: Claim) -> Route:
        """The row of a claim that may carry defects (a facet's, or a dispatcher function the router shadows)."""
        marks = self.marks.get((claim.selector, claim.contract))
        if marks is None:
            return Route(claim.selector, claim.signature, claim.contract, "facet", "routed")
        failing = [kind for kind, reason in marks if reason is None]
        excused = [(kind, reason) for kind, reason in marks if reason is not None]
        words = [*failing, *(f"allowed {kind}" for kind, _ in excused)]
        verdict: Literal["pass", "fail", "allowed"] = "fail" if failing else ("allowed" if excused else "pass")
        note = "; ".join(f"{kind} allowed: {reason}" for kind, reason in excused)
        return Route(
            claim.selector, claim.signature, claim.contract, claim.role, " + ".join(words) or "routed", verdict, note
        )


def member_claims(member: Member) -> tuple[list[Claim], list[Finding]]:
    """The member's external functions with recomputed selectors, and any disagreement found
    with the compiler's ``methodIdentifiers`` or any malformed ABI entry."""
    texts: list[str] = []
    findings: list[Finding] = []
    seen: set[str] = set()
    for position, entry in enumerate(member.abi):
        if entry.get("type", "function") != "function":
            continue
        try:
            text = signature(entry)
        except (KeyError, TypeError, AttributeError) as exc:
            findings.append(
                Finding(
                    CHECK_ID,
                    member.contract,
                    "error",
                    f"{member.contract}: ABI entry #{position} is a function without a usable name or "
                    f"parameter types ({type(exc).__name__}: {exc}), so its selector cannot be computed. "
                    f"{_REBUILD}",
                )
            )
            continue
        if text not in seen:
            seen.add(text)
            texts.append(text)
    claims = [
        Claim(selector, text, member.contract, member.role)
        for selector, text in zip(_selectors(texts), texts, strict=True)
    ]
    if member.method_identifiers is not None:
        findings.extend(_cross_check(member.contract, member.method_identifiers, claims))
    return claims, findings


def _selectors(texts: Sequence[str]) -> list[str]:
    """:func:`signoff.artifacts.abi.selector` of each signature."""
    return [selector_of(text) for text in texts]


def _cross_check(contract: str, method_identifiers: Mapping[str, str], claims: Sequence[Claim]) -> list[Finding]:
    """Recomputed selectors against the compiler's own ``methodIdentifiers``."""
    findings = []
    for claim in claims:
        given = method_identifiers.get(claim.signature)
        if given is None:
            detail = (
                f"ABI function {claim.signature} (selector {claim.selector}) is missing from the artifact's "
                "methodIdentifiers"
            )
        elif given != claim.selector[2:] and _hex8(given) != claim.selector:
            detail = (
                f"ABI function {claim.signature} hashes to {claim.selector} (keccak256 of the canonical "
                f"signature), but the artifact's methodIdentifiers give {_hex8(given)}"
            )
        else:
            continue
        findings.append(_mismatch(contract, detail))
    if len(method_identifiers) != len(claims) or findings:
        in_abi = {claim.signature for claim in claims}
        for sig in sorted(set(method_identifiers) - in_abi):
            detail = f"methodIdentifiers list {sig} ({_hex8(method_identifiers[sig])}), which the ABI does not declare"
            findings.append(_mismatch(contract, detail))
    return findings


def _hex8(value: object) -> str:
    return "0x" + str(value).lower().removeprefix("0x")


def _mismatch(contract: str, detail: str) -> Finding:
    return Finding(
        CHECK_ID,
        contract,
        "error",
        f"{contract}: {detail}; the ABI and the compiled code disagree, so the routing table "
        f"cannot be trusted. {_REBUILD}",
    )


def check_diamond(
    label: str,
    dispatcher: Member,
    facets: Sequence[Member],
    router: Member | None = None,
    allow: Sequence[AllowRule] = (),
) -> DiamondResult:
    """Every selector of the diamond, N-way: the routing table and the findings."""
    builder = _Builder(label, allow)
    front: dict[str, list[Claim]] = {}
    for member in (router, dispatcher):
        if member is None:
            continue
        claims, problems = member_claims(member)
        builder.findings.extend(problems)
        for claim in claims:
            front.setdefault(claim.selector, []).append(claim)

    routed: dict[str, list[Claim]] = {}
    seen_facets: set[str] = set()
    for member in facets:
        if member.contract in seen_facets:
            builder.findings.append(
                Finding(
                    CHECK_ID,
                    label,
                    "error",
                    f"{label}: facet {member.contract} is listed more than once (expected each facet once). "
                    "Next step: remove the repeated name from the diamond's facets",
                )
            )
            continue
        seen_facets.add(member.contract)
        claims, problems = member_claims(member)
        builder.findings.extend(problems)
        if not claims and not problems:
            builder.findings.append(
                Finding(
                    CHECK_ID,
                    member.contract,
                    "error",
                    f"{label}: facet {member.contract} has no external function (expected at least one "
                    "selector to route), so it adds nothing to the diamond. Next step: check the facet "
                    "name in [[diamonds]] facets, or remove it",
                )
            )
        for claim in claims:
            routed.setdefault(claim.selector, []).append(claim)

    for selector in sorted(routed):
        claimants = routed[selector]
        if len(claimants) > 1:
            _shared(builder, selector, claimants)
        shadowers = front.get(selector)
        if shadowers:
            _shadowed(builder, selector, claimants, shadowers)

    if router is not None:
        for selector in sorted(front):
            pair = front[selector]
            if len(pair) == 2 and pair[0].role == "router" and pair[1].role == "dispatcher":
                _router_shadows_dispatcher(builder, selector, pair[0], pair[1])

    facet_count = sum(len(c) for c in routed.values())
    if not facets:
        builder.findings.append(
            Finding(
                CHECK_ID,
                label,
                "error",
                f"{label}: no facet declared (expected at least one), so there is no selector to route and "
                "PF-SEL would pass on nothing. Next step: list the diamond's facets in [[diamonds]] facets",
            )
        )
    routes = _routes(builder, front, routed)
    return DiamondResult(label, tuple(routes), tuple(builder.findings), frozenset(builder.used_allow), facet_count)


def _shared(builder: _Builder, selector: str, claimants: Sequence[Claim]) -> None:
    listed = ", ".join(c.describe() for c in claimants)
    signatures = sorted({c.signature for c in claimants})
    count = len({c.contract for c in claimants})
    if len(signatures) > 1:
        text = (
            f"selector collision {selector}: {len(signatures)} different signatures hash to the same 4 bytes "
            f"in {count} facets ({listed}); expected one facet per selector. The dispatcher can route "
            f"{selector} to only one of them, so the others are unreachable"
        )
        fix = "rename or change the parameters of all but one of these functions"
        builder.report("collision", selector, claimants, claimants, text=text, fix=fix)
    else:
        text = (
            f"duplicate selector {selector}: {signatures[0]} is declared by {count} facets ({listed}); "
            "expected one facet per selector. The dispatcher routes it to only one of them, so the other "
            "implementations are never called"
        )
        fix = "keep the function in one facet and remove it from the others"
        builder.report("duplicate", selector, claimants, claimants, text=text, fix=fix)


def _shadowed(builder: _Builder, selector: str, claimants: Sequence[Claim], shadowers: Sequence[Claim]) -> None:
    facets = ", ".join(f"facet {c.describe()}" for c in claimants)
    answers = " and ".join(
        f"the {s.role} {s.contract} answers it itself with {s.signature}"
        + (" before forwarding to the dispatcher" if s.role == "router" else " before its fallback routes anything")
        for s in shadowers
    )
    text = (
        f"shadowed selector {selector}: {facets} {'is' if len(claimants) == 1 else 'are'} unreachable, because "
        f"{answers}; expected every facet selector to reach the dispatcher's fallback"
    )
    fix = f"rename the facet function or remove it from the facet (or drop it from the {shadowers[0].role})"
    builder.report("shadowed", selector, [*claimants, *shadowers], claimants, text=text, fix=fix)


def _router_shadows_dispatcher(builder: _Builder, selector: str, router: Claim, dispatcher: Claim) -> None:
    text = (
        f"shadowed selector {selector}: the dispatcher {dispatcher.contract}'s own {dispatcher.signature} is "
        f"unreachable through the router {router.contract}, which answers {router.signature} itself instead of "
        "forwarding it; expected every dispatcher function to be reachable through the router"
    )
    builder.report(
        "shadowed",
        selector,
        [router, dispatcher],
        [dispatcher],
        text=text,
        fix=(
            "rename one of the two functions, or, when the dispatcher's is meant to be called at its own address "
            f'only, say so with a [[selectors.allow]] entry (selector = "{selector}", contracts = [router, '
            "dispatcher]) and its reason"
        ),
        allow_hint=False,
    )


def _routes(
    builder: _Builder, front: Mapping[str, Sequence[Claim]], routed: Mapping[str, Sequence[Claim]]
) -> list[Route]:
    """Rows by selector; under one selector the router, then the dispatcher, then facets in order."""
    routes = []
    for selector in sorted(front.keys() | routed.keys()):
        for claim in front.get(selector, ()):
            if (claim.selector, claim.contract) in builder.marks:  # the router shadows this dispatcher function
                routes.append(builder.facet_route(claim))
                continue
            note = "shadows " + ", ".join(c.describe() for c in routed[selector]) if selector in routed else ""
            routes.append(Route(selector, claim.signature, claim.contract, claim.role, claim.role, "pass", note))
        routes.extend(builder.facet_route(claim) for claim in routed.get(selector, ()))
    return routes


def stale_allow_entries(allow: Sequence[AllowRule], used: Iterable[int], target: str) -> list[Finding]:
    """An allow entry that excused nothing in any diamond is itself a finding: a stale exception."""
    spent = set(used)
    return [
        Finding(
            CHECK_ID,
            rule.label,
            "error",
            f"{target}: {rule.label}"
            + (f" for contracts {', '.join(sorted(rule.contracts))}" if rule.contracts else "")
            + " excuses nothing: no collision, duplicate or shadowed selector "
            f"{rule.selector} among those contracts in any [[diamonds]] (expected the exception to match a "
            "finding). The exception is stale. Next step: remove the entry, or correct its selector or "
            "contracts",
        )
        for rule in allow
        if rule.index not in spent
    ]
