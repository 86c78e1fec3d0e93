"""PD-WIRE: each module's address getters point at the modules the system deployed.

Every ``[[postdeploy.wiring]]`` entry names a getter (``PayRoxProxyRouter.dispatcher``) and the
module it must return (``@ManifestDispatcher``). The getter is looked up in the contract's ABI
first: one the ABI lacks is reported as missing (the contract cannot be wired that way, so a
call would only produce a confusing revert); one that takes arguments or does not return an
address is reported as not a getter. Otherwise it is called without arguments through a
:class:`~signoff.postdeploy.ownership.ChainReader` (a read at the pinned block on a live
network) and its answer compared with the expected address; a revert is reported with its
decoded reason. :func:`judge_wiring` is the pure comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from signoff.artifacts.abi import canonical_type, signature
from signoff.errors import ChainError
from signoff.findings import Finding
from signoff.postdeploy.ownership import ChainReader, call_data, decode_single
from signoff.postdeploy.settings import FunctionRef

CHECK_ID = "PD-WIRE"

Abi = Sequence[Mapping[str, Any]]
Label = Callable[[str], str]


@dataclass(frozen=True)
class WiringResult:
    """One getter's evidence row and findings."""

    row: dict[str, Any]
    findings: tuple[Finding, ...]


def getter_entry(abi: Abi, getter: FunctionRef) -> Mapping[str, Any] | None:
    """The ABI entry ``getter`` names (by signature when written with types, else the
    argument-free overload of that name, else its only one); None when the ABI lacks it."""
    functions = [e for e in abi if e.get("type") == "function" and e.get("name") == getter.function]
    if getter.signature is not None:
        wanted = getter.signature.replace(" ", "")
        functions = [e for e in functions if signature(e) == wanted]
    argument_free = [e for e in functions if not e.get("inputs")]
    if argument_free:
        return argument_free[0]
    return functions[0] if functions else None


def address_getters(abi: Abi) -> list[str]:
    """Argument-free functions returning one address: what could have been meant."""
    return sorted(
        str(e["name"])
        for e in abi
        if e.get("type") == "function"
        and not e.get("inputs")
        and [canonical_type(p) for p in e.get("outputs", [])] == ["address"]
    )


def not_a_getter(entry: Mapping[str, Any]) -> str | None:
    """Why ``entry`` cannot be a module address getter, or None when it can."""
    inputs = [canonical_type(p) for p in entry.get("inputs", [])]
    outputs = [canonical_type(p) for p in entry.get("outputs", [])]
    if inputs:
        return f"takes {len(inputs)} argument(s) ({', '.join(inputs)}); PD-WIRE calls getters without arguments"
    if outputs != ["address"]:
        return f"returns ({', '.join(outputs)}), not one address"
    return None


def judge_wiring(getter: str, expected: str, actual: str, label: Label) -> WiringResult:
    """Compare what ``getter`` returned with the address it must return."""
    row = {"getter": getter, "expected": label(expected), "actual": label(actual)}
    if actual.lower() == expected.lower():
        return WiringResult({**row, "verdict": "pass"}, ())
    message = (
        f"{getter}() is {label(actual)}, expected {label(expected)}: the module is wired to the wrong "
        "contract. Next step: redeploy or re-point it at the expected module, or correct "
        "[[postdeploy.wiring]] expect if the deployment is right"
    )
    return WiringResult({**row, "verdict": "fail"}, (Finding(CHECK_ID, getter, "error", message),))


def _problem(getter: str, expected: str, actual: str, message: str) -> WiringResult:
    row = {"getter": getter, "expected": expected, "actual": actual, "verdict": "fail"}
    return WiringResult(row, (Finding(CHECK_ID, getter, "error", message),))


def check_wiring(
    reader: ChainReader, getter: FunctionRef, *, address: str, abi: Abi | None, expected: str, label: Label
) -> WiringResult:
    """Look ``getter`` up in ``abi`` (None: no artifact), call it at ``address``, compare."""
    shown = str(getter)
    contract = getter.contract
    if abi is None:
        return _problem(
            shown,
            label(expected),
            "no artifact",
            f"{shown}: {contract} has no artifact, so its ABI is unknown. Next step: compile it into "
            "[target] artifacts under that name",
        )
    entry = getter_entry(abi, getter)
    if entry is None:
        candidates = ", ".join(address_getters(abi)) or "none"
        return _problem(
            shown,
            label(expected),
            "missing from the ABI",
            f"{shown} is missing from the ABI of {contract} (not called; its address getters: {candidates}). "
            "Next step: correct [[postdeploy.wiring]] getter, or deploy a build of "
            f"{contract} that exposes it",
        )
    why = not_a_getter(entry)
    if why is not None:
        return _problem(
            shown,
            label(expected),
            "not a getter",
            f"{contract}.{signature(entry)} {why}. Next step: name an address getter in [[postdeploy.wiring]]",
        )
    what = f"{contract}.{signature(entry)}"
    try:
        raw = reader.call(address, call_data(signature(entry)), what)
        actual = str(decode_single("address", raw, what))
    except ChainError as exc:
        return _problem(shown, label(expected), "reverted" if "reverted" in str(exc) else "unreadable", str(exc))
    from eth_utils.address import to_checksum_address

    return judge_wiring(shown, expected, str(to_checksum_address(actual)), label)


def wiring_ids(getters: Sequence[str]) -> list[str]:
    """Test ids: the getter, numbered when the same getter is listed more than once."""
    ids: list[str] = []
    seen: dict[str, int] = {}
    for getter in getters:
        if list(getters).count(getter) == 1:
            ids.append(getter)
        else:
            seen[getter] = seen.get(getter, 0) + 1
            ids.append(f"{getter}#{seen[getter]}")
    return ids
