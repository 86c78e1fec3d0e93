"""PF-SEL: no selector is claimed twice across a diamond (collision, duplicate, shadowed).

One test per [[diamonds]] entry, N-way over its router, dispatcher and facets, with the
routing table in the evidence; one test that every [[selectors.allow]] entry still excuses
something (a stale exception fails).
"""

import pytest

from signoff.artifacts.loader import ArtifactSet
from signoff.errors import ArtifactError
from signoff.preflight import selectors as sel
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable_param, safe_id
from signoff.target import Diamond

CHECK_ID = sel.CHECK_ID
pytestmark = [pytest.mark.preflight, pytest.mark.selectors]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "diamond" in metafunc.fixturenames:
        target = settings_of(metafunc.config).target
        diamonds = list(enumerate(target.diamonds))
        if diamonds:
            metafunc.parametrize("diamond", diamonds, ids=[safe_id(d.dispatcher) for _, d in diamonds])
        else:
            reason = f"no [[diamonds]] in {target.path}: PF-SEL applies to a dispatcher and its facets"
            metafunc.parametrize("diamond", [not_applicable_param(reason, "no-diamonds")])


def _member(artifacts: ArtifactSet, name: str, role: sel.Role) -> sel.Member:
    contract = artifacts.resolve(name)
    try:
        identifiers = contract.method_identifiers
    except ArtifactError as exc:
        pytest.fail(f"{contract.fqn}: {exc}", pytrace=False)
    return sel.Member(role, contract.fqn, contract.abi, identifiers)


def _allow_rules(settings: SessionSettings) -> list[sel.AllowRule]:
    artifacts = settings.artifacts
    return [
        sel.AllowRule(
            index,
            entry.value,
            entry.reason,
            frozenset(artifacts.resolve(name).fqn for name in entry.contracts),
        )
        for index, entry in enumerate(settings.target.selector_allow)
    ]


def _analyse(settings: SessionSettings, index: int, diamond: Diamond) -> sel.DiamondResult:
    artifacts = settings.artifacts
    return sel.check_diamond(
        f"diamond {diamond.dispatcher} ([[diamonds]][{index}])",
        _member(artifacts, diamond.dispatcher, "dispatcher"),
        [_member(artifacts, facet, "facet") for facet in diamond.facets],
        _member(artifacts, diamond.router, "router") if diamond.router else None,
        _allow_rules(settings),
    )


def test_pf_sel(diamond: tuple[int, Diamond], signoff_settings: SessionSettings, evidence) -> None:
    index, config = diamond
    result = _analyse(signoff_settings, index, config)
    for row in result.rows():
        evidence.row("PF-SEL", row)
    evidence.attach("facet_selectors", result.facet_selectors)
    evidence.attach("routing_rows", len(result.routes))
    evidence.attach("allowed", [f.message for f in result.findings if f.severity == "info"])
    evidence.check(result.findings)


def test_pf_sel_allow_list(signoff_settings: SessionSettings, evidence) -> None:
    rules = _allow_rules(signoff_settings)
    if not rules:
        sentence = f"no [[selectors.allow]] entries in {signoff_settings.target.path}: no exception to check"
        evidence.attach("nothing_to_check", sentence)
        return
    used: set[int] = set()
    for index, config in enumerate(signoff_settings.target.diamonds):
        used |= _analyse(signoff_settings, index, config).used_allow
    for rule in rules:
        evidence.row(
            "PF-SEL-allow",
            {
                "entry": f"[[selectors.allow]][{rule.index}]",
                "selector": rule.selector,
                "contracts": ", ".join(sorted(rule.contracts)) or "any",
                "reason": rule.reason,
                "verdict": "pass" if rule.index in used else "fail",
            },
        )
    evidence.check(sel.stale_allow_entries(rules, used, str(signoff_settings.target.path)))
