"""``[deploy]`` -> a validated :class:`DeployPlan`: how the system is deployed (PF-REH).

The plan is an ordered list of steps that a rehearsal (:mod:`signoff.deploy.rehearsal`) runs on
eth-tester, anvil or a fork, yielding the deployments map the postdeploy checks read. It
lives in signoff.toml, or in a file that ``[deploy] plan = "deploy.toml"`` names::

    [deploy]
    accounts = { Deployer = 0, SafeDeployer = 9, Owner1 = 1, Owner2 = 2 }  # rehearsal key indices
    sender = "@Deployer"                                  # default sender of every step

    [[deploy.step]]
    safe = "Governance"                                   # a real Safe 1.4.1 (npm contracts)
    owners = ["@Owner1", "@Owner2"]
    threshold = 2
    from = "@SafeDeployer"

    [[deploy.step]]
    deploy = "PingFacet"                                  # CREATE, or CREATE2 through a factory:
    via = "DeterministicChunkFactory"                     #   its deploy function: detected (bytes32 salt
    # via_function = "deploy(bytes,bytes32)"              #   and bytes initCode, any order), or named
    # salt = "0x..."    default keccak256(name), as the manifest writer predicts
    # args = [...]      default [contracts.PingFacet] constructor_args
    # as = "Alias"      deploy the same artifact twice under another name
    # artifacts = "dir" deploy this contract from another build (a stale one, say)

    [[deploy.step]]
    call = "PayRoxProxyRouter.transferOwnership"          # or "Name.fn(type,...)" when overloaded
    args = ["@Governance"]
    from = "@Deployer"                                    # "@Safe" runs it through the Safe
    # value = "1 ether"

    [[deploy.step]]
    manifest = "commit"                                   # commit | apply | activate ([manifest] plan)
    from = "@Governance"

    [[deploy.step]]
    wait = "3600s"                                        # advance the rehearsal chain's clock: "90s",
                                                          #   "15m", "2h", "1d", or a number of seconds
    # wait = "until OrbitHub.readyAt"                     # ... or until a view's timestamp has passed

Before the first step, ``[[deploy.genesis]] at = "0x…"`` and ``code = "Name"`` (or 0x hex) put a
contract's runtime code at an address the system hard-codes (a genesis alloc on eth-tester,
``anvil_setCode`` on anvil); ``code_size_limit = false`` lifts EIP-170/EIP-3860 on the rehearsal
chain (preflight's PF-SIZE still judges the sizes).

With ``plan = "deploy.toml"`` the steps come from that file; ``[[deploy.step]]`` entries of the
target itself then run after them (a change made after the deployment, say).

Arguments are TOML values; a string ``"@Name"`` is the address of an account, a Safe or a
contract deployed by an earlier step. Rehearsal accounts are the well-known test keys
``0x…01``, ``0x…02``, … (eth-tester's own accounts), so a rehearsal deploys the same addresses on
eth-tester, anvil and a fork. Nothing here imports web3.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signoff.errors import ConfigError
from signoff.target import Target, _Table

REHEARSAL_KEYS = 10
MANIFEST_PHASES = ("commit", "apply", "activate")
_ACTIONS = ("safe", "deploy", "call", "manifest", "wait")
_DURATION = re.compile(r"(\d+)\s*(s|m|h|d)?")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
MAX_WAIT_SECONDS = 10 * 365 * 86400


@dataclass(frozen=True)
class SafeStep:
    """Create a Safe proxy (named ``name``) with these owners and threshold."""

    index: int
    name: str
    owners: tuple[str, ...]
    threshold: int
    sender: str


@dataclass(frozen=True)
class DeployStep:
    """Deploy ``contract`` (named ``alias``) with CREATE, or CREATE2 through ``via``."""

    index: int
    contract: str
    alias: str
    args: tuple[Any, ...]
    sender: str
    value: int
    via: str | None
    salt: str | None
    artifacts: Path | None
    via_function: str | None = None  # the factory's deploy function, when detection is not enough


@dataclass(frozen=True)
class CallStep:
    """Call ``function`` of the deployed ``contract``."""

    index: int
    contract: str
    function: str  # a name, or a full signature "fn(uint256,address)"
    args: tuple[Any, ...]
    sender: str
    value: int


@dataclass(frozen=True)
class ManifestStep:
    """Commit, apply or activate the ``[manifest]`` plan on its dispatcher."""

    index: int
    phase: str
    sender: str


@dataclass(frozen=True)
class WaitStep:
    """Advance the clock by ``seconds``, or until the timestamp a view of ``contract`` returns."""

    index: int
    seconds: int | None
    contract: str | None
    function: str | None
    sender: str  # unused: a wait sends nothing (kept so every step names one)


Step = SafeStep | DeployStep | CallStep | ManifestStep | WaitStep


@dataclass(frozen=True)
class GenesisCode:
    """Runtime code the rehearsal chain holds at ``at`` before the first step: a contract the system
    hard-codes (a token at its mainnet address, say). ``code`` is an artifact name or 0x hex."""

    at: str
    code: str


@dataclass(frozen=True)
class DeployPlan:
    """The ordered steps of a rehearsal and the accounts they use."""

    source: Path  # the file the plan was read from (signoff.toml or the file it names)
    accounts: Mapping[str, int]  # name -> rehearsal key index
    steps: tuple[Step, ...]
    genesis: tuple[GenesisCode, ...] = ()
    code_size_limit: bool = True  # false: the rehearsal chain accepts code over EIP-170 / EIP-3860

    def names(self) -> tuple[str, ...]:
        """Every name a ``"@Name"`` reference can use, in plan order."""
        names = list(self.accounts)
        for step in self.steps:
            if isinstance(step, SafeStep):
                names.append(step.name)
            elif isinstance(step, DeployStep):
                names.append(step.alias)
        return tuple(names)


def describe(step: Step) -> str:
    """One line for reports: ``#3 deploy PingFacet via DeterministicChunkFactory``."""
    if isinstance(step, SafeStep):
        return f"#{step.index} safe {step.name} ({step.threshold} of {len(step.owners)})"
    if isinstance(step, DeployStep):
        alias = f" as {step.alias}" if step.alias != step.contract else ""
        via = f" via {step.via}" if step.via else ""
        return f"#{step.index} deploy {step.contract}{alias}{via}"
    if isinstance(step, CallStep):
        return f"#{step.index} call {step.contract}.{step.function} from {step.sender}"
    if isinstance(step, WaitStep):
        return f"#{step.index} wait " + (
            f"{step.seconds} s" if step.seconds is not None else f"until {step.contract}.{step.function}"
        )
    return f"#{step.index} manifest {step.phase} from {step.sender}"


def load_deploy_plan(target: Target) -> DeployPlan | None:
    """The target's plan, or ``None`` when it has no ``[deploy]`` table."""
    raw = target.raw_deploy
    if raw is None:
        return None
    return parse_deploy_plan(target, raw)


def parse_deploy_plan(target: Target, raw: Mapping[str, Any]) -> DeployPlan:
    source = target.path
    table = _Table(source, "deploy", raw, expand=False)
    external = table.path("plan", target.root, must_exist=True, kind="file")
    then: list[_Table] = []  # with plan = "...": steps of the target's own that run after the plan's
    if external is not None:
        then = table.table_list("step")
        table.done()
        try:
            document = tomllib.loads(external.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{external}: not valid TOML ({exc}). Next step: fix the syntax at that line") from None
        source = external
        table = _Table(external, "deploy", document.get("deploy", document), expand=False)
    accounts = _accounts(table)
    default_sender = table.string("sender") or "@" + next(iter(accounts))
    genesis = _genesis(table)
    size_limit = table.boolean("code_size_limit")
    steps: list[Step] = []
    base = source.parent
    for index, entry in enumerate(table.table_list("step"), start=1):
        steps.append(_step(entry, index, default_sender, base, target))
        entry.done()
    for entry in then:
        steps.append(_step(entry, len(steps) + 1, default_sender, target.root, target))
        entry.done()
    table.done()
    if not steps:
        raise ConfigError(f"{source}: [deploy] has no [[deploy.step]]. Next step: list the deployment's steps in order")
    plan = DeployPlan(
        source=source,
        accounts=accounts,
        steps=tuple(steps),
        genesis=genesis,
        code_size_limit=True if size_limit is None else size_limit,
    )
    _check_references(plan, target)
    return plan


def _genesis(table: _Table) -> tuple[GenesisCode, ...]:
    found = []
    for entry in table.table_list("genesis"):
        at = entry.string("at", required=True) or ""
        if not re.fullmatch(r"0x[0-9a-fA-F]{40}", at):
            raise ConfigError(
                f"{entry.file}: {entry.where}.at = {at!r} must be a 0x address of 40 hex digits. Next step: correct it"
            )
        code = entry.string("code", required=True) or ""
        if code.startswith("0x") and (len(code) % 2 or not re.fullmatch(r"0x[0-9a-fA-F]+", code)):
            raise ConfigError(
                f"{entry.file}: {entry.where}.code must be a contract name or 0x hex bytes. Next step: correct it"
            )
        entry.done()
        found.append(GenesisCode(at, code))
    return tuple(found)


def _accounts(table: _Table) -> dict[str, int]:
    raw = table._take("accounts", False)
    if raw is None:
        return {"Deployer": 0}
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            f"{table.file}: deploy.accounts must be a table of name = key index, e.g. "
            "{ Deployer = 0, Owner1 = 1 }. Next step: correct the value"
        )
    accounts: dict[str, int] = {}
    for name, index in raw.items():
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < REHEARSAL_KEYS:
            raise ConfigError(
                f"{table.file}: deploy.accounts.{name} must be a rehearsal key index 0..{REHEARSAL_KEYS - 1}, "
                f"found {index!r}. Next step: correct the value"
            )
        accounts[str(name)] = index
    duplicated = {i for i in accounts.values() if list(accounts.values()).count(i) > 1}
    if duplicated:
        raise ConfigError(
            f"{table.file}: deploy.accounts gives key index {sorted(duplicated)} to several names. "
            "Next step: one name per account"
        )
    return accounts


def _step(entry: _Table, index: int, default_sender: str, base: Path, target: Target) -> Step:
    actions = [action for action in _ACTIONS if action in entry.data]
    if len(actions) != 1:
        found = ", ".join(actions) or "none"
        raise ConfigError(
            f"{entry.file}: {entry.where} must have exactly one of {', '.join(_ACTIONS)}; found {found}. "
            "Next step: one action per [[deploy.step]]"
        )
    action = actions[0]
    if action == "wait":
        return _wait_step(entry, index, default_sender)
    sender = entry.string("from") or default_sender
    _reference(entry, "from", sender)
    if action == "safe":
        name = entry.string("safe", required=True) or ""
        owners = tuple(entry.string_list("owners", required=True))
        for owner in owners:
            _reference(entry, "owners", owner)
        threshold = entry.integer("threshold", required=True, minimum=1) or 1
        if threshold > len(owners):
            raise ConfigError(
                f"{entry.file}: {entry.where}.threshold = {threshold} is more than its {len(owners)} owners. "
                "Next step: correct the threshold or the owners"
            )
        return SafeStep(index, name, owners, threshold, sender)
    if action == "deploy":
        contract = entry.string("deploy", required=True) or ""
        args = entry.list_of_any("args")
        if args is None:
            settings = target.contract_settings(contract)
            args = list(settings.constructor_args or ()) if settings else []
        return DeployStep(
            index=index,
            contract=contract,
            alias=entry.string("as") or contract.rsplit(":", 1)[-1],  # "@Name" even for path/File.sol:Name
            args=tuple(args),
            sender=sender,
            value=entry.wei("value") or 0,
            via=entry.string("via"),
            salt=entry.string("salt"),
            artifacts=entry.path("artifacts", base, must_exist=True),
            via_function=entry.string("via_function"),
        )
    if action == "call":
        text = entry.string("call", required=True) or ""
        contract, dot, function = text.partition(".")
        if not dot or not contract or not function:
            raise ConfigError(
                f"{entry.file}: {entry.where}.call = {text!r} must be 'Contract.function'. Next step: correct it"
            )
        return CallStep(
            index, contract, function, tuple(entry.list_of_any("args") or ()), sender, entry.wei("value") or 0
        )
    phase = entry.string("manifest", required=True) or ""
    if phase not in MANIFEST_PHASES:
        raise ConfigError(
            f"{entry.file}: {entry.where}.manifest = {phase!r}; valid: {', '.join(MANIFEST_PHASES)}. "
            "Next step: correct the value"
        )
    if target.manifest is None:
        raise ConfigError(
            f"{entry.file}: {entry.where} runs manifest {phase} but the target has no [manifest] table. "
            "Next step: add [manifest] plan and dispatcher"
        )
    return ManifestStep(index, phase, sender)


def _wait_step(entry: _Table, index: int, sender: str) -> WaitStep:
    raw = entry._take("wait", True)
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    text = raw.strip() if isinstance(raw, str) else ""
    if text.startswith("until "):
        contract, dot, function = text.removeprefix("until ").strip().partition(".")
        if dot and contract and function:
            return WaitStep(index, None, contract, function, sender)
    match = _DURATION.fullmatch(text)
    if match and 0 < int(match.group(1)) * _UNITS[match.group(2)] <= MAX_WAIT_SECONDS:
        return WaitStep(index, int(match.group(1)) * _UNITS[match.group(2)], None, None, sender)
    raise ConfigError(
        f"{entry.file}: {entry.where}.wait = {raw!r} is not a duration (1 s to 10 years) or 'until Contract.view'. "
        'Next step: e.g. wait = "3600s", "2h", "1d", or wait = "until ManifestDispatcher.eta"'
    )


def _reference(entry: _Table, key: str, value: str) -> None:
    if not value.startswith("@") or len(value) == 1:
        raise ConfigError(
            f"{entry.file}: {entry.where}.{key} = {value!r} must name an account, Safe or contract as '@Name'. "
            "Next step: correct the value"
        )


def _check_references(plan: DeployPlan, target: Target) -> None:
    """Every ``@Name`` refers to something defined by an earlier step (or an account)."""
    known: set[str] = set(plan.accounts)
    for step in plan.steps:
        where = f"{plan.source}: [[deploy.step]] {describe(step)}"
        refs: list[Any] = [step.sender]
        if isinstance(step, SafeStep):
            refs += list(step.owners)
        elif isinstance(step, DeployStep):
            refs += list(step.args)
            if step.via:
                refs.append("@" + step.via)
        elif isinstance(step, CallStep):
            refs += [*step.args, "@" + step.contract]
        elif isinstance(step, WaitStep):
            refs = ["@" + step.contract] if step.contract else []
        elif target.manifest is not None:
            refs.append("@" + target.manifest.dispatcher)
        for ref in _references(refs):
            if ref not in known:
                defined = ", ".join(sorted(known)) or "(nothing yet)"
                raise ConfigError(
                    f"{where} refers to @{ref}, which no earlier step defines (defined so far: {defined}). "
                    "Next step: fix the name or move the step that creates it earlier"
                )
        if isinstance(step, SafeStep):
            known.add(step.name)
        elif isinstance(step, DeployStep):
            if step.alias in known:
                raise ConfigError(f"{where}: the name {step.alias} is already taken. Next step: add as = 'OtherName'")
            known.add(step.alias)


def _references(values: list[Any]) -> list[str]:
    found: list[str] = []
    for value in values:
        if isinstance(value, str) and value.startswith("@"):
            found.append(value[1:])
        elif isinstance(value, list):
            found += _references(value)
    return found
