"""FL-INV: invariants of the deployed system, checked after every step of every declared flow (and
of the search, FL-SEARCH).

``[[invariants]]`` is either a view expression (``expr = "balance(MarketEscrow) >= ..."``, see
:mod:`signoff.flows.expressions`) or a Python function in the team's repository
(``python = "invariants.py:solvent"``, relative to the target file), for what an expression cannot
say. The function receives a read-only :class:`ChainView` after each step and returns None (or
True) when the invariant holds, else a text saying how it is broken (for money: the shortfall in
wei).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signoff.errors import ConfigError
from signoff.flows.expressions import Expression, ExpressionError, parse_expression
from signoff.target import Target, _Table

if TYPE_CHECKING:
    from signoff.deploy.rehearsal import Operator
    from signoff.flows.declared import Flow

CHECK_ID = "FL-INV"
FIX_IT = (
    "Next step: correct the invariant in signoff.toml (expr names deployed contracts and their views) or in the "
    "team's file (python = ...)"
)


@dataclass(frozen=True)
class Invariant:
    name: str
    path: Path | None = None  # python = "file.py:function"
    function: str = ""
    expr: Expression | None = None  # expr = "..."

    @property
    def source(self) -> str:
        if self.expr is not None:
            return self.expr.text
        return f"{self.path}:{self.function}"


@dataclass(frozen=True)
class Check:
    """An invariant ready to evaluate: the team's function, or the expression's walker."""

    invariant: Invariant
    function: Callable[[ChainView], Any]


def load_invariants(target: Target) -> tuple[Invariant, ...]:
    found: list[Invariant] = []
    for index, raw in enumerate(target.raw_invariants):
        table = _Table(target.path, f"invariants[{index}]", raw, expand=False)
        name = table.string("name", required=True) or ""
        if name in {i.name for i in found}:
            raise ConfigError(f"{target.path}: two [[invariants]] are named {name!r}. Next step: name each once")
        spec = table.string("python")
        text = table.string("expr")
        table.done()
        if (spec is None) == (text is None):
            raise ConfigError(
                f"{target.path}: invariants[{index}] ({name!r}) needs exactly one of expr (a view expression) and "
                'python ("file.py:function"). Next step: e.g. expr = "balance(Escrow) >= Escrow.totalOwed()"'
            )
        if text is not None:
            found.append(Invariant(name, expr=parse_expression(text, f"{target.path}: invariants[{index}].expr")))
            continue
        assert spec is not None
        file, _, function = spec.rpartition(":")
        if not file or not function.isidentifier():
            raise ConfigError(
                f'{target.path}: invariants[{index}].python = {spec!r} must be "file.py:function". Next step: fix it'
            )
        path = (target.root / file).resolve()
        if not path.is_file():
            raise ConfigError(
                f"{target.path}: invariants[{index}].python names {path}, which does not exist. Next step: correct the "
                "path (relative to the target file)"
            )
        found.append(Invariant(name, path=path, function=function))
    return tuple(found)


def prepare(invariant: Invariant) -> Check:
    """The invariant ready to evaluate; a ConfigError when the team's file cannot be imported or lacks it."""
    if invariant.expr is not None:
        expression = invariant.expr

        def holds(view: ChainView) -> Any:
            ok, observed = expression.evaluate(view)
            return None if ok else observed

        return Check(invariant, holds)
    return Check(invariant, load_function(invariant))


def ready(invariants: Sequence[Invariant], operator: Operator) -> tuple[list[Check], list[str]]:
    """The invariants ready to evaluate on ``operator``'s system, else what stops them (a file that does
    not import, a name not deployed, a view not in the ABI): the team's to fix, said before any step."""
    try:
        checks = [prepare(invariant) for invariant in invariants]
    except ConfigError as exc:
        return [], [str(exc)]
    return checks, [f"{problem}. {FIX_IT}" for problem in unusable(checks, ChainView(operator))]


def unusable(checks: Sequence[Check], view: ChainView) -> list[str]:
    """Invariants that cannot even be read on the deployed system before any step (a name that is not
    deployed, a view that does not exist, a function that raises): the team's to fix, not a breach."""
    problems = []
    for check in checks:
        try:
            expression = check.invariant.expr
            for contract, function in expression.views() if expression is not None else ():
                view.outputs(contract, function)  # a name that is not deployed, a function not in its ABI
            check.function(view)
        except (ExpressionError, ConfigError) as exc:
            problems.append(f"invariant {check.invariant.name!r} ({check.invariant.source}) cannot be evaluated: {exc}")
        except Exception as exc:  # the team's code
            problems.append(
                f"invariant {check.invariant.name!r} ({check.invariant.source}) raised {type(exc).__name__}: {exc}"
            )
    return problems


def evaluate(check: Check, view: ChainView) -> tuple[bool, str]:
    """(holds, observed); an error of the team's code or of a view is a breach of a kind, said plainly."""
    try:
        result = check.function(view)
    except ExpressionError as exc:
        result = f"the expression could not be evaluated: {exc}"
    except Exception as exc:  # the team's code
        result = f"the invariant raised {type(exc).__name__}: {exc}"
    holds = result is None or result is True
    return holds, "holds" if holds else str(result)


def load_function(invariant: Invariant) -> Callable[[ChainView], Any]:
    """The team's function; a ConfigError when the file cannot be imported or lacks it."""
    assert invariant.path is not None
    spec = importlib.util.spec_from_file_location(f"signoff_invariants_{invariant.path.stem}", invariant.path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{invariant.path} cannot be imported as Python. Next step: check the file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the team's code: any error is theirs, said plainly
        raise ConfigError(
            f"{invariant.path} failed to import: {type(exc).__name__}: {exc}. Next step: fix it"
        ) from None
    function = getattr(module, invariant.function, None)
    if not callable(function):
        raise ConfigError(
            f"{invariant.path} has no function {invariant.function}. Next step: correct [[invariants]] python"
        )
    return function  # type: ignore[no-any-return]


class ChainView:
    """What an invariant may read: views of the deployed contracts and balances, at the latest block."""

    def __init__(self, operator: Operator) -> None:
        self._operator = operator
        self._entries: dict[tuple[str, str], Any] = {}  # (contract, function) -> its ABI entry
        self._from: str | None = None

    def address(self, name: str) -> str:
        return self._operator.system.address(name if name.startswith("@") else f"@{name}")

    def balance(self, name: str) -> int:
        return int(self._operator.w3.eth.get_balance(self.address(name)))  # type: ignore[arg-type]

    def call(self, contract: str, function: str, *args: Any) -> Any:
        """``contract.function(*args)`` as an ``eth_call`` at the latest block: one value, or a tuple.
        Encoded and decoded here, sent as one raw request (no contract object, no filled defaults:
        an invariant is read after every step, so this is the search's hot path)."""
        from eth_abi.abi import decode
        from eth_utils.address import to_checksum_address

        from signoff.artifacts.abi import canonical_type, encode_call, find_function
        from signoff.deploy.rehearsal import Reverted, _abi_of, decode_revert

        key = (contract, function)
        entry = self._entries.get(key)
        if entry is None:
            entry = find_function(_abi_of(self._operator.system, contract), function, f"invariant view {contract}")
            self._entries[key] = entry
        data = encode_call([entry], str(entry["name"]), args, f"{contract}.{function}")
        request = {"from": self._caller(), "to": self.address(contract), "data": "0x" + data.hex()}
        try:
            raw = self._operator.chain.request("eth_call", request, "latest")
        except Exception as exc:  # a revert: eth-tester raises, an RPC node answers an error
            from signoff.chain.backends import revert_data

            reason = decode_revert(revert_data(exc), self._operator.abis) or str(exc)
            raise Reverted(f"{contract}.{function} reverted: {reason}", revert_data(exc)) from None
        returned = bytes.fromhex(raw[2:]) if isinstance(raw, str) else bytes(raw)
        outputs = entry.get("outputs", [])
        values = decode([canonical_type(o) for o in outputs], returned)
        values = tuple(_checksummed(v, to_checksum_address) for v in values)
        return values[0] if len(values) == 1 else values

    def _caller(self) -> str:
        if self._from is None:
            accounts = list(self._operator.system.accounts.values())
            self._from = accounts[0] if accounts else "0x" + "00" * 20
        return self._from

    def outputs(self, contract: str, function: str) -> list[str]:
        """The output names of ``contract.function`` ("" for an unnamed one)."""
        from signoff.artifacts.abi import find_function
        from signoff.deploy.rehearsal import _abi_of

        entry = find_function(_abi_of(self._operator.system, contract), function, contract)
        return [str(output.get("name", "")) for output in entry.get("outputs", [])]


def _checksummed(value: Any, checksum: Callable[[str], str]) -> Any:
    """Addresses as web3 returns them (EIP-55), also inside lists and tuples."""
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return checksum(value)
    if isinstance(value, list | tuple):
        return type(value)(_checksummed(item, checksum) for item in value)
    return value


def walk(
    operator: Operator, flow: Flow, checks: Sequence[Check], topics: Mapping[bytes, str]
) -> tuple[list[dict[str, Any]], tuple[str, str, str] | None]:
    """Run ``flow``'s steps as declared (a step that reverts just reverts) and check every invariant
    after each; stop at the first breach: (step, invariant, how)."""
    from signoff.deploy.plan import WaitStep, describe
    from signoff.deploy.rehearsal import _wait_step
    from signoff.flows.declared import execute

    view = ChainView(operator)
    rows: list[dict[str, Any]] = []
    for flow_step in flow.steps:
        step = flow_step.step
        label = describe(step)
        if isinstance(step, WaitStep):
            _wait_step(operator, step)
            outcome = "waited"
        else:
            outcome = "succeeded" if execute(operator, step, topics).succeeded else "reverted"
        for check in checks:
            holds, observed = evaluate(check, view)
            rows.append(
                {
                    "step": label,
                    "outcome": outcome,
                    "invariant": check.invariant.name,
                    "observed": observed,
                    "verdict": "pass" if holds else "fail",
                }
            )
            if not holds:
                return rows, (label, check.invariant.name, observed)
    return rows, None
