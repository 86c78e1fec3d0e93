"""Invariants written as view expressions over the deployed system (``[[invariants]] expr``)::

    balance(MarketEscrow) >= sum(MarketEscrow.owedBy(i) for i in range(1, MarketEscrow.escrowCount() + 1))

The language is a small, read-only subset of Python's expression syntax, parsed with :mod:`ast`
and walked here (never ``eval``):

- ``Contract.view(args...)``: a view of a deployed contract; a multi-value return is indexed
  (``Escrow.getEscrow(i)[3]``) or read by output name (``Escrow.getEscrow(i).paidAmount``);
- ``balance(Name)``: the wei balance of a contract or account; ``Name`` alone is its address;
- integers, ``"0.5 ether"``-style amounts with ``ether("0.5")``, ``true``/``false`` spelled
  ``True``/``False``; ``+ - * // %``, comparisons (chained), ``and or not``, ``x if c else y``;
- ``sum``, ``all``, ``any``, ``min``, ``max`` over ``for i in range(a, b)`` (at most
  :data:`MAX_RANGE` values), and ``len`` of a returned list.

A false comparison says both sides; for ``>=``/``>`` between amounts it says the shortfall.
"""

from __future__ import annotations

import ast
import operator as op
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from signoff.errors import ConfigError

MAX_RANGE = 10_000

_BINARY: Mapping[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: op.add,
    ast.Sub: op.sub,
    ast.Mult: op.mul,
    ast.FloorDiv: op.floordiv,
    ast.Mod: op.mod,
}
_COMPARE: Mapping[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.GtE: op.ge,
    ast.Gt: op.gt,
    ast.LtE: op.le,
    ast.Lt: op.lt,
    ast.Eq: op.eq,
    ast.NotEq: op.ne,
}
_AGGREGATES: Mapping[str, Callable[[list[Any]], Any]] = {
    "sum": sum,
    "all": all,
    "any": any,
    "min": lambda items: min(items) if items else 0,
    "max": lambda items: max(items) if items else 0,
}


class Reader(Protocol):
    """What an expression may read (signoff.flows.invariants.ChainView)."""

    def address(self, name: str) -> str: ...
    def balance(self, name: str) -> int: ...
    def call(self, contract: str, function: str, *args: Any) -> Any: ...
    def outputs(self, contract: str, function: str) -> list[str]: ...


class ExpressionError(Exception):
    """The expression cannot be evaluated on this system (a wrong name, a view that reverts)."""


@dataclass(frozen=True)
class Expression:
    text: str
    tree: ast.Expression

    def views(self) -> list[tuple[str, str]]:
        """Every ``Contract.view`` the expression calls, for checking names before any step."""
        return [
            (node.func.value.id, node.func.attr)
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
        ]

    def evaluate(self, reader: Reader) -> tuple[bool, str]:
        """(holds, what was observed): both sides of a false comparison, and the shortfall."""
        walker = _Walker(reader)
        body = self.tree.body
        if isinstance(body, ast.Compare) and len(body.ops) == 1:
            left = walker.value(body.left)
            right = walker.value(body.comparators[0])
            holds = _COMPARE[type(body.ops[0])](left, right)
            observed = f"{_src(self.text, body.left)} = {left}, {_src(self.text, body.comparators[0])} = {right}"
            if not holds and isinstance(body.ops[0], ast.GtE | ast.Gt) and _amounts(left, right):
                short = right - left + (1 if isinstance(body.ops[0], ast.Gt) else 0)
                observed += f": short by {short} wei" + (f" ({_ether(short)} ether)" if short >= 10**9 else "")
            return bool(holds), observed
        result = walker.value(body)
        return bool(result), f"{self.text} is {result}"


def parse_expression(text: str, where: str) -> Expression:
    """Parse and vet ``text``; a ConfigError naming ``where`` when it is not in the language."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"{where}: {text!r} is not an expression ({exc.msg}). Next step: correct it") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ConfigError(
                f"{where}: {text!r} uses {type(node).__name__}, which an invariant expression cannot. Next step: "
                "write views, balance(Name), arithmetic, comparisons and sum/all/any/min/max over range(a, b), or "
                'move it to a Python function (python = "invariants.py:function")'
            )
        if isinstance(node, ast.comprehension) and (
            node.ifs or node.is_async or not isinstance(node.target, ast.Name) or not _is_range(node.iter)
        ):
            raise ConfigError(
                f"{where}: {text!r}: a comprehension here is 'for name in range(a, b)' with no condition. "
                "Next step: rewrite it, e.g. sum(X.owed(i) for i in range(1, X.count() + 1))"
            )
    return Expression(text.strip(), tree)


_ALLOWED = (
    ast.Expression,
    ast.Compare,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.BinOp,
    ast.IfExp,
    ast.Call,
    ast.Attribute,
    ast.Subscript,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Constant,
    ast.GeneratorExp,
    ast.comprehension,
    *_BINARY,
    *_COMPARE,
)


def _is_range(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"


def _amounts(left: Any, right: Any) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in (left, right))


def _ether(amount: int) -> str:
    whole, fraction = divmod(amount, 10**18)
    return f"{whole}.{fraction:018d}".rstrip("0").rstrip(".")


def _src(text: str, node: ast.expr) -> str:
    return ast.get_source_segment(text, node) or ast.unparse(node)


class _Walker:
    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.names: dict[str, Any] = {}

    def value(self, node: ast.expr) -> Any:  # noqa: PLR0911 - one branch per node kind
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool | int | str):
                return node.value
            raise ExpressionError(f"{node.value!r} is not a number, text or truth value")
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return self.names[node.id]
            if node.id in ("True", "False"):
                return node.id == "True"
            return self._address(node.id)
        if isinstance(node, ast.UnaryOp):
            operand = self.value(node.operand)
            return (not operand) if isinstance(node.op, ast.Not) else -operand
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](self.value(node.left), self.value(node.right))
        if isinstance(node, ast.BoolOp):
            values = (self.value(v) for v in node.values)
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.Compare):
            left = self.value(node.left)
            for operation, comparator in zip(node.ops, node.comparators, strict=True):
                right = self.value(comparator)
                if not _COMPARE[type(operation)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self.value(node.body) if self.value(node.test) else self.value(node.orelse)
        if isinstance(node, ast.Subscript):
            container = self.value(node.value)
            index = self.value(node.slice)
            try:
                return container[index]
            except (IndexError, TypeError, KeyError):
                raise ExpressionError(f"{ast.unparse(node)}: {container!r} has no [{index!r}]") from None
        if isinstance(node, ast.Attribute):
            return self._field(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise ExpressionError(f"{ast.unparse(node)} cannot be evaluated")

    def _address(self, name: str) -> str:
        try:
            return self.reader.address(name)
        except ConfigError:
            raise ExpressionError(f"{name} is not a contract or account of this system") from None

    def _field(self, node: ast.Attribute) -> Any:
        call = node.value
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            raise ExpressionError(f"{ast.unparse(node)}: only a view's named output can be read with .name")
        contract, function = _target(call.func)
        names = self.reader.outputs(contract, function)
        if node.attr not in names:
            raise ExpressionError(
                f"{contract}.{function} returns no output named {node.attr} (outputs: {', '.join(names) or 'unnamed'})"
            )
        result = self.value(call)
        return result[names.index(node.attr)] if len(names) > 1 else result

    def _call(self, node: ast.Call) -> Any:
        func = node.func
        if isinstance(func, ast.Name):
            if func.id == "balance" and len(node.args) == 1 and isinstance(node.args[0], ast.Name):
                return self._balance(node.args[0].id)
            if func.id == "ether" and len(node.args) == 1:
                from signoff.target import parse_wei

                amount = parse_wei(f"{self.value(node.args[0])} ether")
                if amount is None:
                    raise ExpressionError(f"{ast.unparse(node)} is not a whole number of wei")
                return amount
            if func.id == "len" and len(node.args) == 1:
                return len(self.value(node.args[0]))
            if func.id in _AGGREGATES and len(node.args) == 1 and isinstance(node.args[0], ast.GeneratorExp):
                return _AGGREGATES[func.id](self._generate(node.args[0]))
            raise ExpressionError(
                f"{ast.unparse(node)}: the functions are balance(Name), ether(x), len(x) and sum/all/any/min/max "
                "over (... for i in range(a, b))"
            )
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            contract, function = _target(func)
            args = [self.value(arg) for arg in node.args]
            try:
                return self.reader.call(contract, function, *args)
            except ConfigError as exc:
                raise ExpressionError(str(exc)) from None
            except Exception as exc:  # a view that reverts or cannot be encoded: said, not raised
                raise ExpressionError(f"{contract}.{function}({', '.join(map(str, args))}) failed: {exc}") from None
        raise ExpressionError(f"{ast.unparse(node)} is not Contract.view(...) or a known function")

    def _balance(self, name: str) -> int:
        try:
            return self.reader.balance(name)
        except ConfigError:
            raise ExpressionError(f"{name} is not a contract or account of this system") from None

    def _generate(self, node: ast.GeneratorExp) -> list[Any]:
        (loop,) = node.generators
        assert isinstance(loop.target, ast.Name) and isinstance(loop.iter, ast.Call)
        bounds = [self.value(arg) for arg in loop.iter.args]
        if not bounds or len(bounds) > 2 or not all(isinstance(b, int) for b in bounds):
            raise ExpressionError(f"{ast.unparse(loop.iter)} needs one or two integer bounds")
        numbers = range(*bounds)
        if len(numbers) > MAX_RANGE:
            raise ExpressionError(f"{ast.unparse(loop.iter)} spans {len(numbers)} values; at most {MAX_RANGE}")
        values = []
        saved = self.names.get(loop.target.id)
        for number in numbers:
            self.names[loop.target.id] = number
            values.append(self.value(node.elt))
        if saved is None:
            self.names.pop(loop.target.id, None)
        else:
            self.names[loop.target.id] = saved
        return values


def _target(func: ast.Attribute) -> tuple[str, str]:
    if not isinstance(func.value, ast.Name):
        raise ExpressionError(f"{ast.unparse(func)}: write Contract.view(...)")
    return func.value.id, func.attr
