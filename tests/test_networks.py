"""The RPC path for real: anvil as the built-in network and anvil posing as a live network."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest

from signoff.chain.anvil import AnvilNode, find_anvil
from tests.conftest import FIXTURES, REPO, SuiteRun, anvil_available, rpc

pytestmark = pytest.mark.skipif(not anvil_available(), reason="anvil not installed: run `npm ci`")

ARTIFACTS = FIXTURES / "reference" / "artifacts"
PLAN = FIXTURES / "reference" / "dispatcher.plan.json"


def _target(tmp_path: Path, network: str) -> Path:
    path = tmp_path / "signoff.toml"
    reference = FIXTURES / "reference"
    path.write_text(
        f'[target]\nname = "net"\nartifacts = "{ARTIFACTS}"\n'
        f'[compiler]\nexclude = ["@openzeppelin/**"]\n[abi]\nsnapshots = "{reference / "abi"}"\n{network}'
    )
    return path


def test_anvil_network_runs_preflight_for_real(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "preflight", "--network", "anvil")
    assert run.result.ret == 0, run.output
    evidence = run.evidence()
    assert evidence["chain"]["chain_id"] == 31337
    assert evidence["chain"]["pinned_block"]["number"] >= 0
    outcomes = run.outcomes()
    assert outcomes["test_pf_net_reachable"] == outcomes["test_pf_net_chain_id"] == "passed"
    html = run.report(".html").read_text()
    assert "anvil (chain id 31337): a rehearsal chain started for this run" in html


def test_anvil_takes_the_readiness_keys_and_a_strict_sign_off_passes(run_suite, tmp_path: Path) -> None:
    """[networks.anvil] may set PF-NET's readiness keys (not its URL or chain id); a strict sign-off of a correct
    target passes: nothing is left "not run" (absent optional lists are passes that say so)."""
    funded = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil's first account, 10,000 ETH
    target = _target(tmp_path, f'[networks.anvil]\ndeployer = "{funded}"\nmin_deployer_balance_wei = "1 ether"\n')
    run: SuiteRun = run_suite("-m", "network", "--network", "anvil", "--signoff-strict", target=target)
    assert run.result.ret == 0, run.output
    outcomes = run.outcomes()
    assert outcomes[f"test_pf_net_deployer_funded[{funded}]"] == "passed"
    assert outcomes["test_pf_net_governance_has_code[not-configured]"] == "passed"
    assert run.evidence()["verdict"]["label"] == "SIGNED OFF"
    row = next(r for r in run.evidence()["tables"]["PF-NET"]["rows"] if "balance" in r["item"])
    assert (row["expected"], row["verdict"]) == (">= 1,000,000,000,000,000,000 wei", "pass")


def test_live_network_ready(run_suite, tmp_path: Path, live_node: dict[str, str]) -> None:
    target = _target(
        tmp_path,
        (
            '[networks.stage]\nrpc_url = "${STAGE_RPC_URL}"\nchain_id = 31337\n'
            f'deployer = "{live_node["deployer"]}"\nmin_deployer_balance_wei = "1 ether"\n'
            f'governance = ["{live_node["contract"]}"]\n'
            f'[manifest]\nplan = "{PLAN}"\ndispatcher = "ManifestDispatcher"\n'
        ),
    )
    run: SuiteRun = run_suite(
        "-m", "network", "--network", "stage", target=target, env={"STAGE_RPC_URL": live_node["url"]}
    )
    assert run.result.ret == 0, run.output
    assert set(run.outcomes().values()) == {"passed"}
    assert len(run.outcomes()) == 6
    items = [row["item"] for row in run.evidence()["tables"]["PF-NET"]["rows"]]
    assert "CREATE2 factory 0xF2E246BB76DF876Cef8b38ae84130F4F55De395b" in items


def test_create2_slots_taken_or_deployer_moved_on(run_suite, tmp_path: Path) -> None:
    """The plan's factory lands at CREATE(deployer, nonce 0): a deployer that already sent a
    transaction moves it; a predicted facet address holding other code cannot be deployed to."""
    from signoff.deploy.manifest import ETH_TESTER_DEPLOYER

    with AnvilNode(find_anvil(REPO)) as node:
        rpc(node.url, "anvil_impersonateAccount", ETH_TESTER_DEPLOYER)
        rpc(node.url, "anvil_setBalance", ETH_TESTER_DEPLOYER, hex(10**18))
        rpc(node.url, "eth_sendTransaction", {"from": ETH_TESTER_DEPLOYER, "to": ETH_TESTER_DEPLOYER, "value": "0x1"})
        rpc(node.url, "anvil_setCode", "0x0025ddf1D3c098DEebFd8D1c6301ECd7eE738d35", "0x6001")
        target = _target(
            tmp_path,
            '[networks.stage]\nrpc_url = "${STAGE_RPC_URL}"\nchain_id = 31337\n'
            f'[manifest]\nplan = "{PLAN}"\ndispatcher = "ManifestDispatcher"\n',
        )
        run: SuiteRun = run_suite("-m", "network", "--network", "stage", target=target, env={"STAGE_RPC_URL": node.url})
    run.assert_fails_only(
        "test_pf_net_create2_ready",
        f"deployer {ETH_TESTER_DEPLOYER} has nonce 1 at block 1, the plan's factory address "
        "0xF2E246BB76DF876Cef8b38ae84130F4F55De395b assumes nonce 0",
        skips_count=False,
    )
    assert "the address the plan predicts for PingFacet, 0x0025ddf1D3c098DEebFd8D1c6301ECd7eE738d35, already holds" in (
        run.output
    )


def test_live_network_findings(run_suite, live_node: dict[str, str]) -> None:
    target = FIXTURES / "defective" / "network-unready" / "signoff.toml"
    run: SuiteRun = run_suite(
        "-m", "network", "--network", "stage", target=target, env={"SIGNOFF_STAGE_RPC_URL": live_node["url"]}
    )
    assert run.result.ret == 1, run.output
    failed = sorted(t for t, o in run.outcomes().items() if o == "failed")
    assert failed == [
        f"test_pf_net_deployer_funded[{live_node['deployer']}]",
        f"test_pf_net_governance_has_code[{live_node['eoa']}]",
    ]
    assert f"network stage: governance address {live_node['eoa']} has no code at block" in run.output
    assert f"network stage: deployer {live_node['deployer']} holds" in run.output
    assert "less than min_deployer_balance_wei = 20,000,000,000,000,000,000,000" in run.output


def test_chain_id_mismatch_aborts_before_any_check(run_suite, live_node: dict[str, str]) -> None:
    target = FIXTURES / "defective" / "network-wrong-chain" / "signoff.toml"
    run: SuiteRun = run_suite(
        "-m", "preflight", "--network", "stage", target=target, env={"SIGNOFF_STAGE_RPC_URL": live_node["url"]}
    )
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR, run.output
    assert (
        f"chain id mismatch on network stage: {live_node['url']} answers eth_chainId 31337, the target expects 11155111"
        in run.output
    )
    assert " passed" not in run.output.splitlines()[-1] and " failed" not in run.output.splitlines()[-1]
    evidence = run.evidence()
    assert evidence["checks"] == [] and "chain id mismatch" in evidence["aborted"]
    assert "RUN ABORTED" in run.report(".html").read_text()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_rpc_fails_every_chain_check(run_suite, tmp_path: Path) -> None:
    port = _closed_port()
    target = _target(tmp_path, '[networks.stage]\nrpc_url = "${STAGE_RPC_URL}"\nchain_id = 31337\n')
    run: SuiteRun = run_suite(
        "-m",
        "preflight",
        "--network",
        "stage",
        target=target,
        env={"STAGE_RPC_URL": f"http://127.0.0.1:{port}/?key=abcdefabcdefabcdef123456"},
    )
    assert run.result.ret == 1, run.output
    outcomes = run.outcomes()
    net = {t: o for t, o in outcomes.items() if t.startswith("test_pf_net")}
    assert net and set(net.values()) == {"error"}, outcomes
    assert all(o == "passed" for t, o in outcomes.items() if t.startswith("test_pf_size"))
    assert f"RPC http://127.0.0.1:{port}/*** is unreachable (connection refused)" in run.output
    assert "abcdefabcdefabcdef123456" not in run.output + run.all_report_text()
    assert "skipped" not in " ".join(o for t, o in outcomes.items() if t.startswith("test_pf_net"))
    failed_checks = {c["check"] for c in run.evidence()["checks"] if c["outcome"] in ("failed", "error")}
    assert failed_checks == {"PF-NET"}


def test_stale_block_fails(run_suite, tmp_path: Path) -> None:
    with AnvilNode(find_anvil(REPO), ["--timestamp", str(int(time.time()) - 7200)]) as node:
        target = _target(
            tmp_path, '[networks.stage]\nrpc_url = "${STAGE_RPC_URL}"\nchain_id = 31337\nmax_block_age_seconds = 600\n'
        )
        run: SuiteRun = run_suite("-m", "network", "--network", "stage", target=target, env={"STAGE_RPC_URL": node.url})
    assert run.result.ret == 1, run.output
    assert [t for t, o in run.outcomes().items() if o == "failed"] == ["test_pf_net_block_fresh"]
    assert "network stage: latest block 0 is" in run.output and "more than max_block_age_seconds = 600" in run.output


def test_reference_sepolia_unreachable_from_the_checkout() -> None:
    """The runbook command, from the checkout itself: `pytest -m preflight --network sepolia`."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, SEPOLIA_RPC_URL=f"http://127.0.0.1:{_closed_port()}/?key=abcdefabcdefabcdef99887766")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-m",
            "preflight",
            "--network",
            "sepolia",
            "--signoff-reports=none",
            "-p",
            "no:cacheprovider",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "INTERNALERROR" not in output and "Traceback" not in output
    assert re.search(r"\d+ passed, (\d+ skipped, )?(\d+ deselected, )?6 errors in", output), output[-2000:]
    assert "is unreachable (connection refused)" in output and "abcdefabcdef99887766" not in output
