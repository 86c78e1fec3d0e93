"""An e2e_pou check that fails ends with its next step: the broker's side of the runbook criterion, and,
where the broker answered with another code of the class the rule wants (a refusal for a refusal), the
[pou.dialect.status] key that says it answers so by design. A success where a refusal is due is a defect,
never a dialect: no key is offered for it."""

from __future__ import annotations

import pytest

from tests.conftest import SuiteRun

CHECKS = """
import pytest

from signoff.pou.client import Answer
from signoff.pou.dialect import Dialect
from signoff.pou.expect import Expect

CHECK_ID = "PU-ATT"
pytestmark = [pytest.mark.e2e_pou, pytest.mark.pou_api]
DIALECT = Dialect()


def test_zz_another_refusal(evidence):
    expect = Expect(evidence, CHECK_ID)
    expect.answer("outsider AUDIT_PASS", "POST attestations", Answer(400, {"error": "NOT_A_MEMBER"}),
                  DIALECT.codes("unauthorized"))
    expect.answer("member AUDIT_PASS", "POST attestations", Answer(201, {}), DIALECT.codes("attest"))
    expect.check()


def test_zz_accepted_where_refused(evidence):
    expect = Expect(evidence, CHECK_ID)
    expect.answer("outsider AUDIT_PASS", "POST attestations", Answer(201, {}), DIALECT.codes("unauthorized"))
    expect.check()
"""


def test_a_failed_check_says_its_next_step_and_a_dialect_key_only_for_the_same_class(
    run_suite, pytester: pytest.Pytester
) -> None:
    (pytester.path / "suites" / "e2e_pou" / "test_zz_next_steps.py").write_text(CHECKS)
    run: SuiteRun = run_suite("-m", "pou_api", "-k", "test_zz")
    assert run.outcomes() == {"test_zz_another_refusal": "failed", "test_zz_accepted_where_refused": "failed"}
    messages = {c["nodeid"].split("::")[1]: c["message"] for c in run.evidence()["checks"]}

    refusal = messages["test_zz_another_refusal"]
    assert "POST attestations answered HTTP 400" in refusal and "expected 403" in refusal
    step = refusal.split(". Next step: ")[1]
    assert step.startswith("make the broker refuse, before it stores anything,"), step
    assert step.endswith(
        'if 400 is how your broker answers unauthorized by design, set [pou.dialect.status] unauthorized = "400"'
    )

    accepted = messages["test_zz_accepted_where_refused"]
    assert "Next step: make the broker refuse" in accepted
    assert "[pou.dialect.status]" not in accepted.split("Next step:")[1]  # a 201 for an outsider is the defect
    assert "Traceback" not in run.output

    page = run.report(".html").read_text()  # the first screen: one row per failed check, its next step once
    failures = page[page.index("Failures first (2)") : page.index("<h2>Scope</h2>")]
    assert failures.count("make the broker refuse, before it stores anything") == 2, failures
    assert "&mdash;" not in failures
