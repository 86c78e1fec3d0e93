"""Hostile inputs that once gave a false green or a traceback: each is now a named problem.

(The RPC family is in test_hostile_rpc.py, configuration values in test_target.py, secrets in
test_secrets.py.)"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from signoff.artifacts.loader import load_artifacts
from tests.conftest import FIXTURES, SuiteRun

BIG = FIXTURES / "defective" / "runtime-24577"


def _project_with_linked_big(tmp_path: Path) -> Path:
    """The reference's artifacts, plus the 24,577-byte contract reached only through a symlinked folder."""
    artifacts = tmp_path / "artifacts"
    shutil.copytree(FIXTURES / "reference" / "artifacts", artifacts)
    outside = tmp_path / "elsewhere"
    shutil.copytree(BIG / "artifacts" / "contracts" / "Big.sol", outside / "Big.sol")
    for info in (BIG / "artifacts" / "build-info").iterdir():
        shutil.copy(info, artifacts / "build-info" / info.name)
    (artifacts / "contracts" / "Big.sol").symlink_to(outside / "Big.sol", target_is_directory=True)
    return artifacts


def test_a_contract_behind_a_symlinked_folder_is_read(tmp_path: Path) -> None:
    found = load_artifacts(_project_with_linked_big(tmp_path))
    assert "Big" in {c.name for c in found.contracts}
    assert found.problems == ()


def test_a_symlinked_oversized_contract_fails_pf_size(run_suite, tmp_path: Path) -> None:
    artifacts = _project_with_linked_big(tmp_path)
    target = tmp_path / "signoff.toml"
    target.write_text(f'[target]\nname = "linked"\nartifacts = "{artifacts}"\n')
    run: SuiteRun = run_suite("-m", "eip170", target=target)
    assert run.result.ret == 1, run.output
    assert "runtime code is 24,577 bytes, over the EIP-170 limit" in run.output


def test_a_symlink_loop_ends_and_reads_each_file_once(tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    shutil.copytree(FIXTURES / "reference" / "artifacts", artifacts)
    (artifacts / "contracts" / "loop").symlink_to(artifacts, target_is_directory=True)
    plain = load_artifacts(FIXTURES / "reference" / "artifacts")
    looped = load_artifacts(artifacts)
    assert sorted(c.fqn for c in looped.contracts) == sorted(c.fqn for c in plain.contracts)


def test_an_unlistable_folder_is_a_problem_not_a_silent_skip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    artifacts = tmp_path / "artifacts"
    shutil.copytree(FIXTURES / "reference" / "artifacts", artifacts)
    locked = artifacts / "contracts" / "facets"
    real_scandir = os.scandir

    def scandir(path: os.PathLike[str] | str) -> object:  # root bypasses file modes: simulate EACCES
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = load_artifacts(artifacts)
    [problem] = found.problems
    assert problem.path == locked
    assert "the artifacts folder cannot be read (Permission denied). Next step: fix its permissions" in problem.message
    assert "PingFacet" not in {c.name for c in found.contracts}


def test_an_abi_entry_with_inputs_7_names_the_file_and_entry(run_suite, tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    shutil.copytree(FIXTURES / "reference" / "artifacts", artifacts)
    ping = artifacts / "contracts" / "facets" / "PingFacet.sol" / "PingFacet.json"
    document = json.loads(ping.read_text())
    document["abi"][0]["inputs"] = 7
    ping.write_text(json.dumps(document))
    target = tmp_path / "signoff.toml"
    target.write_text(f'[target]\nname = "bad abi"\nartifacts = "{artifacts}"\n')
    run: SuiteRun = run_suite("-m", "preflight", target=target)
    assert run.result.ret == 1, run.output
    assert f"{ping}: abi[0] (function echo) has inputs 7, expected a list of parameters" in run.output
    assert "Traceback" not in run.output and "TypeError" not in run.output


def test_a_deploy_plan_that_is_a_folder_is_a_usage_error(run_suite, tmp_path: Path) -> None:
    (tmp_path / "plans").mkdir()
    target = tmp_path / "signoff.toml"
    target.write_text(
        f'[target]\nname = "plan folder"\nartifacts = "{FIXTURES / "reference" / "artifacts"}"\n'
        '[deploy]\nplan = "plans"\n'
    )
    run: SuiteRun = run_suite("-m", "rehearsal", target=target)
    assert run.result.ret == 4, run.output
    assert f"deploy.plan = 'plans' -> {tmp_path / 'plans'} is a folder, expected a file" in run.output
    assert "INTERNALERROR" not in run.output and "Traceback" not in run.output


def test_a_reports_folder_that_is_a_file_is_a_usage_error(run_suite, tmp_path: Path) -> None:
    blocker = tmp_path / "reports-file"
    blocker.write_text("not a folder")
    run: SuiteRun = run_suite("-m", "eip170", f"--signoff-reports={blocker}")
    assert run.result.ret == 4, run.output
    assert f"the reports directory {blocker} cannot be created" in run.output
    assert "Traceback" not in run.output
