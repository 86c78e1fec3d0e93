"""FL-FLOW: declared end-to-end flows, run on the rehearsal chain (or a fork) as users would.

``[[flows]]`` in signoff.toml names a flow and its ordered steps, in the deploy-plan language
(``call``, ``args``, ``value``, ``from``; ``wait``), each with what must happen::

    [[flows]]
    name = "runbook"

    [[flows.step]]
    call = "MarketEscrow.createEscrow"
    args = ["@Freelancer", ["design", "build"], ["0.5 ether", "0.5 ether"], 4102444800, "a job"]
    value = "1.025 ether"
    from = "@Client"
    expect_events = ["EscrowCreated"]          # every one must be emitted by the step

    [[flows.step]]                             # a step that must fail
    call = "MarketReviews.submitReview"
    args = [0, 5, "again"]
    from = "@Client"
    expect_revert = "AlreadyReviewed"          # or true: any revert

    [[flows.step]]                             # a read: the view's value must be this
    call = "MarketCertificate.ownerOf"
    args = [1]
    expect_return = "@Freelancer"

Every step, its gas and the events it emitted go into the evidence; the first step that does not
do what it must ends the flow with a finding naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from signoff.artifacts.hashing import keccak256
from signoff.deploy.plan import CallStep, WaitStep, _step, describe
from signoff.errors import ChainError, ConfigError
from signoff.findings import Finding
from signoff.target import Target, _Table

if TYPE_CHECKING:
    from signoff.deploy.rehearsal import Operator

CHECK_ID = "FL-FLOW"


@dataclass(frozen=True)
class FlowStep:
    step: CallStep | WaitStep
    expect_revert: str | bool | None = None  # None/False: must succeed; True: any revert; text: in the reason
    expect_events: tuple[str, ...] = ()
    expect_return: Any = None  # what the call returns (simulated as its sender first); None: not checked


@dataclass(frozen=True)
class Flow:
    name: str
    steps: tuple[FlowStep, ...]


def load_flows(target: Target) -> tuple[Flow, ...]:
    flows = []
    names: set[str] = set()
    for index, raw in enumerate(target.raw_flows):
        table = _Table(target.path, f"flows[{index}]", raw, expand=False)
        name = table.string("name", required=True) or ""
        if name in names:
            raise ConfigError(f"{target.path}: two [[flows]] are named {name!r}. Next step: name each flow once")
        names.add(name)
        sender = table.string("sender") or "@Deployer"
        steps = []
        for number, entry in enumerate(table.table_list("step"), start=1):
            revert = entry._take("expect_revert", False)
            if revert is not None and not isinstance(revert, bool | str):
                raise ConfigError(
                    f"{target.path}: {entry.where}.expect_revert must be true or a text the revert reason contains. "
                    "Next step: correct it"
                )
            events = tuple(entry.string_list("expect_events"))
            returns = entry._take("expect_return", False)
            parsed = _step(entry, number, sender, target.root, target)
            entry.done()
            if not isinstance(parsed, CallStep | WaitStep):
                raise ConfigError(
                    f"{target.path}: {entry.where} is a {type(parsed).__name__}; a flow step calls or waits. "
                    'Next step: write call = "Contract.function" (or wait = "1d")'
                )
            if isinstance(parsed, WaitStep) and (revert or events or returns is not None):
                raise ConfigError(f"{target.path}: {entry.where}: a wait expects nothing. Next step: remove it")
            if revert and returns is not None:
                raise ConfigError(
                    f"{target.path}: {entry.where} expects both a revert and a return value. Next step: keep one"
                )
            steps.append(FlowStep(parsed, revert, events, returns))
        table.done()
        if not steps:
            raise ConfigError(f"{target.path}: [[flows]] {name!r} has no [[flows.step]]. Next step: list its steps")
        flows.append(Flow(name, tuple(steps)))
    return tuple(flows)


def event_names(abis: Sequence[Sequence[Mapping[str, Any]]]) -> dict[bytes, str]:
    """topic0 -> event name, over every ABI of the build."""
    from signoff.artifacts.abi import canonical_type

    found = {}
    for abi in abis:
        for entry in abi:
            if entry.get("type") == "event" and not entry.get("anonymous"):
                signature = f"{entry['name']}({','.join(canonical_type(p) for p in entry.get('inputs', []))})"
                found[keccak256(signature.encode())] = str(entry["name"])
    return found


def run_flow(operator: Operator, flow: Flow, topics: Mapping[bytes, str]) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Run ``flow`` step by step; stop at the first step that does not do what it must."""
    from signoff.artifacts.abi import encode_call
    from signoff.deploy.rehearsal import _abi_of, _wait_step

    system = operator.system
    rows: list[dict[str, Any]] = []
    for flow_step in flow.steps:
        step = flow_step.step
        label = describe(step)
        if isinstance(step, WaitStep):
            _wait_step(operator, step)
            rows.append({"step": label, "expected": "time passes", "observed": "waited", "gas": "", "verdict": "pass"})
            continue
        expected = _expected(flow_step)
        try:
            sender = system.address(step.sender, where=label)
            to = system.address(step.contract, where=label)
            data = encode_call(
                _abi_of(system, step.contract), step.function, system.resolve_args(step.args, where=label), label
            )
        except (ConfigError, LookupError) as exc:
            rows.append(
                {
                    "step": label,
                    "expected": expected,
                    "observed": f"cannot be built: {exc}",
                    "gas": "",
                    "verdict": "fail",
                }
            )
            return rows, [Finding(CHECK_ID, flow.name, "error", f"flow {flow.name!r}, step {label}: {exc}")]
        returned = None
        if flow_step.expect_return is not None:
            returned = _returned(operator, step, sender, to, data)
            want = system.resolve_args([flow_step.expect_return], where=label)[0]
            if returned is not None and not same_value(returned, want):
                rows.append(
                    {
                        "step": label,
                        "expected": expected,
                        "observed": f"returns {_shown(returned)}",
                        "gas": "",
                        "verdict": "fail",
                    }
                )
                return rows, [_finding(flow, label, expected, f"it returns {_shown(returned)}")]
            if returned is not None and _is_view(system, step):
                rows.append(
                    {
                        "step": label,
                        "expected": expected,
                        "observed": f"returns {_shown(returned)}",
                        "gas": "",
                        "verdict": "pass",
                    }
                )
                continue
        result = execute(operator, step, topics, sender=sender, to=to, data=data)
        if not result.succeeded:
            ok = bool(flow_step.expect_revert) and (
                flow_step.expect_revert is True or str(flow_step.expect_revert) in result.reason
            )
            rows.append(
                {
                    "step": label,
                    "expected": expected,
                    "observed": result.detail,
                    "gas": "",
                    "verdict": "pass" if ok else "fail",
                }
            )
            if not ok:
                return rows, [_finding(flow, label, expected, f"it reverted ({result.reason})")]
            continue
        missing = [name for name in flow_step.expect_events if name not in result.events]
        ok = not flow_step.expect_revert and not missing
        rows.append(
            {
                "step": label,
                "expected": expected,
                "observed": result.detail + (f", returned {_shown(returned)}" if returned is not None else ""),
                "gas": result.gas,
                "verdict": "pass" if ok else "fail",
            }
        )
        if flow_step.expect_revert:
            return rows, [_finding(flow, label, expected, "it succeeded: the system accepts what must be refused")]
        if missing:
            return rows, [_finding(flow, label, expected, f"it did not emit {', '.join(missing)} ({result.detail})")]
    return rows, []


@dataclass(frozen=True)
class Executed:
    """What one call step did: its events, or its revert reason."""

    succeeded: bool
    reason: str = ""  # the revert, as the chain said it
    events: tuple[str, ...] = ()
    gas: int | str = ""

    @property
    def detail(self) -> str:
        if not self.succeeded:
            return f"reverted: {self.reason.split(': ', 1)[-1]}"
        return "succeeded" + (f", emitted {', '.join(self.events)}" if self.events else ", no events")


def execute(
    operator: Operator,
    step: CallStep,
    topics: Mapping[bytes, str],
    *,
    sender: str | None = None,
    to: str | None = None,
    data: bytes | None = None,
) -> Executed:
    """Send ``step`` as its sender; a revert is an outcome, not an error."""
    from signoff.artifacts.abi import encode_call
    from signoff.deploy.rehearsal import _abi_of

    system = operator.system
    label = describe(step)
    if data is None:
        data = encode_call(
            _abi_of(system, step.contract), step.function, system.resolve_args(step.args, where=label), label
        )
    sender = sender or system.address(step.sender, where=label)
    to = to or system.address(step.contract, where=label)
    try:
        sent = operator.send(sender, to, data, value=step.value, what=f"{step.contract}.{step.function}")
    except ChainError as exc:
        return Executed(False, str(exc))
    emitted = tuple(topics.get(bytes(log["topics"][0]), "(unknown event)") for log in sent.logs if log.get("topics"))
    return Executed(True, events=emitted, gas=sent.gas_used)


def _expected(flow_step: FlowStep) -> str:
    if flow_step.expect_revert is True:
        return "reverts"
    if flow_step.expect_revert:
        return f"reverts with {flow_step.expect_revert}"
    returns = f", returns {_shown(flow_step.expect_return)}" if flow_step.expect_return is not None else ""
    return "succeeds" + (f", emits {', '.join(flow_step.expect_events)}" if flow_step.expect_events else "") + returns


def _returned(operator: Operator, step: CallStep, sender: str, to: str, data: bytes) -> Any:
    """What the call returns when simulated as its sender now; None when the simulation reverts (the
    send that follows then says how)."""
    from eth_abi.abi import decode

    from signoff.artifacts.abi import canonical_type, find_function
    from signoff.deploy.rehearsal import _abi_of

    try:
        raw = operator.simulate(sender, to, data, value=step.value)
    except ChainError:
        return None
    outputs = find_function(_abi_of(operator.system, step.contract), step.function, describe(step)).get("outputs", [])
    from eth_utils.address import to_checksum_address

    from signoff.flows.invariants import _checksummed

    values = [_checksummed(v, to_checksum_address) for v in decode([canonical_type(o) for o in outputs], raw)]
    return values[0] if len(values) == 1 else values


def _is_view(system: Any, step: CallStep) -> bool:
    from signoff.artifacts.abi import find_function
    from signoff.deploy.rehearsal import _abi_of

    entry = find_function(_abi_of(system, step.contract), step.function, describe(step))
    return entry.get("stateMutability") in ("view", "pure")


def same_value(returned: Any, expected: Any) -> bool:
    """``returned`` (decoded) equals ``expected`` (as written, "@Name" resolved): addresses in any case,
    amounts written "0.5 ether", lists element by element."""
    from signoff.target import parse_wei

    if isinstance(returned, list | tuple) and isinstance(expected, list | tuple):
        return len(returned) == len(expected) and all(same_value(a, b) for a, b in zip(returned, expected, strict=True))
    if isinstance(returned, str) and isinstance(expected, str):
        return returned.lower() == expected.lower()
    if isinstance(returned, bool) or isinstance(expected, bool):
        return returned is expected
    if isinstance(returned, int) and isinstance(expected, str):
        return parse_wei(expected) == returned
    if isinstance(returned, bytes) and isinstance(expected, str):
        return "0x" + returned.hex() == expected.lower()
    return bool(returned == expected)


def _shown(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


def _finding(flow: Flow, label: str, expected: str, what: str) -> Finding:
    return Finding(
        CHECK_ID,
        flow.name,
        "error",
        f"flow {flow.name!r}, step {label}: expected it {expected}, but {what}. Next step: fix the contract, or the "
        "flow if the runbook changed",
    )
