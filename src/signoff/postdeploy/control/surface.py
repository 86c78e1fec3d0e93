"""The owner control surface as Markdown, the document the handbook tells operations to
share with finance, legal and operations: every module with its address, type, holder and who
finally controls it (Safe k of n, timelock delay), pausers, the mapped parameters with units, and
the change plan. Pure: :func:`render` returns the text; the suite writes
``<reports>/<network>-owner-surface.md``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from signoff.postdeploy.control import drift
from signoff.postdeploy.control.plan import shown_args
from signoff.postdeploy.control.plane import ControlPlane

CHECK_ID = "PD-CTL"  # the surface is written by test_pd_ctl_surface


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def render(plane: ControlPlane, *, title: str, network: str, block: str, generated: str) -> str:
    label = plane.label
    lines = [
        f"# Owner control surface: {title}",
        "",
        f"Network **{network}**, read at block {block}; generated {generated} by signoff from "
        f"`{plane.settings.source.name}` and the config in `{plane.settings.config_dir.name}/`.",
        "",
        "## Modules",
        "",
    ]
    module_rows = []
    for name, facts in sorted(plane.modules.items()):
        path = plane.paths.get(name)
        module_rows.append(
            [
                f"{plane.keys.get(name, '(undeclared)')} / {name}",
                facts.address,
                facts.kind or "ownerless",
                f"{facts.holder_getter} {label(facts.holder)}" if facts.holder else facts.holder_getter,
                path.describe(label) if path else "",
                label(facts.pauser) if facts.pauser else "",
                "" if facts.paused is None else ("PAUSED" if facts.paused else "running"),
                "" if facts.version is None else facts.version,
            ]
        )
    lines += _table(
        ("Module", "Address", "Type", "Holder", "Finally controlled by", "Pauser", "State", "Version"), module_rows
    )
    lines += ["", "## Parameters (expected = the reviewed config)", ""]
    param_rows = []
    for reading in plane.readings.values():
        row, _ = drift.judge_reading(reading, label)
        param_rows.append(
            [row["file"], row["key"], row["getter"], row["unit"], row["expected"], row["onchain"], row["verdict"]]
        )
    for problem in plane.problems:
        param_rows.append([problem.file, problem.key, "", "", "", problem.status, "fail"])
    lines += _table(("File", "Key", "Getter", "Unit", "Expected", "On chain", "Verdict"), param_rows)
    lines += ["", "## Change plan", ""]
    calls = [entry for entry in plane.plan]
    if not calls:
        lines.append("Empty: the chain equals the reviewed config; no transaction would execute.")
    else:
        plan_rows = []
        for index, entry in enumerate(calls, 1):
            if entry.call is None:
                plan_rows.append([index, entry.param, "", "", entry.problem or "", ""])
                continue
            call = entry.call
            plan_rows.append(
                [
                    index,
                    entry.param,
                    f"{call.contract}.{call.function.split('(')[0]}({shown_args(call.args, label)})",
                    " <- ".join(call.route),
                    label(call.signer),
                    "0x" + call.data.hex(),
                ]
            )
        lines += _table(("#", "Key", "Call", "Route", "Must be signed by", "Calldata (to the first hop)"), plan_rows)
        lines += ["", "Every call above needs governance approval before it may execute."]
    lines.append("")
    return "\n".join(lines)
