"""PD-DSP declared routes: what a deployed dispatcher routes equals its ``[[diamonds]]`` entry.

For any dispatcher with a route view (EIP-2535's ``facetAddress(bytes4)``, ``routeOf`` and the other
lifecycle synonyms, or ``[manifest.interface] route_of``), every function of every listed facet
must route to that facet's deployed address, and, where the EIP-2535 loupe ``facets()`` answers,
no selector may route anywhere the entry does not list. A plain diamond (``diamondCut``, no Merkle
manifest) is judged this way; a manifest dispatcher too, beside PD-DSP's live-routes.
Read-only: it runs on live networks at the pinned block.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from signoff.artifacts.abi import selector as text_selector
from signoff.artifacts.abi import signature
from signoff.findings import Finding

CHECK_ID = "PD-DSP"
ZERO = "0x" + "00" * 20

# route view (role "route_of"): the facet answering a selector; loupe: (facet, selectors)[]
Read = Callable[[str, Sequence[Any]], Any]


@dataclass
class RoutesResult:
    dispatcher: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def row(self, selector: str, function: str, expected: str, observed: str, ok: bool) -> None:
        self.rows.append(
            {
                "dispatcher": self.dispatcher,
                "selector": selector,
                "function": function,
                "expected": expected,
                "observed": observed,
                "verdict": "pass" if ok else "fail",
            }
        )


def check_declared_routes(  # noqa: PLR0917 - the entry, where each facet is, how to read, and names for messages
    dispatcher: str,
    facets: Mapping[str, Sequence[Mapping[str, Any]]],
    addresses: Mapping[str, str],
    route_view: str,
    loupe: str | None,
    read: Read,
    name_of: Callable[[str], str],
) -> RoutesResult:
    """``facets``: each listed facet's routed functions (those the dispatcher does not answer itself)."""
    result = RoutesResult(dispatcher)
    declared: dict[str, str] = {}  # selector -> facet
    for facet, entries in facets.items():
        expected = addresses.get(facet)
        if expected is None:
            result.findings.append(
                Finding(
                    CHECK_ID,
                    facet,
                    "error",
                    f"{dispatcher}: [[diamonds]] lists facet {facet}, which is not deployed, so its functions "
                    "cannot be routed. Next step: deploy it, or drop it from the [[diamonds]] entry",
                )
            )
            continue
        for entry in entries:
            if entry.get("type", "function") != "function":
                continue
            text = signature(entry)
            chosen = text_selector(text)
            declared[chosen] = facet
            answer = read(route_view, [bytes.fromhex(chosen[2:])])
            observed = str(answer[0] if isinstance(answer, list | tuple) else answer)
            ok = observed.lower() == expected.lower()
            shown = "not routed" if observed.lower() == ZERO else name_of(observed)
            result.row(chosen, f"{facet}.{text}", f"{facet} ({expected})", shown, ok)
            if not ok:
                how = shown if shown == "not routed" else f"routed to {shown}"
                result.findings.append(
                    Finding(
                        CHECK_ID,
                        f"{facet}.{text}",
                        "error",
                        f"{dispatcher}: {facet}.{text} ({chosen}) is {how}, expected {facet} ({expected}) as "
                        f"[[diamonds]] lists it ({route_view}). Next step: route it "
                        "(diamondCut / the manifest), or correct the [[diamonds]] entry",
                    )
                )
    if loupe is not None:
        for facet_address, selectors in read(loupe, []):
            for raw in selectors:
                chosen = "0x" + bytes(raw).hex()
                if chosen in declared:
                    continue
                where = name_of(str(facet_address))
                result.row(chosen, "(not in [[diamonds]])", "no route", where, False)
                result.findings.append(
                    Finding(
                        CHECK_ID,
                        chosen,
                        "error",
                        f"{dispatcher}: selector {chosen} is routed to {where} ({loupe}), but no facet of its "
                        "[[diamonds]] entry has it: a route live outside what was reviewed. Next step: remove it "
                        "(diamondCut Remove), or list its facet in [[diamonds]]",
                    )
                )
    return result
