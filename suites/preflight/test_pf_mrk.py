"""PF-MRK: the dispatcher plan ([manifest] plan) is a Merkle manifest the dispatcher accepts.

One test per aspect (root, proofs, codehashes, routes, addresses), so a defect fails exactly
the aspect it breaks. Artifact-only: nothing is sent to a chain and web3 is never imported.
"""

import os

import pytest

from signoff.deploy.manifest import PlanError, diamond_facets, load_target_plan
from signoff.findings import Finding
from signoff.preflight import manifest_check as mrk
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable

CHECK_ID = mrk.CHECK_ID
pytestmark = [pytest.mark.preflight, pytest.mark.manifest]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "aspect" in metafunc.fixturenames:
        configured = settings_of(metafunc.config).target.manifest is not None
        aspects = list(mrk.ASPECTS) if configured else [None]
        metafunc.parametrize("aspect", aspects, ids=[a or "not-configured" for a in aspects])


@pytest.fixture(scope="module")
def manifest_result(signoff_settings: SessionSettings) -> mrk.ManifestResult | Finding:
    """The plan judged once for all aspects, or the finding that it could not be read."""
    target, artifacts = signoff_settings.target, signoff_settings.artifacts
    assert target.manifest is not None
    label = os.path.relpath(target.manifest.plan, target.root).replace(os.sep, "/")
    try:
        plan = load_target_plan(target.manifest, label)
    except PlanError as exc:
        return Finding(CHECK_ID, label, "error", str(exc))
    dispatcher = target.manifest.dispatcher
    return mrk.check_manifest(
        plan, artifacts, dispatcher=dispatcher, diamond_facets=diamond_facets(target, artifacts, dispatcher)
    )


def test_pf_mrk(
    aspect: str | None, signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence
) -> None:
    if aspect is None:
        not_applicable(
            f"no [manifest] in {signoff_settings.target.path}: PF-MRK checks a Merkle-manifest dispatcher "
            'plan. To check one, add [manifest] plan = "dispatcher.plan.json" and dispatcher = "<Name>"'
        )
    result = request.getfixturevalue("manifest_result")
    if isinstance(result, Finding):
        evidence.check([result])
        return
    if aspect == "root":
        evidence.row("PF-MRK-root", result.root_row())
        evidence.attach("root", result.root_row())
    if aspect == "routes":
        for row in result.route_rows():
            evidence.row("PF-MRK", row)
    if aspect == "proofs" and result.proofs_supplied == 0:
        pytest.skip(
            f"{result.plan.label} supplies no proofs: nothing to verify (the root is still rebuilt and "
            "compared in test_pf_mrk[root]). applyRoutes needs them: write them with "
            "`signoff manifest write`"
        )
    evidence.attach(f"{aspect}_findings", len(result.aspect(aspect)))
    evidence.check(result.aspect(aspect))
