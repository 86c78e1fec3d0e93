"""PD-GAS: gas of the dispatcher's manifest workflow, from receipts, against budgets and a baseline.

A drill grants COMMIT_ROLE and APPLY_ROLE to an unprivileged operator account (through
governance), so the receipts measure the dispatcher and not a Safe's overhead; the operator then
commits the plan's root for the next epoch, applies ``[postdeploy.gas] selectors`` of its routes
in one ``applyRoutes``, waits out the activation delay and activates. Each number is judged
against its budget and against the committed baseline file (a regression is a measurement above
``baseline * (1 + tolerance)``); ``--signoff-update-snapshots`` writes the baseline instead.
Judging and the baseline file are pure; :func:`measure_workflow` is the one function that sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signoff.artifacts.hashing import keccak256
from signoff.deploy.manifest import checksum
from signoff.errors import ChainError, ConfigError
from signoff.findings import Finding
from signoff.postdeploy import dispatcher as dsp
from signoff.postdeploy.settings import GasBudgets

if TYPE_CHECKING:
    from signoff.deploy.rehearsal import Operator

CHECK_ID = "PD-GAS"
MEASURED = ("commit", "apply", "apply_per_selector", "activate", "workflow")
UPDATE_COMMAND = "pytest -m gas --signoff-update-snapshots --signoff-target={target}"


@dataclass(frozen=True)
class GasMeasurement:
    """``gasUsed`` of the three workflow receipts; ``selectors`` routes went into the apply."""

    commit: int
    apply: int
    activate: int
    selectors: int
    measured_as: str = "receipt gasUsed"  # of an operator EOA granted the commit and apply roles

    @property
    def apply_per_selector(self) -> int:
        return self.apply // self.selectors

    @property
    def workflow(self) -> int:
        return self.commit + self.apply + self.activate

    def values(self) -> dict[str, int]:
        return {key: int(getattr(self, key)) for key in MEASURED}


@dataclass(frozen=True)
class GasBaseline:
    """The committed measurements of an earlier run (``measured_on`` names its chain)."""

    values: Mapping[str, int]
    selectors: int
    measured_on: str


def baseline_document(measurement: GasMeasurement, measured_on: str) -> dict[str, Any]:
    return {**measurement.values(), "selectors": measurement.selectors, "measured_on": measured_on}


def render_baseline(measurement: GasMeasurement, measured_on: str) -> str:
    return json.dumps(baseline_document(measurement, measured_on), indent=2) + "\n"


def parse_baseline(text: str, shown: str, command: str) -> GasBaseline:
    """A baseline file's content; a ConfigError naming the key when it is malformed."""
    redo = f"Next step: fix it, or rewrite it from a measurement with `{command}`"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"gas baseline {shown} is not valid JSON ({exc}). {redo}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"gas baseline {shown} must be a JSON object, found {type(document).__name__}. {redo}")
    values: dict[str, int] = {}
    for key in (*MEASURED, "selectors"):
        value = document.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(
                f"gas baseline {shown}: {key!r} must be a positive integer (gas units), found {value!r}. {redo}"
            )
        values[key] = value
    measured_on = document.get("measured_on", "")
    if not isinstance(measured_on, str):
        raise ConfigError(f"gas baseline {shown}: 'measured_on' must be a string, found {measured_on!r}. {redo}")
    selectors = values.pop("selectors")
    return GasBaseline(values, selectors, measured_on)


def load_baseline(path: Path, shown: str, command: str) -> GasBaseline | None:
    """The baseline at ``path``, or None when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"gas baseline {shown} cannot be read ({exc.strerror})") from None
    return parse_baseline(text, shown, command)


def delta(measured: int, baseline: int) -> str:
    """``+3.2%``: the change of ``measured`` relative to ``baseline``."""
    return f"{(measured - baseline) / baseline * 100:+.1f}%"


@dataclass
class GasResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


_OPERATIONS = (
    ("commit", "commitRoot", "commit"),
    ("apply", "applyRoutes ({n} selectors)", None),
    ("apply_per_selector", "applyRoutes per selector", "apply_per_selector"),
    ("activate", "activateCommittedRoot", "activate"),
    ("workflow", "workflow (commit + apply + activate)", "workflow"),
)


def judge_gas(
    measurement: GasMeasurement,
    budgets: GasBudgets,
    baseline: GasBaseline | None,
    *,
    baseline_shown: str | None,
    command: str,
    subject: str,
) -> GasResult:
    """Rows of the PD-GAS table and the findings: budgets exceeded, regressions, a missing baseline."""
    result = GasResult()
    n = measurement.selectors
    comparable = baseline is not None and baseline.selectors == n
    if baseline_shown is None:
        result.findings.append(
            Finding(
                CHECK_ID,
                subject,
                "warning",
                "no [postdeploy.gas] baseline is configured: only the budgets are checked, regressions are not. "
                f"Next step: add baseline = 'gas-baseline.json' and write it with `{command}`",
            )
        )
    elif baseline is None:
        result.findings.append(
            Finding(
                CHECK_ID,
                baseline_shown,
                "error",
                f"gas baseline {baseline_shown} ([postdeploy.gas] baseline) does not exist, so a gas regression cannot "
                f"be told. Next step: write it from this build with `{command}`, review and commit it",
            )
        )
    elif not comparable:
        result.findings.append(
            Finding(
                CHECK_ID,
                baseline_shown,
                "error",
                f"gas baseline {baseline_shown} measured a workflow of {baseline.selectors} selector(s), this run "
                f"applies {n} ([postdeploy.gas] selectors): the numbers are not comparable. Next step: rewrite the "
                f"baseline with `{command}`",
            )
        )
    for order, (key, label, budget_key) in enumerate(_OPERATIONS, start=1):
        operation = label.format(n=n)
        measured = measurement.values()[key]
        budget = budgets.apply_per_selector * n if budget_key is None else int(getattr(budgets, budget_key))
        within = measured <= budget
        if not within and budget_key is not None:
            result.findings.append(
                Finding(
                    CHECK_ID,
                    operation,
                    "error",
                    f"{operation} used {measured:,} gas ({measurement.measured_as}), over its budget of {budget:,} "
                    f"([postdeploy.gas] {budget_key}). Next step: make it cheaper, or raise the budget if the cost "
                    "is accepted",
                )
            )
        base = baseline.values[key] if baseline is not None and comparable else None
        regressed = False
        if base is not None:
            limit = base * (1 + budgets.tolerance)
            regressed = measured > limit
            if regressed:
                result.findings.append(
                    Finding(
                        CHECK_ID,
                        operation,
                        "error",
                        f"{operation} used {measured:,} gas, {delta(measured, base)} against the baseline {base:,} "
                        f"in {baseline_shown} (tolerance {budgets.tolerance:.0%}: at most {int(limit):,}). Next step: "
                        "find what made it more expensive; if the increase is intended, rewrite the baseline with "
                        f"`{command}` and commit it",
                    )
                )
            elif measured < base / (1 + budgets.tolerance):
                result.findings.append(
                    Finding(
                        CHECK_ID,
                        operation,
                        "info",
                        f"{operation} used {measured:,} gas, {delta(measured, base)} against the baseline {base:,}: "
                        f"cheaper beyond the tolerance; rewrite the baseline (`{command}`) to keep the gain",
                    )
                )
        result.rows.append(
            {
                "order": order,
                "operation": operation,
                "budget": budget,
                "measured": measured,
                "baseline": base if base is not None else "—",
                "delta": delta(measured, base) if base is not None else "—",
                "verdict": "fail" if not within or regressed else "pass",
            }
        )
    return result


# -- the drill ------------------------------------------------------------------------------------------


def _role(op: Operator, ctx: dsp.DispatcherContext, name: str) -> bytes:
    """The role id from the dispatcher when it exposes it, else OpenZeppelin's keccak256(name)."""
    if _has_function(ctx, name):
        return bytes(dsp.view(op.w3, ctx, name))
    return keccak256(name.encode())


def _require(done: dsp.Attempt, step: str, sender: str) -> int:
    if done.sent is None:
        raise ChainError(
            f"the PD-GAS drill could not {step} as {sender}: it reverted {done.reason}. Next step: run PD-DSP "
            "(pytest -m dispatcher) to see which part of the lifecycle is broken"
        )
    return done.sent.gas_used


def _has_function(ctx: dsp.DispatcherContext, name: str) -> bool:
    return any(e.get("type") == "function" and e.get("name") == name for e in ctx.abi)


def measure_workflow(op: Operator, ctx: dsp.DispatcherContext, selectors: int) -> GasMeasurement:
    """Commit, apply ``selectors`` plan routes and activate; gas from receipts of a plain operator
    granted the roles, or, for a dispatcher that only its governance drives, from eth_estimateGas
    of governance's direct call right before each step is sent (a Safe's execTransaction overhead
    is not the dispatcher's)."""
    from signoff.deploy.lifecycle import apply_values, commit_values

    plan = ctx.plan
    if not 0 < selectors <= len(plan.routes):
        raise ConfigError(
            f"[postdeploy.gas] selectors = {selectors}, but {plan.label} has {len(plan.routes)} route(s). "
            "Next step: set selectors between 1 and the number of routes (or drop it for all of them)"
        )
    roles = _has_function(ctx, "grantRole")  # AccessControl: an operator can be given the roles
    operator = op.outsider(0) if roles else ctx.governance
    if roles:
        for role in ("COMMIT_ROLE", "APPLY_ROLE"):
            granted = dsp.attempt(
                op, ctx.governance, ctx, ctx.calldata("grantRole", _role(op, ctx, role), operator), role
            )
            _require(granted, f"grant {role} to the operator {operator}", f"governance {ctx.governance}")
    epoch = dsp.read_state(op.w3, ctx).active_epoch + 1
    # The plan's own root and proofs, unless the plan carries none: then the same routes, proven afresh.
    manifest = plan if all(r.proof is not None for r in plan.routes) else dsp.next_manifest(plan, epoch)
    routes = manifest.routes[:selectors]

    def estimated(data: bytes) -> int:
        return 0 if roles else op.estimate(operator, ctx.address, data)

    commit_gas = estimated(ctx.calldata(ctx.fn("commit"), *commit_values(ctx.lifecycle, manifest.root, epoch)))
    commit = _require(dsp.commit(op, operator, ctx, manifest.root, epoch), f"commit epoch {epoch}", operator)
    apply_gas = estimated(ctx.calldata(ctx.fn("apply"), *apply_values(ctx.lifecycle, routes, checksum)))
    apply = _require(dsp.apply_routes(op, operator, ctx, routes), f"apply {len(routes)} routes", operator)
    dsp.travel_to(op, dsp.read_state(op.w3, ctx).eta)
    activate_gas = estimated(ctx.calldata(ctx.fn("activate")))
    activate = _require(dsp.activate(op, operator, ctx), f"activate epoch {epoch}", operator)
    if roles:
        return GasMeasurement(commit, apply, activate, len(routes))
    return GasMeasurement(
        commit_gas,
        apply_gas,
        activate_gas,
        len(routes),
        f"eth_estimateGas of governance's direct calls: {ctx.name} has no roles to grant",
    )
