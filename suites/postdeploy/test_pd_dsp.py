"""PD-DSP: the dispatcher's manifest lifecycle on the deployed system.

One test per aspect, so a defect fails exactly the aspect it breaks: ``live-routes`` reads the
chain (and runs on live networks); the other aspects are drills that send governance
transactions on the rehearsal chain or a fork, undone after each test.
"""

import pytest

from signoff.deploy.system import DeployedSystem
from signoff.errors import SignoffError
from signoff.findings import Finding
from signoff.postdeploy import dispatcher as dsp
from signoff.redaction import redact
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable

CHECK_ID = dsp.CHECK_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.dispatcher]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "aspect" in metafunc.fixturenames:
        settings = settings_of(metafunc.config)
        values = [
            pytest.param(aspect, marks=[pytest.mark.drill] if aspect in dsp.DRILLS else [], id=aspect)
            for aspect in dsp.ASPECTS
        ]
        if settings.target.manifest is None:
            values = [pytest.param(None, id="not-configured")]
        elif _interface_problem(settings) is not None:  # said once, not once per aspect
            values = [pytest.param("interface", id="interface")]
        metafunc.parametrize("aspect", values)


def _interface_problem(settings: SessionSettings) -> str | None:
    """Why the [manifest] dispatcher's lifecycle interface cannot be used, from its artifact's ABI."""
    from signoff.deploy.lifecycle import detect

    manifest = settings.target.manifest
    assert manifest is not None
    try:
        contract = settings.artifacts.resolve(manifest.dispatcher)
        return detect(manifest.dispatcher, contract.abi, manifest.interface).not_applicable()
    except (SignoffError, LookupError) as exc:
        return f"error: {exc}"


@pytest.fixture(scope="module")
def dispatcher(signoff_settings: SessionSettings, deployed_system: DeployedSystem) -> dsp.DispatcherContext:
    """The deployed [manifest] dispatcher and the plan it must serve."""
    problem = ""
    try:
        return dsp.load_context(signoff_settings, deployed_system)
    except SignoffError as exc:
        problem = redact(str(exc))
    pytest.fail(problem, pytrace=False)  # outside the except: no chained traceback


def test_pd_dsp(
    aspect: str | None,
    signoff_settings: SessionSettings,
    request: pytest.FixtureRequest,
    evidence,
) -> None:
    if aspect is None:
        not_applicable(
            f"no [manifest] in {signoff_settings.target.path}: PD-DSP drills a Merkle-manifest dispatcher. To check "
            'one, add [manifest] plan = "dispatcher.plan.json" and dispatcher = "<Name>"'
        )
    if aspect == "interface":
        problem = _interface_problem(signoff_settings) or ""
        if problem.startswith("error: "):
            pytest.fail(redact(problem.removeprefix("error: ")), pytrace=False)
        not_applicable(f"PD-DSP drives the dispatcher's manifest lifecycle, but {problem}")
    system: DeployedSystem = request.getfixturevalue("deployed_system")
    ctx: dsp.DispatcherContext = request.getfixturevalue("dispatcher")
    if not ctx.plan.routes:
        evidence.check([Finding(CHECK_ID, ctx.plan.label, "error", f"{ctx.plan.label} has no routes to check")])
    try:
        if aspect == "live-routes":
            result = dsp.check_live_routes(request.getfixturevalue("chain").w3, ctx, system)
        else:
            # Requested here, not in the signature: on a live network without a fork it skips with its reason.
            drill = request.getfixturevalue("drill")
            if aspect == "commit-epoch":
                result = dsp.drill_commit_epoch(drill, ctx)
            elif aspect == "apply-proofs":
                result = dsp.drill_apply_proofs(drill, ctx, system)
            elif aspect == "activation-delay":
                result = dsp.drill_activation_delay(drill, ctx)
            else:
                result = dsp.drill_no_early_routes(drill, ctx, system)
    except SignoffError as exc:
        result = dsp.AspectResult(aspect, ctx.label)
        result.fail(redact(str(exc)))
    for row in result.rows:
        evidence.row("PD-DSP", row)
    for name, value in result.data.items():
        evidence.attach(name, value)
    evidence.check(result.findings)
