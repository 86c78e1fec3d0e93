"""The manifest lifecycle interface of a dispatcher: which of its functions commit, apply and
activate a Merkle manifest, which views tell its state, and which errors and events it uses.

Teams name these differently (``commitRoot``/``proposeRoot``, ``eta()`` or ``committedAt() +
activationDelay()``, ``facetAddress``/``routeOf``, ``BadProof``/``InvalidProof`` ...), so no check
assumes a name. The interface is detected from the dispatcher's ABI, by name among known
synonyms and, for the apply function, by the types of its arguments (``bytes4[]`` selectors,
``address[]`` facets, ``bytes32[]`` codehashes, ``bytes32[][]`` proofs, ``bool[][]`` sides or
``uint256[]`` side bitmasks, in any order). ``[manifest.interface]`` in signoff.toml maps any
role to a full signature and wins over detection. A role that is needed and neither detected nor
mapped makes the check not applicable, naming the key that maps it; an optional role (an event,
an error, the loupe) that is missing is reported as not checked.

Pure: reads ABIs and the target's table; nothing here touches a chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from signoff.artifacts.abi import signature as abi_signature
from signoff.errors import ConfigError

# role -> (what it is, names tried in this order)
FUNCTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "commit": (
        "the function that commits a root for an epoch",
        ("commitRoot", "commitManifest", "proposeRoot", "queueRoot", "commit", "propose"),
    ),
    "apply": (
        "the function that applies proven routes",
        ("applyRoutes", "installRoutes", "applyManifest", "stageRoutes", "apply"),
    ),
    "activate": (
        "the function that activates the committed root",
        ("activateCommittedRoot", "activateRoot", "activate", "executeRoot", "enactRoot"),
    ),
    "active_epoch": ("the view of the active epoch", ("activeEpoch", "currentEpoch")),
    "pending_epoch": ("the view of the pending epoch", ("pendingEpoch", "queuedEpoch", "nextEpoch")),
    "active_root": ("the view of the active root", ("activeRoot", "currentRoot")),
    "pending_root": ("the view of the pending root", ("pendingRoot", "queuedRoot", "committedRoot")),
    "eta": ("the view of the earliest activation time", ("eta", "readyAt", "activationTime", "activatesAt")),
    "committed_at": ("the view of the commit time", ("committedAt", "proposedAt", "queuedAt", "commitTime")),
    "activation_delay": ("the view of the activation delay", ("activationDelay", "delay", "timelockDelay")),
    "route_of": (
        "the view of the facet that answers a selector",
        ("facetAddress", "routeOf", "facetOf", "getRoute", "route"),
    ),
    "loupe": ("the EIP-2535 loupe facets()", ("facets",)),
}
ERRORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "bad_epoch": ("the error for a wrong epoch", ("BadEpoch", "WrongEpoch", "InvalidEpoch")),
    "bad_proof": ("the error for a proof that does not lead to the root", ("BadProof", "InvalidProof", "ProofInvalid")),
    "codehash_mismatch": (
        "the error for a facet whose code is not the committed code",
        ("CodehashMismatch", "CodeMismatch", "CodeHashMismatch"),
    ),
    "not_ready": (
        "the error for an activation before the delay",
        ("ActivationNotReady", "TooEarly", "NotReady", "Timelocked"),
    ),
    "unknown_selector": (
        "the error for a selector no route answers",
        ("UnknownSelector", "NoRoute", "FunctionNotFound", "SelectorNotFound"),
    ),
}
EVENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "committed": (
        "the event of a commit (root and epoch indexed)",
        ("Committed", "RootCommitted", "RootProposed", "Proposed"),
    ),
    "applied": ("the event of one apply call (root indexed, route count)", ("RoutesApplied", "ManifestApplied")),
    "routed": ("the event of one applied route", ("SelectorRouted", "RouteInstalled", "RouteApplied", "RouteStaged")),
    "activated": ("the event of an activation (root and epoch indexed)", ("Activated", "RootActivated")),
}
REQUIRED = ("commit", "apply", "activate", "active_epoch", "active_root", "route_of")
APPLY_ARGUMENTS: dict[str, str] = {  # apply argument type -> its meaning
    "bytes4[]": "selectors",
    "address[]": "facets",
    "bytes32[]": "codehashes",
    "bytes32[][]": "proofs",
    "bool[][]": "is_right",
    "uint256[]": "positions",
}
KEYS = (*FUNCTIONS, *ERRORS, *EVENTS)
TABLE = "[manifest.interface]"


@dataclass(frozen=True)
class Lifecycle:
    """The roles of one dispatcher's ABI, each a full signature (``None``: not present)."""

    dispatcher: str
    functions: Mapping[str, str | None]
    errors: Mapping[str, str | None]
    events: Mapping[str, str | None]
    apply_arguments: tuple[str, ...]  # the apply function's arguments, by meaning, in order
    commit_arguments: tuple[str, ...]  # ("root", "epoch") in the commit function's order
    mapped: frozenset[str] = field(default_factory=frozenset)  # roles taken from [manifest.interface]

    def function(self, role: str) -> str | None:
        return self.functions.get(role)

    def error(self, role: str) -> str | None:
        return self.errors.get(role)

    def event(self, role: str) -> str | None:
        return self.events.get(role)

    def name(self, role: str) -> str:
        """The bare name of a role's function, for messages (the role itself when absent)."""
        found = self.functions.get(role) or self.errors.get(role) or self.events.get(role)
        return found.split("(")[0] if found else role

    @property
    def readiness(self) -> str:
        """How the earliest activation time is read: ``eta()`` or ``committedAt() + activationDelay()``."""
        if self.function("eta"):
            return f"{self.name('eta')}()"
        return f"{self.name('committed_at')}() + {self.name('activation_delay')}()"

    def missing(self) -> list[str]:
        """Needed roles that were neither detected nor mapped, as "role (what it is)"."""
        absent = [role for role in REQUIRED if not self.functions.get(role)]
        if not self.functions.get("eta") and not (
            self.functions.get("committed_at") and self.functions.get("activation_delay")
        ):
            absent.append("eta")
        if not self.functions.get("activation_delay"):
            absent.append("activation_delay")
        if not self.functions.get("pending_root") and not self.functions.get("pending_epoch"):
            absent.append("pending_root")
        return absent

    def not_applicable(self) -> str | None:
        """Why a lifecycle check cannot run on this dispatcher, with the keys that map it; else None."""
        absent = self.missing()
        if not absent:
            return None
        described = "; ".join(
            f"{FUNCTIONS[role][0]} ({TABLE} {role}, tried {', '.join(FUNCTIONS[role][1])})" for role in absent
        )
        example = f'{absent[0]} = "name(argument types)"'
        return f"{self.dispatcher}'s ABI lacks {described}. Map it with {TABLE} in signoff.toml, e.g. {example}"

    def rows(self) -> list[dict[str, str]]:
        """The interface as the evidence shows it: role, signature, and where it came from."""
        rows = []
        for kind, table in (("function", FUNCTIONS), ("error", ERRORS), ("event", EVENTS)):
            for role, (what, _) in table.items():
                found = (self.functions if kind == "function" else self.errors if kind == "error" else self.events).get(
                    role
                )
                rows.append(
                    {
                        "role": role,
                        "kind": kind,
                        "what": what,
                        "signature": found or "none",
                        "from": TABLE if role in self.mapped else ("detected" if found else "not present"),
                    }
                )
        return rows


def detect(dispatcher: str, abi: Sequence[Mapping[str, Any]], mapping: Mapping[str, str] | None = None) -> Lifecycle:
    """The lifecycle of ``abi``: ``mapping`` (``[manifest.interface]``, its keys validated when the
    target loads) first, then detection. A mapped signature the ABI does not have is a
    :class:`ConfigError` (a typo must not silently fall back to detection)."""
    mapping = dict(mapping or {})
    by_kind: dict[str, dict[str, Mapping[str, Any]]] = {"function": {}, "error": {}, "event": {}}
    for entry in abi:
        kind = entry.get("type", "function")
        if kind in by_kind:
            try:
                by_kind[kind][abi_signature(entry)] = entry
            except (KeyError, TypeError, AttributeError):
                continue

    def pick(kind: str, role: str, names: Sequence[str], accept: Any = None) -> str | None:
        if role in mapping:
            wanted = mapping[role].replace(" ", "")
            if wanted not in by_kind[kind]:
                present = ", ".join(sorted(by_kind[kind])[:20]) or "none"
                raise ConfigError(
                    f"{TABLE} {role} = {mapping[role]!r}: {dispatcher} has no {kind} with that signature "
                    f"(its {kind}s: {present}). Next step: write the full signature as the ABI has it, e.g. "
                    '"commitRoot(bytes32,uint64)"'
                )
            return wanted
        for name in names:
            for text, entry in by_kind[kind].items():
                if entry.get("name") == name and (accept is None or accept(entry)):
                    return text
        return None

    functions = {
        role: pick("function", role, names, _FUNCTION_SHAPES.get(role)) for role, (_, names) in FUNCTIONS.items()
    }
    errors = {role: pick("error", role, names) for role, (_, names) in ERRORS.items()}
    events = {role: pick("event", role, names) for role, (_, names) in EVENTS.items()}
    apply_arguments: tuple[str, ...] = ()
    if functions["apply"]:
        apply_arguments = _apply_arguments(by_kind["function"][functions["apply"]], functions["apply"])
    commit_arguments: tuple[str, ...] = ("root", "epoch")
    if functions["commit"]:
        types = [str(i.get("type")) for i in by_kind["function"][functions["commit"]].get("inputs", [])]
        if types and types[0].startswith("uint"):
            commit_arguments = ("epoch", "root")
    return Lifecycle(dispatcher, functions, errors, events, apply_arguments, commit_arguments, frozenset(mapping))


def _inputs(*types: str) -> Any:
    return lambda entry: [str(i.get("type")) for i in entry.get("inputs", [])] == list(types)


def _no_inputs_returning(prefix: str) -> Any:
    def accept(entry: Mapping[str, Any]) -> bool:
        outputs = entry.get("outputs") or []
        return not entry.get("inputs") and len(outputs) >= 1 and str(outputs[0].get("type", "")).startswith(prefix)

    return accept


def _commit_shape(entry: Mapping[str, Any]) -> bool:
    types = sorted(str(i.get("type")) for i in entry.get("inputs", []))
    return len(types) == 2 and types[0] == "bytes32" and types[1].startswith("uint")


def _apply_shape(entry: Mapping[str, Any]) -> bool:
    types = [str(i.get("type")) for i in entry.get("inputs", [])]
    return "bytes4[]" in types and "bytes32[][]" in types


def _route_shape(entry: Mapping[str, Any]) -> bool:
    outputs = entry.get("outputs") or []
    return _inputs("bytes4")(entry) and bool(outputs) and outputs[0].get("type") == "address"


_FUNCTION_SHAPES: dict[str, Any] = {
    "commit": _commit_shape,
    "apply": _apply_shape,
    "activate": _inputs(),
    "active_epoch": _no_inputs_returning("uint"),
    "pending_epoch": _no_inputs_returning("uint"),
    "active_root": _no_inputs_returning("bytes32"),
    "pending_root": _no_inputs_returning("bytes32"),
    "eta": _no_inputs_returning("uint"),
    "committed_at": _no_inputs_returning("uint"),
    "activation_delay": _no_inputs_returning("uint"),
    "route_of": _route_shape,
    "loupe": _inputs(),
}


def _apply_arguments(entry: Mapping[str, Any], signature: str) -> tuple[str, ...]:
    meanings = []
    for position, item in enumerate(entry.get("inputs", [])):
        meaning = APPLY_ARGUMENTS.get(str(item.get("type")))
        if meaning is None or meaning in meanings:
            raise ConfigError(
                f"the apply function {signature} has argument {position} of type {item.get('type')}, which signoff "
                f"cannot fill: it knows {', '.join(f'{t} ({m})' for t, m in APPLY_ARGUMENTS.items())}, each once. "
                f"Next step: map another function with {TABLE} apply, or tell us the shape"
            )
        meanings.append(meaning)
    needed = {"selectors", "facets", "codehashes", "proofs"}
    if not needed <= set(meanings) or not ({"is_right", "positions"} & set(meanings)):
        raise ConfigError(
            f"the apply function {signature} lacks {', '.join(sorted(needed - set(meanings))) or 'the proof sides'} "
            f"(it takes {', '.join(meanings)}). Next step: map the function that applies proven routes with "
            f"{TABLE} apply"
        )
    return tuple(meanings)


def positions(is_right: Sequence[bool]) -> int:
    """The proof sides as a bitmask: bit i set when the node at level i is the left child."""
    return sum(1 << level for level, right in enumerate(is_right) if right)


def apply_values(lifecycle: Lifecycle, routes: Sequence[Any], address_of: Any) -> list[Any]:
    """The apply function's arguments for ``routes`` (PlanRoute-like), in the function's order."""
    values: dict[str, Any] = {
        "selectors": [r.selector for r in routes],
        "facets": [address_of(r.address) for r in routes],
        "codehashes": [r.codehash for r in routes],
        "proofs": [list(r.proof or ()) for r in routes],
        "is_right": [list(r.is_right or ()) for r in routes],
        "positions": [positions(r.is_right or ()) for r in routes],
    }
    return [values[meaning] for meaning in lifecycle.apply_arguments]


def commit_values(lifecycle: Lifecycle, root: bytes, epoch: int) -> list[Any]:
    return [root if meaning == "root" else epoch for meaning in lifecycle.commit_arguments]
