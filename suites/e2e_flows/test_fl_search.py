"""FL-SEARCH: no interleaving of the flows' steps breaks an invariant.

A hypothesis state machine (``signoff.flows.search``) takes the declared flows' steps as its
vocabulary and interleaves them across instances and actors on the rehearsal chain (or
``--signoff-fork``), each sequence in its own snapshot, checking every ``[[invariants]]`` after every
step. A breach is shrunk to a shortest sequence, shown step by step, with how the invariant broke
(for money, the shortfall in wei), and written as a replayable ``[[flows]]`` entry to
``reports/<network>-search-<invariant>.toml``. ``[search]`` sets the examples, steps, time budget
and seed; ``--signoff-search-examples N`` overrides the examples for one run.
"""

import dataclasses
import re

import pytest

from signoff.errors import ConfigError
from signoff.findings import Finding
from signoff.flows import invariants as inv
from signoff.flows import search as srch
from signoff.flows.declared import event_names
from signoff.session import SessionSettings
from signoff.stash import reports_directory
from signoff.suite import not_applicable

CHECK_ID = srch.CHECK_ID
pytestmark = [pytest.mark.e2e_flows, pytest.mark.invariants, pytest.mark.search]


@pytest.mark.drill
def test_fl_search(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    target = signoff_settings.target
    if not signoff_settings.invariants or not signoff_settings.flows:
        not_applicable(
            f"no [[invariants]] (or no [[flows]] whose steps to interleave) in {target.path}: the search has nothing "
            'to break. To run it, add [[invariants]] name = "..." with expr = "..." or python = "file.py:function"'
        )
    operator = request.getfixturevalue("drill")
    checks, problems = inv.ready(signoff_settings.invariants, operator)
    if problems:
        evidence.check([Finding(CHECK_ID, "invariants", "error", problem) for problem in problems])
        return
    settings = signoff_settings.search
    examples = request.config.getoption("signoff_search_examples", None)
    if examples:
        settings = dataclasses.replace(settings, examples=examples)
    topics = event_names([c.abi for c in signoff_settings.artifacts.contracts])
    try:
        report = srch.search(operator, signoff_settings.flows, checks, settings, topics)
    except ConfigError as exc:
        evidence.check([Finding(CHECK_ID, "search", "error", str(exc))])
        return
    words = report.vocabulary
    assert words is not None
    for number, action in enumerate(words.actions, start=1):
        evidence.row(
            f"{CHECK_ID}-coverage",
            {
                "order": number,
                "action": action.name,
                "origin": action.origin,
                "tried": report.tried.get(action.origin, 0),
                "succeeded": report.succeeded.get(action.origin, 0),
            },
        )
    evidence.attach(
        "search",
        {
            "sequences": report.sequences,
            "steps": report.steps,
            "reverted": report.reverted,
            "seconds": round(report.seconds, 1),
            "stopped_by_budget": report.stopped_by_budget,
            "actors": list(words.actors),
        },
    )
    breach = report.breach
    if breach is None and report.stopped_by_budget:
        evidence.check(
            [
                Finding(
                    CHECK_ID,
                    "budget",
                    "info",
                    f"the search reached its time budget ([search] seconds = {settings.seconds:g}) after "
                    f"{report.sequences} of {settings.examples} sequences. Next step: raise seconds for a full search",
                )
            ]
        )
    if breach is None:
        never = [f"{a.name} ({a.origin})" for a in words.actions if a.origin not in report.succeeded]
        if never:
            evidence.check(
                [
                    Finding(
                        CHECK_ID,
                        "coverage",
                        "info",
                        f"the search never completed {', '.join(never)}: a breach that needs them cannot have been "
                        "found. Next step: check the flows' arguments, or raise [search] examples or max_steps",
                    )
                ]
            )
        return
    for number, (move, outcome) in enumerate(breach.moves, start=1):
        evidence.row(
            CHECK_ID,
            {
                "order": number,
                "step": number,
                "move": move.label(),
                "outcome": outcome.detail,
                "verdict": "fail" if number == len(breach.moves) else "pass",
            },
        )
    slug = re.sub(r"[^A-Za-z0-9]+", "-", breach.invariant).strip("-").lower() or "invariant"
    replay = srch.replay_toml(breach, f"found-by-search-{slug}")
    evidence.attach("replay", replay)
    written = ""
    directory = reports_directory(request.config)
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{signoff_settings.network}-search-{slug}.toml"
        path.write_text(replay, encoding="utf-8")
        written = f" The sequence, as a [[flows]] entry to replay and keep: {path}."
    evidence.check(
        [
            Finding(
                CHECK_ID,
                breach.invariant,
                "error",
                f"invariant {breach.invariant!r} broke after a sequence of {len(breach.moves)} steps found by the "
                f"search ({report.sequences} sequences tried): {breach.how}.{written} Next step: find the path that "
                "pays out money (or moves state) it should not; the steps are in the evidence",
            )
        ]
    )
