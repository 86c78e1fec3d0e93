"""Every command line the README prints runs, verbatim, and writes evidence.

The command lines are read from README.md itself, so a README edit is tested by the next run. A
"live" sepolia is an anvil with chain id 11155111 that holds the reference system (rehearsed onto
it); `../protocol` is a copy of the reference beside a copy of this checkout, the layout the
README assumes. Not run here: `pip` and `npm` lines (CI runs the two set-up commands from a
clean clone, and tests/test_packaging.py installs the built wheel), `pytest tests` (this very
run), synopsis lines with placeholders, and the benchmarks (minutes each, never part of a gate).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, REPO, SuiteRun, anvil_available
from tests.test_packaging import hardhat_project
from tests.test_pou import reference_broker_signed_off
from tests.test_pou_keyed import keyed_broker_signed_off

README = REPO / "README.md"
SEPOLIA = 11155111
_COMMAND = re.compile(r"^    ((?:pip|pytest|signoff|python|npm) .*)$")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not anvil_available(), reason="needs anvil (npm ci) to stand in for sepolia"),
]


def readme_commands() -> list[tuple[str, int, str]]:
    """(README section, line number, command without its trailing comment) for every command line."""
    found, section = [], ""
    for number, line in enumerate(README.read_text().splitlines(), start=1):
        if line.startswith("## "):
            section = line[3:].strip()
        match = _COMMAND.match(line)
        if match:
            found.append((section, number, re.split(r"\s{2,}#", match.group(1))[0].strip()))
    return found


def runnable(command: str) -> str | None:
    """The part of a README line this test runs (the pytest/signoff command after any install step)."""
    last = command.rsplit("&&", maxsplit=1)[-1].strip()
    if not last.startswith(("pytest ", "signoff ")):
        return None  # pip, npm, python bench/...: see the module docstring
    if last.startswith("pytest tests") or re.search(r"[\[\]|]|\.\.\.", last):
        return None
    return last


def test_the_readme_lists_the_commands_this_test_runs() -> None:
    commands = [runnable(c) for _, _, c in readme_commands()]
    assert "pytest -m preflight" in commands
    assert "signoff init" in commands
    assert "signoff preflight --network sepolia" in commands
    assert sum(c is not None for c in commands) >= 15


@pytest.fixture(scope="module")
def sepolia(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An anvil answering as sepolia (chain id 11155111) with the reference system rehearsed onto it."""
    from signoff.chain import Endpoint
    from signoff.chain.anvil import AnvilNode, find_anvil
    from signoff.chain.backends import open_endpoint
    from signoff.deploy.rehearsal import rehearse
    from signoff.session import resolve_session

    settings = resolve_session(FIXTURES / "reference" / "signoff.toml", "anvil")
    assert settings.deploy_plan is not None
    with AnvilNode(find_anvil(REPO), chain_id=SEPOLIA) as node:
        chain = open_endpoint(Endpoint("sepolia", node.url, SEPOLIA, "anvil"))
        system = rehearse(chain, settings.target, settings.artifacts, settings.deploy_plan, governance="@Governance")
        book = {"Governance": system.safes["Governance"].address, **system.addresses}
        yield {"url": node.url, "book": book}


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory, sepolia: dict[str, Any]) -> dict[str, Path]:
    """A copy of this checkout (what a pytest run reads) and ../protocol beside it; a Hardhat project."""
    root = tmp_path_factory.mktemp("readme")
    checkout = root / "signoff"
    checkout.mkdir()
    for name in ("pytest.ini", "conftest.py"):
        shutil.copy(REPO / name, checkout / name)
    shutil.copytree(REPO / "suites", checkout / "suites", ignore=shutil.ignore_patterns("__pycache__"))
    for reference in ("reference", "reference-control", "reference-market", "reference-pou-keyed"):
        shutil.copytree(
            FIXTURES / reference, checkout / "fixtures" / reference, ignore=shutil.ignore_patterns("reports")
        )
    protocol = root / "protocol"
    shutil.copytree(FIXTURES / "reference", protocol, ignore=shutil.ignore_patterns("reports", "__pycache__"))
    (protocol / "deployments").mkdir()
    (protocol / "deployments" / "sepolia.json").write_text(json.dumps(sepolia["book"], indent=2))
    project = hardhat_project(root / "hardhat-project")
    return {"checkout": checkout, "protocol": protocol, "project": project}


# What the README says a command shows, beyond running and writing evidence, checked on the same run
# (the suite runs once, not once here and once in its own test).
CLAIMS: dict[str, Callable[[SuiteRun], None]] = {
    "pytest -m e2e_pou": reference_broker_signed_off,
    "pytest -m e2e_pou --target fixtures/reference-pou-keyed/signoff.toml": keyed_broker_signed_off,
}


def _this_run(result: subprocess.CompletedProcess[str], reports: Path, since: float, into: Path) -> SuiteRun:
    """The run as the suite tests see one: its exit code and output, and the files it wrote to the
    shared reports folder (written at or after ``since``), alone in a folder of their own."""
    into.mkdir()
    for path in reports.iterdir():
        if path.is_file() and path.stat().st_mtime >= since:
            shutil.copy2(path, into / path.name)
    lines = [result.stdout.splitlines(), result.stderr.splitlines()]
    return SuiteRun(pytest.RunResult(result.returncode, lines[0], lines[1], 0.0), into)


def _evidence(folder: Path) -> set[str]:
    return {p.name for p in (folder / "reports").glob("*.json") if not p.name.endswith(".manifest.json")}


def _run(command: str, cwd: Path, sepolia: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTEST_ADDOPTS"}}
    env["SEPOLIA_RPC_URL"] = sepolia["url"]
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _cases() -> list[Any]:
    return [
        pytest.param(section, number, runnable(command), id=f"README:{number}")
        for section, number, command in readme_commands()
        if runnable(command) is not None
    ]


@pytest.mark.parametrize(("section", "line", "command"), _cases())
def test_every_readme_command_runs_and_writes_evidence(
    section: str, line: int, command: str, layout: dict[str, Path], sepolia: dict[str, Any], tmp_path: Path
) -> None:
    in_project = section == "In your protocol repository"
    cwd = layout["project"] if in_project else layout["checkout"]
    if in_project and command != "signoff init" and not (cwd / "signoff.toml").exists():
        assert _run("signoff init", cwd, sepolia).returncode == 0  # the README's first step, run once
    if command == "signoff init" and (cwd / "signoff.toml").exists():
        (cwd / "signoff.toml").unlink()  # init never overwrites: start it from a clean project
        (cwd / "pytest.ini").unlink(missing_ok=True)
    before, started = _evidence(cwd), time.time()
    result = _run(command, cwd, sepolia)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    if command == "signoff init":
        assert result.returncode == 0, output
        assert (cwd / "signoff.toml").is_file()
        return
    assert result.returncode in (0, 1), f"README line {line}: `{command}` exited {result.returncode}\n{output}"
    assert len(_evidence(cwd) - before) == 1, f"README line {line}: `{command}` wrote no evidence\n{output}"
    if not in_project:  # the bundled reference passes every README command
        assert result.returncode == 0, f"README line {line}: `{command}`\n{output}"
    assert "signoff: " in output and "evidence: " in output
    claim = CLAIMS.get(command)
    if claim is not None:
        claim(_this_run(result, cwd / "reports", started, tmp_path / "this-run"))
