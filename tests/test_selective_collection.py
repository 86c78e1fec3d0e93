"""Collection costs what -m selects: a suite module none of whose items could satisfy the
expression is not imported, yet a module where only some items carry a mark (PD-DSP's drills)
is still collected for `not drill`, and selecting nothing is still a usage error that says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from signoff.markers import can_match, marks_in_source
from tests.conftest import REPO, SuiteRun

SUITES = REPO / "suites"


def test_marks_are_read_from_the_source_without_importing_it() -> None:
    assert marks_in_source(SUITES / "postdeploy" / "test_pd_dsp.py") == (
        frozenset({"postdeploy", "dispatcher"}),
        frozenset({"drill"}),  # only the drill aspects carry it
    )
    assert marks_in_source(SUITES / "preflight" / "test_pf_reh.py") == (
        frozenset({"preflight", "rehearsal", "drill"}),
        frozenset(),
    )


@pytest.mark.parametrize(
    ("expression", "module", "expected"),
    [
        ("selectors", "preflight/test_pf_sel.py", True),
        ("selectors", "preflight/test_pf_size.py", False),
        ("postdeploy and not drill", "postdeploy/test_pd_dsp.py", True),  # live-routes has no drill
        ("postdeploy and not drill", "postdeploy/test_pd_gas.py", False),  # every item drills
        ("drill", "postdeploy/test_pd_dsp.py", True),
        ("not preflight", "preflight/test_pf_size.py", False),
        ("access_control", "e2e_pou/test_pu_att.py", True),
        ("foo(x=1)", "preflight/test_pf_size.py", True),  # keyword arguments: not ruled out
    ],
)
def test_can_match(expression: str, module: str, expected: bool) -> None:
    found = marks_in_source(SUITES / module)
    assert found is not None
    assert can_match(expression, *found) is expected


def test_a_family_run_collects_only_its_modules(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "selectors", "--collect-only", "-q")
    collected = run.result.stdout.str()
    assert "test_pf_sel.py" in collected
    assert "test_pf_size.py" not in collected and "test_pd_" not in collected
    assert "deselected" not in collected.split("\n")[-2]  # nothing was collected only to be thrown away


def test_not_drill_still_runs_the_read_only_aspect(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "dispatcher and not drill", "--collect-only", "-q")
    assert "test_pd_dsp[live-routes]" in run.result.stdout.str()
    assert "test_pd_dsp[commit-epoch]" not in run.result.stdout.str()


def test_a_selection_of_nothing_is_still_a_usage_error(run_suite, tmp_path: Path) -> None:
    run: SuiteRun = run_suite("-m", "selectors and e2e_pou")
    assert run.result.ret == 4, run.output
    assert "-m 'selectors and e2e_pou' selected none of the" in run.output
    assert "suite modules" in run.output and "Nothing was checked" in run.output
