"""The pytest plugin: options, start-up validation, fixtures, redaction and evidence wiring.

Registered once through the ``pytest11`` entry point. Nothing heavy is imported here: web3
and the chain backends load inside the ``chain`` fixture, so ``--help``, ``--markers`` and
the artifact-only preflight start fast.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import math
import os
import re
import signal
import sys
import threading
from collections.abc import Generator, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from signoff import markers
from signoff.bundled import bundled
from signoff.chain import BlockPin, Endpoint
from signoff.chain.anvil import ANVIL_CHAIN_ID, AnvilNode, find_anvil
from signoff.chain.rpc import JsonRpcClient
from signoff.errors import ChainError, ConfigError, SignoffError
from signoff.evidence import provenance
from signoff.evidence.collector import (
    CHAIN_PROPERTY,
    CHECK_PROPERTY,
    ENVIRONMENT_PROPERTY,
    Evidence,
    EvidenceCollector,
    finalize_user_properties,
)
from signoff.findings import says_not_applicable
from signoff.frame_room import in_roomy_frame
from signoff.redaction import display_url, forget_secrets, known_secrets, redact
from signoff.session import DEFAULT_NETWORK, SessionSettings, reservation_of, reserve_report_paths, resolve_session
from signoff.stash import SETTINGS_KEY, STATE_KEY, RunState, record_environment, settings_of
from signoff.suite import not_applicable
from signoff.target import BUILTIN_NETWORKS

if TYPE_CHECKING:
    from signoff.chain.backends import Chain

COLLECTOR_NAME = "signoff-evidence"
REPORT_CSS = Path(__file__).resolve().parent / "evidence" / "report.css"
SIGNER_KEY = pytest.StashKey[Any]()
RESERVATION_KEY = pytest.StashKey[Path]()


# -- options ---------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("signoff", "signoff: acceptance gate for EVM contract systems")
    if not _aliases_taken():
        group.addoption("--target", dest="signoff_target", metavar="PATH", help="alias of --signoff-target")
        group.addoption("--network", dest="signoff_network", metavar="NAME", help="alias of --signoff-network")
    group.addoption(
        "--signoff-target",
        dest="signoff_target",
        metavar="PATH",
        help="the target's signoff.toml (default: ini signoff_target)",
    )
    group.addoption(
        "--signoff-network",
        dest="signoff_network",
        metavar="NAME",
        help=f"where to check: {', '.join(BUILTIN_NETWORKS)} or a [networks] name of the target "
        f"(default: ini signoff_network, else {DEFAULT_NETWORK})",
    )
    group.addoption(
        "--signoff-reports",
        dest="signoff_reports",
        metavar="DIR",
        help="directory for the HTML, JUnit XML and JSON evidence; 'none' writes none (default: ini signoff_reports)",
    )
    group.addoption(
        "--signoff-update-snapshots",
        dest="signoff_update_snapshots",
        action="store_true",
        default=False,
        help="PF-ABI: write the expected-interface snapshots from the artifacts and report which changed",
    )
    group.addoption(
        "--signoff-fork",
        dest="signoff_fork",
        action="store_true",
        default=False,
        help="postdeploy on a live network: run the state-changing drills (PD-EMG, PD-REE, PD-GAS, ...) on an "
        "anvil fork of it at the pinned block, with impersonated governance (never on the network itself)",
    )
    group.addoption(
        "--signoff-strict",
        dest="signoff_strict",
        action="store_true",
        default=False,
        help="sign-off run: a check that did not run (skipped: no fork, not configured, ...) fails",
    )
    group.addoption(
        "--signoff-deadline",
        dest="signoff_deadline",
        metavar="SECONDS",
        type=float,
        default=None,
        help="stop the whole run after SECONDS (recorded as interrupted: NOT SIGNED OFF); default: ini "
        "signoff_deadline, else none",
    )
    group.addoption(
        "--signoff-search-examples",
        dest="signoff_search_examples",
        metavar="N",
        type=_positive_int,
        default=None,
        help="FL-SEARCH: try N sequences instead of [search] examples (a deeper nightly search, a quicker gate)",
    )
    parser.addini("signoff_deadline", "a deadline for the whole run, in seconds (see --signoff-deadline)")
    parser.addini(
        "signoff_target", "path of the target's signoff.toml, relative to the ini file (default: signoff.toml there)"
    )
    parser.addini(
        "signoff_suites",
        "'bundled': a run that names no test path collects signoff's installed suites beside the project's own "
        "tests; 'none': only the test paths and testpaths",
        default="bundled",
    )
    parser.addini("signoff_network", "default network", default=DEFAULT_NETWORK)
    parser.addini(
        "signoff_reports", "directory for evidence, relative to the rootdir; 'none' writes none", default="reports"
    )


def _informational(config: pytest.Config) -> bool:
    option = config.option
    return bool(
        getattr(option, "help", False) or getattr(option, "version", False) or getattr(option, "markers", False)
    )


# Another installed pytest plugin that owns --network/--target (ape does): keep only --signoff-*.
_ALIAS_OWNERS = frozenset({"eth-ape"})
DEFAULT_TARGET = "signoff.toml"


def _aliases_taken() -> bool:
    from importlib.metadata import entry_points

    return any(ep.dist is not None and ep.dist.name.lower() in _ALIAS_OWNERS for ep in entry_points(group="pytest11"))


def _target_path(config: pytest.Config) -> Path | None:
    """The target file: the option, else the ini key, else ``signoff.toml`` at the rootdir (if any)."""
    given = config.getoption("signoff_target")
    if given is not None:
        if not str(given).strip():
            raise pytest.UsageError(
                "--signoff-target is empty (an unset variable?). Next step: pass the path of a signoff.toml, "
                "or leave the option out to use signoff.toml at the rootdir"
            )
        return Path(config.invocation_params.dir, given)
    base = config.inipath.parent if config.inipath else config.rootpath
    ini = config.getini("signoff_target")
    if ini:
        return Path(base, str(ini))
    found = base / DEFAULT_TARGET
    return found if found.is_file() else None


def _asks_for_signoff(config: pytest.Config) -> bool:
    """A run that names a signoff marker or option: without a target it is a usage error, not a no-op."""
    option = config.option
    given = any(
        getattr(option, name, None) not in (None, False)
        for name in ("signoff_network", "signoff_reports", "signoff_fork", "signoff_strict", "signoff_update_snapshots")
    )
    return given or bool(set(markers.names_in(option.markexpr or "")) & markers.NAMES)


# -- start-up ---------------------------------------------------------------------------------

PATH_OPTIONS = ("--target", "--signoff-target", "--network", "--signoff-network", "--signoff-reports")


def join_path_options(args: Sequence[str]) -> list[str] | None:
    """``--target PATH`` -> ``--target=PATH`` when PATH exists; ``None`` if nothing to join.

    pytest picks its rootdir and ini file from every existing path on the command line
    *before* any plugin loads, so a separate option value such as ``../protocol/signoff.toml``
    would move the rootdir into the user's repository and lose signoff's pytest.ini.
    """
    joined: list[str] = []
    changed = False
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in PATH_OPTIONS and index + 1 < len(args) and os.path.exists(args[index + 1]):
            joined.append(f"{arg}={args[index + 1]}")
            index += 2
            changed = True
            continue
        joined.append(arg)
        index += 1
    return joined if changed else None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    invoked = list(early_config.invocation_params.args)
    joined = join_path_options(invoked)
    if joined is None:
        return
    if sys.argv[1:] != invoked or hasattr(early_config, "workerinput"):
        raise pytest.UsageError(
            "write path options with '=' (e.g. --target=../protocol/signoff.toml): pytest takes a "
            "separate path value for a test path when it chooses its rootdir"
        )
    capture = early_config.pluginmanager.getplugin("capturemanager")
    if capture is not None:  # give the new process the real stdout/stderr back
        capture.stop_global_capturing()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *joined])  # noqa: S606 - same pytest, joined options


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    markers.register(config)
    if _informational(config):
        return
    target = _target_path(config)
    if target is None:
        if _asks_for_signoff(config):
            base = config.inipath.parent if config.inipath else config.rootpath
            raise pytest.UsageError(
                f"no signoff target: there is no {DEFAULT_TARGET} in {base} and neither --signoff-target nor the "
                "ini key signoff_target names one. Next step: run `signoff init` in your project's root, or pass "
                "--signoff-target=path/to/signoff.toml"
            )
        return  # not a signoff run: the project's own tests run as if signoff were not installed
    forget_secrets()
    _redact_logging()
    given_network = config.getoption("signoff_network")
    if given_network is not None and not str(given_network).strip():
        raise pytest.UsageError(
            "--signoff-network is empty (an unset variable?): a sign-off must say where it checks. Next step: "
            f"pass a network name ({', '.join(BUILTIN_NETWORKS)} or a [networks] name of the target), or leave "
            "the option out for the default"
        )
    network = given_network or config.getini("signoff_network") or DEFAULT_NETWORK
    # The artifacts are hundreds of thousands of long-lived objects: load them without the
    # cyclic GC and then freeze them, so later collections (pytest runs several) skip them.
    gc_enabled = gc.isenabled()
    gc.disable()
    try:
        settings = resolve_session(
            target,
            str(network),
            fork=bool(config.getoption("signoff_fork", False)),
            strict=bool(config.getoption("signoff_strict", False)),
        )
    except ConfigError as exc:
        raise pytest.UsageError(redact(str(exc))) from None
    finally:
        if gc_enabled:
            gc.enable()
    gc.freeze()
    config.stash[SETTINGS_KEY] = settings
    config.stash[STATE_KEY] = RunState()
    _add_bundled_suites(config)  # on xdist workers too: they collect from their own args
    if hasattr(config, "workerinput"):
        return
    _plan_workers(config, settings)
    json_path = _configure_reports(config, settings)
    collector = EvidenceCollector(
        json_path=json_path,
        environment=settings.environment(),
        html=bool(getattr(config.option, "htmlpath", None)),
        strict=settings.strict,
        scope={
            "target": settings.target.name,
            "target_file": str(settings.target.path),
            "phases": config.option.markexpr or "",
            "network": settings.network,
            "fork": settings.fork,
            "strict": settings.strict,
        },
    )
    collector.environment.update(provenance.rows(config.invocation_params.args, collector.started_at))
    if settings.target.evidence.operator:
        collector.environment["Operator"] = settings.target.evidence.operator
    collector.files = _evidence_files(config, json_path)
    if json_path is not None:
        from signoff.evidence.integrity import manifest_path_for

        collector.files["manifest"] = manifest_path_for(json_path).name
        if settings.target.evidence.sarif:
            collector.files["sarif"] = json_path.with_suffix(".sarif").name
    try:
        config.stash[SIGNER_KEY] = _signer(settings)
    except SignoffError as exc:
        raise pytest.UsageError(redact(str(exc))) from None
    config.pluginmanager.register(collector, COLLECTOR_NAME)
    _arm_deadline(config, collector)
    _stop_on_sigterm(config, collector)
    if config.pluginmanager.hasplugin("html"):
        from signoff.evidence.collector import HtmlHooks

        suite = config.option.markexpr or "all suites"
        title = f"signoff sign-off evidence: {settings.target.name}, {suite} on {settings.network}"
        config.pluginmanager.register(HtmlHooks(collector, title), "signoff-html")
        config.option.css = [*(getattr(config.option, "css", None) or []), str(REPORT_CSS)]


def _arm_deadline(config: pytest.Config, collector: EvidenceCollector) -> None:
    """A run that outlives its deadline is interrupted (as Ctrl-C would), and its evidence says why."""
    given = config.getoption("signoff_deadline") or config.getini("signoff_deadline") or None
    if given is None:
        return
    try:
        seconds = float(given)
    except ValueError:
        raise pytest.UsageError(f"signoff_deadline = {given!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise pytest.UsageError(f"--signoff-deadline must be a positive number of seconds, found {given}")

    def expire() -> None:
        collector.aborted = f"the run exceeded its deadline of {seconds:g} s (--signoff-deadline) and was stopped"
        os.kill(os.getpid(), signal.SIGINT)

    _hear_own_sigint_when_ignored(config, collector)
    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    config.add_cleanup(timer.cancel)


def _hear_own_sigint_when_ignored(config: pytest.Config, collector: EvidenceCollector) -> None:
    """A run started with SIGINT ignored (``pytest ... &`` in a shell script without job control, or
    under ``nohup``-like launchers) would never hear the deadline's SIGINT and run on. It keeps
    ignoring Ctrl-C from outside, as whoever started it chose, and stops on its own deadline."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        return

    def deadline_only(signum: int, frame: object) -> None:
        if collector.aborted:  # set by the deadline just before it sends the signal
            raise KeyboardInterrupt

    def restore() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    signal.signal(signal.SIGINT, deadline_only)
    config.add_cleanup(restore)


def _stop_on_sigterm(config: pytest.Config, collector: EvidenceCollector) -> None:
    """SIGTERM (a CI job cancelled, a container stopped) stops the run as Ctrl-C does: the running
    check is recorded as interrupted, every child process is stopped, and the evidence is written."""
    if threading.current_thread() is not threading.main_thread() or hasattr(config, "workerinput"):
        return  # xdist workers: the controller is terminated and stops them

    def terminated(signum: int, frame: object) -> None:
        collector.aborted = "the run was terminated (SIGTERM) and stopped"
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminated)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    config.add_cleanup(restore)


def _signer(settings: SessionSettings) -> Any:
    """The [evidence] signer of the integrity manifest, or None (unsigned)."""
    chosen = settings.target.evidence
    if not chosen.signs:
        return None
    from signoff.evidence import integrity

    if chosen.sign_key:
        return integrity.Eip191Signer(chosen.sign_key)
    if chosen.sign_keystore is not None and chosen.sign_keystore_password is not None:
        return integrity.keystore_signer(chosen.sign_keystore, chosen.sign_keystore_password)
    assert chosen.sign_gpg_key is not None
    return integrity.GpgSigner(chosen.sign_gpg_key, integrity.find_gpg())


def _redact_logging() -> None:
    """Every log record of every library (web3 logs full RPC URLs at DEBUG) is redacted as it is made,
    so no handler (--log-cli-level, --log-file, caplog, the report's log sections) ever sees a secret."""
    current = logging.getLogRecordFactory()
    if getattr(current, "signoff_redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging library's to report
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return record

    factory.signoff_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def _evidence_files(config: pytest.Config, json_path: Path | None) -> dict[str, str]:
    """The names of this run's evidence files, cross-referenced in each of them."""
    files = {}
    for kind, value in (
        ("html", getattr(config.option, "htmlpath", None)),
        ("junit", getattr(config.option, "xmlpath", None)),
        ("json", json_path),
    ):
        if value:
            files[kind] = Path(str(value)).name
    return files


def _add_bundled_suites(config: pytest.Config) -> None:
    """A run that names no test path collects signoff's own suites (installed with the package), beside the
    project's ``testpaths`` when it has some.

    The signoff checkout collects them through ``testpaths`` (its pytest.ini says ``signoff_suites =
    none``); an explicit path (``pytest tests/``) always means just that path."""
    if config.getini("signoff_suites") == "none" or config.args_source == pytest.Config.ArgsSource.ARGS:
        return
    suites = bundled("suites")
    if suites is None:
        return
    given = [Path(config.invocation_params.dir, arg).resolve() for arg in config.args]
    if suites in given:
        return
    if config.args_source == pytest.Config.ArgsSource.INVOCATION_DIR:
        # No testpaths: only signoff's suites. A project's own Python files (scripts, other test
        # frameworks) are never imported unless it names them in testpaths.
        config.args = [str(suites)]
        return
    config.args = [*config.args, str(suites)]


def _configure_reports(config: pytest.Config, settings: SessionSettings) -> Path | None:
    given = config.getoption("signoff_reports")
    value = str(given or config.getini("signoff_reports") or "reports")
    user_html = getattr(config.option, "htmlpath", None)
    if value.lower() == "none":
        return Path(user_html).with_suffix(".json") if user_html else None
    base = config.invocation_params.dir if given else config.rootpath
    try:
        paths = reserve_report_paths(Path(base, value), config.option.markexpr or "", settings.network)
    except ConfigError as exc:
        raise pytest.UsageError(redact(str(exc))) from None
    config.stash[RESERVATION_KEY] = reservation_of(paths)
    if user_html:
        return Path(user_html).with_suffix(".json")
    if config.pluginmanager.hasplugin("html"):
        config.option.htmlpath = str(paths.html)
        config.option.self_contained_html = True
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(paths.junit)
    return paths.json


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None:
        return []
    art = settings.artifacts
    return [
        redact(f"signoff: target {settings.target.name!r} ({settings.target.path})"),
        redact(f"signoff: network {settings.network}; {len(art.contracts)} contracts from {art.root}"),
    ]


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None:
        return
    unknown = markers.unknown_in(config.option.markexpr or "", markers.registered(config))
    if unknown:  # before anything starts: a misspelt family must not silently drop out of a sign-off
        raise pytest.UsageError(
            f"-m {config.option.markexpr!r} names unknown marker(s): {', '.join(unknown)}. Nothing was checked. "
            "Next step: `pytest --markers` lists them"
        )
    state = config.stash[STATE_KEY]
    collector = config.pluginmanager.get_plugin(COLLECTOR_NAME)
    _add_metadata(config, settings.environment())
    endpoint = settings.live_endpoint()
    if endpoint is None:
        return
    handed = getattr(config, "workerinput", {}).get("signoff_pin")
    if handed:  # xdist: the controller already probed and pinned
        state.pin, state.chain_id = BlockPin(**handed), endpoint.expected_chain_id
        return
    client = JsonRpcClient(endpoint.url, deadline=endpoint.request_timeout)
    try:
        state.chain_id = client.chain_id()
        state.pin = client.latest_block()
    except ChainError as exc:
        state.unreachable = redact(str(exc))
        _record_chain(config, endpoint, state)
        return
    _record_chain(config, endpoint, state)
    if state.chain_id != endpoint.expected_chain_id:
        message = (
            f"chain id mismatch on network {endpoint.network}: {display_url(endpoint.url)} answers "
            f"eth_chainId {state.chain_id}, the target expects {endpoint.expected_chain_id} "
            f"([networks.{endpoint.network}] chain_id in {settings.target.path}). No check was run. "
            "Next step: fix rpc_url or chain_id"
        )
        state.aborted = redact(message)
        if collector is not None:
            collector.aborted = state.aborted


GROUPED_KEY = pytest.StashKey[bool]()  # a gate run under -n: scheduled by shared setup
BROKER_PER_WORKER_KEY = pytest.StashKey[bool]()  # ... and the reference broker's checks spread over the workers

# xdist: the checks that share one expensive session setup (a rehearsal chain; a started broker and its
# database) run on one worker, so it is built once, not once per worker. By suite folder, as collected
# (a check may ask for its setup through request.getfixturevalue, which no static reading sees).
_SHARED_SETUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("signoff-broker", ("e2e_pou/",)),
    ("signoff-chain", ("postdeploy/", "e2e_flows/", "preflight/test_pf_reh.py")),
)
# The exception: the reference broker starts in about half a second over the run's one PostgreSQL, and most
# of its checks' time is waiting for its finalizer, so its checks spread over the workers, each worker that
# runs one with a broker of its own (signoff.pou.workers: PU-LOG reads them all). A team's broker (its
# command, its sidecars) is started once; a live one takes one check at a time: theirs stay grouped.
_SPREADS_WITH_REFERENCE_BROKER = "signoff-broker"
# Longest first, so the short ones fill in around them at the end: the check that runs longest on the
# reference (PU-QRM's state machine, about 5 s of a 9 s e2e_pou run; see bench/README.md), then each shared
# setup's group (the rehearsal chain's), then the checks that wait out the finalizer's windows (PU-FIN,
# about 0.8 s each), then the rest in their order; PU-LOG last of all (it waits for every other e2e_pou check).
_LONGEST_FIRST = ("e2e_pou/test_pu_qrm.py::test_pu_qrm_stateful", "signoff-", "e2e_pou/test_pu_fin.py::")
_LAST = ("e2e_pou/test_pu_log.py::",)


def _in_suites(nodeid: str) -> str | None:
    """A node id from signoff's suites folder on (``e2e_pou/test_pu_api.py::...``), wherever it is installed."""
    path, _, rest = nodeid.replace("\\", "/").partition("::")
    if "suites/" not in path:
        return None
    inside = path.rsplit("suites/", 1)[1]
    return f"{inside}::{rest}" if rest else inside


def shared_setup_of(nodeid: str, broker_per_worker: bool = False) -> str | None:
    """The shared-setup group of a suite check's node id (``suites/e2e_pou/test_pu_api.py::...``), or None."""
    inside = _in_suites(nodeid)
    if inside is None:
        return None
    group = next((group for group, prefixes in _SHARED_SETUPS if inside.startswith(prefixes)), None)
    return None if broker_per_worker and group == _SPREADS_WITH_REFERENCE_BROKER else group


def _rank(scope: str) -> int:
    """Where a scheduling scope (a shared-setup group, or one check's node id) goes in the queue: lower first."""
    inside = _in_suites(scope) or scope
    if inside.startswith(_LAST):
        return len(_LONGEST_FIRST) + 1
    return next((rank for rank, prefix in enumerate(_LONGEST_FIRST) if inside.startswith(prefix)), len(_LONGEST_FIRST))


def next_scope(queue: Sequence[str], long_one_ahead: bool) -> str:
    """The scope to hand a worker next (``queue`` in collection order): the longest (the first of the lowest
    rank); but to a worker with a long check still ahead of it, a short one (the last of the ordinary rank,
    else the longest), so that the long ones go to whichever worker frees up first. What must run last
    (PU-LOG) goes only when nothing else is left."""
    ordinary = [scope for scope in queue if _rank(scope) == len(_LONGEST_FIRST)]
    if long_one_ahead and ordinary:
        return ordinary[-1]
    return min(queue, key=_rank)


def _is_long(nodeid: str) -> bool:
    return _rank(nodeid) < len(_LONGEST_FIRST)


def _plan_workers(config: pytest.Config, settings: SessionSettings) -> None:
    """xdist: a gate run with ``-n`` (a ``-m`` naming signoff's checks, xdist's default distribution) is
    scheduled by shared setup (:func:`pytest_xdist_make_scheduler`); other runs, the self-tests among them,
    are left to xdist. Either way, whether the e2e_pou checks may land on several workers, each with a
    broker of its own (signoff.pou.workers), which the workers are then told."""
    dist = getattr(config.option, "dist", "no")
    if dist == "no":
        return
    markexpr = str(config.option.markexpr or "")
    names = {name for name, _ in markers.MARKERS}
    grouped = dist == "load" and any(word in names for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", markexpr))
    config.stash[GROUPED_KEY] = grouped
    # --dist each: every worker runs every check, its own broker's whole story
    apart = dist != "each" and (not grouped or settings.target.starts_reference_broker)
    config.stash[BROKER_PER_WORKER_KEY] = apart


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's scope scheduling with one scope per shared setup, and every other check its own scope; the
    longest check first (:func:`next_scope`: a worker with a long check ahead gets a short one, PU-LOG goes
    last), and a worker holds the check it runs and one more (xdist's three would leave checks queued
    behind a long one while the other worker has nothing to do). (xdist's ``loadgroup`` cannot do
    this under pytest 9: it renames ``item._nodeid``, which no longer changes the node id.)"""
    if not config.stash.get(GROUPED_KEY, False):
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    broker_per_worker = config.stash.get(BROKER_PER_WORKER_KEY, False)

    class SharedSetupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return shared_setup_of(nodeid, broker_per_worker) or nodeid

        def _assign_work_unit(self, node: Any) -> None:
            ahead = (
                nodeid
                for unit in self.assigned_work.get(node, {}).values()
                for nodeid, done in unit.items()
                if not done
            )
            chosen = next_scope(list(self.workqueue), any(_is_long(nodeid) for nodeid in ahead))
            self.workqueue.move_to_end(chosen, last=False)
            super()._assign_work_unit(node)

        def _reschedule(self, node: Any) -> None:
            if self.workqueue and not node.shutting_down and self._pending_of(self.assigned_work[node]) > 1:
                return
            super()._reschedule(node)

    return SharedSetupScheduling(config, log)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A suite module of signoff's (one that declares its CHECK_ID) that no item of could satisfy
    ``-m`` is neither imported nor parametrised over the target: collection costs what is selected,
    not every family. Other test modules are collected as pytest always does."""
    markexpr = config.option.markexpr
    if not markexpr or collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    state = config.stash.get(STATE_KEY, None)
    if state is None:
        return None
    found = markers.marks_in_source(collection_path)  # None unless it is a signoff suite module (CHECK_ID)
    if found is None or markers.can_match(markexpr, *found):
        return None
    state.unselected_modules += 1
    return True


def pytest_deselected(items: Sequence[pytest.Item]) -> None:
    if items:
        config = items[0].config
        state = config.stash.get(STATE_KEY, None)
        if state is not None:
            state.deselected += len(items)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Nothing selected is a usage error that says why, and leaves no file that calls itself evidence."""
    config = session.config
    state = config.stash.get(STATE_KEY, None)
    collector = config.pluginmanager.get_plugin(COLLECTOR_NAME)
    if collector is not None:
        collector.selected = len(session.items)
    if state is None or session.items or session.testsfailed or hasattr(config, "workerinput"):
        return
    _withdraw_evidence(config)
    raise pytest.UsageError(_nothing_selected(config, state.deselected, state.unselected_modules))


def _nothing_selected(config: pytest.Config, deselected: int, unselected_modules: int = 0) -> str:
    where = ", ".join(str(arg) for arg in config.args) or str(config.invocation_params.dir)
    if deselected or unselected_modules:
        options = (("-m", config.option.markexpr), ("-k", config.option.keyword))
        chosen = " and ".join(f"{flag} {value!r}" for flag, value in options if value)
        counted = " and ".join(
            part
            for part in (
                f"{deselected} checks collected" if deselected else "",
                f"{unselected_modules} suite modules" if unselected_modules else "",
            )
            if part
        )
        return (
            f"{chosen or 'the selection'} selected none of the {counted} from {where}. "
            "Nothing was checked. Next step: `pytest --markers` lists the phases and check families"
        )
    return (
        f"no signoff check was collected from {where}. Nothing was checked. Next step: run in the repository that "
        "holds signoff.toml without naming a test path (signoff adds its installed suites), or name a folder of suites"
    )


def _withdraw_evidence(config: pytest.Config) -> None:
    """Unregister every writer of evidence files (ours, pytest-html's, JUnit's) before they write."""
    from _pytest.junitxml import xml_key  # JUnit's writer is only reachable through its stash key

    manager = config.pluginmanager
    collector = manager.get_plugin(COLLECTOR_NAME)
    if collector is not None:
        manager.unregister(collector)
    for plugin in list(manager.get_plugins()):
        if type(plugin).__module__.startswith("pytest_html.") and hasattr(plugin, "_generate_report"):
            manager.unregister(plugin)
    xml = config.stash.get(xml_key, None)
    if xml is not None:
        del config.stash[xml_key]
        manager.unregister(xml)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> object:
    """Abort before the first check when the session-start probe found the wrong chain; else run
    the test loop (the other plugins' ``pytest_runtestloop``: pytest's, or xdist's) below one roomy
    frame (:mod:`signoff.frame_room`), so that no check's calls cross an edge of the frame stack.

    (Raised here rather than in ``pytest_sessionstart`` so that the evidence, which says
    why, is still written.)"""
    state = session.config.stash.get(STATE_KEY, None)
    if state is not None and state.aborted:
        pytest.exit(state.aborted, returncode=pytest.ExitCode.USAGE_ERROR)
    return in_roomy_frame(lambda: _rest_of_runtestloop(session))


def _rest_of_runtestloop(session: pytest.Session) -> object:
    """Call the ``pytest_runtestloop`` implementations that pluggy would call after this plugin's,
    in its order, until one returns a result (the hook is firstresult). Wrappers are left out: they
    already wrap this call. Always a result, so that pluggy never calls the others a second time."""
    impls = [i for i in reversed(session.config.hook.pytest_runtestloop.get_hookimpls()) if not _wraps(i)]
    mine = next(n for n, impl in enumerate(impls) if impl.function is pytest_runtestloop)
    arguments = {"session": session}
    for impl in impls[mine + 1 :]:
        result = impl.function(*(arguments[name] for name in impl.argnames))
        if result is not None:
            return result
    return True


def _wraps(impl: Any) -> bool:
    return bool(getattr(impl, "hookwrapper", False) or getattr(impl, "wrapper", False))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand the controller's pinned block to every worker, and whether each runs a broker of its own."""
    state = node.config.stash.get(STATE_KEY, None)
    if state is not None and state.pin is not None:
        node.workerinput["signoff_pin"] = asdict(state.pin)
    if node.config.stash.get(BROKER_PER_WORKER_KEY, False):
        from signoff.pou.workers import SPREAD_INPUT

        node.workerinput[SPREAD_INPUT] = True


def _record_chain(
    config: pytest.Config, endpoint: Endpoint | None, state: RunState, network: str | None = None
) -> None:
    facts: dict[str, Any] = {"network": network or (endpoint.network if endpoint else "")}
    if endpoint is not None:
        facts["kind"] = endpoint.kind
        facts["rpc"] = display_url(endpoint.url) if endpoint.kind == "live" else endpoint.url
    if state.chain_id is not None:
        facts["chain_id"] = state.chain_id
    if state.pin is not None:
        facts["pinned_block"] = asdict(state.pin)
    if state.unreachable:
        facts["unreachable"] = state.unreachable
    state.facts = facts
    collector = config.pluginmanager.get_plugin(COLLECTOR_NAME)
    if collector is not None:
        collector.chain_facts = facts


def _add_metadata(config: pytest.Config, rows: dict[str, str]) -> None:
    try:
        from pytest_metadata.plugin import metadata_key
    except ImportError:
        return
    metadata = config.stash.get(metadata_key, None)
    if metadata is not None:
        metadata.update({key: redact(value) for key, value in rows.items()})


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    collector = session.config.pluginmanager.get_plugin(COLLECTOR_NAME)
    settings = session.config.stash.get(SETTINGS_KEY, None)
    if collector is None or settings is None:
        return
    from signoff.evidence.first_screen import describe_chain

    if collector.chains:
        rows = {
            ("Chain" if worker == "main" else f"Chain ({worker})"): describe_chain(facts)
            for worker, facts in sorted(collector.chains.items())
        }
    elif collector.chain_facts.get("unreachable"):
        rows = {"Chain": f"UNREACHABLE: {collector.chain_facts['unreachable']}"}
    else:
        rows = {"Chain": f"{settings.network}: not started (no selected check needed a chain)"}
    _add_metadata(session.config, rows)
    collector.write_json(int(exitstatus))
    verdict = (collector.final or {}).get("verdict") or {}
    is_sign_off = any(record.check for record in collector.records.values())
    if is_sign_off and not verdict.get("signed_off") and session.exitstatus == pytest.ExitCode.OK:
        # e.g. every selected check was not applicable: a gate that could not look does not exit 0
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """After every report is written: seal the evidence (manifest, signature) and end the run's output
    with its verdict and every file it wrote."""
    if "signoff.children" in sys.modules:  # whatever a fixture started and did not stop
        sys.modules["signoff.children"].stop_all()
    reservation = config.stash.get(RESERVATION_KEY, None)
    if reservation is not None:
        reservation.unlink(missing_ok=True)
    collector = config.pluginmanager.get_plugin(COLLECTOR_NAME)
    if collector is None or collector.final is None or not any(r.check for r in collector.records.values()):
        return  # not a sign-off: no signoff check ran (e.g. signoff's own self-tests)
    sealed, problem = _seal_evidence(config, collector)
    verdict = collector.final["verdict"]
    signed = bool(verdict["signed_off"]) and problem is None
    label = verdict["label"] if problem is None else "NOT SIGNED OFF"
    writer = config.get_terminal_writer()
    writer.sep("=", f"signoff: {label}", green=signed, red=not signed, bold=True)
    for line in [*verdict["reasons"], *verdict["caveats"], *([problem] if problem else [])]:
        writer.line(f"  {redact(line)}")
    for path in sealed:
        writer.line(f"  evidence: {path}")


def _seal_evidence(config: pytest.Config, collector: EvidenceCollector) -> tuple[list[Path], str | None]:
    """Write the SARIF export (when asked) and the integrity manifest over every evidence file."""
    json_path = collector.json_path
    if json_path is None or not json_path.is_file():
        return [], None
    from signoff.evidence import integrity

    written = [
        Path(str(value))
        for value in (getattr(config.option, "htmlpath", None), getattr(config.option, "xmlpath", None), json_path)
        if value and Path(str(value)).is_file()
    ]
    if "sarif" in collector.files:
        from signoff.evidence.sarif import to_sarif

        sarif = json_path.with_suffix(".sarif")
        sarif.write_text(redact(json.dumps(to_sarif(collector.final or {}), indent=2)) + "\n", encoding="utf-8")
        written.append(sarif)
    manifest = integrity.manifest_path_for(json_path)
    try:
        integrity.write_manifest(written, manifest, config.stash.get(SIGNER_KEY, None))
    except (SignoffError, OSError) as exc:
        return written, redact(f"the evidence could not be sealed: {exc}")
    return [*written, manifest], None


# -- redaction of everything a report carries ---------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_internalerror(excrepr: Any, excinfo: Any) -> None:
    """An internal error's traceback is shown redacted (a secret can sit in any frame's source or message):
    the report object is redacted in place before the terminal (or the fallback) prints it."""
    if known_secrets():
        _redact_in_place(excrepr, set())


def _redact_in_place(node: Any, seen: set[int]) -> None:
    """Redact every string held by a pytest traceback representation (entries, lines, crash messages)."""
    if id(node) in seen or not hasattr(node, "__dict__"):
        return
    seen.add(id(node))
    for name, value in vars(node).items():
        if isinstance(value, str):
            object.__setattr__(node, name, redact(value))  # some representations are frozen dataclasses
        elif isinstance(value, list):
            value[:] = [redact(item) if isinstance(item, str) else item for item in value]
            for item in value:
                if isinstance(item, tuple):
                    for part in item:
                        _redact_in_place(part, seen)
                else:
                    _redact_in_place(item, seen)
        elif isinstance(value, tuple):
            for part in value:
                _redact_in_place(part, seen)
        else:
            _redact_in_place(value, seen)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    settings = item.config.stash.get(SETTINGS_KEY, None)
    reason = report.longrepr[2] if report.skipped and isinstance(report.longrepr, tuple) else str(report.longrepr)
    applies = not (report.skipped and says_not_applicable(reason))
    if report.skipped and applies and settings is not None and settings.strict and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"NOT RUN (a --signoff-strict sign-off fails on every check that did not run): {reason}"
    if report.failed and call.excinfo is not None and isinstance(call.excinfo.value, SignoffError):
        # Our own errors carry the whole message (what, where, next step): no traceback.
        report.longrepr = str(call.excinfo.value)
    check = getattr(getattr(item, "module", None), "CHECK_ID", None)
    if check:
        report.user_properties.append((CHECK_PROPERTY, str(check)))
    state = item.config.stash.get(STATE_KEY, None)
    if state is not None and state.environment:
        report.user_properties.append((ENVIRONMENT_PROPERTY, json.dumps(state.environment)))
    if state is not None and state.facts and (_uses_chain(item) or state.chain is not None):
        report.user_properties.append((CHAIN_PROPERTY, json.dumps(_chain_facts_now(state, report.when == "call"))))
    finalize_user_properties(report.user_properties)
    _redact_report(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _redact_report(report)
    return report


def _chain_facts_now(state: RunState, after_call: bool) -> dict[str, Any]:
    """The chain facts, with the latest block of a rehearsal chain after a test's call (its reads happen after
    deployment; asked once per test, not per setup/call/teardown report)."""
    facts = dict(state.facts)
    chain = state.chain
    if after_call and chain is not None and not chain.read_only:
        with contextlib.suppress(Exception):  # a report never fails for a block number it only shows
            facts["last_block"] = int(chain.w3.eth.block_number)
    return facts


def _uses_chain(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return "chain" in names or "signoff_endpoint" in names or "signoff_rpc" in names


def _redact_report(report: pytest.TestReport | pytest.CollectReport) -> None:
    longrepr = report.longrepr
    if longrepr is not None:
        if isinstance(longrepr, tuple):
            path, lineno, reason = longrepr
            report.longrepr = (path, lineno, redact(reason))
        else:
            text = str(longrepr)
            clean = redact(text)
            if clean != text:
                report.longrepr = clean
    report.sections = [(title, redact(content)) for title, content in report.sections]


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def signoff_settings(request: pytest.FixtureRequest) -> SessionSettings:
    """The resolved target, artifacts and network of this run."""
    return settings_of(request.config)


@pytest.fixture(scope="session")
def signoff_endpoint(request: pytest.FixtureRequest, signoff_settings: SessionSettings) -> Iterator[Endpoint]:
    """A JSON-RPC endpoint: the live network (probed at start) or an anvil started for the run."""
    state = request.config.stash[STATE_KEY]
    live = signoff_settings.live_endpoint()
    if live is not None:
        if state.unreachable:
            pytest.fail(state.unreachable, pytrace=False)
        yield live
        return
    if signoff_settings.network != "anvil":
        not_applicable(
            f"network readiness applies to a named network or anvil; {signoff_settings.network} "
            "is a fresh in-process rehearsal chain. Run with --network NAME or --network anvil"
        )
    node: AnvilNode | None = None
    problem = None
    try:
        plan = signoff_settings.deploy_plan
        lifted = ["--disable-code-size-limit"] if plan is not None and not plan.code_size_limit else []
        node = AnvilNode(find_anvil(request.config.rootpath, request.config.invocation_params.dir), lifted)
        url = node.start()
        record_environment(request.config, "anvil", node.version())
        client = JsonRpcClient(url)
        client.wait_until_ready(10)
        state.chain_id, state.pin = client.chain_id(), client.latest_block()
    except ChainError as exc:
        problem = redact(str(exc))
    if problem is not None or node is None:
        if node is not None:
            node.stop()
        pytest.fail(problem or "anvil did not start", pytrace=False)
    endpoint = Endpoint("anvil", url, ANVIL_CHAIN_ID, "anvil")
    _record_chain(request.config, endpoint, state)
    try:
        yield endpoint
    finally:
        node.stop()


@pytest.fixture(scope="session")
def signoff_rpc(signoff_endpoint: Endpoint) -> JsonRpcClient:
    """A raw, read-only JSON-RPC client for the endpoint (no web3)."""
    return JsonRpcClient(signoff_endpoint.url, deadline=signoff_endpoint.request_timeout)


@pytest.fixture(scope="session")
def signoff_pin(request: pytest.FixtureRequest, signoff_endpoint: Endpoint) -> BlockPin:
    """The block every read of this session is pinned to."""
    pin = request.config.stash[STATE_KEY].pin
    if pin is None:
        pytest.fail(f"no block was pinned for {signoff_endpoint.network}", pytrace=False)
    return pin


@pytest.fixture(scope="session")
def chain(request: pytest.FixtureRequest, signoff_settings: SessionSettings) -> Iterator[Chain]:
    """The chain under test: fresh eth-tester, a started anvil, or the live network (read-only)."""
    from signoff.chain.backends import open_endpoint, open_eth_tester

    state = request.config.stash[STATE_KEY]
    opened: Chain | None = None
    problem = None
    try:
        if signoff_settings.network == "eth-tester":
            plan = signoff_settings.deploy_plan
            from signoff.deploy.rehearsal import genesis_alloc

            opened = open_eth_tester(
                genesis_alloc(plan, signoff_settings.artifacts) if plan is not None else None,
                code_size_limit=plan is None or plan.code_size_limit,
            )
            state.chain_id, state.pin = opened.chain_id, opened.pinned
            _record_chain(request.config, None, state, network="eth-tester")
        else:
            endpoint: Endpoint = request.getfixturevalue("signoff_endpoint")
            opened = open_endpoint(endpoint, pin=state.pin)
    except (ChainError, ConfigError) as exc:
        problem = redact(str(exc))
    if opened is None:
        pytest.fail(problem or "no chain", pytrace=False)
    state.chain = opened
    try:
        yield opened
    finally:
        state.chain = None
        opened.close()


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Records this check's rows, data and findings into the report and the JSON evidence."""
    check = getattr(request.module, "CHECK_ID", None) or request.node.name
    return Evidence(request.node, str(check))
