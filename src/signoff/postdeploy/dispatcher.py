"""PD-DSP: the deployed dispatcher keeps its manifest lifecycle, read and drilled.

The dispatcher's functions, views, errors and events are taken from its lifecycle interface
(signoff.deploy.lifecycle: detected from the ABI, or mapped in ``[manifest.interface]``); the
names below are the reference's.

Five aspects, each a verdict of its own: ``live-routes`` reads the routes that answer
(``facetAddress`` for every selector of the plan, the ``facets()`` loupe, ``activeRoot``, any
pending root) and compares them with the ``[manifest] plan``; it is read-only and also runs on
a live network. The four drills send transactions as governance on a writable chain (the
rehearsal chain or a fork, inside a snapshot): ``commit-epoch`` (only epoch active + 1 is
accepted), ``apply-proofs`` (a bad proof reverts ``BadProof``, a proven route whose codehash is
not the facet's reverts ``CodehashMismatch``), ``activation-delay`` (``ActivationNotReady`` until
eta, then ``Activated``) and ``no-early-routes`` (a newly applied route does not answer before
activation, and does after). Judging is pure; the functions taking an ``Operator`` are the only
ones that touch a chain, and web3 is imported lazily so collection stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from signoff.artifacts.abi import encode_call, split_types
from signoff.artifacts.abi import selector as text_selector
from signoff.artifacts.abi import signature as abi_signature
from signoff.artifacts.hashing import keccak256
from signoff.deploy.lifecycle import Lifecycle, apply_values, commit_values, detect
from signoff.deploy.manifest import Plan, PlanRoute, assemble, checksum, hx
from signoff.errors import ChainError, ConfigError, SignoffError
from signoff.findings import Finding, Severity

if TYPE_CHECKING:
    from web3 import Web3

    from signoff.deploy.rehearsal import Operator, Sent
    from signoff.deploy.system import DeployedSystem
    from signoff.session import SessionSettings

CHECK_ID = "PD-DSP"
ASPECTS = ("live-routes", "commit-epoch", "apply-proofs", "activation-delay", "no-early-routes")
DRILLS = frozenset(ASPECTS[1:])


# Not any facet's code: the codehash the apply-proofs drill pins on a real facet's address.
WRONG_CODEHASH = keccak256(b"signoff PD-DSP: not the facet's runtime code")
# When no deployed contract offers an unrouted argument-free view, this selector is routed instead.
SYNTHETIC_PROBE = "signoffProbe()"


# -- pure helpers ------------------------------------------------------------------------------------


def error_args(data: bytes, signature: str) -> tuple[Any, ...] | None:
    """The decoded arguments when ``data`` is the custom error ``signature``, else None."""
    from eth_abi.abi import decode

    if data[:4] != keccak256(signature.encode())[:4]:
        return None
    types = split_types(signature[signature.index("(") + 1 : -1])
    try:
        return tuple(decode(types, data[4:]))
    except Exception:  # eth_abi raises several unrelated types for short or malformed data
        return None


def encode_error(signature: str, *args: Any) -> bytes:
    """``signature(args)`` as revert data (what a correct dispatcher reverts with)."""
    from eth_abi.abi import encode

    types = split_types(signature[signature.index("(") + 1 : -1])
    return keccak256(signature.encode())[:4] + bytes(encode(types, list(args)))


def event_topic(signature: str) -> bytes:
    return keccak256(signature.encode())


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    text = str(value)
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def events(logs: Sequence[Any], address: str, signature: str) -> list[Any]:
    """Receipt logs of ``address`` whose first topic is the event ``signature``."""
    topic = event_topic(signature)
    return [
        log
        for log in logs
        if str(log["address"]).lower() == address.lower() and log["topics"] and _bytes(log["topics"][0]) == topic
    ]


def topic_word(log: Any, index: int) -> bytes:
    """Indexed argument ``index`` (1-based topic) of a log, as 32 bytes."""
    return _bytes(log["topics"][index]).rjust(32, b"\0")


def data_word(log: Any, index: int) -> int:
    """Non-indexed word ``index`` of a log's data, as an integer."""
    data = _bytes(log["data"])
    return int.from_bytes(data[32 * index : 32 * (index + 1)], "big")


def tampered(proof: Sequence[bytes]) -> tuple[bytes, ...]:
    """``proof`` with one bit of its first sibling flipped: the same shape, a different root."""
    if not proof:
        return (keccak256(b"signoff PD-DSP: a sibling that belongs to no tree"),)
    first = proof[0]
    return (first[:-1] + bytes([first[-1] ^ 1]), *proof[1:])


def drill_manifest(plan: Plan, epoch: int, routes: Sequence[PlanRoute]) -> Plan:
    """``routes`` as the manifest of ``epoch`` for ``plan``'s dispatcher, with a fresh root and proofs."""
    fresh = [replace(route, index=i, proof=None, is_right=None) for i, route in enumerate(routes)]
    return assemble(
        f"{plan.label} (drill, epoch {epoch})",
        plan.dispatcher,
        epoch,
        fresh,
        leaf_encoding=plan.leaf_encoding,
        node_encoding=plan.node_encoding,
    )


def next_manifest(plan: Plan, epoch: int) -> Plan:
    """The plan's own routes re-committed as the manifest of ``epoch`` (same root as the plan)."""
    return drill_manifest(plan, epoch, plan.routes)


# -- results -----------------------------------------------------------------------------------------


@dataclass
class AspectResult:
    """Rows and findings of one aspect; each :meth:`expect` is one row of the PD-DSP table."""

    aspect: str
    subject: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def expect(  # noqa: PLR0917 - one row: what, expected, observed, verdict, and the finding if it fails
        self, what: str, expected: str, observed: str, ok: bool, message: str = "", severity: Severity = "error"
    ) -> bool:
        verdict = "pass" if ok else ("fail" if severity == "error" else "warn")
        # Rows of all aspects share one table sorted by "order": keep each aspect's rows together.
        order = (ASPECTS.index(self.aspect) + 1) * 100 + len(self.rows) + 1
        self.rows.append(
            {
                "order": order,
                "aspect": f"{self.aspect}: {what}",
                "expected": expected,
                "observed": observed,
                "verdict": verdict,
            }
        )
        if not ok and message:
            self.findings.append(Finding(CHECK_ID, self.subject, severity, message))
        return ok

    def not_checked(self, what: str, expected: str, why: str) -> None:
        """A row the dispatcher's interface does not allow to check (an event or error it does not have)."""
        order = (ASPECTS.index(self.aspect) + 1) * 100 + len(self.rows) + 1
        self.rows.append(
            {
                "order": order,
                "aspect": f"{self.aspect}: {what}",
                "expected": expected,
                "observed": why,
                "verdict": "not checked",
            }
        )

    def fail(self, message: str) -> None:
        """A drill step that must work to go on did not (the rest of the aspect cannot run)."""
        self.findings.append(Finding(CHECK_ID, self.subject, "error", message))


# -- the dispatcher under check ------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatcherContext:
    """The deployed dispatcher, its ABI, the plan it must serve and who governs it."""

    name: str
    address: str
    abi: Sequence[Mapping[str, Any]]
    plan: Plan
    governance: str
    lifecycle: Lifecycle
    # web3 contract objects per chain: building one from the ABI costs more than the call itself.
    contracts: dict[int, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.address})"

    def calldata(self, function: str, *args: Any) -> bytes:
        return encode_call(self.abi, function, args, f"{self.name}.{function}")

    def fn(self, role: str) -> str:
        """The full signature of a lifecycle role (its absence was ruled out by load_context)."""
        found = self.lifecycle.function(role)
        assert found is not None, role
        return found

    def named(self, role: str) -> str:
        """A role as messages show it: ``commitRoot``."""
        return self.lifecycle.name(role)

    def own_selectors(self) -> set[bytes]:
        """Selectors the dispatcher answers itself: calls to them never reach a route."""
        return {bytes.fromhex(text_selector(abi_signature(e))[2:]) for e in self.abi if e.get("type") == "function"}


@dataclass(frozen=True)
class DispatcherState:
    active_epoch: int
    pending_epoch: int
    eta: int  # earliest activation of the pending root (eta(), or committedAt() + activationDelay()); 0: none
    active_root: bytes
    pending_root: bytes
    delay: int
    pending: bool  # a root is committed and not yet activated


def view(w3: Web3, ctx: DispatcherContext, function: str, *args: Any) -> Any:
    """A view of the dispatcher at the chain's default block (the pinned one on a live network)."""
    from eth_utils.address import to_checksum_address

    contract = ctx.contracts.get(id(w3))
    if contract is None:
        contract = ctx.contracts[id(w3)] = w3.eth.contract(address=to_checksum_address(ctx.address), abi=list(ctx.abi))
    try:
        if "(" in function:
            return contract.get_function_by_signature(function)(*args).call()
        return contract.get_function_by_name(function)(*args).call()
    except Exception as exc:  # a missing view or a revert: the dispatcher is not the expected shape
        shown = function if "(" in function else f"{function}()"
        raise ChainError(
            f"{ctx.label}.{shown} could not be read: {exc}. Next step: check that [manifest] dispatcher names the "
            "deployed dispatcher and that [manifest.interface] maps its views"
        ) from None


def role(w3: Web3, ctx: DispatcherContext, name: str, *args: Any) -> Any:
    """A lifecycle view by role (``active_epoch``, ``route_of`` ...)."""
    return view(w3, ctx, ctx.fn(name), *args)


def read_state(w3: Web3, ctx: DispatcherContext) -> DispatcherState:
    lc = ctx.lifecycle
    pending_epoch = int(role(w3, ctx, "pending_epoch")) if lc.function("pending_epoch") else 0
    pending_root = bytes(role(w3, ctx, "pending_root")) if lc.function("pending_root") else bytes(32)
    pending = any(pending_root) if lc.function("pending_root") else pending_epoch != 0
    delay = int(role(w3, ctx, "activation_delay"))
    if lc.function("eta"):
        eta = int(role(w3, ctx, "eta"))
    else:
        committed_at = int(role(w3, ctx, "committed_at"))
        eta = committed_at + delay if committed_at else 0
    return DispatcherState(
        active_epoch=int(role(w3, ctx, "active_epoch")),
        pending_epoch=pending_epoch,
        eta=eta if pending else 0,
        active_root=bytes(role(w3, ctx, "active_root")),
        pending_root=pending_root,
        delay=delay,
        pending=pending,
    )


def facet_of(w3: Web3, ctx: DispatcherContext, selector: bytes) -> str:
    """The facet that answers ``selector`` now (``route_of`` may return more than the address)."""
    answer = role(w3, ctx, "route_of", selector)
    return str(answer[0] if isinstance(answer, list | tuple) else answer)


def codehash_at(w3: Web3, address: str) -> bytes:
    """keccak256 of the code at ``address`` (what ``address.codehash`` is for a contract)."""
    from eth_utils.address import to_checksum_address

    return keccak256(bytes(w3.eth.get_code(to_checksum_address(address))))


def _latest_timestamp(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


# -- live routes (read-only) ----------------------------------------------------------------------------


def check_live_routes(w3: Web3, ctx: DispatcherContext, system: DeployedSystem) -> AspectResult:
    """The routes that answer equal the plan; the active root is the plan's; nothing pending."""
    result = AspectResult("live-routes", ctx.label)
    plan = ctx.plan
    state = read_state(w3, ctx)
    result.data["state"] = _state_data(state)
    result.data["interface"] = ctx.lifecycle.rows()
    active_root = ctx.named("active_root")
    result.expect(
        active_root,
        f"{hx(plan.root)} (root of {plan.label})",
        f"{hx(state.active_root)} (active epoch {state.active_epoch})",
        state.active_root == plan.root,
        f"{ctx.label} {active_root}() is {hx(state.active_root)} at epoch {state.active_epoch}, but {plan.label} has "
        f"root {hx(plan.root)}: the dispatcher serves another manifest than the one signed off. Next step: "
        f"{ctx.named('commit')}, {ctx.named('apply')} and {ctx.named('activate')} the plan's root, or point "
        "[manifest] plan at the manifest that is live",
    )
    for route in plan.routes:
        want = checksum(route.address)
        got = facet_of(w3, ctx, route.selector)
        answering = system.name_of(got) if int(got, 16) else "no facet"
        result.expect(
            f"{ctx.named('route_of')}({hx(route.selector)}) {route.signature}",
            f"{route.facet} ({want})",
            system.name_of(got) if int(got, 16) else "no route (0x0)",
            got.lower() == want.lower(),
            f"{route.signature} ({hx(route.selector)}) is answered by {answering} "
            f"through {ctx.label}, but {plan.label} routes it to {route.facet} at {want}. Next step: apply the plan's "
            f"routes ({ctx.named('apply')}) and activate them, or correct the plan",
        )
    if ctx.lifecycle.function("loupe"):
        _check_extra_routes(w3, ctx, system, result)
    else:
        result.not_checked(
            "routes beyond the plan",
            "only the plan's selectors answer",
            f"not checked: {ctx.name} has no EIP-2535 loupe facets(), so the selectors it answers cannot be listed "
            '(map one with [manifest.interface] loupe = "facets()")',
        )
    pending = state.pending
    result.expect(
        "pending manifest",
        "none",
        f"epoch {state.pending_epoch}, root {hx(state.pending_root)}, eta {state.eta}" if pending else "none",
        not pending,
        f"{ctx.label} has a pending manifest: epoch {state.pending_epoch}, root {hx(state.pending_root)}, activable "
        f"from timestamp {state.eta}; it will replace the signed-off routes when activated. Next step: sign off the "
        "pending manifest too, or make sure it is the intended upgrade",
        severity="warning",
    )
    return result


def _check_extra_routes(w3: Web3, ctx: DispatcherContext, system: DeployedSystem, result: AspectResult) -> None:
    """Every selector the loupe says answers must be in the plan (a route live outside the manifest)."""
    planned = {route.selector for route in ctx.plan.routes}
    answering: dict[bytes, str] = {}
    for facet, selectors in role(w3, ctx, "loupe"):
        for selector in selectors:
            answering[bytes(selector)] = str(facet)
    extra = {s: f for s, f in answering.items() if s not in planned}
    shown = ", ".join(f"{hx(s)} -> {system.name_of(f)}" for s, f in sorted(extra.items())) or "none"
    result.expect(
        "routes beyond the plan (facets() loupe)",
        f"only the plan's {len(planned)} selectors",
        f"{len(answering)} answering; beyond the plan: {shown}",
        not extra,
        f"{ctx.label} answers {len(extra)} selector(s) that {ctx.plan.label} does not route: {shown}. Next step: find "
        "out how they were applied, and commit a manifest without them (or add them to the plan)",
    )


def _state_data(state: DispatcherState) -> dict[str, Any]:
    return {
        "activeEpoch": state.active_epoch,
        "pendingEpoch": state.pending_epoch,
        "eta": state.eta,
        "activeRoot": hx(state.active_root),
        "pendingRoot": hx(state.pending_root),
        "activationDelay": state.delay,
    }


# -- sending ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """A transaction as it went: mined (``sent``) or reverted (``data``, decoded in ``reason``)."""

    sent: Sent | None
    data: bytes
    reason: str

    @property
    def ok(self) -> bool:
        return self.sent is not None

    def shown(self) -> str:
        return "succeeded" if self.ok else f"reverted {self.reason}"


def attempt(op: Operator, sender: str, ctx: DispatcherContext, data: bytes, what: str) -> Attempt:
    """Send ``data`` to the dispatcher as ``sender``; a revert is an outcome, not an error."""
    from signoff.deploy.rehearsal import Reverted, decode_revert

    try:
        return Attempt(op.send(sender, ctx.address, data, what=f"{ctx.name}.{what}"), b"", "")
    except Reverted as exc:
        reason = decode_revert(exc.data, [ctx.abi, *op.abis]) if exc.data else str(exc)
        return Attempt(None, exc.data, reason)


def commit(op: Operator, sender: str, ctx: DispatcherContext, root: bytes, epoch: int) -> Attempt:
    data = ctx.calldata(ctx.fn("commit"), *commit_values(ctx.lifecycle, root, epoch))
    return attempt(op, sender, ctx, data, f"{ctx.named('commit')}(epoch {epoch})")


def apply_routes(op: Operator, sender: str, ctx: DispatcherContext, routes: Sequence[PlanRoute]) -> Attempt:
    data = ctx.calldata(ctx.fn("apply"), *apply_values(ctx.lifecycle, routes, checksum))
    return attempt(op, sender, ctx, data, f"{ctx.named('apply')}({len(routes)} routes)")


def activate(op: Operator, sender: str, ctx: DispatcherContext) -> Attempt:
    return attempt(op, sender, ctx, ctx.calldata(ctx.fn("activate")), f"{ctx.named('activate')}()")


def reverted_with(
    ctx: DispatcherContext, tried: Attempt | CallOutcome, error_role: str, *args: Any
) -> tuple[bool, str]:
    """Whether ``tried`` reverted with the dispatcher's error for ``error_role`` and ``args`` (``None``
    in ``args`` matches any value), and that expectation as text. A dispatcher without such an error
    (neither detected nor mapped) is held only to reverting."""
    signature = ctx.lifecycle.error(error_role)
    data = tried.data
    failed = (tried.sent is None) if isinstance(tried, Attempt) else (tried.returned is None)
    if signature is None:
        return failed, f"reverts (no {error_role.replace('_', ' ')} error in the ABI: any revert)"
    shown = ", ".join("..." if a is None else (hx(a) if isinstance(a, bytes) else str(a)) for a in args)
    want = f"reverts {signature.split('(')[0]}({shown})"
    got = error_args(data, signature) if failed else None
    ok = got is not None and len(got) >= len(args) and all(a is None or a == g for a, g in zip(args, got, strict=False))
    return ok, want


def travel_to(op: Operator, timestamp: int) -> None:
    """Move the chain's clock so the next transaction runs at ``timestamp`` or later."""
    now = _latest_timestamp(op.w3)
    op.chain.time_travel(max(timestamp - now, 0) + 1)


@dataclass(frozen=True)
class CallOutcome:
    """A call through the dispatcher: answered (returned or reverted from a facet) or not routed."""

    returned: bytes | None
    data: bytes
    reason: str

    def unknown(self, selector: bytes, error: str | None) -> bool:
        """Not routed: the dispatcher's unknown-selector error (any revert without data when it has none)."""
        if self.returned is not None:
            return False
        if error is None:
            return not self.data
        return error_args(self.data, error) == (selector,)

    def shown(self) -> str:
        if self.returned is not None:
            return f"answered, returned 0x{self.returned.hex()[:72]}"
        return f"reverted {self.reason}"


def call_through(op: Operator, ctx: DispatcherContext, selector: bytes, caller: str) -> CallOutcome:
    from signoff.deploy.rehearsal import Reverted, decode_revert

    try:
        return CallOutcome(op.simulate(caller, ctx.address, selector), b"", "")
    except Reverted as exc:
        reason = decode_revert(exc.data, [ctx.abi, *op.abis]) if exc.data else str(exc)
        return CallOutcome(None, exc.data, reason)


# -- the drills --------------------------------------------------------------------------------------


def drill_commit_epoch(op: Operator, ctx: DispatcherContext) -> AspectResult:
    """The commit function accepts only epoch active + 1 (its wrong-epoch error otherwise) and emits
    its commit event."""
    result = AspectResult("commit-epoch", ctx.label)
    name = ctx.named("commit")
    before = read_state(op.w3, ctx)
    expected = before.active_epoch + 1
    root = next_manifest(ctx.plan, expected).root
    for wrong, why in ((before.active_epoch, "the active epoch again"), (expected + 1, "skipping an epoch")):
        tried = commit(op, ctx.governance, ctx, root, wrong)
        ok, want = reverted_with(ctx, tried, "bad_epoch", expected, wrong)
        if tried.ok:
            message = (
                f"{name} accepted epoch {wrong} ({why}) while the active epoch is {before.active_epoch}: a commit "
                f"must name epoch active + 1 = {expected} and {want.replace('reverts', 'revert')} otherwise, or a "
                f"stale or skipped manifest can be queued. Next step: check the epoch guard of {name} in {ctx.label}"
            )
        else:
            message = (
                f"{name}(root, {wrong}) ({why}) reverted {tried.reason}, expected {want.removeprefix('reverts ')} (the "
                f"expected and the given epoch). Next step: check the epoch guard of {name} in {ctx.label}"
            )
        result.expect(f"{name}(root, {wrong}) ({why})", want, tried.shown(), ok, message)
    tried = commit(op, ctx.governance, ctx, root, expected)
    if not result.expect(
        f"{name}(root, {expected}) (active + 1)",
        "succeeds",
        tried.shown(),
        tried.ok,
        f"{name}(root, {expected}) — the next epoch — reverted {tried.reason} as governance "
        f"({ctx.governance}). Next step: check that governance may commit, and the epoch guard in {ctx.label}",
    ):
        return result
    assert tried.sent is not None
    after = read_state(op.w3, ctx)
    block_time = int(op.w3.eth.get_block("latest")["timestamp"])
    _expect_root_event(
        result,
        ctx,
        tried.sent,
        "committed",
        root,
        expected,
        f"{name}(root, {expected})",
    )
    ready = block_time + before.delay
    result.expect(
        "pending manifest after the commit",
        f"pending root {hx(root)}, activable at {ready} ({ctx.lifecycle.readiness})",
        f"pending root {hx(after.pending_root)}, epoch {after.pending_epoch}, activable at {after.eta}",
        after.pending
        and after.eta == ready
        and (after.pending_root == root or not ctx.lifecycle.function("pending_root")),
        f"after {name}(root, {expected}) {ctx.label} reports pending root {hx(after.pending_root)}, epoch "
        f"{after.pending_epoch}, activable at {after.eta} ({ctx.lifecycle.readiness}); expected {hx(root)} activable "
        f"at commit time {block_time} + activation delay {before.delay}. Next step: check {name}'s bookkeeping",
    )
    return result


def _expect_root_event(  # noqa: PLR0917 - the row: where, which event, its root and epoch, the failure text
    result: AspectResult, ctx: DispatcherContext, sent: Sent, role: str, root: bytes, epoch: int, action: str
) -> None:
    """One ``role`` event (root and epoch indexed) among ``sent``'s logs; a dispatcher without such an
    event gets a "not checked" row naming the key that maps it."""
    event = ctx.lifecycle.event(role)
    what = {"committed": "commit", "activated": "activation"}[role]
    if event is None:
        result.not_checked(
            f"{what} event",
            "an event with the root and the epoch",
            f"not checked: {ctx.name} has no {what} event (map one with [manifest.interface] {role} = "
            '"Name(bytes32,uint64,...)")',
        )
        return
    event_name = event.split("(")[0]
    matching = [
        log
        for log in events(sent.logs, ctx.address, event)
        if topic_word(log, 1) == root and int.from_bytes(topic_word(log, 2), "big") == epoch
    ]
    result.expect(
        f"{event_name} event",
        f"{event_name}({hx(root)}, {epoch}, ...)",
        f"{len(matching)} matching {event_name} event(s)",
        len(matching) == 1,
        f"{action} emitted {len(matching)} {event_name}({hx(root)}, {epoch}, ...) event(s), expected exactly one: "
        f"monitoring cannot see the {what}. Next step: emit {event_name} once in {action.split('(', 1)[0]}",
    )


def drill_apply_proofs(op: Operator, ctx: DispatcherContext, system: DeployedSystem) -> AspectResult:
    """The apply function checks each proof against the pending root and each facet's real codehash."""
    result = AspectResult("apply-proofs", ctx.label)
    apply_name, commit_name = ctx.named("apply"), ctx.named("commit")
    state = read_state(op.w3, ctx)
    epoch = state.active_epoch + 1
    target = ctx.plan.routes[0]
    facet = checksum(target.address)
    real = codehash_at(op.w3, facet)
    wrong = WRONG_CODEHASH if WRONG_CODEHASH != real else keccak256(WRONG_CODEHASH)
    wrong_leaf = replace(target, signature=f"{target.signature} (wrong codehash)", codehash=wrong)
    # Two leaves: the route as planned, and the same route pinned to a codehash that is not the facet's.
    manifest = drill_manifest(ctx.plan, epoch, [target, wrong_leaf])
    result.data["manifest_root"] = hx(manifest.root)
    committed = commit(op, ctx.governance, ctx, manifest.root, epoch)
    if not committed.ok:
        result.fail(
            f"the apply-proofs drill could not commit its manifest ({len(manifest.routes)} routes, root "
            f"{hx(manifest.root)}) for epoch {epoch} as governance: {commit_name} reverted {committed.reason}. "
            f"Next step: see the commit-epoch aspect; governance must be allowed to commit on {ctx.label}"
        )
        return result
    proven = next(r for r in manifest.routes if r.codehash != wrong)
    bad = next(r for r in manifest.routes if r.codehash == wrong)

    forged = replace(proven, proof=tampered(proven.proof or ()))
    tried = apply_routes(op, ctx.governance, ctx, [forged])
    ok, want = reverted_with(ctx, tried, "bad_proof", target.selector)
    result.expect(
        f"{target.signature} with a tampered proof",
        want,
        tried.shown(),
        ok,
        (
            f"{apply_name} accepted {target.signature} ({hx(target.selector)}) with a proof that does not lead to the "
            f"pending root {hx(manifest.root)}: routes outside the committed manifest can be applied"
            if tried.ok
            else f"{apply_name} with a tampered proof for {target.signature} reverted {tried.reason}, expected "
            f"{want.removeprefix('reverts ')}"
        )
        + f". Next step: check the Merkle verification in {apply_name} of {ctx.label}",
    )

    tried = apply_routes(op, ctx.governance, ctx, [bad])
    ok, want = reverted_with(ctx, tried, "codehash_mismatch", target.selector, wrong, real)
    name = system.name_of(facet)
    if tried.ok:
        message = (
            f"apply accepted a route whose codehash {hx(wrong)} differs from the facet's {hx(real)}: "
            f"{target.signature} ({hx(target.selector)}) -> {name}, proven against the pending root, was applied "
            f"although the code at {facet} is not the committed code; expected {want.removeprefix('reverts ')}. Next "
            f"step: compare facet.codehash with the committed codehash in {apply_name} of {ctx.label}"
        )
    else:
        message = (
            f"{apply_name} of a proven route with codehash {hx(wrong)} for {name} (real {hx(real)}) reverted "
            f"{tried.reason}, expected {want.removeprefix('reverts ')}. Next step: check the codehash comparison in "
            f"{apply_name} of {ctx.label}"
        )
    result.expect(f"{target.signature} proven for a codehash that is not {name}'s", want, tried.shown(), ok, message)

    good = [proven]
    tried = apply_routes(op, ctx.governance, ctx, good)
    if not result.expect(
        f"{target.signature} as planned, with its proof",
        "succeeds",
        tried.shown(),
        tried.ok,
        f"{apply_name} of {target.signature} -> {target.facet} as {ctx.plan.label} plans it, with a valid proof, "
        f"reverted {tried.reason}. Next step: check that the plan matches the deployed facet (address and codehash)",
    ):
        return result
    assert tried.sent is not None
    _check_apply_events(ctx, tried.sent, manifest.root, len(good), result)
    staged_view = "routeOf(bytes4)"
    if any(
        e.get("type") == "function" and abi_signature(e) == staged_view and len(e.get("outputs") or []) == 2
        for e in ctx.abi
    ):
        staged = view(op.w3, ctx, staged_view, target.selector)
        got = (str(staged[0]).lower(), int(staged[1]))
        result.expect(
            f"routeOf({hx(target.selector)}) while pending",
            f"{facet} at epoch {epoch}",
            f"{staged[0]} at epoch {staged[1]}",
            got == (facet.lower(), epoch),
            f"after applying it, routeOf({hx(target.selector)}) reports {staged[0]} at epoch {staged[1]}, expected "
            f"{facet} at the pending epoch {epoch}. Next step: check applyRoutes' bookkeeping",
        )
    return result


def _check_apply_events(ctx: DispatcherContext, sent: Sent, root: bytes, count: int, result: AspectResult) -> None:
    """One route event per applied route and, when the dispatcher has one, one apply event per call."""
    apply_name = ctx.named("apply")
    routed_event, applied_event = ctx.lifecycle.event("routed"), ctx.lifecycle.event("applied")
    if routed_event is None and applied_event is None:
        result.not_checked(
            "apply events",
            "an event per applied route",
            f"not checked: {ctx.name} has no route event (map one with [manifest.interface] routed = "
            '"Name(bytes4,address)")',
        )
        return
    expected, observed, ok = [], [], True
    if applied_event is not None:
        applied_name = applied_event.split("(")[0]
        applied = [
            log
            for log in events(sent.logs, ctx.address, applied_event)
            if topic_word(log, 1) == root and data_word(log, 0) == count
        ]
        expected.append(f"{applied_name}({hx(root)}, {count})")
        observed.append(f"{len(applied)} {applied_name}")
        ok = ok and len(applied) == 1
    if routed_event is not None:
        routed_name = routed_event.split("(")[0]
        routed = events(sent.logs, ctx.address, routed_event)
        expected.append(f"{count} {routed_name}")
        observed.append(f"{len(routed)} {routed_name}")
        ok = ok and len(routed) == count
    result.expect(
        "apply events",
        " and ".join(expected),
        ", ".join(observed),
        ok,
        f"{apply_name} of {count} routes emitted {', '.join(observed)} (expected {' and '.join(expected)}): "
        "monitoring cannot follow the manifest. Next step: emit one route event per route"
        + (" and one apply event per call" if applied_event else ""),
    )


def drill_activation_delay(op: Operator, ctx: DispatcherContext) -> AspectResult:
    """The activate function reverts its not-ready error before the delay has passed, then
    activates and emits its activation event."""
    result = AspectResult("activation-delay", ctx.label)
    activate_name, commit_name = ctx.named("activate"), ctx.named("commit")
    state = read_state(op.w3, ctx)
    epoch = state.active_epoch + 1
    manifest = next_manifest(ctx.plan, epoch)
    committed = commit(op, ctx.governance, ctx, manifest.root, epoch)
    if not committed.ok:
        result.fail(
            f"the activation-delay drill could not commit root {hx(manifest.root)} for epoch {epoch}: {commit_name} "
            f"reverted {committed.reason}. Next step: see the commit-epoch aspect"
        )
        return result
    eta = read_state(op.w3, ctx).eta
    committed_at = eta - state.delay
    result.data.update({"eta": eta, "activationDelay": state.delay, "readiness": ctx.lifecycle.readiness})
    early = activate(op, ctx.governance, ctx)
    ok, want = reverted_with(ctx, early, "not_ready", eta)
    if early.ok:
        message = (
            f"{activate_name} succeeded right after the commit (activable at {eta} = commit time {committed_at} + "
            f"activation delay {state.delay}): the activation delay is not enforced, so a manifest goes live with no "
            f"time to react. Next step: revert while block.timestamp < {ctx.lifecycle.readiness} in {ctx.label}"
        )
    else:
        message = (
            f"{activate_name} before {eta} reverted {early.reason}, expected {want.removeprefix('reverts ')}. "
            f"Next step: check the activation guard in {ctx.label}"
        )
    result.expect(f"{activate_name} right after the commit (delay {state.delay} s)", want, early.shown(), ok, message)
    travel_to(op, eta)
    late = activate(op, ctx.governance, ctx)
    if not result.expect(
        f"{activate_name} at {eta} or later",
        "succeeds",
        late.shown(),
        late.ok,
        f"{activate_name} at or after {eta} ({ctx.lifecycle.readiness}) reverted {late.reason}. Next step: check "
        f"the activation path of {ctx.label}",
    ):
        return result
    assert late.sent is not None
    _expect_root_event(
        result,
        ctx,
        late.sent,
        "activated",
        manifest.root,
        epoch,
        f"{activate_name}()",
    )
    after = read_state(op.w3, ctx)
    result.expect(
        "state after activation",
        f"active epoch {epoch}, active root {hx(manifest.root)}, nothing pending",
        f"active epoch {after.active_epoch}, active root {hx(after.active_root)}, "
        + (f"pending epoch {after.pending_epoch}" if after.pending else "nothing pending"),
        (after.active_epoch, after.active_root, after.pending) == (epoch, manifest.root, False),
        f"after activation {ctx.label} reports active epoch {after.active_epoch}, active root "
        f"{hx(after.active_root)}"
        + (f", pending epoch {after.pending_epoch}" if after.pending else "")
        + f"; expected {epoch}, {hx(manifest.root)}, nothing pending. Next step: check {activate_name}'s bookkeeping",
    )
    return result


@dataclass(frozen=True)
class Probe:
    """A route the live manifest lacks: ``signature`` of ``contract`` at ``address``."""

    contract: str
    address: str
    signature: str
    selector: bytes
    synthetic: bool = False


def probe_candidates(system: DeployedSystem, ctx: DispatcherContext) -> list[Probe]:
    """Argument-free pure/view functions of deployed contracts that the plan does not route.

    Facets of the plan come first, pure before view: delegatecalled from the dispatcher, such a
    function answers without touching the dispatcher's storage."""
    planned = {route.selector for route in ctx.plan.routes} | ctx.own_selectors()
    facets = {route.facet for route in ctx.plan.routes}
    ranked: list[tuple[tuple[int, int, int], Probe]] = []
    for position, (name, address) in enumerate(system.addresses.items()):
        contract = system.artifacts.get(name)
        if contract is None or address.lower() == ctx.address.lower():
            continue
        for entry in contract.abi:
            if entry.get("type") != "function" or entry.get("inputs"):
                continue
            mutability = entry.get("stateMutability")
            if mutability not in {"pure", "view"}:
                continue
            text = abi_signature(entry)
            selector = bytes.fromhex(text_selector(text)[2:])
            if selector in planned:
                continue
            rank = (0 if name in facets else 1, 0 if mutability == "pure" else 1, position)
            ranked.append((rank, Probe(name, address, text, selector)))
    ranked.sort(key=lambda item: (item[0], item[1].signature))
    probes = [probe for _, probe in ranked]
    if ctx.plan.routes:
        first = ctx.plan.routes[0]
        selector = bytes.fromhex(text_selector(SYNTHETIC_PROBE)[2:])
        if selector not in planned:
            probes.append(Probe(first.facet, checksum(first.address), SYNTHETIC_PROBE, selector, synthetic=True))
    return probes


def choose_probe(w3: Web3, ctx: DispatcherContext, system: DeployedSystem) -> Probe | None:
    """The first candidate no active route answers (read from the dispatcher itself)."""
    for probe in probe_candidates(system, ctx):
        if not int(facet_of(w3, ctx, probe.selector), 16):
            return probe
    return None


def drill_no_early_routes(op: Operator, ctx: DispatcherContext, system: DeployedSystem) -> AspectResult:
    """A newly applied route answers only after activation (UnknownSelector before)."""
    result = AspectResult("no-early-routes", ctx.label)
    probe = choose_probe(op.w3, ctx, system)
    if probe is None:
        result.fail(
            f"no-early-routes found no selector that {ctx.label} does not already route (every candidate function of "
            "the deployed contracts is live). Next step: deploy a facet with a function the manifest lacks"
        )
        return result
    state = read_state(op.w3, ctx)
    epoch = state.active_epoch + 1
    real = codehash_at(op.w3, probe.address)
    new_route = PlanRoute(0, probe.selector, probe.signature, probe.contract, _address_bytes(probe.address), real)
    manifest = drill_manifest(ctx.plan, epoch, [new_route])  # the new route alone: it replaces the plan's
    route_text = f"{probe.signature} ({hx(probe.selector)}) -> {probe.contract} ({probe.address})"
    result.data.update({"new_route": route_text, "manifest_root": hx(manifest.root)})
    committed = commit(op, ctx.governance, ctx, manifest.root, epoch)
    applied = apply_routes(op, ctx.governance, ctx, manifest.routes) if committed.ok else committed
    if not result.expect(
        f"commit + apply of a manifest routing {route_text} for epoch {epoch}",
        "succeed",
        applied.shown(),
        applied.ok,
        f"the no-early-routes drill could not commit and apply its manifest (the single route {route_text}) "
        f"for epoch {epoch}: {applied.reason}. Next step: see the commit-epoch and apply-proofs aspects",
    ):
        return result
    caller = op.outsider(0)
    before = call_through(op, ctx, probe.selector, caller)
    route_of = ctx.named("route_of")
    loupe = facet_of(op.w3, ctx, probe.selector)
    unknown_error = ctx.lifecycle.error("unknown_selector")
    want = f"{unknown_error.split('(')[0]}({hx(probe.selector)})" if unknown_error else "a revert without data"
    ready = read_state(op.w3, ctx).eta
    # Anything but the unknown-selector error (a return value, or a facet's own revert) is a route answering.
    result.expect(
        f"call {probe.signature} through the dispatcher before activation",
        f"reverts {want} ({route_of} 0x0)",
        f"{before.shown()} ({route_of} {loupe})",
        before.unknown(probe.selector, unknown_error),
        f"a route answers before activation: the timelock gates bookkeeping but not behaviour. {route_text} was "
        f"applied under the pending epoch {epoch} (activable at {ready}) while the active epoch is "
        f"{state.active_epoch}, and calling it through {ctx.label} {before.shown()} instead of reverting {want}. "
        f"Next step: resolve calls from the active manifest only, never from routes applied under a pending commit",
    )
    travel_to(op, ready)
    activated = activate(op, ctx.governance, ctx)
    if not result.expect(
        f"{ctx.named('activate')} when ready",
        "succeeds",
        activated.shown(),
        activated.ok,
        f"{ctx.named('activate')} at {ready} reverted {activated.reason}. Next step: see the activation-delay aspect",
    ):
        return result
    after = call_through(op, ctx, probe.selector, caller)
    answered = not after.unknown(probe.selector, unknown_error) and (after.returned is not None or probe.synthetic)
    result.expect(
        f"call {probe.signature} through the dispatcher after activation",
        "answers" + (" (delegated: no UnknownSelector)" if probe.synthetic else ""),
        after.shown(),
        answered,
        f"after activating epoch {epoch}, {route_text} does not answer through {ctx.label}: {after.shown()}. Next "
        "step: check that activation makes the applied routes live",
    )
    # The manifest just activated does not hold the plan's routes: they must stop answering.
    stale = [route.signature for route in ctx.plan.routes if int(facet_of(op.w3, ctx, route.selector), 16)]
    result.expect(
        "the replaced manifest's routes after activation",
        f"none of the plan's {len(ctx.plan.routes)} routes answers ({route_of} 0x0)",
        "none answers" if not stale else f"still answering: {', '.join(stale)}",
        not stale,
        f"after activating epoch {epoch}, whose manifest routes only {probe.signature}, {', '.join(stale)} still "
        f"answer through {ctx.label}: routes of a replaced manifest stay live. Next step: resolve calls from the "
        "active manifest's routes only",
    )
    return result


def _address_bytes(address: str) -> bytes:
    return bytes.fromhex(address[2:])


def interface_problem(settings: SessionSettings) -> str | None:
    """Why the [manifest] dispatcher's lifecycle interface cannot be used, from its artifact's ABI (its
    functions), or None; ``"error: ..."`` for a target that names what does not exist."""
    manifest = settings.target.manifest
    if manifest is None:
        return None
    try:
        contract = settings.artifacts.resolve(manifest.dispatcher)
        return detect(manifest.dispatcher, contract.abi, manifest.interface).not_applicable()
    except (SignoffError, LookupError) as exc:
        return f"error: {exc}"


def load_context(settings: SessionSettings, system: DeployedSystem) -> DispatcherContext:
    """The ``[manifest]`` dispatcher of ``system`` and its plan; a SignoffError when either is unusable."""
    import os

    from signoff.deploy.manifest import load_target_plan

    manifest = settings.target.manifest
    if manifest is None:
        raise ConfigError(f"{settings.target.path} has no [manifest]. Next step: add [manifest] plan and dispatcher")
    label = os.path.relpath(manifest.plan, settings.target.root).replace(os.sep, "/")
    return dispatcher_context(system, manifest.dispatcher, load_target_plan(manifest, label), manifest.interface)


def dispatcher_context(
    system: DeployedSystem, name: str, plan: Plan, interface: Mapping[str, str] | None = None
) -> DispatcherContext:
    """The context for ``[manifest] dispatcher`` ``name`` of ``system``; a ConfigError when unknown."""
    address = system.address(name, where="[manifest] dispatcher")
    contract = system.artifacts.get(name)
    if contract is None:
        raise ConfigError(
            f"[manifest] dispatcher = {name!r} is deployed at {address} but has no artifact, so its ABI is unknown. "
            "Next step: compile it into [target] artifacts"
        )
    if not system.governance:
        raise ConfigError(
            "PD-DSP drives the dispatcher as governance, but no governance is known. Next step: set [postdeploy] "
            "governance = '@Name' (or [networks.X] governance on a live network)"
        )
    lifecycle = detect(name, contract.abi, interface)
    return DispatcherContext(name, address, contract.abi, plan, system.governance[0], lifecycle)
