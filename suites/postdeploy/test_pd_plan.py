"""PD-PLAN: the change plan, the setter calls that would bring the chain to the reviewed config.

After a deployment it must be empty. When it is not, every call is listed with its route and who
must sign it, simulated (``eth_call``) as that signer, and written as a Safe Transaction Builder
batch next to the report (``<network>-change-plan-<safe>.json``) for the signers to review. A second
test proves no mapped setter executes without approval: an outsider's ``eth_call`` of each must revert.
"""

import json
from dataclasses import replace

import pytest

from signoff.findings import Finding
from signoff.postdeploy.control.fixtures import control_of
from signoff.postdeploy.control.plan import safe_batch, shown_args
from signoff.redaction import redact
from signoff.session import SessionSettings
from signoff.stash import reports_directory

CHECK_ID = "PD-PLAN"
pytestmark = [pytest.mark.postdeploy, pytest.mark.control, pytest.mark.change_plan]


def test_pd_plan_empty(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    control_of(signoff_settings)
    plane = request.getfixturevalue("control_plane")
    label = plane.label
    findings = []
    by_signer: dict[str, list] = {}
    for entry in plane.plan:
        call = entry.call
        if call is None:
            evidence.row(
                CHECK_ID,
                {"key": entry.param, "call": "", "route": "", "signer": "", "simulated": "", "verdict": "fail"},
            )
            findings.append(Finding(CHECK_ID, entry.param, "error", f"{entry.param}: {entry.problem}"))
            continue
        shown = f"{call.contract}.{call.function.split('(')[0]}({shown_args(call.args, label)})"
        simulated = "succeeds as the signer" if entry.signer_reverts is None else f"REVERTS: {entry.signer_reverts}"
        if entry.signer_reverts and entry.signer_reverts.startswith("could not be simulated"):
            simulated = f"not simulated ({entry.signer_reverts})"
        evidence.row(
            CHECK_ID,
            {
                "key": entry.param,
                "call": shown,
                "route": " <- ".join(call.route),
                "signer": label(call.signer),
                "simulated": simulated,
                "verdict": "fail",
            },
        )
        by_signer.setdefault(call.signer, []).append(call)
    calls = [e for e in plane.plan if e.call is not None]
    written = []
    directory = reports_directory(request.config)
    if by_signer and directory is not None:
        system = request.getfixturevalue("deployed_system")
        directory.mkdir(parents=True, exist_ok=True)
        for signer, signer_calls in by_signer.items():
            path = directory / f"{signoff_settings.network}-change-plan-{signer[:10].lower()}.json"
            batch = safe_batch(
                system.chain_id,
                signer,
                signer_calls,
                name=f"signoff change plan: {signoff_settings.target.name} on {signoff_settings.network}",
                description=f"{len(signer_calls)} setter call(s) that bring the chain to the reviewed config",
            )
            path.write_text(redact(json.dumps(batch, indent=2)) + "\n", encoding="utf-8")
            written.append(str(path))
            later = [replace(c, data=c.execute) for c in signer_calls if c.execute is not None]
            if later:  # behind a timelock: the second batch, once the delay has passed
                path = path.with_name(path.stem + "-execute.json")
                batch = safe_batch(
                    system.chain_id,
                    signer,
                    later,
                    name=f"signoff change plan (execute after the timelock's delay): {signoff_settings.target.name}",
                    description=f"{len(later)} timelock execute call(s), valid once the scheduled delay has passed",
                )
                path.write_text(redact(json.dumps(batch, indent=2)) + "\n", encoding="utf-8")
                written.append(str(path))
        evidence.attach("safe_batches", written)
    if calls:
        listing = "; ".join(f"{e.call.contract}.{e.call.function} for {e.param}" for e in calls if e.call)
        where = f" Safe batch: {', '.join(written)}." if written else ""
        findings.append(
            Finding(
                CHECK_ID,
                "change plan",
                "error",
                f"the change plan is not empty: {len(calls)} transaction(s) would execute to bring the chain to the "
                f"reviewed config ({listing}); after a deployment none may be pending.{where} Next step: have the "
                "signers review and execute the batch, or correct the config (PD-CFG lists the keys)",
            )
        )
    evidence.attach("transactions", len(calls))
    evidence.check(findings)


def test_pd_plan_guarded(signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence) -> None:
    control_of(signoff_settings)
    plane = request.getfixturevalue("control_plane")
    evidence.attach("setters_probed", len(plane.readings))
    evidence.attach("outsider", plane.outsider)
    findings = [
        Finding(
            CHECK_ID,
            setter,
            "error",
            f"{setter} succeeds for an outsider ({plane.outsider}, an address that holds nothing, eth_call): a "
            "config change could execute without governance approval. Next step: guard the setter (onlyOwner / "
            "onlyGovernance / onlyRole)",
        )
        for setter in plane.unguarded
    ]
    findings += [Finding(CHECK_ID, "simulation", "error", problem) for problem in dict.fromkeys(plane.unsimulated)]
    evidence.check(findings)
