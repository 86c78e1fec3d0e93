"""Contracts named by fully qualified name anywhere in signoff.toml (a build with two contracts of one
name needs it): [contracts."path/File.sol:Name"] keys, deploy steps, [[diamonds]] facets. The deploy
plan, the manifest plan and every check read them as the bare names they are; the written plan is the
same file, byte for byte, and the reference passes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, SuiteRun

REFERENCE_DIR = FIXTURES / "reference"


def _fully_qualified(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(REFERENCE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "signoff.toml"
    text = target.read_text()
    replacements = {
        '[[deploy.step]]\ndeploy = "PingFacet"': '[[deploy.step]]\ndeploy = "contracts/facets/PingFacet.sol:PingFacet"',
        "[contracts.PayRoxProxyRouter]": '[contracts."contracts/router/PayRoxProxyRouter.sol:PayRoxProxyRouter"]',
        'facets = ["PingFacet", "VaultFacet"]': 'facets = ["contracts/facets/PingFacet.sol:PingFacet", "VaultFacet"]',
    }
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    target.write_text(text)
    return target


def test_fully_qualified_names_give_the_same_plan_and_pass(run_suite, tmp_path: Path) -> None:
    target = _fully_qualified(tmp_path)
    (target.parent / "dispatcher.plan.json").unlink()
    written = subprocess.run(
        [sys.executable, "-m", "signoff.cli", "manifest", "write", "--target", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert written.returncode == 0, written.stdout + written.stderr
    assert (target.parent / "dispatcher.plan.json").read_bytes() == (
        REFERENCE_DIR / "dispatcher.plan.json"
    ).read_bytes()
    run: SuiteRun = run_suite("-m", "preflight or postdeploy", target=target)
    assert run.result.ret == 0, run.output
