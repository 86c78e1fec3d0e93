"""FL-SEARCH: a hypothesis state machine that interleaves the declared flows' steps across instances
and actors, and checks every invariant after every step.

The vocabulary is the flows' own steps (every call and wait of every ``[[flows]]``, deduplicated):
nothing else is invented. What varies is the order, the repetition, who sends each step, which
account an address argument names, and which instance an id argument names:

- an *actor* slot is the sender and every address argument written ``"@Name"`` for an account of
  the system (not a contract); it is drawn from ``[search] actors`` (default: every account the
  flows name), the step's own actor first, so shrinking leads back to it;
- an *id* slot is an unsigned integer parameter named ``id``, ``*Id``, ``*ID`` or ``*_id`` (or one
  listed in ``[search] ids``); it is drawn from the ids created so far (a step whose function returns
  one ``uint``: its return value, simulated before it is sent) and the ids the flows write.

A step that reverts is part of the search (nothing changed). The first sequence after which an
invariant breaks is shrunk by hypothesis to a shortest one, which the report shows as a replayable
``[[flows]]`` list. Settings (all optional)::

    [search]
    examples = 100        # sequences tried
    max_steps = 20        # steps per sequence
    seconds = 120         # time budget for trying sequences (shrinking a breach: half as long, at least 30 s)
    actors = ["@Client", "@Freelancer", "@Client2"]
    ids = ["escrowId"]    # more parameter names that take an instance id
    flows = ["runbook"]   # whose steps (default: every flow)
    seed = 0              # the same seed, build, flows and settings try the same sequences
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from signoff.deploy.plan import CallStep, WaitStep
from signoff.errors import ConfigError
from signoff.target import Target, _Table

if TYPE_CHECKING:
    from signoff.deploy.rehearsal import Operator
    from signoff.deploy.system import DeployedSystem
    from signoff.flows.declared import Flow
    from signoff.flows.invariants import Check

CHECK_ID = "FL-SEARCH"
ID_NAME = re.compile(r"^(id|.*[a-z0-9]Id|.*ID|.*_id)$")


@dataclass(frozen=True)
class SearchSettings:
    examples: int = 100
    max_steps: int = 20
    seconds: float = 120.0
    actors: tuple[str, ...] = ()  # empty: every account the flows name
    ids: tuple[str, ...] = ()  # parameter names beyond the naming rule
    flows: tuple[str, ...] = ()  # empty: every flow
    seed: int = 0  # the same seed, build and flows try the same sequences


def load_search(target: Target, flow_names: Sequence[str]) -> SearchSettings:
    """``[search]``, or the defaults when the target has none."""
    if target.raw_search is None:
        return SearchSettings()
    table = _Table(target.path, "search", target.raw_search, expand=False)
    settings = SearchSettings(
        examples=table.integer("examples", default=100, minimum=1, maximum=100_000) or 100,
        max_steps=table.integer("max_steps", default=20, minimum=1, maximum=1000) or 20,
        seconds=table.number("seconds", default=120.0, minimum=1.0, maximum=86_400.0),
        actors=tuple(table.string_list("actors")),
        ids=tuple(table.string_list("ids")),
        flows=tuple(table.string_list("flows")),
        seed=table.integer("seed", default=0, minimum=0, maximum=2**32 - 1) or 0,
    )
    table.done()
    for actor in settings.actors:
        if not actor.startswith("@"):
            raise ConfigError(
                f'{target.path}: search.actors lists {actor!r}; an actor is an account name written "@Name". '
                "Next step: correct it"
            )
    unknown = [name for name in settings.flows if name not in flow_names]
    if unknown:
        raise ConfigError(
            f"{target.path}: search.flows names {', '.join(map(repr, unknown))}, which no [[flows]] is called "
            f"(flows: {', '.join(map(repr, flow_names)) or 'none'}). Next step: correct the name"
        )
    return settings


# -- the vocabulary ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One step of a flow, with the places where an actor or an instance id may be substituted."""

    step: CallStep | WaitStep
    flow: str
    number: int  # its step number in that flow
    actor_slots: tuple[int, ...] = ()  # argument positions holding an actor
    id_slots: tuple[int, ...] = ()  # argument positions holding an instance id
    creates: bool = False  # returns one uint: a new instance's id
    # learnt by walking the flow once: the role each actor slot plays in the instance its id names
    # (-1: the sender; e.g. "argument 1" = the freelancer of createEscrow), and the id the flow's
    # own run of a creating step produced (the literal id later steps of the flow write)
    roles: tuple[tuple[int, str], ...] = ()
    produces: int | None = None

    @property
    def origin(self) -> str:
        return f"flow {self.flow!r} step {self.number}"

    @property
    def name(self) -> str:
        step = self.step
        if isinstance(step, WaitStep):
            return (
                f"wait {step.seconds} s" if step.seconds is not None else f"wait until {step.contract}.{step.function}"
            )
        return f"{step.contract}.{step.function}"


@dataclass(frozen=True)
class Vocabulary:
    flows: tuple[tuple[str, tuple[Action, ...]], ...]  # each flow's steps, in order
    actors: tuple[str, ...]
    literal_ids: tuple[int, ...]  # the ids the flows write, for systems whose creating step returns nothing

    @property
    def actions(self) -> tuple[Action, ...]:
        return tuple(action for _, steps in self.flows for action in steps)


def vocabulary(flows: Sequence[Flow], settings: SearchSettings, system: DeployedSystem) -> Vocabulary:
    """The flows' steps, with their actor and id slots found from the ABI."""
    from signoff.artifacts.abi import find_function
    from signoff.deploy.rehearsal import _abi_of

    accounts = set(system.accounts) | set(system.safes)
    id_names = set(settings.ids)
    actors: list[str] = list(settings.actors)
    literal_ids: set[int] = set()
    chosen = []
    for flow in flows:
        actions: list[Action] = []
        for number, flow_step in enumerate(flow.steps, start=1):
            step = flow_step.step
            if isinstance(step, WaitStep):
                actions.append(Action(step, flow.name, number))
                continue
            where = f"flow {flow.name!r} step {number} ({step.contract})"
            entry = find_function(_abi_of(system, step.contract), step.function, where)
            if entry.get("stateMutability") in ("view", "pure"):
                continue  # a flow's read (expect_return) changes nothing: nothing to interleave
            inputs = list(entry.get("inputs", []))
            actor_positions, id_positions = [], []
            for position, (param, value) in enumerate(zip(inputs, step.args, strict=False)):
                kind = str(param.get("type", ""))
                if kind == "address" and _account(value, accounts):
                    actor_positions.append(position)
                    _add(actors, value)
                elif kind.startswith("uint") and "[" not in kind and _is_id(str(param.get("name", "")), id_names):
                    id_positions.append(position)
                    written = _integer(value)
                    if written is not None:
                        literal_ids.add(written)
            if _account(step.sender, accounts):
                _add(actors, step.sender)
            outputs = list(entry.get("outputs", []))
            creates = (
                entry.get("stateMutability") not in ("view", "pure")
                and len(outputs) == 1
                and str(outputs[0].get("type", "")).startswith("uint")
            )
            actions.append(Action(step, flow.name, number, tuple(actor_positions), tuple(id_positions), creates))
        chosen.append((flow.name, tuple(actions)))
    return Vocabulary(tuple(chosen), tuple(actors), tuple(sorted(literal_ids)))


def _account(value: Any, accounts: set[str]) -> bool:
    return isinstance(value, str) and value.startswith("@") and value[1:] in accounts


def _is_id(name: str, extra: set[str]) -> bool:
    return name in extra or bool(ID_NAME.match(name))


def _integer(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _add(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)


# -- roles: who plays what in an instance, learnt by walking the flows once ---------------------------

SENDER = -1


def role_of(slot: int) -> str:
    """The name of an actor slot of a creating step: its sender, or the address argument at ``slot``."""
    return "sender" if slot == SENDER else f"argument {slot + 1}"


def actor_slots(action: Action) -> tuple[int, ...]:
    """Every actor slot of ``action``: its address arguments, and its sender."""
    return () if isinstance(action.step, WaitStep) else (*action.actor_slots, SENDER)


def actor_at(step: CallStep, slot: int) -> Any:
    return step.sender if slot == SENDER else step.args[slot]


def parties(action: Action, step: CallStep) -> dict[str, str]:
    """The roles of the instance ``step`` (a creating step) creates: role -> the actor that plays it."""
    return {
        role_of(slot): str(actor_at(step, slot))
        for slot in actor_slots(action)
        if str(actor_at(step, slot)).startswith("@")
    }


def learn_roles(operator: Operator, words: Vocabulary, topics: Mapping[bytes, str]) -> Vocabulary:
    """Walk each flow once (in a snapshot) to learn which instance each written id names, and so the
    role each actor of a later step plays there (the client, the freelancer): the search keeps an
    instance's parties together while it varies everything else."""
    from dataclasses import replace

    chain = operator.chain
    flows = []
    for name, actions in words.flows:
        learnt = []
        snapshot = chain.snapshot()
        try:
            instances: dict[int, dict[str, str]] = {}  # id -> role -> actor as written
            for written in actions:
                step, action = written.step, written
                if isinstance(step, CallStep) and action.id_slots:
                    by_actor = {actor: role for role, actor in instances.get(_written_id(action) or -1, {}).items()}
                    roles = tuple(
                        (slot, by_actor[str(actor_at(step, slot))])
                        for slot in actor_slots(action)
                        if str(actor_at(step, slot)) in by_actor
                    )
                    action = replace(action, roles=roles)
                outcome = perform(
                    operator, Move(action, step.sender, () if isinstance(step, WaitStep) else step.args), topics
                )
                if outcome.created is not None and isinstance(step, CallStep):
                    instances[outcome.created] = parties(action, step)
                    action = replace(action, produces=outcome.created)
                learnt.append(action)
        finally:
            chain.revert(snapshot)
        flows.append((name, tuple(learnt)))
    return replace(words, flows=tuple(flows))


def _written_id(action: Action) -> int | None:
    step = action.step
    return _integer(step.args[action.id_slots[0]]) if isinstance(step, CallStep) and action.id_slots else None


# -- one concrete step -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """An action with its slots filled: what the sequence did, replayable as a flow step."""

    action: Action
    sender: str
    args: tuple[Any, ...]

    @property
    def step(self) -> CallStep | WaitStep:
        from dataclasses import replace

        step = self.action.step
        if isinstance(step, WaitStep):
            return step
        return replace(step, sender=self.sender, args=self.args)

    def label(self) -> str:
        step = self.step
        if isinstance(step, WaitStep):
            return self.action.name
        return f"{step.contract}.{step.function}({', '.join(_show(a) for a in step.args)}) from {step.sender}" + (
            f" with {format_wei(step.value)}" if step.value else ""
        )


def fill(
    action: Action,
    actor_choice: Callable[[str], str],
    id_choice: Callable[[int | None], int],
    instances: Mapping[int, Mapping[str, str]],
) -> Move:
    """``action`` with every slot drawn: ids first (``id_choice`` is given the id the step would name
    by itself), then actors: a slot that plays a role of the chosen instance is offered that
    instance's actor, any other slot the actor the flow wrote."""
    step = action.step
    if isinstance(step, WaitStep):
        return Move(action, step.sender, ())
    args = list(step.args)
    for position in action.id_slots:
        args[position] = id_choice(_integer(args[position]))
    instance = instances.get(args[action.id_slots[0]], {}) if action.id_slots else {}
    roles = dict(action.roles)
    sender = step.sender
    for slot in actor_slots(action):
        own = str(actor_at(step, slot))
        if not own.startswith("@"):
            continue
        chosen = actor_choice(instance.get(roles[slot], own) if slot in roles else own)
        if slot == SENDER:
            sender = chosen
        else:
            args[slot] = chosen
    return Move(action, sender, tuple(args))


@dataclass
class Outcome:
    succeeded: bool
    detail: str  # events emitted, or the revert reason
    created: int | None = None


def perform(operator: Operator, move: Move, topics: Mapping[bytes, str]) -> Outcome:
    """Send ``move`` (or let its time pass) on the operator's chain."""
    from signoff.flows.declared import execute

    step = move.step
    if isinstance(step, WaitStep):
        from signoff.deploy.rehearsal import _wait_step

        _wait_step(operator, step)
        return Outcome(True, "time passed")
    created = _simulated_id(operator, step) if move.action.creates else None
    result = execute(operator, step, topics)
    if not result.succeeded:
        return Outcome(False, result.detail)
    return Outcome(True, result.detail, created)


def _simulated_id(operator: Operator, step: CallStep) -> int | None:
    from signoff.artifacts.abi import encode_call
    from signoff.deploy.rehearsal import _abi_of
    from signoff.errors import ChainError

    system = operator.system
    try:
        data = encode_call(_abi_of(system, step.contract), step.function, system.resolve_args(step.args), "search")
        returned = operator.simulate(system.address(step.sender), system.address(step.contract), data, value=step.value)
    except (ChainError, ConfigError):
        return None
    return int.from_bytes(returned[:32], "big") if len(returned) >= 32 else None


# -- the search ------------------------------------------------------------------------------------


@dataclass
class Breach(Exception):
    """An invariant broke after ``moves``; raised inside the state machine so hypothesis shrinks it."""

    moves: list[tuple[Move, Outcome]]
    invariant: str
    how: str

    def __str__(self) -> str:
        return f"invariant {self.invariant!r} broke after {len(self.moves)} steps: {self.how}"


@dataclass
class Report:
    sequences: int = 0
    steps: int = 0
    reverted: int = 0
    seconds: float = 0.0
    stopped_by_budget: bool = False
    succeeded: dict[str, int] = field(default_factory=dict)  # action origin -> successful sends
    tried: dict[str, int] = field(default_factory=dict)
    breach: Breach | None = None
    vocabulary: Vocabulary | None = None


@dataclass
class Thread:
    """One run of a flow inside a sequence: how far it got, and which instances its written ids name."""

    flow: str
    actions: tuple[Action, ...]
    cursor: int = 0
    ids: dict[int, int] = field(default_factory=dict)  # the id the flow writes -> the instance it names now


def search(
    operator: Operator,
    flows: Sequence[Flow],
    checks: Sequence[Check],
    settings: SearchSettings,
    topics: Mapping[bytes, str],
) -> Report:
    """Run the state machine over ``flows``' steps; the report says what was tried and the shrunk
    breach, if any. A ConfigError when a step cannot be read against the ABI.

    Each sequence runs *threads*: a thread walks one flow step by step; a sequence starts with one
    thread per flow and may start more, and the threads interleave. A thread's step names its own
    instance three times in four, else another instance of the sequence (the thread then follows that
    one: a dispute flow settling the runbook's half-paid escrow); it is sent by the role the flow
    gives it three times in four, else by another actor. A new thread may also *join* an existing
    instance: it skips its flow's creating steps and plays the rest on an instance another thread
    made. Some steps are any step of any flow, on any instance, instead. Invariants are evaluated
    after every step that changed state (a step that reverted changed nothing)."""
    from hypothesis import HealthCheck, Phase, assume, seed
    from hypothesis import settings as hypothesis_settings
    from hypothesis import strategies as st
    from hypothesis.errors import HypothesisException
    from hypothesis.stateful import (
        RuleBasedStateMachine,
        initialize,
        invariant,
        rule,
        run_state_machine_as_test,
    )

    from signoff.flows.invariants import ChainView, evaluate

    chosen = [flow for flow in flows if not settings.flows or flow.name in settings.flows]
    words = learn_roles(operator, vocabulary(chosen, settings, operator.system), topics)
    report = Report(vocabulary=words)
    started = time.monotonic()
    chain = operator.chain
    view = ChainView(operator)
    every = words.actions
    actors = words.actors
    found: list[Breach] = []

    class Interleaving(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            if not found and time.monotonic() - started > settings.seconds:
                report.stopped_by_budget = True
                assume(False)
            self.snapshot = chain.snapshot()
            self.instances: dict[int, dict[str, str]] = {}  # created id -> role -> actor
            self.threads: list[Thread] = []
            self.moves: list[tuple[Move, Outcome]] = []
            self.changed = False
            report.sequences += 1

        @initialize(data=st.data())
        def swarm(self, data: st.DataObject) -> None:
            """Each sequence starts a run of about half the flows (swarm testing: fewer threads go further)."""
            chosen = [flow for flow in words.flows if data.draw(st.integers(0, 1), label=f"run {flow[0]}?") == 0]
            self.threads = [Thread(name, steps) for name, steps in (chosen or words.flows[:1])]

        def mostly(self, data: st.DataObject, label: str) -> bool:
            """True three times in four; shrinks to True."""
            return bool(data.draw(st.integers(0, 3), label=label) < 3)

        @rule(data=st.data())
        def step(self, data: st.DataObject) -> None:
            live = [t for t in self.threads if t.cursor < len(t.actions)]
            kind = data.draw(st.integers(0, 9), label="step kind")
            thread: Thread | None = None
            if live and kind < 7:  # mostly: the next step of a running flow
                thread = live[data.draw(st.integers(0, len(live) - 1), label="which thread")]
            elif kind < 9 or not live:  # another run of a flow, from its start or joining an instance
                name, steps = words.flows[data.draw(st.integers(0, len(words.flows) - 1), label="which flow")]
                thread = Thread(name, steps)
                joins = next((i for i, a in enumerate(steps) if a.id_slots), 0)
                if joins and self.instances and data.draw(st.integers(0, 1), label="join an instance?"):
                    thread.cursor = joins  # the rest of this flow on an instance another thread made
                self.threads.append(thread)
            if thread is not None:
                action = thread.actions[thread.cursor]
                thread.cursor += 1
            else:  # any step of any flow, on any instance
                action = data.draw(st.sampled_from(every), label="any step")

            def actor(preferred: str) -> str:
                others = [a for a in actors if a != preferred]
                if not others or self.mostly(data, "the flow's actor?"):
                    return preferred
                return data.draw(st.sampled_from(others), label="actor")

            def instance(written: int | None) -> int:
                pool = sorted(set(self.instances) | set(words.literal_ids)) or [written or 0]
                own = thread.ids.get(written) if thread is not None and written is not None else None
                if own is not None and self.mostly(data, "the thread's instance?"):
                    return own
                chosen = data.draw(st.sampled_from(pool), label="instance")
                if thread is not None and written is not None:
                    thread.ids[written] = chosen  # the thread follows the instance it now acts on
                return chosen

            move = fill(action, actor, instance, self.instances)
            outcome = perform(operator, move, topics)
            if outcome.created is not None:
                step = move.step
                assert isinstance(step, CallStep)
                self.instances[outcome.created] = parties(action, step)
                if thread is not None and action.produces is not None:
                    thread.ids[action.produces] = outcome.created
            self.moves.append((move, outcome))
            self.changed = outcome.succeeded
            report.steps += 1
            report.tried[action.origin] = report.tried.get(action.origin, 0) + 1
            if outcome.succeeded:
                report.succeeded[action.origin] = report.succeeded.get(action.origin, 0) + 1
            else:
                report.reverted += 1

        @invariant()
        def invariants_hold(self) -> None:
            if not self.moves or not self.changed:  # a step that reverted changed nothing
                return
            for check in checks:
                holds, observed = evaluate(check, view)
                if not holds:
                    breach = Breach(list(self.moves), check.invariant.name, observed)
                    found.append(breach)
                    raise breach

        def teardown(self) -> None:
            chain.revert(self.snapshot)

    try:
        run_state_machine_as_test(
            seed(settings.seed)(Interleaving),
            settings=hypothesis_settings(
                max_examples=settings.examples,
                stateful_step_count=settings.max_steps,
                deadline=None,
                database=None,
                derandomize=False,  # the seed makes it repeatable
                report_multiple_bugs=False,
                suppress_health_check=list(HealthCheck),
                phases=(Phase.generate,),  # signoff shrinks (below): a replay of concrete steps is cheap
                print_blob=False,
            ),
        )
    except Breach as breach:
        report.breach = shrink(operator, breach, checks, topics, max(30.0, settings.seconds / 2))
    except HypothesisException as exc:
        if not (report.stopped_by_budget and report.sequences):  # only the budget may end it early
            raise ConfigError(
                f"the search stopped after {report.sequences} sequences ({type(exc).__name__}: {exc}). Next step: "
                "raise [search] seconds if the budget ran out, else report it to signoff"
            ) from None
    report.seconds = time.monotonic() - started
    return report


# -- shrinking -------------------------------------------------------------------------------------

MAX_REPLAYS = 400


def shrink(
    operator: Operator, breach: Breach, checks: Sequence[Check], topics: Mapping[bytes, str], seconds: float
) -> Breach:
    """A shortest sequence of ``breach``'s concrete steps that still breaks the same invariant: first
    without the steps that reverted (they changed nothing), then without each chunk that is not
    needed (halves, quarters, ... single steps), replayed from the same snapshot each time; within
    ``seconds`` and :data:`MAX_REPLAYS` replays (then the shortest found so far)."""
    replays = 0
    stop = time.monotonic() + seconds

    def replay(moves: Sequence[Move]) -> Breach | None:
        nonlocal replays
        replays += 1
        return _replay(operator, moves, checks, topics, breach.invariant)

    def more() -> bool:
        return replays < MAX_REPLAYS and time.monotonic() < stop

    best = breach
    candidate = [move for move, outcome in best.moves if outcome.succeeded]
    found = replay(candidate) if len(candidate) < len(best.moves) else None
    if found is not None:
        best = found
    size = max(1, len(best.moves) // 2)
    while size >= 1 and more():
        start, shrunk = 0, False
        while start < len(best.moves) and more():
            moves = [move for move, _ in best.moves]
            found = replay(moves[:start] + moves[start + size :])
            if found is not None and len(found.moves) < len(best.moves):
                best, shrunk = found, True
            else:
                start += size
        if not shrunk:
            size //= 2
    return best


def _replay(
    operator: Operator, moves: Sequence[Move], checks: Sequence[Check], topics: Mapping[bytes, str], name: str
) -> Breach | None:
    """Run ``moves`` from the current state (then revert); the breach of invariant ``name``, if any."""
    from signoff.flows.invariants import ChainView, evaluate

    chain = operator.chain
    view = ChainView(operator)
    snapshot = chain.snapshot()
    try:
        done: list[tuple[Move, Outcome]] = []
        for move in moves:
            outcome = perform(operator, move, topics)
            done.append((move, outcome))
            if not outcome.succeeded:
                continue
            for check in checks:
                if check.invariant.name != name:
                    continue
                holds, observed = evaluate(check, view)
                if not holds:
                    return Breach(done, name, observed)
        return None
    finally:
        chain.revert(snapshot)


# -- the replayable sequence -----------------------------------------------------------------------


def replay_toml(breach: Breach, name: str) -> str:
    """The breaching sequence as a ``[[flows]]`` entry a team can paste into signoff.toml."""
    lines = [
        f"# Found by signoff's search: invariant {breach.invariant!r} broke after these {len(breach.moves)} steps.",
        f"# {breach.how}",
        "[[flows]]",
        f"name = {_toml(name)}",
    ]
    for move, outcome in breach.moves:
        step = move.step
        lines += ["", f"[[flows.step]]   # {outcome.detail}"]
        if isinstance(step, WaitStep):
            if step.seconds is not None:
                lines.append(f'wait = "{step.seconds}s"')
            else:
                lines.append(f'wait = "until {step.contract}.{step.function}"')
            continue
        lines.append(f"call = {_toml(f'{step.contract}.{step.function}')}")
        if step.args:
            lines.append(f"args = {_toml(list(step.args))}")
        if step.value:
            lines.append(f"value = {_toml(format_wei(step.value))}")
        lines.append(f"from = {_toml(step.sender)}")
        if not outcome.succeeded:
            lines.append("expect_revert = true")
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if -(2**63) <= value < 2**63 else f'"{value}"'
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    raise ConfigError(f"a value of the sequence cannot be written as TOML: {value!r}")


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    return str(value) if not isinstance(value, str) else (value if value.startswith("@") else repr(value))


def format_wei(amount: int) -> str:
    """``1025000000000000000`` -> ``"1.025 ether"``; amounts not a whole number of 1e-9 ether stay wei."""
    if amount and amount % 10**9 == 0:
        whole, fraction = divmod(amount, 10**18)
        text = f"{whole}.{fraction:018d}".rstrip("0").rstrip(".")
        return f"{text} ether"
    return f"{amount} wei"
