"""Self-test harness: run the real suites in a subprocess on a chosen target.

The self-test run itself writes no sign-off evidence (it is not a sign-off of anything);
the suite runs it starts write theirs into their own temporary directory, where the tests
read them back.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import eth_account  # noqa: F401 - see below
import pytest
from _pytest.pathlib import make_numbered_dir
from Crypto.Hash import keccak  # noqa: F401 - see below

from tests.warm import WARM

# pytester restores sys.modules after every test that uses it, so a module first imported inside such a
# test is imported again later. With cffi installed (coincurve brings it), pycryptodome declares its C
# functions on one process-wide FFI, and a second import of Crypto.Cipher.AES fails with "multiple
# declarations of function AES_start_operation". Imported here, before any snapshot, they are imported once.
pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
REFERENCE = FIXTURES / "reference" / "signoff.toml"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.option.signoff_reports = "none"
    # The self-tests start several hundred pytest processes. Each imports signoff, whose modules
    # pytest rewrites for assertions (they belong to the plugin's distribution); with
    # PYTHONDONTWRITEBYTECODE set (as on some CI machines) every process rewrote and recompiled
    # them all again, about half a second each. Bytecode caches change no result.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


# -- scheduling: the longest self-tests start first -------------------------------------------------
# Seconds a test took on CI (2 cores), for the few that take far longer than the rest. They are
# collected first, longest first, and `pytest tests -n 2` hands the collection out by work stealing:
# each worker starts on its half of the list and an idle worker takes queued tests from the end of
# the other's, so a minute-long test never starts in the last minute while the other core idles.
# Order only: a test missing here (a new one) keeps its place after these, as collected.
LONGEST = {
    "README: pytest -m e2e_flows --target fixtures/reference-market/": 90.0,  # the full search
    "tests/test_e2e_flows.py::test_the_search_finds_the_over_payout_no_flow_walks": 70.0,
    "tests/test_packaging.py::test_the_built_wheel_alone_runs_preflight_and_postdeploy": 45.0,
    "README: pytest -m e2e_pou --target fixtures/reference-pou-keyed/": 20.0,
    "tests/test_chain.py::test_py_evm_draws_the_line_where_pf_size_does": 18.0,
    "tests/test_e2e_flows.py::test_the_reference_passes": 15.0,
}


def _schedule_key(item: pytest.Item) -> str:
    """The item's node id; a README command test (tests/test_readme_commands.py) is named by its
    command ("README: pytest -m ..."), not by its README line number, which moves with every edit."""
    callspec = getattr(item, "callspec", None)
    command = callspec.params.get("command") if callspec is not None else None
    if item.path.name == "test_readme_commands.py" and isinstance(command, str):
        return f"README: {command}"
    return item.nodeid


def _expected_seconds(item: pytest.Item) -> float:
    key = _schedule_key(item)
    return max((seconds for prefix, seconds in LONGEST.items() if key.startswith(prefix)), default=0.0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: -_expected_seconds(item))  # stable: everything else keeps its order


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Work stealing instead of xdist's default chunks, for `-n` without an explicit other --dist."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import WorkStealingScheduling

    return WorkStealingScheduling(config, log)


@dataclass
class SuiteRun:
    result: pytest.RunResult
    reports: Path

    @property
    def output(self) -> str:
        return self.result.stdout.str() + "\n" + self.result.stderr.str()

    def report(self, suffix: str) -> Path:
        found = sorted(self.reports.glob(f"signoff-*{suffix}"))  # not a side document (a Safe batch, say)
        if suffix == ".json":  # the evidence, not its integrity manifest
            found = [p for p in found if not p.name.endswith(".manifest.json")]
        assert len(found) == 1, f"expected one *{suffix} report in {self.reports}, found {found}"
        return found[0]

    def evidence(self) -> dict[str, Any]:
        return json.loads(self.report(".json").read_text())

    def outcomes(self) -> dict[str, str]:
        """nodeid (without the module path) -> outcome, from the JSON evidence."""
        return {c["nodeid"].split("::", 1)[1]: c["outcome"] for c in self.evidence()["checks"]}

    def assert_fails_only(self, failing_test: str, message: str, *, skips_count: bool = True) -> dict[str, Any]:
        """The run failed on ``failing_test`` alone (a skip counts as not passing unless
        ``skips_count`` is false), printed ``message`` without a traceback, and recorded it in
        the JSON evidence. Returns that check's evidence record."""
        assert self.result.ret == 1, self.output
        outcomes = self.outcomes()
        bad = ("failed", "error", "skipped") if skips_count else ("failed", "error")
        not_applicable = {  # a reasoned "not applicable" is evidence, not a check that failed to run
            c["nodeid"].split("::", 1)[1] for c in self.evidence()["checks"] if c.get("result") == "not applicable"
        }
        failed = sorted(test for test, outcome in outcomes.items() if outcome in bad and test not in not_applicable)
        assert failed == [failing_test], outcomes
        assert message in self.output
        assert "Traceback" not in self.output
        record: dict[str, Any] = next(c for c in self.evidence()["checks"] if c["nodeid"].endswith(failing_test))
        assert message in record["message"]
        return record

    def all_report_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.reports.glob("*")))


class SuiteRunner:
    """Runs the real suites, copied with the pytest configuration into pytester's directory, in a
    pytest subprocess: one at a time (``run_suite(...)``) or several at once (``run_suite.together``)."""

    def __init__(self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pytester, self.monkeypatch = pytester, monkeypatch
        for name in ("pytest.ini", "conftest.py"):
            shutil.copy(REPO / name, pytester.path / name)
        shutil.copytree(REPO / "suites", pytester.path / "suites", ignore=shutil.ignore_patterns("__pycache__"))

    def _fresh_reports(self, name: str) -> Path:
        """The reports folder ``name`` in pytester's directory, emptied of an earlier run's evidence."""
        reports = self.pytester.path / name
        if reports.exists():
            shutil.rmtree(reports)
        return reports

    @staticmethod
    def _arguments(args: Sequence[str], target: Path | None, reports: Path) -> list[str]:
        full = ["-p", "no:cacheprovider", f"--signoff-reports={reports}", *args]
        return [f"--signoff-target={target}", *full] if target is not None else full

    def __call__(self, *args: str, target: Path | None = REFERENCE, env: dict[str, str] | None = None) -> SuiteRun:
        for key, value in (env or {}).items():
            self.monkeypatch.setenv(key, value)
        reports = self._fresh_reports("reports")
        basetemp = make_numbered_dir(root=self.pytester.path, prefix="runpytest-", mode=0o700)
        return self._run([f"--basetemp={basetemp}", *self._arguments(args, target, reports)], "", reports)

    def together(self, *runs: tuple[Sequence[str], Path]) -> list[SuiteRun]:
        """Each (arguments, target) in its own pytest process, all at once, each with its own reports
        and temporary directory: for runs that mostly wait (on a broker's finalizer, a notification),
        which one core then serves side by side."""
        with ThreadPoolExecutor(max_workers=len(runs)) as pool:
            return list(pool.map(lambda numbered: self._one_of_many(*numbered), enumerate(runs)))

    def _one_of_many(self, number: int, run: tuple[Sequence[str], Path]) -> SuiteRun:
        args, target = run
        reports = self._fresh_reports(f"reports-{number}")
        basetemp = self.pytester.path / f"basetemp-{number}"
        return self._run([f"--basetemp={basetemp}", *self._arguments(args, target, reports)], f"-{number}", reports)

    def _run(self, args: list[str], suffix: str, reports: Path) -> SuiteRun:
        """``python -m pytest ARGS`` in pytester's directory, which is importable (as pytester runs pytest),
        from the warm interpreter (tests/warm.py); its output in ``stdout{suffix}`` and ``stderr{suffix}``."""
        path = os.pathsep.join(filter(None, [str(self.pytester.path), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path}
        out, err = self.pytester.path / f"stdout{suffix}", self.pytester.path / f"stderr{suffix}"
        started = time.monotonic()
        code = WARM.run(args, cwd=self.pytester.path, env=env, stdout=out, stderr=err, timeout=300)
        lines = [p.read_text(encoding="utf8", errors="replace").splitlines() for p in (out, err)]
        for text in lines:  # shown with a failing test, as pytester shows its runs' output
            print("\n".join(text))
        with contextlib.suppress(ValueError):
            code = pytest.ExitCode(code)
        return SuiteRun(pytest.RunResult(code, lines[0], lines[1], time.monotonic() - started), reports)


def with_sigint(disposition: str, command: list[str]) -> list[str]:
    """``command`` started with SIGINT at ``disposition`` ("default": Ctrl-C interrupts it, whatever this
    test process inherited; "ignored": as a shell starts a background job without job control). The
    disposition survives exec."""
    handler = {"default": "SIG_DFL", "ignored": "SIG_IGN"}[disposition]
    start = (
        f"import os, signal, sys; signal.signal(signal.SIGINT, signal.{handler}); os.execv(sys.argv[1], sys.argv[1:])"
    )
    return [sys.executable, "-c", start, *command]


def two_at_a_time(names: Sequence[str]) -> list[tuple[str, ...]]:
    """``names`` two at a time for ``run_suite.together``; with an odd count the last group has three
    (a run left alone would wait on its broker with the core idle)."""
    groups = [tuple(names[i : i + 2]) for i in range(0, len(names), 2)]
    if len(groups) > 1 and len(groups[-1]) == 1:
        groups[-2:] = [groups[-2] + groups[-1]]
    return groups


@pytest.fixture
def run_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> SuiteRunner:
    """Copy the real suites and pytest configuration into a temp dir; run pytest there."""
    return SuiteRunner(pytester, monkeypatch)


def node_available() -> bool:
    return shutil.which("node") is not None and (REPO / "node_modules" / "solc").is_dir()


def anvil_available() -> bool:
    return (
        (REPO / "node_modules" / ".bin" / "anvil").exists()
        or bool(os.environ.get("SIGNOFF_ANVIL"))
        or shutil.which("anvil") is not None
    )


def rpc(url: str, method: str, *params: object) -> object:
    """A raw JSON-RPC call from a test (the product's client refuses writes on purpose)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["result"]


@pytest.fixture(scope="module")
def live_node() -> Iterator[dict[str, str]]:
    """An anvil standing in for a live network, with one deployed contract (for governance)."""
    from signoff.chain.anvil import AnvilNode, find_anvil

    with AnvilNode(find_anvil(REPO)) as node:
        accounts = rpc(node.url, "eth_accounts")
        assert isinstance(accounts, list)
        ping = FIXTURES / "reference" / "artifacts" / "contracts/facets/PingFacet.sol/PingFacet.json"
        creation = json.loads(ping.read_text())["bytecode"]
        tx = rpc(node.url, "eth_sendTransaction", {"from": accounts[0], "data": creation, "gas": hex(3_000_000)})
        receipt: object = None
        for _ in range(100):
            receipt = rpc(node.url, "eth_getTransactionReceipt", tx)
            if receipt:
                break
            time.sleep(0.05)
        assert isinstance(receipt, dict) and receipt["status"] == "0x1"
        yield {"url": node.url, "deployer": accounts[0], "eoa": accounts[1], "contract": receipt["contractAddress"]}


@pytest.fixture(scope="session")
def live_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """anvil with the reference rehearsed onto it, standing in for a live network behind a recording
    JSON-RPC proxy. The target copy names it twice: ``[networks.local]`` lists the deployed contracts,
    ``[networks.ghosted]`` also the Safe and a contract no artifact carries. Nothing may write to it:
    tests assert that the proxy saw no write method."""
    from signoff.chain import Endpoint
    from signoff.chain.anvil import AnvilNode, find_anvil
    from signoff.chain.backends import open_endpoint
    from signoff.chain.proxy import RecordingRpcProxy
    from signoff.deploy.rehearsal import rehearse
    from signoff.session import resolve_session

    folder = tmp_path_factory.mktemp("live") / "protocol"
    source = FIXTURES / "reference"
    shutil.copytree(source, folder, ignore=lambda at, _: ["contracts"] if Path(at) == source else [])
    settings = resolve_session(REFERENCE, "anvil")
    assert settings.deploy_plan is not None
    with AnvilNode(find_anvil(FIXTURES)) as node:
        chain = open_endpoint(Endpoint("anvil", node.url, 31337, "anvil"))
        system = rehearse(chain, settings.target, settings.artifacts, settings.deploy_plan, governance="@Governance")
        safe = system.safes["Governance"].address
        books = {
            "local": dict(system.addresses),
            "ghosted": {"Governance": safe, **system.addresses, "Ghost": system.addresses["PingFacet"]},
        }
        (folder / "deployments").mkdir()
        with RecordingRpcProxy(node.url) as proxy:
            target = folder / "signoff.toml"
            text = target.read_text()
            for network, book in books.items():
                (folder / "deployments" / f"{network}.json").write_text(json.dumps(book, indent=2))
                text += (
                    f'\n[networks.{network}]\nrpc_url = "{proxy.url}"\nchain_id = 31337\n'
                    f'deployments = "deployments/{network}.json"\ngovernance = ["{safe}"]\n'
                )
            target.write_text(text)
            yield {"target": target, "proxy": proxy, "system": system, "url": node.url}
