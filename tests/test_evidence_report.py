"""The evidence as compliance reads it: the static first screen (no JavaScript needed), the verdict, the
integrity manifest and its signature checked by `signoff verify`, and an interrupted run that says so."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, REFERENCE, SuiteRun, with_sigint

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"  # a well-known throwaway test key
SIGNER = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
OTHER = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
BIG = FIXTURES / "defective" / "runtime-24577" / "signoff.toml"


def static_html(run: SuiteRun) -> str:
    """The report as a reader without JavaScript (or a printer) gets it: every script removed."""
    return re.sub(r"<script.*?</script>", "", run.report(".html").read_text(), flags=re.S)


def _verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signoff.cli", "verify", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_a_passing_sign_off_reads_signed_off_without_javascript(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "preflight")
    assert run.result.ret == 0, run.output
    page = static_html(run)
    assert "SIGNED OFF" in page and "NOT SIGNED OFF" not in page
    for needle in ("Failures", "Scope", "Runbook criteria", "Operator", "Command line", "signoff code", "Engines"):
        assert needle in page, needle
    # every evidence table keeps its verdict column in the static page
    for table in run.evidence()["tables"].values():
        if "verdict" in table["columns"]:
            assert f"<h3>{html.escape(table['title'])}</h3>" in page
    assert page.count("<th>Verdict</th>") >= 5
    evidence = run.evidence()
    assert evidence["verdict"]["label"] == "SIGNED OFF"
    assert evidence["summary"]["results"]["failed"] == 0
    criteria = {(c["runbook"], c["criterion"]): c["result"] for c in evidence["criteria"]}
    assert criteria[("002", "EIP-170 size compliance verified")] == "passed"
    assert criteria[("002", "Reentrancy protection functional")] == "not selected"
    assert criteria[("000", "Treasury never equals the owner")] == "not selected"
    assert criteria[("004", "Migrations dry-run first; rollback plan validated")] == "not selected"
    assert criteria[("001", "No database errors in logs; both cron jobs scheduled")] == "not selected"  # PU-LOG
    monitoring = ("003", "Monitoring: ownership, signer churn and late activations over a block range")
    assert criteria[monitoring] == "not selected"  # PD-MON and PD-EVT: postdeploy
    assert "no check yet" not in criteria.values()  # every criterion of the five runbooks has a check


def test_a_failing_sign_off_shows_the_failure_and_its_next_step_first(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "eip170", target=BIG)
    assert run.result.ret == 1, run.output
    page = static_html(run)
    banner = page.index("NOT SIGNED OFF")
    failure = page.index("runtime code is 24,577 bytes, over the EIP-170 limit of 24,576 by 1 byte")
    assert banner < failure < page.index("<h2>Scope</h2>")
    assert "move functions into facets or libraries, or lower the optimizer runs" in page  # the next step column
    assert run.evidence()["verdict"]["reasons"] == ["1 check(s) failed"]
    assert "signoff: NOT SIGNED OFF" in run.output


def test_a_signed_sign_off_verifies_and_any_edit_or_wrong_signer_fails(run_suite, tmp_path: Path) -> None:
    target = tmp_path / "signoff.toml"
    text = BIG.read_text().replace('artifacts = "artifacts"', f'artifacts = "{BIG.parent / "artifacts"}"')
    text = text.replace('snapshots = "abi"', f'snapshots = "{BIG.parent / "abi"}"')
    target.write_text(text + '\n[evidence]\noperator = "Jane Auditor"\nsign_key = "${SIGNOFF_TEST_KEY}"\n')
    run: SuiteRun = run_suite("-m", "eip170", target=target, env={"SIGNOFF_TEST_KEY": KEY})
    assert run.result.ret == 1, run.output
    assert KEY[2:] not in run.output + run.all_report_text()
    manifest = run.report(".manifest.json")
    assert json.loads(manifest.read_text())["signature"]["signer"] == SIGNER
    assert run.evidence()["environment"]["Operator"] == "Jane Auditor"
    good = _verify(str(run.report(".json")), "--signer", SIGNER)
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"VERIFIED: 3 files, signed by {SIGNER} (eip191)" in good.stdout
    wrong = _verify(str(manifest), "--signer", OTHER)
    assert wrong.returncode == 1 and "NOT VERIFIED" in wrong.stdout
    for suffix in (".html", ".xml", ".json"):
        path = run.report(suffix)
        original = path.read_bytes()
        middle = len(original) // 2
        path.write_bytes(original[:middle] + bytes([original[middle] ^ 1]) + original[middle + 1 :])
        edited = _verify(str(manifest), "--signer", SIGNER)
        assert edited.returncode == 1, suffix
        assert f"CHANGED  {path.name}" in edited.stdout
        path.write_bytes(original)
    assert _verify(str(manifest), "--signer", SIGNER).returncode == 0


def test_a_literal_signing_key_in_the_target_is_refused(run_suite, tmp_path: Path) -> None:
    target = tmp_path / "signoff.toml"
    target.write_text(REFERENCE.read_text() + f'\n[evidence]\nsign_key = "{KEY}"\n')
    shutil.copytree(REFERENCE.parent, tmp_path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("signoff.toml"))
    run: SuiteRun = run_suite("-m", "eip170", target=target)
    assert run.result.ret == 4
    assert "[evidence] sign_key must name an environment variable, found a literal value (not shown)" in run.output
    assert KEY[2:] not in run.output


def _hanging_suite(folder: Path) -> Path:
    """A preflight suite whose second check never ends (until the run is stopped)."""
    suite = folder / "suites" / "preflight"
    suite.mkdir(parents=True)
    (suite / "test_slow.py").write_text(
        "import time\nimport pytest\nCHECK_ID = 'PF-SIZE'\npytestmark = [pytest.mark.preflight]\n"
        "def test_first():\n    pass\n"
        "def test_hangs():\n    time.sleep(120)\n"
    )
    return suite


def _pytest_command(reports: Path, *args: str) -> list[str]:
    """A signoff run on the reference target in a subprocess, its evidence in ``reports``."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        f"--signoff-target={REFERENCE}",
        f"--signoff-reports={reports}",
        *args,
    ]


def _evidence_of(reports: Path) -> list[dict[str, Any]]:
    files = sorted(p for p in reports.glob("*.json") if not p.name.endswith(".manifest.json"))
    return [json.loads(p.read_text()) for p in files]


_ENV = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}


def test_an_interrupted_run_records_interrupted_never_passed(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """SIGINT half-way: the evidence says interrupted, and the check that was running is not a pass."""
    reports = tmp_path / "reports"
    slow = _hanging_suite(pytester.path)
    process = subprocess.Popen(
        with_sigint("default", _pytest_command(reports, "-m", "preflight", str(slow))),
        cwd=pytester.path,
        env=_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(reports.glob(".*.reserved")):
        time.sleep(0.1)
    time.sleep(2.0)  # test_first has passed, test_hangs is sleeping
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2, output
    [evidence] = _evidence_of(reports)
    results = {c["nodeid"].split("::")[-1]: c["result"] for c in evidence["checks"]}
    assert results.get("test_first") == "passed"
    assert results.get("test_hangs") in {"interrupted", None}  # never "passed"
    assert evidence["verdict"]["label"] == "NOT SIGNED OFF"
    assert any("interrupted" in reason for reason in evidence["verdict"]["reasons"])
    assert "signoff: NOT SIGNED OFF" in output


def test_runs_sharing_a_reports_folder_never_overwrite_each_other(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """Three runs started together (the same second, the same suite and network) keep three evidence sets."""
    reports = tmp_path / "reports"
    command = _pytest_command(reports, "-q", "-m", "eip170", str(REFERENCE.parents[2] / "suites" / "preflight"))
    runs = [subprocess.Popen(command, cwd=pytester.path, env=_ENV, stdout=subprocess.DEVNULL) for _ in range(3)]
    assert [run.wait(timeout=120) for run in runs] == [0, 0, 0]
    assert len(_evidence_of(reports)) == 3, sorted(p.name for p in reports.iterdir())
    assert len(list(reports.glob("*.manifest.json"))) == 3
    assert not list(reports.glob(".*.reserved"))  # every claim released


@pytest.mark.parametrize("sigint", ["inherited", "ignored"])
def test_a_run_past_its_deadline_stops_and_says_so(pytester: pytest.Pytester, tmp_path: Path, sigint: str) -> None:
    """Also when the run starts with SIGINT ignored (`pytest ... &` in a script without job control):
    the deadline's own SIGINT still stops it."""
    reports = tmp_path / "reports"
    slow = _hanging_suite(pytester.path)
    started = time.monotonic()
    command = _pytest_command(reports, "--signoff-deadline=3", "-m", "preflight", str(slow))
    run = subprocess.run(
        with_sigint("ignored", command) if sigint == "ignored" else command,
        cwd=pytester.path,
        env=_ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert time.monotonic() - started < 60
    assert run.returncode == 2, run.stdout + run.stderr
    [evidence] = _evidence_of(reports)
    assert "exceeded its deadline of 3 s (--signoff-deadline)" in " ".join(evidence["verdict"]["reasons"])
    assert evidence["verdict"]["label"] == "NOT SIGNED OFF"
