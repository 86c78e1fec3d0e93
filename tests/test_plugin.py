"""The plugin as a user meets it: options, aliases, help, reports, xdist, start-up cost."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from signoff.plugin import join_path_options
from tests.conftest import FIXTURES, REFERENCE, REPO, SuiteRun

BOUNDARY = FIXTURES / "boundary" / "runtime-24576" / "signoff.toml"


def test_help_and_markers_need_no_chain_and_no_target(run_suite, pytester: pytest.Pytester) -> None:
    ini = pytester.path / "pytest.ini"
    ini.write_text(
        ini.read_text().replace("signoff_target = fixtures/reference/signoff.toml", "signoff_target = missing.toml")
    )
    help_run: SuiteRun = run_suite("--help", target=None)
    assert help_run.result.ret == 0, help_run.output
    for option in (
        "--signoff-target=PATH",
        "--signoff-network=NAME",
        "--signoff-reports=DIR",
        "--target=PATH",
        "--network=NAME",
    ):
        assert option in help_run.output
    markers = run_suite("--markers", target=None)
    assert markers.result.ret == 0, markers.output
    assert "@pytest.mark.eip170: PF-SIZE" in markers.output
    assert "@pytest.mark.network: PF-NET" in markers.output
    missing = run_suite("-m", "eip170", target=None)
    assert missing.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "missing.toml does not exist" in missing.output


def test_aliases_and_the_space_separated_form(run_suite) -> None:
    """`--target PATH` (as typed in a runbook) works although pytest picks its rootdir first."""
    run: SuiteRun = run_suite("-m", "eip170", "--target", str(BOUNDARY), "--network", "eth-tester", target=None)
    assert run.result.ret == 0, run.output
    assert f"signoff: target 'runtime-24576' ({BOUNDARY})" in run.output
    assert re.search(r"rootdir: .*pytest-of-.*", run.output)
    assert run.evidence()["tables"]["PF-SIZE"]["rows"][0]["contract"] == "contracts/Edge.sol:Edge"


def test_join_path_options(tmp_path: Path) -> None:
    existing = str(tmp_path)
    assert join_path_options(["-m", "x", "--target", existing]) == ["-m", "x", f"--target={existing}"]
    assert join_path_options(["--network", "sepolia", "-q"]) is None
    assert join_path_options([f"--target={existing}"]) is None


def test_evidence_files_and_their_contents(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "preflight")
    assert run.result.ret == 0, run.output
    names = sorted(p.name for p in run.reports.iterdir())
    assert len(names) == 4
    stem = names[0].rsplit(".", 1)[0]
    assert re.fullmatch(r"signoff-preflight-eth-tester-\d{8}T\d{6}Z", stem)
    assert names == [f"{stem}.html", f"{stem}.json", f"{stem}.manifest.json", f"{stem}.xml"]
    lines = run.result.stdout.str().rstrip().splitlines()
    verdict = max(index for index, line in enumerate(lines) if "signoff: SIGNED OFF" in line)
    files = (f"{stem}.html", f"{stem}.xml", f"{stem}.json", f"{stem}.manifest.json")
    assert lines[-4:] == [f"  evidence: {run.reports / name}" for name in files]
    assert all(line.startswith("  ") for line in lines[verdict + 1 :])  # the verdict's reasons, then the files
    html = run.report(".html").read_text()
    for needle in (
        "signoff sign-off evidence: PayRox reference (signoff), preflight on eth-tester",
        "Target file sha256",
        "Artifacts sha256",
        "Target git commit",
        "PF-SIZE: contract sizes",
        "ManifestDispatcher",
        "signoff",
        "a rehearsal chain started for this run",  # PF-REH rehearses on the session eth-tester chain
    ):
        assert needle in html, needle
    assert 'href="assets/' not in html  # self-contained
    evidence = run.evidence()
    env = evidence["environment"]
    assert env["Target"] == "PayRox reference (signoff)" and env["Network"] == "eth-tester"
    assert re.fullmatch(r"[0-9a-f]{64}", env["Target file sha256"])
    assert re.fullmatch(r"[0-9a-f]{64}", env["Artifacts sha256"])
    assert {c["check"] for c in evidence["checks"]} == {
        "PF-SIZE",
        "PF-NET",
        "PF-SEL",
        "PF-ABI",
        "PF-COMP",
        "PF-ADDR",
        "PF-MRK",
        "PF-REH",
    }
    assert {c["outcome"] for c in evidence["checks"]} <= {"passed", "skipped"}
    junit = run.report(".xml").read_text()
    assert junit.count("<testcase") == len(evidence["checks"])


def test_reports_none_writes_nothing(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "eip170", "--signoff-reports=none")
    assert run.result.ret == 0, run.output
    assert not run.reports.exists()


def test_xdist_workers_send_their_evidence(run_suite) -> None:
    serial = run_suite("-m", "preflight").evidence()
    run: SuiteRun = run_suite("-m", "preflight", "-n", "2")
    assert run.result.ret == 0, run.output
    parallel = run.evidence()
    assert parallel["tables"]["PF-SIZE"]["rows"] == serial["tables"]["PF-SIZE"]["rows"]
    assert sorted(c["nodeid"] for c in parallel["checks"]) == sorted(c["nodeid"] for c in serial["checks"])


def test_xdist_in_a_project_that_names_no_test_path_runs_the_installed_suites(tmp_path: Path) -> None:
    """A protocol repository runs `pytest -m eip170 -n 2` with no test path: the workers collect the
    installed suites as the controller does (they once collected the empty project, exit 5)."""
    reports = tmp_path / "reports"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-m",
            "eip170",
            "-n",
            "2",
            "-p",
            "no:cacheprovider",
            f"--signoff-target={REFERENCE}",
            f"--signoff-reports={reports}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "no tests ran" not in output and "signoff: SIGNED OFF" in output
    assert len(list(reports.glob("*.json"))) == 2  # the evidence and its integrity manifest


def test_artifact_only_preflight_does_not_import_web3() -> None:
    code = (
        "import sys, pytest\n"
        "rc = pytest.main(['-q', '-m', 'eip170', '--signoff-reports=none', '-p', 'no:cacheprovider',\n"
        f"                 '--signoff-target={REFERENCE}'])\n"
        "heavy = ('web3', 'eth_tester', 'eth.vm', 'psycopg', 'httpx', 'uvicorn', 'pgserver')\n"
        "heavy = sorted(m for m in heavy if m in sys.modules)\n"
        "print('HEAVY', heavy, 'RC', int(rc))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert "HEAVY [] RC 0" in out.stdout, out.stdout + out.stderr
