"""PF-REH: the deploy plan's schema, the rehearsal on eth-tester and anvil, and its defective fixture;
the --signoff-strict and --signoff-fork options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from signoff.deploy.plan import CallStep, DeployStep, ManifestStep, SafeStep, load_deploy_plan
from signoff.errors import ConfigError
from signoff.target import load_target
from tests.conftest import FIXTURES, REFERENCE, anvil_available

ARTIFACTS = FIXTURES / "reference" / "artifacts"


def _plan_target(tmp_path: Path, deploy: str) -> Path:
    path = tmp_path / "signoff.toml"
    path.write_text(f'[target]\nname = "plan"\nartifacts = "{ARTIFACTS}"\n\n{deploy}')
    return path


def _plan_error(tmp_path: Path, deploy: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_deploy_plan(load_target(_plan_target(tmp_path, deploy)))
    return str(caught.value)


def test_reference_plan_reads_in_order() -> None:
    plan = load_deploy_plan(load_target(REFERENCE))
    assert plan is not None
    kinds = [type(step) for step in plan.steps]
    assert kinds == [SafeStep, *[DeployStep] * 5, *[ManifestStep] * 3]
    safe = plan.steps[0]
    assert isinstance(safe, SafeStep) and safe.threshold == 3 and len(safe.owners) == 5
    factory = plan.steps[1]
    assert isinstance(factory, DeployStep) and factory.args == ("@Governance",)  # from [contracts]
    ping = plan.steps[2]
    assert isinstance(ping, DeployStep) and ping.via == "DeterministicChunkFactory"
    assert plan.accounts["Deployer"] == 0


def test_call_step_and_explicit_args(tmp_path: Path) -> None:
    target = load_target(
        _plan_target(
            tmp_path,
            '[deploy]\naccounts = { Admin = 0, Other = 1 }\n\n[[deploy.step]]\ndeploy = "PingFacet"\n\n'
            '[[deploy.step]]\ncall = "PingFacet.echo"\nargs = ["0x01"]\nfrom = "@Other"\nvalue = "0"\n',
        )
    )
    plan = load_deploy_plan(target)
    assert plan is not None
    call = plan.steps[1]
    assert isinstance(call, CallStep) and call.contract == "PingFacet" and call.sender == "@Other"


@pytest.mark.parametrize(
    ("deploy", "message"),
    [
        (
            '[deploy]\n[[deploy.step]]\ndeploy = "PingFacet"\nfrom = "@Nobody"\n',
            "refers to @Nobody, which no earlier step defines (defined so far: Deployer)",
        ),
        (
            '[deploy]\n[[deploy.step]]\ndeploy = "PingFacet"\ncall = "PingFacet.ping"\n',
            "must have exactly one of safe, deploy, call, manifest, wait; found deploy, call",
        ),
        (
            "[deploy]\naccounts = { A = 0, B = 1 }\n"
            '[[deploy.step]]\nsafe = "G"\nowners = ["@A", "@B"]\nthreshold = 3\n',
            "threshold = 3 is more than its 2 owners",
        ),
        ('[deploy]\naccounts = { A = 12 }\n[[deploy.step]]\ndeploy = "PingFacet"\n', "key index 0..9, found 12"),
        ("[deploy]\n", "[deploy] has no [[deploy.step]]"),
        (
            '[deploy]\n[[deploy.step]]\nmanifest = "commit"\n',
            "runs manifest commit but the target has no [manifest] table",
        ),
        (
            '[deploy]\n[[deploy.step]]\ndeploy = "PingFacet"\n[[deploy.step]]\ndeploy = "PingFacet"\n',
            "the name PingFacet is already taken. Next step: add as = 'OtherName'",
        ),
        ('[deploy]\n[[deploy.step]]\ndeploy = "PingFacet"\nfrom = "Deployer"\n', "must name an account"),
        ('[deploy]\n[[deploy.step]]\ndeploy = "PingFacet"\nsalt_typo = 1\n', "unknown key(s) salt_typo"),
        ('[deploy]\n[[deploy.step]]\nwait = "soon"\n', "wait = 'soon' is not a duration (1 s to 10 years)"),
        ('[deploy]\n[[deploy.step]]\nwait = "0s"\n', "wait = '0s' is not a duration"),
        ('[deploy]\n[[deploy.step]]\nwait = "until Nobody.eta"\n', "refers to @Nobody, which no earlier step"),
    ],
    ids=[
        "unknown-name",
        "two-actions",
        "threshold",
        "account-index",
        "no-steps",
        "no-manifest",
        "name-taken",
        "no-at",
        "typo",
        "wait-not-a-duration",
        "wait-zero",
        "wait-until-unknown",
    ],
)
def test_plan_errors_name_the_file_and_the_step(tmp_path: Path, deploy: str, message: str) -> None:
    error = _plan_error(tmp_path, deploy)
    assert message in error
    assert str(tmp_path / "signoff.toml") in error


@pytest.mark.parametrize("network", ["eth-tester", "anvil"])
def test_reference_rehearses_on(run_suite, network: str) -> None:
    if network == "anvil" and not anvil_available():
        pytest.skip("needs anvil (npm ci)")
    run = run_suite("-m", "rehearsal", f"--network={network}", "--signoff-strict")
    assert run.result.ret == 0, run.output
    rows = run.evidence()["tables"]["PF-REH"]["rows"]
    assert [row["step"] for row in rows][:2] == ["#1 safe Governance (3 of 5)", "#2 deploy DeterministicChunkFactory"]
    assert len(rows) == 9
    factory = rows[1]["result"]
    assert factory == "DeterministicChunkFactory (0xF2E246BB76DF876Cef8b38ae84130F4F55De395b)"  # as the plan predicts


def test_step_that_reverts_fails_the_rehearsal_with_its_reason(run_suite) -> None:
    run = run_suite("-m", "rehearsal", target=FIXTURES / "defective" / "rehearsal-step-reverts" / "signoff.toml")
    run.assert_fails_only(
        "test_pf_reh_plan_runs",
        "rehearsal step #7 manifest commit from @Deployer",
    )
    deployer = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
    reason = f"reverted: AccessControlUnauthorizedAccount(Deployer {deployer}, COMMIT_ROLE)"
    assert reason in run.output.replace("\n", "")


def test_strict_turns_a_check_not_run_into_a_failure(run_suite, live_network: dict[str, Any]) -> None:
    """On a live network without --signoff-fork the drills cannot run: a caveat of a plain run, a failure of a
    strict one. (Checks that do not apply, such as PF-NET on eth-tester, are not failed by strict.)"""
    args = ("-m", "postdeploy and (emergency or wiring)", "--network=local")
    relaxed = run_suite(*args, target=live_network["target"])
    assert relaxed.result.ret == 0, relaxed.output
    outcomes = set(relaxed.outcomes().values())
    assert outcomes == {"passed", "skipped"}
    verdict = relaxed.evidence()["verdict"]
    assert verdict["label"] == "SIGNED OFF"
    assert verdict["caveats"] and "a --signoff-strict run fails on them" in verdict["caveats"][0]
    strict = run_suite(*args, "--signoff-strict", target=live_network["target"])
    assert strict.result.ret == 1
    assert "NOT RUN (a --signoff-strict sign-off fails on every check that did not run)" in strict.output
    assert "skipped" not in strict.outcomes().values()
    not_applicable = run_suite("-m", "network", "--signoff-strict")  # PF-NET on eth-tester: nothing applies
    assert set(not_applicable.outcomes().values()) == {"skipped"}
    assert not_applicable.result.ret == 1  # nothing was verified: not a sign-off either
    assert "no check passed (6 not applicable): nothing was verified" in not_applicable.output


def test_fork_needs_a_live_network(run_suite) -> None:
    run = run_suite("-m", "rehearsal", "--signoff-fork")
    assert run.result.ret == 4
    assert "--signoff-fork forks a live network, but eth-tester is a built-in rehearsal chain" in run.output
