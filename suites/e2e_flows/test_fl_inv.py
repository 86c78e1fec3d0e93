"""FL-INV: every ``[[invariants]]`` holds after every step of every declared flow.

One test per flow, on the rehearsal chain (or ``--signoff-fork``), in its own snapshot: the flow's
steps run as declared (a step that must revert just reverts) and each invariant, a function of the
team's (``python = "invariants.py:solvent"``) or a view expression (``expr = "..."``), reads the
system after every step. The first breach is the finding, with the step it followed and what the
invariant said (a money invariant: the shortfall in wei). FL-SEARCH interleaves the same steps.
"""

import pytest

from signoff.findings import Finding
from signoff.flows import invariants as inv
from signoff.flows.declared import event_names
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable

CHECK_ID = inv.CHECK_ID
pytestmark = [pytest.mark.e2e_flows, pytest.mark.invariants]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "flow" in metafunc.fixturenames:
        settings = settings_of(metafunc.config)
        flows = list(settings.flows) if settings.invariants else []
        metafunc.parametrize("flow", flows or [None], ids=[f.name for f in flows] or ["not-configured"])


@pytest.mark.drill
def test_fl_inv(flow, signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    if flow is None:
        not_applicable(
            f"no [[invariants]] (or no [[flows]] to walk) in {signoff_settings.target.path}: nothing says what must "
            'always hold. To check one, add [[invariants]] name = "..." and python = "invariants.py:function"'
        )
    operator = request.getfixturevalue("drill")
    checks, problems = inv.ready(signoff_settings.invariants, operator)
    if problems:
        evidence.check([Finding(CHECK_ID, "invariants", "error", problem) for problem in problems])
        return
    topics = event_names([c.abi for c in signoff_settings.artifacts.contracts])
    rows, breach = inv.walk(operator, flow, checks, topics)
    for row in rows:
        evidence.row(CHECK_ID, {"flow": flow.name, **row})
    if breach is not None:
        step, name, how = breach
        evidence.check(
            [
                Finding(
                    CHECK_ID,
                    name,
                    "error",
                    f"invariant {name!r} broke in flow {flow.name!r} after {step}: {how}. Next step: find the path "
                    "that pays out money (or state) it should not; the steps before are in the evidence",
                )
            ]
        )
