"""signoff as a product installed into a protocol repository: the wheel, `signoff init`, the suites it
carries, the `signoff` command, and a run that selects nothing.

The last test builds the real wheel, installs it alone into a fresh virtual environment and runs
it in a Hardhat-shaped project outside this checkout (no node_modules anywhere).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from signoff.cli import phase_arguments
from tests.conftest import FIXTURES, REPO

BIG = FIXTURES / "defective" / "runtime-24577"
HARDHAT_CONFIG = """\
require("@nomicfoundation/hardhat-toolbox");
module.exports = {
  solidity: { version: "0.8.30", settings: { viaIR: true, optimizer: { enabled: true, runs: 200 } } },
  networks: {
    sepolia: { url: "https://eth-sepolia.example.invalid/v2/KEY0123456789", accounts: ["0x59c6995e998f97a5a0"] },
  },
};
"""


def hardhat_project(root: Path) -> Path:
    """The reference's Hardhat build plus one contract of 24,577 runtime bytes from another build."""
    reference = FIXTURES / "reference"
    root.mkdir(parents=True)
    shutil.copytree(reference / "artifacts", root / "artifacts")
    shutil.copytree(reference / "contracts", root / "contracts")
    shutil.copytree(BIG / "artifacts" / "contracts" / "Big.sol", root / "artifacts" / "contracts" / "Big.sol")
    for info in (BIG / "artifacts" / "build-info").iterdir():
        shutil.copy(info, root / "artifacts" / "build-info" / info.name)
    shutil.copy(BIG / "contracts" / "Big.sol", root / "contracts" / "Big.sol")
    (root / "hardhat.config.js").write_text(HARDHAT_CONFIG)
    return root


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


def _clean_env(bin_dir: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS"}}
    if bin_dir is not None:
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def _evidence_json(reports: Path, pattern: str = "*.json") -> list[Path]:
    return sorted(p for p in reports.glob(pattern) if not p.name.endswith(".manifest.json"))


def _outcomes(reports: Path) -> dict[str, str]:
    [evidence] = _evidence_json(reports)
    return {c["nodeid"]: c["outcome"] for c in json.loads(evidence.read_text())["checks"]}


# -- the package's shape ---------------------------------------------------------------------


def test_the_wheel_lists_every_package_of_the_source_tree() -> None:
    configured = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    on_disk = {
        ".".join(path.parent.relative_to(REPO / "src").parts)
        for path in (REPO / "src" / "signoff").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert on_disk <= set(configured), sorted(on_disk - set(configured))
    assert {"signoff.suites", "signoff.reference"} <= set(configured)


def test_the_core_imports_no_phase() -> None:
    """The core modules import no phase package (session.py and target.py, which validate every phase's
    settings at start-up so a bad key is a usage error before anything runs, are the two known exceptions)."""
    src = REPO / "src" / "signoff"
    core = [*src.glob("*.py"), *(src / "artifacts").glob("*.py"), *(src / "chain").glob("*.py")]
    core += [*(src / "evidence").glob("*.py")]
    exceptions = {"session.py", "target.py", "cli.py", "init.py"}
    phase_import = re.compile(r"^(from|import) signoff\.(preflight|postdeploy|pou|deploy)\b", re.M)
    offenders = [p.name for p in core if p.name not in exceptions and phase_import.search(p.read_text())]
    assert offenders == []


# -- the signoff command -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], ["-m", "preflight"]),
        (["--network", "sepolia"], ["-m", "preflight", "--network", "sepolia"]),
        (["-m", "eip170"], ["-m", "preflight and (eip170)"]),
        (["-meip170 or abi", "-q"], ["-m", "preflight and (eip170 or abi)", "-q"]),
    ],
)
def test_a_phase_command_is_the_pytest_run(extra: list[str], expected: list[str]) -> None:
    assert phase_arguments("preflight", extra) == expected


def test_a_phase_command_joins_path_options(tmp_path: Path) -> None:
    target = tmp_path / "signoff.toml"
    target.write_text("")
    assert phase_arguments("postdeploy", ["--target", str(target)]) == ["-m", "postdeploy", f"--target={target}"]


def test_signoff_example_copies_the_reference_and_never_overwrites(tmp_path: Path) -> None:
    first = _run([sys.executable, "-m", "signoff.cli", "example", str(tmp_path / "demo")], tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "demo" / "signoff.toml").read_text() == (FIXTURES / "reference" / "signoff.toml").read_text()
    again = _run([sys.executable, "-m", "signoff.cli", "example", str(tmp_path / "demo")], tmp_path)
    assert again.returncode == 4
    assert "already exists: left unchanged" in again.stderr


def test_signoff_init_never_overwrites(tmp_path: Path) -> None:
    project = hardhat_project(tmp_path / "protocol")
    first = _run([sys.executable, "-m", "signoff.cli", "init"], project)
    assert first.returncode == 0, first.stderr
    written = (project / "signoff.toml").read_text()
    assert "KEY0123456789" not in written and "59c6995e" not in written
    again = _run([sys.executable, "-m", "signoff.cli", "init"], project)
    assert again.returncode == 4
    assert "signoff.toml already exists" in again.stderr
    assert (project / "signoff.toml").read_text() == written


# -- an installed signoff in a project that is not this checkout -----------------------------------


def test_a_protocol_repository_runs_the_installed_suites(tmp_path: Path) -> None:
    """signoff init, then `pytest -m eip170` in the project itself (installed suites, the project's reports/)."""
    project = hardhat_project(tmp_path / "protocol")
    init = _run([sys.executable, "-m", "signoff.cli", "init"], project)
    assert init.returncode == 0, init.stderr
    run = _run([sys.executable, "-m", "pytest", "-m", "eip170", "-p", "no:cacheprovider"], project, _clean_env())
    assert run.returncode == 1, run.stdout + run.stderr
    outcomes = _outcomes(project / "reports")
    failed = sorted(nodeid for nodeid, outcome in outcomes.items() if outcome != "passed")
    assert failed == ["preflight/test_pf_size.py::test_pf_size[contracts/Big.sol:Big]"], outcomes
    assert "runtime code is 24,577 bytes, over the EIP-170 limit of 24,576 by 1 byte" in run.stdout
    assert sorted(p.name.split(".", 1)[1] for p in (project / "reports").iterdir()) == [
        "html",
        "json",
        "manifest.json",
        "xml",
    ]


def test_a_project_without_signoff_toml_runs_its_own_tests_untouched(tmp_path: Path) -> None:
    (tmp_path / "test_own.py").write_text("def test_own():\n    assert True\n")
    run = _run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"], tmp_path, _clean_env())
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    assert not (tmp_path / "reports").exists()


def test_a_signoff_run_without_a_target_says_signoff_init(tmp_path: Path) -> None:
    run = _run([sys.executable, "-m", "pytest", "-m", "preflight", "-p", "no:cacheprovider"], tmp_path, _clean_env())
    assert run.returncode == 4, run.stdout + run.stderr
    assert f"no signoff target: there is no signoff.toml in {tmp_path}" in run.stderr
    assert "Next step: run `signoff init`" in run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "eip17"], "-m 'eip17' names unknown marker(s): 'eip17' (did you mean 'eip170'?). Nothing was checked."),
        (["-m", "eip170 and postdeploy"], "-m 'eip170 and postdeploy' selected none of the"),
        (["-k", "no_such_check"], "-k 'no_such_check' selected none of the"),
        (["suites/preflight/conftest.py"], "no signoff check was collected from suites/preflight/conftest.py"),
    ],
)
def test_selecting_nothing_is_a_usage_error_without_evidence(tmp_path: Path, args: list[str], message: str) -> None:
    reports = tmp_path / "reports"
    run = _run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--signoff-reports={reports}", *args],
        REPO,
        _clean_env(),
    )
    assert run.returncode == 4, run.stdout + run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert not reports.exists() or list(reports.iterdir()) == []


def test_the_network_option_space_form_writes_evidence(tmp_path: Path) -> None:
    """`--network NAME` (space form) was read as a test path before the plugin owned the option."""
    reports = tmp_path / "reports"
    run = _run(
        [sys.executable, "-m", "pytest", "-m", "eip170", "--network", "eth-tester", f"--signoff-reports={reports}"],
        REPO,
        _clean_env(),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(_evidence_json(reports, "signoff-eip170-eth-tester-*.json")) == 1


# -- the wheel, alone, in a fresh environment -------------------------------------------------------


@pytest.mark.slow
def test_the_built_wheel_alone_runs_preflight_and_postdeploy(tmp_path: Path) -> None:
    """Only the wheel (and its dependencies) in a new venv; a Hardhat project with no node_modules anywhere:
    `signoff init` + `pytest -m eip170` fail exactly on the oversized contract and write the project's
    reports; the bundled reference rehearses with a real Safe (from safe-eth-py) under `pytest -m postdeploy`;
    an owner-controlled protocol's repository passes `pytest -m control` and gets its owner surface."""
    dist = tmp_path / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)], tmp_path)
    assert built.returncode == 0, built.stderr
    [wheel] = sorted(dist.glob("signoff-*.whl"))
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], tmp_path).returncode == 0
    bin_dir = venv / "bin"
    env = _clean_env(bin_dir)
    # --no-compile: pip would byte-compile all ~80 packages (4 s); the runs below compile what they import
    installed = _run([str(bin_dir / "pip"), "install", "-q", "--no-compile", str(wheel)], tmp_path, env)
    assert installed.returncode == 0, installed.stderr
    where = _run([str(bin_dir / "python"), "-c", "import signoff.plugin as p; print(p.__file__)"], tmp_path, env)
    assert str(venv) in where.stdout and str(REPO) not in where.stdout, where.stdout + where.stderr

    project = hardhat_project(tmp_path / "protocol")
    init = _run([str(bin_dir / "signoff"), "init"], project, env)
    assert init.returncode == 0, init.stdout + init.stderr
    assert {"signoff.toml", "pytest.ini"} <= {p.name for p in project.iterdir()}
    sizes = _run([str(bin_dir / "pytest"), "-m", "eip170"], project, env)
    assert sizes.returncode == 1, sizes.stdout + sizes.stderr
    failed = sorted(nodeid for nodeid, outcome in _outcomes(project / "reports").items() if outcome != "passed")
    assert failed == ["preflight/test_pf_size.py::test_pf_size[contracts/Big.sol:Big]"]
    assert sorted(p.name.split(".", 1)[1] for p in (project / "reports").iterdir()) == [
        "html",
        "json",
        "manifest.json",
        "xml",
    ]

    reference = tmp_path / "reference"
    assert _run([str(bin_dir / "signoff"), "example", str(reference)], tmp_path, env).returncode == 0
    postdeploy = _run([str(bin_dir / "pytest"), "-m", "postdeploy"], reference, env)
    assert postdeploy.returncode == 0, postdeploy.stdout + postdeploy.stderr
    outcomes = _outcomes(reference / "reports")
    routed_facets = {
        "postdeploy/test_pd_own.py::test_pd_own[PingFacet]",
        "postdeploy/test_pd_own.py::test_pd_own[VaultFacet]",
        "postdeploy/test_pd_cfg.py::test_pd_cfg[not-configured]",  # no [control]: said once
    }
    assert {t: o for t, o in outcomes.items() if t in routed_facets} == dict.fromkeys(routed_facets, "skipped"), (
        outcomes
    )
    assert outcomes and {o for t, o in outcomes.items() if t not in routed_facets} == {"passed"}, outcomes
    [evidence] = _evidence_json(reference / "reports")
    [governance] = json.loads(evidence.read_text())["tables"]["PD-OWN-governance"]["rows"]
    assert (governance["kind"], governance["threshold"], governance["verdict"]) == ("safe 1.4.1", "3 of 5", "pass")

    # an owner-controlled protocol's repository: its config/*.json and the mapping, nothing of signoff's
    owner = tmp_path / "owner-protocol"
    control = REPO / "fixtures" / "reference-control"
    shutil.copytree(control, owner, ignore=lambda at, _: ["contracts"] if Path(at) == control else [])
    plane = _run([str(bin_dir / "pytest"), "-m", "control"], owner, env)
    assert plane.returncode == 0, plane.stdout + plane.stderr
    assert (owner / "reports" / "eth-tester-owner-surface.md").is_file()
    assert set(_outcomes(owner / "reports").values()) == {"passed"}
    assert not any(p.name == "node_modules" for p in tmp_path.rglob("node_modules"))


def test_the_project_s_own_files_are_collected_only_when_it_names_them(tmp_path: Path) -> None:
    """A protocol repository's Python files (a broken script here) are never imported by a signoff run;
    a folder named in testpaths runs with the phase its tests are marked with, using signoff's fixtures."""
    project = hardhat_project(tmp_path / "protocol")
    assert _run([sys.executable, "-m", "signoff.cli", "init"], project).returncode == 0
    (project / "scripts").mkdir()
    (project / "scripts" / "test_deploy_script.py").write_text("import brownie_that_is_not_installed\n")
    run = _run([sys.executable, "-m", "pytest", "-m", "eip170", "-p", "no:cacheprovider"], project, _clean_env())
    assert run.returncode == 1, run.stdout + run.stderr  # Big fails PF-SIZE; nothing else
    assert "brownie_that_is_not_installed" not in run.stdout + run.stderr

    own = project / "tests" / "signoff"
    own.mkdir(parents=True)
    (own / "test_our_rules.py").write_text(
        "import pytest\n\npytestmark = [pytest.mark.preflight]\n\n"
        "def test_every_contract_is_named_in_pascal_case(signoff_settings):\n"
        "    assert all(c.name[0].isupper() for c in signoff_settings.artifacts.contracts)\n"
    )
    ini = project / "pytest.ini"
    ini.write_text(ini.read_text() + "testpaths = tests/signoff\n")
    shutil.rmtree(project / "reports")
    both = _run(
        [sys.executable, "-m", "pytest", "-m", "preflight and not rehearsal", "-p", "no:cacheprovider", "-q"],
        project,
        _clean_env(),
    )
    outcomes = _outcomes(project / "reports")
    assert outcomes.get("tests/signoff/test_our_rules.py::test_every_contract_is_named_in_pascal_case") == "passed"
    assert any(nodeid.startswith("preflight/test_pf_size.py") for nodeid in outcomes), both.stdout
