"""PD-GAS: the dispatcher's commit / apply / activate workflow within its gas budgets.

A drill (rehearsal chain or fork, undone afterwards) measures the workflow from receipts as an
operator holding COMMIT_ROLE and APPLY_ROLE; the numbers are judged against
``[postdeploy.gas]`` budgets and the committed baseline file. After an intended change, rewrite
the baseline with ``pytest -m gas --signoff-update-snapshots`` (on eth-tester) and commit it.
"""

from pathlib import Path

import pytest

from signoff.deploy.system import DeployedSystem
from signoff.errors import SignoffError
from signoff.findings import Finding
from signoff.postdeploy import dispatcher as dsp
from signoff.postdeploy import gas
from signoff.postdeploy.settings import GasBudgets
from signoff.redaction import redact
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable

CHECK_ID = gas.CHECK_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.gas, pytest.mark.drill]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "workflow" in metafunc.fixturenames:
        configured = settings_of(metafunc.config).target.manifest is not None
        metafunc.parametrize("workflow", [configured], ids=["workflow" if configured else "not-configured"])


def _shown(settings: SessionSettings, path: Path) -> str:
    """A path as the user wrote it: relative to the target file when it is below it."""
    try:
        return path.relative_to(settings.target.root).as_posix()
    except ValueError:
        return str(path)


def test_pd_gas(workflow: bool, signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    if not workflow:
        not_applicable(
            f"no [manifest] in {signoff_settings.target.path}: PD-GAS measures a Merkle-manifest dispatcher's "
            'workflow. To check one, add [manifest] plan = "dispatcher.plan.json" and dispatcher = "<Name>"'
        )
    problem = dsp.interface_problem(signoff_settings)
    if problem is not None and problem.startswith("error: "):
        pytest.fail(redact(problem.removeprefix("error: ")), pytrace=False)
    if problem is not None:
        not_applicable(f"PD-GAS measures the dispatcher's manifest lifecycle, but {problem}")
    budgets = signoff_settings.postdeploy.gas if signoff_settings.postdeploy else GasBudgets()
    command = gas.UPDATE_COMMAND.format(target=_shown_target(signoff_settings))
    system: DeployedSystem = request.getfixturevalue("deployed_system")
    drill = request.getfixturevalue("drill")  # skips with its NOT RUN reason on a live network without a fork
    findings: list[Finding] = []
    problem = ""
    try:
        ctx = dsp.load_context(signoff_settings, system)
        measurement = gas.measure_workflow(drill, ctx, budgets.selectors or len(ctx.plan.routes))
        shown = _shown(signoff_settings, budgets.baseline) if budgets.baseline is not None else None
        baseline = None
        if budgets.baseline is not None:
            if request.config.getoption("signoff_update_snapshots"):
                text = gas.render_baseline(measurement, drill.chain.network)
                if not budgets.baseline.is_file() or budgets.baseline.read_text(encoding="utf-8") != text:
                    budgets.baseline.write_text(text, encoding="utf-8")
                    findings.append(Finding(CHECK_ID, shown or "", "warning", f"wrote the gas baseline {shown}"))
            baseline = gas.load_baseline(budgets.baseline, shown or "", command)
    except SignoffError as exc:
        problem = redact(str(exc))
    if problem:  # outside the except: no chained traceback in the report
        evidence.check([Finding(CHECK_ID, str(signoff_settings.target.path), "error", problem)])
        return
    result = gas.judge_gas(measurement, budgets, baseline, baseline_shown=shown, command=command, subject=ctx.label)
    for row in result.rows:
        evidence.row("PD-GAS", row)
    evidence.attach("measured", gas.baseline_document(measurement, drill.chain.network))
    evidence.attach("tolerance", budgets.tolerance)
    evidence.attach("measured_as", measurement.measured_as)
    evidence.check([*findings, *result.findings])


def _shown_target(settings: SessionSettings) -> str:
    path = settings.target.path
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
