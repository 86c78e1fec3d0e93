"""RP-RO and the fork drills: the whole postdeploy suite against anvil standing in for a live network.

The reference is rehearsed onto an anvil node (the "live network"); signoff then checks it
through a recording JSON-RPC proxy, once read-only (drills not run), once with
``--signoff-fork`` (drills on an anvil fork of it), once with ``--signoff-strict``. The proxy's
log proves that not one write method reached the network.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import FIXTURES, anvil_available

pytestmark = pytest.mark.skipif(not anvil_available(), reason="needs anvil (npm ci)")


@pytest.fixture(scope="module")
def live_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """anvil with the reference deployed on it, behind a recording proxy; a target describing it."""
    from signoff.chain import Endpoint
    from signoff.chain.anvil import AnvilNode, find_anvil
    from signoff.chain.backends import open_endpoint
    from signoff.chain.proxy import RecordingRpcProxy
    from signoff.deploy_plan import load_deploy_plan
    from signoff.postdeploy import load_postdeploy
    from signoff.rehearsal import rehearse
    from signoff.session import resolve_session

    folder = tmp_path_factory.mktemp("live") / "protocol"
    shutil.copytree(FIXTURES / "reference", folder)
    target_file = folder / "signoff.toml"
    settings = resolve_session(FIXTURES / "reference" / "signoff.toml", "anvil")
    with AnvilNode(find_anvil(FIXTURES)) as node:
        chain = open_endpoint(Endpoint("anvil", node.url, 31337, "anvil"))
        plan = load_deploy_plan(settings.target)
        assert plan is not None
        governance = load_postdeploy(settings.target).governance
        system = rehearse(chain, settings.target, settings.artifacts, plan, governance=governance)
        book = folder / "deployments" / "local.json"
        book.parent.mkdir()
        book.write_text(json.dumps(system.addresses, indent=2))
        with RecordingRpcProxy(node.url) as proxy:
            text = target_file.read_text() + (
                "\n[networks.local]\n"
                f'rpc_url = "{proxy.url}"\n'
                "chain_id = 31337\n"
                'deployments = "deployments/local.json"\n'
                f'governance = ["{system.safes["Governance"].address}"]\n'
            )
            target_file.write_text(text)
            yield {"target": target_file, "proxy": proxy, "system": system}


def test_postdeploy_on_a_live_network_sends_no_write(run_suite, live_network) -> None:
    proxy = live_network["proxy"]
    seen_before = len(proxy.methods())
    run = run_suite("-m", "postdeploy", "--network=local", target=live_network["target"])
    outcomes = run.outcomes()
    assert run.result.ret == 0, run.output
    assert "failed" not in outcomes.values() and "error" not in outcomes.values(), outcomes
    seen = proxy.methods()[seen_before:]
    assert seen, "the suite read nothing from the network"
    assert proxy.write_methods() == (), proxy.write_methods()
    skipped = [test for test, outcome in outcomes.items() if outcome == "skipped"]
    assert skipped, "drills must be reported as not run on a live network without a fork"
    assert "NOT RUN on live network local" in run.output
    assert not any("test_pf_reh" in test for test in outcomes), "PF-REH is deselected on a live network"


def test_fork_runs_the_drills_and_still_sends_no_write(run_suite, live_network) -> None:
    proxy = live_network["proxy"]
    run = run_suite("-m", "postdeploy", "--network=local", "--signoff-fork", target=live_network["target"])
    outcomes = run.outcomes()
    assert run.result.ret == 0, run.output
    assert set(outcomes.values()) <= {"passed"}, {t: o for t, o in outcomes.items() if o != "passed"}
    assert proxy.write_methods() == (), proxy.write_methods()


def test_strict_sign_off_fails_on_checks_not_run(run_suite, live_network) -> None:
    run = run_suite("-m", "postdeploy", "--network=local", "--signoff-strict", target=live_network["target"])
    assert run.result.ret == 1, run.output
    assert "NOT RUN (a --signoff-strict sign-off fails on every check that did not run)" in run.output
    assert "skipped" not in run.outcomes().values()
    assert live_network["proxy"].write_methods() == ()
