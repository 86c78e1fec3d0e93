"""RP-RO and the fork drills: the whole postdeploy suite against anvil standing in for a live network.

The reference is rehearsed onto an anvil node (the "live network"); signoff then checks it
through a recording JSON-RPC proxy, once read-only (drills not run), once with
``--signoff-fork`` (drills on an anvil fork of it), once with ``--signoff-strict``. The proxy's
log proves that not one write method reached the network.
"""

from __future__ import annotations

import pytest

from tests.conftest import anvil_available

pytestmark = pytest.mark.skipif(not anvil_available(), reason="needs anvil (npm ci)")


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
    # not applicable: judged at the dispatcher; no [control], said once; no [manifest.monitoring] from_block
    routed_facets = {"test_pd_own[PingFacet]", "test_pd_own[VaultFacet]", "test_pd_cfg[not-configured]"}
    routed_facets.add("test_pd_mon_activations")
    others = {t: o for t, o in outcomes.items() if t not in routed_facets}
    assert set(others.values()) <= {"passed"}, {t: o for t, o in others.items() if o != "passed"}
    assert proxy.write_methods() == (), proxy.write_methods()


def test_the_fork_url_never_reaches_a_command_line(run_suite, live_network, tmp_path) -> None:
    """anvil forks through signoff's loopback proxy: `ps` shows no live RPC URL (nor any key in it)."""
    import subprocess
    import threading
    import time

    seen: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            listing = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True, check=False).stdout
            seen.extend(line for line in listing.splitlines() if "--fork-url" in line)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        run = run_suite("-m", "emergency", "--network=local", "--signoff-fork", target=live_network["target"])
    finally:
        done.set()
        watcher.join()
    assert run.result.ret == 0, run.output
    assert seen, "the fork's anvil was never seen running"
    upstream = live_network["proxy"].url
    assert not any(upstream in line for line in seen), seen


def test_strict_sign_off_fails_on_checks_not_run(run_suite, live_network) -> None:
    run = run_suite("-m", "postdeploy", "--network=local", "--signoff-strict", target=live_network["target"])
    assert run.result.ret == 1, run.output
    assert "NOT RUN (a --signoff-strict sign-off fails on every check that did not run)" in run.output
    skipped = {t for t, o in run.outcomes().items() if o == "skipped"}
    not_applicable = {"test_pd_own[PingFacet]", "test_pd_own[VaultFacet]", "test_pd_cfg[not-configured]"}
    not_applicable.add("test_pd_mon_activations")  # no [manifest.monitoring] from_block on a live network
    assert skipped == not_applicable, skipped  # only the not-applicable
    assert live_network["proxy"].write_methods() == ()


def test_a_fork_that_cannot_start_fails_the_drills_cleanly(run_suite, live_network) -> None:
    run = run_suite(
        "-m",
        "emergency",
        "--network=local",
        "--signoff-fork",
        target=live_network["target"],
        env={"SIGNOFF_ANVIL": "/bin/false"},
    )
    assert run.result.ret == 1, run.output
    assert set(run.outcomes().values()) <= {"failed", "error"}, run.outcomes()
    assert "could not fork local at block" in run.output and "anvil (/bin/false) exited with code 1" in run.output
    assert "Traceback" not in run.output
    assert live_network["proxy"].write_methods() == ()
