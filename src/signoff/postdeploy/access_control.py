"""PD-ACL: privileged functions revert for an outsider and succeed for their role; nothing else opens up.

Everything here is a simulation (``eth_call``), so it runs unchanged on a rehearsal chain and
read-only on a live network at the pinned block. :func:`check_privileged` sends one calldata as
the rightful role (it must succeed, or nothing is proven) and then as an outsider (it must
revert): the caller is the only difference. :func:`discover` calls every state-changing ABI
function of every deployed contract from an unprivileged address with arguments drawn by
hypothesis from the ABI types (deterministically: derandomised, no database, a fixed count),
and reports each one that succeeds and is not listed ``public``. The chain is reached through a
:class:`Simulator` (:func:`eth_call_simulator` builds one on web3), so the verdict logic is pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from signoff.artifacts.abi import canonical_type, encode_call, find_function, signature, split_types
from signoff.artifacts.hashing import keccak256
from signoff.deploy.manifest import checksum
from signoff.errors import ChainError, SignoffError
from signoff.findings import Finding
from signoff.postdeploy.settings import FunctionRef, Privileged

if TYPE_CHECKING:
    from web3 import Web3

    from signoff.deploy.rehearsal import Operator

CHECK_ID = "PD-ACL"
DISCOVERY_VALUE = 10**15  # payable functions are also tried with this much ether (0.001)
OVERRIDE_BALANCE = 10**21  # what a state override gives a simulated sender on anvil / live
ZERO_ADDRESS = "0x" + "00" * 20
MAX_LIST = 3  # generated dynamic arrays stay short: the calls must stay cheap
MAX_BYTES = 64
# A node that halts execution (rather than reverting) still says the call did not succeed.

ABI = Sequence[Mapping[str, Any]]
T = TypeVar("T")


@dataclass(frozen=True)
class CallResult:
    """One simulated call: did it succeed, and its return or revert data."""

    ok: bool
    data: bytes


@dataclass(frozen=True)
class Simulator:
    """How the check reaches the chain: ``call(sender, to, data, value)`` and revert decoding."""

    call: Callable[[str, str, bytes, int], CallResult]
    decode: Callable[[bytes], str]


@dataclass(frozen=True)
class ProbeTarget:
    """A deployed contract discovery calls: its name, address and ABI. A facet reached through its
    dispatcher (``via``) is called at the dispatcher's address, in the dispatcher's storage, where
    its guards really run (a facet's own address often refuses everything, or nothing)."""

    name: str
    address: str
    abi: ABI
    via: str | None = None

    @property
    def shown(self) -> str:
        return self.name if self.via is None else f"{self.name} (through {self.via})"


@dataclass(frozen=True)
class Constants:
    """The system's own values: public constant getters, PUSH32 literals in its code, role ids.
    An initializer or setter guarded only by a value anyone can read is open to anyone."""

    words: tuple[bytes, ...] = ()
    numbers: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.words) + len(self.numbers)


@dataclass(frozen=True)
class Effect:
    """What one call did when it was really sent (in a snapshot): events emitted, and which parts of which
    of the system's accounts changed ("storage of OrbitHub", "balance of Vault")."""

    events: int
    changed: tuple[str, ...]

    @property
    def nothing(self) -> bool:
        return not self.events and not self.changed

    def shown(self) -> str:
        if self.nothing:
            return "changed no storage, balance, code or nonce of the system and emitted no event"
        parts = [f"changed the {', '.join(self.changed)}"] if self.changed else []
        if self.events:
            parts.append(f"emitted {self.events} event(s)")
        return " and ".join(parts)


# Send the call as ``sender`` in a snapshot and say what it did; None when that cannot be known (the chain
# cannot send, or the sent call reverted): an escalation is then never downgraded.
Effects = Callable[[str, str, bytes, int], "Effect | None"]
EFFECT_TRIES = 3  # succeeding calldatas sent per function before "it does nothing" is believed


MAX_CONSTANTS = 64  # per kind: the sweep adds one call per constant to each function that takes one


def push32_values(runtime: bytes) -> list[bytes]:
    """Every PUSH32 operand of ``runtime`` (code only: the CBOR metadata at the end is skipped)."""
    end = len(runtime)
    if len(runtime) >= 2:
        metadata = int.from_bytes(runtime[-2:], "big") + 2
        if metadata < len(runtime):
            end = len(runtime) - metadata
    found, pc = [], 0
    while pc < end:
        op = runtime[pc]
        if 0x60 <= op <= 0x7F:
            width = op - 0x5F
            if op == 0x7F and pc + 33 <= end:
                found.append(runtime[pc + 1 : pc + 33])
            pc += width + 1
        else:
            pc += 1
    return found


def constant_getters(abi: ABI) -> list[Mapping[str, Any]]:
    """No-argument view or pure functions returning one bytes32 or uint: candidate constants."""
    return [
        e
        for e in abi
        if e.get("type") == "function"
        and not e.get("inputs")
        and e.get("stateMutability") in {"view", "pure"}
        and [canonical_type(o) for o in e.get("outputs", [])] in (["bytes32"], ["uint256"], ["uint64"], ["uint8"])
    ]


def collect_constants(
    targets: Sequence[ProbeTarget], runtimes: Sequence[bytes], simulator: Simulator, reader: str
) -> Constants:
    """The values discovery mixes into its arguments: every constant getter's answer (read through
    the simulator), every PUSH32 literal of the deployed code, and DEFAULT_ADMIN_ROLE (zero)."""
    words: dict[bytes, None] = {bytes(32): None}
    numbers: dict[int, None] = {}
    for target in targets:
        for entry in constant_getters(target.abi):
            result = simulator.call(reader, target.address, keccak256(signature(entry).encode())[:4], 0)
            if result.ok and len(result.data) >= 32:
                word = result.data[:32]
                if canonical_type(entry["outputs"][0]) == "bytes32":
                    words[word] = None
                else:
                    numbers[int.from_bytes(word, "big")] = None
    for runtime in runtimes:
        for word in push32_values(runtime):
            if word != b"\xff" * 32:
                words[word] = None
    return Constants(tuple(list(words)[:MAX_CONSTANTS]), tuple(list(numbers)[:MAX_CONSTANTS]))


def constant_sweep(entry: Mapping[str, Any], constants: Constants, caller: str) -> list[tuple[Any, ...]]:
    """One call per constant for each bytes32 / uint parameter, the other parameters plain (the caller
    for an address: an initializer that makes its caller admin is the escalation)."""
    types = input_types(entry)
    plain = [_plain(t, caller) for t in types]
    calls: list[tuple[Any, ...]] = []
    for position, abi_type in enumerate(types):
        values: Sequence[Any] = ()
        if abi_type == "bytes32":
            values = constants.words
        elif re.fullmatch(r"uint\d*", abi_type):
            bits = int(abi_type[4:] or 256)
            values = [n for n in constants.numbers if n < 2**bits]
        for value in values:
            args = list(plain)
            args[position] = value
            calls.append(tuple(args))
    return calls


def baseline_calls(entry: Mapping[str, Any], caller: str) -> list[tuple[Any, ...]]:
    """Two calls every function gets, whatever hypothesis draws: every value zero or empty (address 0, no
    array elements, empty bytes: ``diamondCut([], address(0), "")`` is how an open cut is taken), and the
    caller for each address with the other values plain."""
    types = input_types(entry)
    zero, plain = tuple(_zero(t) for t in types), tuple(_plain(t, caller) for t in types)
    return [zero] if zero == plain else [zero, plain]


def _zero(abi_type: str) -> Any:
    """The zero value of ``abi_type``: 0, false, address 0, empty bytes and arrays, zeroed fixed arrays."""
    return _value(abi_type, ZERO_ADDRESS, flag=False, number=0)


def _plain(abi_type: str, caller: str) -> Any:
    """A harmless value of ``abi_type`` (the caller for an address)."""
    return _value(abi_type, caller, flag=True, number=1)


def _value(abi_type: str, address: str, *, flag: bool, number: int) -> Any:
    """One value of ``abi_type``: ``address``, ``flag`` and ``number`` for those scalars; empty strings,
    bytes and dynamic arrays; zeroed fixed bytes; fixed arrays and tuples element by element."""
    simple: dict[str, Any] = {"address": address, "bool": flag, "string": "", "bytes": b""}
    fixed = re.fullmatch(r"bytes(\d+)", abi_type)
    if abi_type in simple:
        value = simple[abi_type]
    elif fixed:
        value = bytes(int(fixed.group(1)))
    elif abi_type.endswith("]"):
        length = abi_type[abi_type.rindex("[") + 1 : -1]
        inner = _value(abi_type[: abi_type.rindex("[")], address, flag=flag, number=number)
        value = [inner] * (int(length) if length else 0)
    elif abi_type.startswith("("):
        value = tuple(_value(t, address, flag=flag, number=number) for t in split_types(abi_type[1:-1]))
    else:  # integers
        value = number
    return value


# -- arguments from ABI types (hypothesis) -----------------------------------------------------------


def strategy_for(abi_type: str, addresses: Sequence[str]) -> st.SearchStrategy[Any]:
    """Values of a canonical ABI type, biased toward ``addresses``, zero and the extremes."""
    if abi_type.endswith("]"):
        inner, length = abi_type[: abi_type.rindex("[")], abi_type[abi_type.rindex("[") + 1 : -1]
        element = strategy_for(inner, addresses)
        fixed = int(length) if length else None
        return st.lists(element, min_size=fixed or 0, max_size=fixed if fixed is not None else MAX_LIST)
    if abi_type.startswith("("):
        return st.tuples(*(strategy_for(t, addresses) for t in split_types(abi_type[1:-1])))
    return _scalar(abi_type, addresses)


def _scalar(abi_type: str, addresses: Sequence[str]) -> st.SearchStrategy[Any]:
    fixed_bytes = re.fullmatch(r"bytes(\d+)", abi_type)
    if fixed_bytes:
        width = int(fixed_bytes.group(1))
        return st.one_of(st.just(bytes(width)), st.binary(min_size=width, max_size=width))
    if abi_type.startswith(("uint", "int")):
        return _integers(abi_type)
    simple: dict[str, st.SearchStrategy[Any]] = {
        # The system's own addresses, the caller and zero: where permission bugs live.
        "address": st.one_of(
            st.sampled_from([*addresses, ZERO_ADDRESS]), st.binary(min_size=20, max_size=20).map(checksum)
        ),
        "bool": st.booleans(),
        "string": st.text(max_size=16),
        "bytes": st.binary(max_size=MAX_BYTES),
    }
    if abi_type not in simple:
        raise SignoffError(f"PD-ACL cannot generate values of ABI type {abi_type!r}")
    return simple[abi_type]


def _integers(abi_type: str) -> st.SearchStrategy[int]:
    signed = abi_type.startswith("int")
    bits = int(abi_type[len("int" if signed else "uint") :] or 256)
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    edges = sorted({0, 1, 2, high, *((low, -1) if signed else ())})
    # Small values and the edges first: they are what amounts, ids and epochs usually accept.
    return st.one_of(st.sampled_from(edges), st.integers(max(low, -1000), min(high, 1000)), st.integers(low, high))


def input_types(entry: Mapping[str, Any]) -> list[str]:
    return [canonical_type(p) for p in entry.get("inputs", [])]


def call_strategy(
    entry: Mapping[str, Any], addresses: Sequence[str], *, with_value: bool
) -> st.SearchStrategy[tuple[tuple[Any, ...], int]]:
    """(arguments, value) for ``entry``; payable functions also get a small value."""
    args = st.tuples(*(strategy_for(t, addresses) for t in input_types(entry)))
    payable = with_value and entry.get("stateMutability") == "payable"
    values = st.sampled_from([0, DISCOVERY_VALUE]) if payable else st.just(0)
    return st.tuples(args, values)


def draw_examples(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """Up to ``count`` examples, the same ones on every run (derandomised, no example database)."""
    seen: list[T] = []

    def collect(example: T) -> bool:
        seen.append(example)
        return False  # never satisfied: hypothesis keeps generating until count or exhaustion

    try:
        find(
            strategy,
            collect,
            settings=settings(
                database=None,
                derandomize=True,
                max_examples=count,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
                deadline=None,
            ),
        )
    except NoSuchExample:
        pass
    return seen[:count]


def calldata(entry: Mapping[str, Any], args: Sequence[Any]) -> bytes:
    from eth_abi.abi import encode

    return keccak256(signature(entry).encode())[:4] + bytes(encode(input_types(entry), list(args)))


def args_template(entry: Mapping[str, Any]) -> str:
    """``[<bytes32>, <uint64>]``: what ``args = [...]`` must hold for ``entry``."""
    return "[" + ", ".join(f"<{t}>" for t in input_types(entry)) + "]"


# -- functions and lists ------------------------------------------------------------------------------


def state_changing(abi: ABI) -> list[Mapping[str, Any]]:
    """ABI functions that are neither view nor pure (the old ``constant`` flag counts as view)."""
    return [
        e
        for e in abi
        if e.get("type") == "function"
        and e.get("stateMutability", "nonpayable") not in {"view", "pure"}
        and not e.get("constant", False)
    ]


def matches(ref: FunctionRef, contract: str, entry: Mapping[str, Any]) -> bool:
    if ref.contract != contract:
        return False
    return signature(entry) == ref.signature if ref.signature else entry.get("name") == ref.function


def _short(data: bytes, limit: int = 2 + 2 * 260) -> str:
    """The calldata in full (it reproduces the call), cut only when it is very long."""
    text = "0x" + data.hex()
    return text if len(text) <= limit else f"{text[:limit]}… ({len(data)} bytes)"


def _outcome(result: CallResult, simulator: Simulator) -> str:
    return "succeeded" if result.ok else f"reverted: {simulator.decode(result.data)}"


# -- privileged functions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PrivilegedResult:
    row: dict[str, Any]
    findings: tuple[Finding, ...]
    calldata: bytes


def check_privileged(  # noqa: PLR0917 - every input is a distinct fact the verdict needs
    probe: Privileged,
    target: ProbeTarget,
    role: str,
    role_label: str,
    outsider: str,
    simulator: Simulator,
    *,
    args: Sequence[Any] | None,
    examples: int,
    addresses: Sequence[str],
    routed_by: str | None = None,
) -> PrivilegedResult:
    """The role's call must succeed and the outsider's identical call must revert. ``routed_by``: the
    dispatcher that routes the function's contract (a facet named by its own name)."""
    name = str(probe.function)
    where = f"[[postdeploy.privileged]] function = {name!r}"
    row: dict[str, Any] = {"function": name, "role": role_label, "as_role": "", "as_outsider": "not tried"}
    try:
        entry = find_function(target.abi, probe.function.signature or probe.function.function, where)
        if args is not None:
            candidates = [encode_call(target.abi, signature(entry), args, where)]
        else:
            strategy = call_strategy(entry, [role, outsider, *addresses], with_value=False)
            candidates = [calldata(entry, a) for a, _ in draw_examples(strategy, examples)]
    except SignoffError as exc:
        row.update(as_role="not tried", verdict="fail")
        return PrivilegedResult(row, (Finding(CHECK_ID, name, "error", str(exc)),), b"")

    data, as_role = b"", CallResult(False, b"")
    for data in candidates:
        as_role = simulator.call(role, target.address, data, 0)
        if as_role.ok:
            break
    row["as_role"] = _outcome(as_role, simulator)
    if not as_role.ok:
        tried = "the configured args" if args is not None else f"{len(candidates)} generated argument set(s)"
        row["verdict"] = "fail"
        contract = probe.function.contract
        routed = (
            f"{contract} is a facet routed by {routed_by}: its storage there is what the guard reads, so name "
            f'function = "{routed_by}.{entry["name"]}"; '
            if routed_by
            else ""
        )
        message = (
            f"could not prove {name} is privileged: the rightful role's call as {role_label} reverted with "
            f"{simulator.decode(as_role.data)} ({tried}; calldata {_short(data)}), so an outsider's revert "
            f"would prove nothing. Next step: {routed}if {role_label} does not hold the right, correct role (or "
            f"grant it); if the function does not answer at {target.shown}, route it or name the contract that "
            f"answers it; otherwise give args = {args_template(entry)} in the [[postdeploy.privileged]] entry for "
            f"{name} with values the role can call at this state"
        )
        return PrivilegedResult(row, (Finding(CHECK_ID, name, "error", message),), data)

    as_outsider = simulator.call(outsider, target.address, data, 0)
    row["as_outsider"] = _outcome(as_outsider, simulator)
    if as_outsider.ok:
        row["verdict"] = "fail"
        message = (
            f"{name} is not privileged: it succeeded for unprivileged {outsider} with the same calldata "
            f"{_short(data)} that {role_label} sends. Next step: restrict it (onlyOwner / onlyRole), or, if "
            "anyone may call it, move it from [[postdeploy.privileged]] to [postdeploy] public"
        )
        return PrivilegedResult(row, (Finding(CHECK_ID, name, "error", message),), data)
    row["verdict"] = "pass"
    return PrivilegedResult(row, (), data)


# -- discovery ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Discovery:
    rows: tuple[dict[str, Any], ...]
    findings: tuple[Finding, ...]
    contracts: int
    functions: int
    calls: int


def discover(
    targets: Sequence[ProbeTarget],
    *,
    public: Sequence[FunctionRef],
    privileged: Sequence[FunctionRef],
    outsider: str,
    simulator: Simulator,
    examples: int,
    addresses: Sequence[str],
    constants: Constants | None = None,
    effects: Effects | None = None,
) -> Discovery:
    """Call every state-changing function of ``targets`` as ``outsider`` (hypothesis arguments,
    then one call per system constant); list what succeeds. With ``effects`` (a chain that may send), a
    function that succeeds is sent in a snapshot: one that changes nothing and emits nothing is info."""
    rows: list[dict[str, Any]] = []
    findings: list[Finding] = list(list_findings([t for t in targets if t.via is None], public, privileged))
    functions = calls = 0
    bias = [outsider, *addresses]
    for target in targets:
        for entry in state_changing(target.abi):
            functions += 1
            name = (
                f"{target.shown}.{signature(entry)}"
                if target.via is None
                else f"{target.name}.{signature(entry)} through {target.via}"
            )
            drawn = draw_examples(call_strategy(entry, bias, with_value=True), examples)
            fixed = [*baseline_calls(entry, outsider), *constant_sweep(entry, constants or Constants(), outsider)]
            swept = [(args, 0) for args in fixed]
            tried = list(dict.fromkeys((calldata(entry, args), value) for args, value in [*drawn, *swept]))
            succeeded: list[tuple[bytes, int]] = []
            for data, value in tried:
                calls += 1
                if simulator.call(outsider, target.address, data, value).ok:
                    succeeded.append((data, value))
            is_public = any(matches(ref, target.name, entry) for ref in public)
            is_privileged = any(matches(ref, target.name, entry) for ref in privileged)
            listed = "public" if is_public else "privileged" if is_privileged else "no"
            escalation = bool(succeeded) and not is_public
            effect = _effect_of(succeeded, outsider, target.address, effects) if escalation else None
            inert = effect is not None and effect.nothing
            shown = ""
            if succeeded:
                data, value = succeeded[0]
                shown = _short(data) + (f" with {value} wei" if value else "")
            rows.append(
                {
                    "function": name,
                    "examples": len(tried),
                    "succeeded": f"{len(succeeded)} of {len(tried)}",
                    "listed": listed,
                    "calldata": shown,
                    "effect": "" if not escalation else "not known (not sent)" if effect is None else effect.shown(),
                    "verdict": "info" if inert else "fail" if escalation else "pass",
                }
            )
            if inert:
                sent = min(len(succeeded), EFFECT_TRIES)
                findings.append(
                    Finding(
                        CHECK_ID,
                        name,
                        "info",
                        f"{name} succeeds for unprivileged {outsider} ({len(succeeded)} of {len(tried)} generated "
                        f"calls, e.g. calldata {shown}) but does nothing: sent for real in a snapshot ({sent} of "
                        f"them), it {effect.shown() if effect else ''}. Not an escalation. Next step: none; if it "
                        "should refuse outsiders rather than ignore them, make it revert",
                    )
                )
            elif escalation:
                why = (
                    "it is listed in [[postdeploy.privileged]], so only its role may call it"
                    if is_privileged
                    else "it is not listed in [postdeploy] public"
                )
                at = f" at {target.via}'s address {target.address}" if target.via else ""
                findings.append(
                    Finding(
                        CHECK_ID,
                        name,
                        "error",
                        f"unexpected permission escalation: {name} succeeded for unprivileged {outsider}{at} with "
                        f"calldata {shown} ({len(succeeded)} of {len(tried)} generated calls succeeded; {why})"
                        + (f"; sent for real in a snapshot, it {effect.shown()}" if effect else "")
                        + ". "
                        "Next step: restrict it (onlyOwner / onlyRole), or, if anyone may call it by design, add "
                        f'"{target.name}.{entry["name"]}" to [postdeploy] public',
                    )
                )
    if functions == 0:
        findings.append(
            Finding(
                CHECK_ID,
                "discovery",
                "error",
                f"the discovery called nothing: the {len(targets)} contract(s) probed have no state-changing "
                "function in their ABI, so no escalation could be found. Next step: check that the deployed "
                "contracts have artifacts with their ABIs",
            )
        )
    return Discovery(tuple(rows), tuple(findings), len(targets), functions, calls)


def _effect_of(succeeded: Sequence[tuple[bytes, int]], sender: str, to: str, effects: Effects | None) -> Effect | None:
    """What the first succeeding calls did when sent: the first that did something, else "nothing" only
    when every one sent was seen to do nothing (None as soon as one cannot be judged)."""
    if effects is None:
        return None
    seen: Effect | None = None
    for data, value in succeeded[:EFFECT_TRIES]:
        seen = effects(sender, to, data, value)
        if seen is None or not seen.nothing:
            return seen
    return seen


def list_findings(
    targets: Sequence[ProbeTarget], public: Sequence[FunctionRef], privileged: Sequence[FunctionRef]
) -> list[Finding]:
    """``public`` entries that name nothing callable (a typo hides a real escalation)."""
    by_name = {t.name: t for t in targets}
    findings = []
    for ref in public:
        target = by_name.get(ref.contract)
        if target is None:
            problem = f"{ref.contract} is not a deployed contract with an artifact ({', '.join(by_name) or 'none'})"
        elif not any(matches(ref, ref.contract, e) for e in target.abi if e.get("type") == "function"):
            names = ", ".join(sorted(signature(e) for e in state_changing(target.abi))) or "none"
            problem = f"{ref.contract} has no function {ref.signature or ref.function} (state-changing: {names})"
        elif ref in privileged:
            problem = "it is also listed in [[postdeploy.privileged]]: a function is either public or privileged"
        else:
            continue
        findings.append(
            Finding(
                CHECK_ID,
                str(ref),
                "error",
                f"[postdeploy] public lists {ref}, but {problem}. Next step: correct or remove the entry",
            )
        )
    return findings


def missing_targets(listed: Sequence[str], addresses: Mapping[str, str], artifacts: Mapping[str, Any]) -> list[Finding]:
    """Contracts the discovery must probe but cannot: not deployed, no artifact, or an empty ABI."""
    findings = []
    for name in listed:
        if name not in addresses:
            problem = "is not deployed in this system"
        elif name not in artifacts:
            problem = "has no artifact, so its ABI is unknown"
        elif not getattr(artifacts[name], "abi", None):
            problem = "has an artifact with an empty ABI"
        else:
            continue
        findings.append(
            Finding(
                CHECK_ID,
                name,
                "error",
                f"{name} {problem}: the discovery cannot call its functions, so it would pass without looking. "
                "Next step: add its artifact (or correct [postdeploy] contracts)",
            )
        )
    return findings


# -- the chain ----------------------------------------------------------------------------------------


def eth_call_simulator(w3: Web3, abis: Sequence[ABI], *, override_balances: bool) -> Simulator:
    """A :class:`Simulator` over ``eth_call`` at ``w3``'s default block (the pin on live networks).

    ``override_balances``: a call with value gets the sender a balance by state override (anvil and
    live nodes; eth-tester has none, and its senders must be funded). Anything that is neither a
    success nor an execution failure (no funds, a node error) raises :class:`ChainError`: it must
    never pass for a revert, or an outsider's "revert" would prove nothing.
    """
    from eth_utils.address import to_checksum_address

    from signoff.chain.backends import is_revert, revert_data
    from signoff.deploy.rehearsal import decode_revert

    def call(sender: str, to: str, data: bytes, value: int) -> CallResult:
        tx: dict[str, Any] = {"from": to_checksum_address(sender), "to": to_checksum_address(to), "data": data}
        if value:
            tx["value"] = value
        try:
            if value and override_balances:
                override = {to_checksum_address(sender): {"balance": hex(value + OVERRIDE_BALANCE)}}
                out = w3.eth.call(tx, None, override)  # type: ignore[arg-type]
            else:
                out = w3.eth.call(tx)  # type: ignore[arg-type]
        except Exception as exc:
            if is_revert(exc):  # a revert, or a halt (out of gas, invalid opcode, ...)
                return CallResult(False, revert_data(exc))
            raise ChainError(
                f"simulating a call from {sender} to {to} (calldata {_short(data, 74)}) failed without executing: "
                f"{exc}. Next step: check the node and that the sender can pay for the call (gas and value)"
            ) from None
        return CallResult(True, bytes(out))

    return Simulator(call=call, decode=lambda data: decode_revert(data, abis))


def sent_effects(operator: Operator, watched: Mapping[str, str]) -> Effects:
    """:data:`Effects` on a writable chain: the call is sent as its sender through ``operator`` inside a
    snapshot, and the accounts ``watched`` (address -> name; the callee is added) are compared before and
    after: nonce, balance, storage root and code hash, plus the events in the receipt."""
    from signoff.deploy.rehearsal import Reverted

    chain = operator.chain

    def probe(sender: str, to: str, data: bytes, value: int) -> Effect | None:
        accounts = {a.lower(): n for a, n in watched.items() if a.lower() != sender.lower()}
        accounts.setdefault(to.lower(), operator.system.name_of(to))
        snapshot = chain.snapshot()
        try:
            before = {a: chain.account_state(checksum(bytes.fromhex(a[2:]))) for a in accounts}
            try:
                sent = operator.send(sender, to, data, value=value, what="PD-ACL effect probe")
            except Reverted:
                return None
            changed = []
            for address, name in accounts.items():
                after = chain.account_state(checksum(bytes.fromhex(address[2:])))
                old = before[address]
                changed += [
                    f"{part} of {name}"
                    for part, moved in (
                        ("storage", old.storage_root != after.storage_root),
                        ("balance", old.balance != after.balance),
                        ("code", old.code_hash != after.code_hash),
                        ("nonce", old.nonce != after.nonce),
                    )
                    if moved
                ]
            return Effect(len(sent.logs), tuple(changed))
        finally:
            chain.revert(snapshot)

    return probe


def stand_in(name: str) -> str:
    """A keyless address standing for ``@name`` where the network does not know it (a rehearsal account)."""
    return checksum(keccak256(f"signoff stand-in for @{name}".encode())[12:])


def live_outsider(taken: Sequence[str]) -> str:
    """A fixed address nobody holds a key for and the system does not know (live networks, anvil)."""
    for index in range(16):
        address = checksum(keccak256(f"signoff PD-ACL outsider {index}".encode())[12:])
        if address.lower() not in {t.lower() for t in taken}:
            return address
    raise ChainError("no unprivileged address left for PD-ACL (every candidate belongs to the system)")
