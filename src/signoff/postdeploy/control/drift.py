"""PD-CFG: each mapped config key against its getter, read at the pinned block. Pure judges."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from signoff.findings import Finding
from signoff.postdeploy.control.plane import KeyProblem
from signoff.postdeploy.control.reading import ParamReading
from signoff.postdeploy.control.values import shown

CHECK_ID = "PD-CFG"
Label = Callable[[str], str]


def judge_reading(reading: ParamReading, label: Label) -> tuple[dict[str, Any], tuple[Finding, ...]]:
    param = reading.param
    row: dict[str, Any] = {
        "key": param.key,
        "file": param.file,
        "getter": f"{param.contract}.{param.getter}",
        "unit": param.unit if param.unit != "tokens" else f"tokens ({param.decimals} decimals)",
        "expected": shown(param, reading.expected, label),
        "onchain": shown(param, reading.actual, label),
    }
    if reading.problem is not None:
        row.update(onchain="unreadable", verdict="fail")
        message = (
            f"{param.file}: {param.key} cannot be compared: {reading.problem}. Next step: correct getter in "
            f"[[control.file]] keys.{param.key}, or deploy a build that has it"
        )
        return row, (Finding(CHECK_ID, param.id, "error", message),)
    if reading.how == "predicate":
        row["onchain"] += f" (members asked one by one through {param.getter}(address); extras cannot be listed)"
    if reading.actual == reading.expected:
        row["verdict"] = "pass"
        return row, ()
    row["verdict"] = "fail"
    detail = ""
    if isinstance(reading.expected, frozenset) and isinstance(reading.actual, frozenset):
        absent = sorted(reading.expected - reading.actual, key=str.lower)
        extra = sorted(reading.actual - reading.expected, key=str.lower)
        parts = []
        if absent:
            parts.append("missing on chain: " + ", ".join(label(a) for a in absent))
        if extra:
            parts.append("on chain but not in the config: " + ", ".join(label(a) for a in extra))
        detail = f" ({'; '.join(parts)})"
    message = (
        f"{param.file}: {param.key} is {row['expected']} in the reviewed config, but {param.contract}."
        f"{param.getter} returns {row['onchain']}{detail}. Next step: have governance apply the change plan "
        "(PD-PLAN), or correct the config if the chain is right"
    )
    return row, (Finding(CHECK_ID, param.id, "error", message),)


def judge_problem(problem: KeyProblem) -> tuple[dict[str, Any], tuple[Finding, ...]]:
    row = {
        "key": problem.key,
        "file": problem.file,
        "getter": "",
        "unit": "",
        "expected": "",
        "onchain": problem.status,
        "verdict": "fail",
    }
    return row, (Finding(CHECK_ID, f"{problem.file}:{problem.key}", "error", problem.message),)
