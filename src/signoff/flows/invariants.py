"""FL-INV: invariants of the deployed system, checked after every step of every declared flow.

``[[invariants]]`` names a Python function in the team's repository (``python = "invariants.py:solvent"``,
relative to the target file). It receives a read-only :class:`ChainView` of the system after each
step and returns None (or True) when the invariant holds, else a text saying how it is broken (for
money: the shortfall in wei). Expressions over views, and a stateful search that interleaves the
flows' steps, are not built yet: the flows are walked as declared.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signoff.errors import ChainError, ConfigError
from signoff.target import Target, _Table

if TYPE_CHECKING:
    from signoff.deploy.rehearsal import Operator
    from signoff.flows.declared import Flow

CHECK_ID = "FL-INV"


@dataclass(frozen=True)
class Invariant:
    name: str
    path: Path
    function: str


def load_invariants(target: Target) -> tuple[Invariant, ...]:
    found = []
    for index, raw in enumerate(target.raw_invariants):
        table = _Table(target.path, f"invariants[{index}]", raw, expand=False)
        name = table.string("name", required=True) or ""
        spec = table.string("python", required=True) or ""
        table.done()
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
        found.append(Invariant(name, path, function))
    return tuple(found)


def load_function(invariant: Invariant) -> Callable[[ChainView], Any]:
    """The team's function; a ConfigError when the file cannot be imported or lacks it."""
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

    def address(self, name: str) -> str:
        return self._operator.system.address(name if name.startswith("@") else f"@{name}")

    def balance(self, name: str) -> int:
        return int(self._operator.w3.eth.get_balance(self.address(name)))  # type: ignore[arg-type]

    def call(self, contract: str, function: str, *args: Any) -> Any:
        from signoff.deploy.rehearsal import _abi_of, _view

        system = self._operator.system
        return _view(self._operator.w3, self.address(contract), _abi_of(system, contract), function, *args)


def walk(
    operator: Operator, flow: Flow, checks: Sequence[tuple[Invariant, Callable[[ChainView], Any]]]
) -> tuple[list[dict[str, Any]], tuple[str, str, str] | None]:
    """Run ``flow``'s steps as declared (a step that reverts just reverts) and check every invariant
    after each; stop at the first breach: (step, invariant, how)."""
    from signoff.artifacts.abi import encode_call
    from signoff.deploy.plan import WaitStep, describe
    from signoff.deploy.rehearsal import _abi_of, _wait_step

    system = operator.system
    view = ChainView(operator)
    rows: list[dict[str, Any]] = []
    for flow_step in flow.steps:
        step = flow_step.step
        label = describe(step)
        if isinstance(step, WaitStep):
            _wait_step(operator, step)
            outcome = "waited"
        else:
            data = encode_call(
                _abi_of(system, step.contract), step.function, system.resolve_args(step.args, where=label), label
            )
            try:
                operator.send(system.address(step.sender), system.address(step.contract), data, value=step.value)
                outcome = "succeeded"
            except ChainError:
                outcome = "reverted"
        for invariant, function in checks:
            try:
                result = function(view)
            except Exception as exc:  # the team's code: a crash is a breach of a kind, said plainly
                result = f"the invariant raised {type(exc).__name__}: {exc}"
            holds = result is None or result is True
            rows.append(
                {
                    "step": label,
                    "outcome": outcome,
                    "invariant": invariant.name,
                    "observed": "holds" if holds else str(result),
                    "verdict": "pass" if holds else "fail",
                }
            )
            if not holds:
                return rows, (label, invariant.name, str(result))
    return rows, None
