"""Where the time of ``pytest -m eip170`` goes: phases, hot functions and imports.

    python bench/profile_eip170.py [--artifacts 2000] [--target PATH] [--reports] [--top 25]

Run it with the same interpreter as the benchmark. It

1. runs ``pytest.main`` in this process with a small phase-timing plugin (wall clock per
   phase: start-up incl. plugin loading and signoff's configure, collection, the test loop,
   session finish and terminal summary), once without and once under cProfile;
2. prints the cProfile top functions (by own time, and by cumulative time under signoff);
3. runs the same invocation in a subprocess with ``-X importtime`` and sums the self import
   time per top-level package.

Bytecode caching as in bench_eip170.py: PYTHONPYCACHEPREFIX in the working directory (set
by re-executing this script when needed), nothing written outside it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import generate  # noqa: E402


class PhaseTimer:
    """A pytest plugin that stamps the wall clock around the session's phases."""

    def __init__(self, origin: float) -> None:
        self.origin = origin
        self.marks: dict[str, float] = {}
        self.items = 0
        self.collected = 0

    import pytest as _pytest

    # pytest_configure is a historic hook (no wrappers): bracket it with the hook that calls it
    # (pytest_cmdline_main -> wrap_session -> configure) and the first one after it.
    @_pytest.hookimpl(wrapper=True)
    def pytest_cmdline_main(self, config):
        self.marks["configure:start"] = time.perf_counter()
        return (yield)

    @_pytest.hookimpl(wrapper=True)
    def pytest_sessionstart(self, session):
        self.marks["configure:end"] = time.perf_counter()
        return (yield)

    @_pytest.hookimpl(wrapper=True)
    def pytest_collection(self, session):
        self.marks["collection:start"] = time.perf_counter()
        try:
            return (yield)
        finally:
            self.marks["collection:end"] = time.perf_counter()
            self.items = len(session.items)

    @_pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items):  # before -m deselects
        self.collected = len(items)

    @_pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session):
        self.marks["runtestloop:start"] = time.perf_counter()
        try:
            return (yield)
        finally:
            self.marks["runtestloop:end"] = time.perf_counter()

    @_pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session, exitstatus):
        self.marks["sessionfinish:start"] = time.perf_counter()
        try:
            return (yield)
        finally:
            self.marks["sessionfinish:end"] = time.perf_counter()

    @_pytest.hookimpl(wrapper=True)
    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        self.marks["terminal_summary:start"] = time.perf_counter()
        try:
            return (yield)
        finally:
            self.marks["terminal_summary:end"] = time.perf_counter()

    def pytest_unconfigure(self, config):
        self.marks["unconfigure"] = time.perf_counter()

    del _pytest


def phases(timer: PhaseTimer, start: float, end: float) -> list[tuple[str, float]]:
    m = timer.marks
    finish = m["sessionfinish:end"] - m["sessionfinish:start"]
    summary = m.get("terminal_summary:end", 0.0) - m.get("terminal_summary:start", 0.0)
    nested = (
        m.get("terminal_summary:start", 0.0) >= m["sessionfinish:start"]
        and m.get("terminal_summary:end", 0.0) <= m["sessionfinish:end"]
    )
    last = max(v for k, v in m.items() if k != "unconfigure")
    return [
        ("start-up: pytest arg/ini parsing, plugin import, conftests", m["configure:start"] - start),
        (
            "pytest_configure (all plugins; signoff resolves target + artifacts)",
            m["configure:end"] - m["configure:start"],
        ),
        ("sessionstart .. collection start (header, signoff metadata)", m["collection:start"] - m["configure:end"]),
        (
            f"collection (import suites, parametrise {timer.collected} items, -m keeps {timer.items})",
            m["collection:end"] - m["collection:start"],
        ),
        ("collection end .. test loop start", m["runtestloop:start"] - m["collection:end"]),
        (f"test loop ({timer.items} items)", m["runtestloop:end"] - m["runtestloop:start"]),
        ("session finish hooks (evidence JSON/HTML/JUnit written here)", finish - (summary if nested else 0.0)),
        ("terminal summary (warnings, -ra, plugins' summaries)", summary),
        ("unconfigure .. pytest.main returns (pytest's gc_collect_harder)", end - last),
    ]


class GcClock:
    """Time spent in the cyclic garbage collector, per generation (gc.callbacks)."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            generation = info["generation"]
            self.count[generation] += 1
            self.seconds[generation] += time.perf_counter() - self._started


def run_inprocess(
    args: list[str], profile: bool, gc_clock: GcClock | None = None
) -> tuple[PhaseTimer, float, float, pstats.Stats | None]:
    import gc

    import pytest

    if gc_clock is not None:
        gc.callbacks.append(gc_clock)
    timer = PhaseTimer(time.perf_counter())
    devnull = open(os.devnull, "w")
    saved = sys.stdout
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    try:
        sys.stdout = devnull
        if profiler:
            profiler.enable()
        rc = pytest.main(args, plugins=[timer])
        if profiler:
            profiler.disable()
    finally:
        sys.stdout = saved
        devnull.close()
        if gc_clock is not None:
            gc.callbacks.remove(gc_clock)
    end = time.perf_counter()
    if int(rc) not in (0,):
        raise SystemExit(f"pytest exited {rc}")
    return timer, start, end, (pstats.Stats(profiler) if profiler else None)


def importtime(python: str, args: list[str], env: dict[str, str]) -> tuple[dict[str, float], float, int]:
    # -s: without it pytest captures stderr during collection, and with it the importtime lines
    # of every test module and of what they import.
    proc = subprocess.run(
        [python, "-X", "importtime", "-m", "pytest", "-s", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    per_root: dict[str, float] = defaultdict(float)
    total = 0.0
    count = 0
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if not match:
            continue
        self_us = int(match.group(1))
        name = match.group(4)
        per_root[name.split(".")[0]] += self_us / 1e6
        total += self_us / 1e6
        count += 1
    return dict(per_root), total, count


WHAT_IF = """
import time; t0 = time.perf_counter()
import gc, sys, pytest
freeze = sys.argv.pop(1) == "freeze"
class Freeze:
    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session):  # after signoff loaded everything in pytest_configure
        if freeze:
            gc.freeze()
rc = pytest.main(sys.argv[1:], plugins=[Freeze()]); t1 = time.perf_counter()
sys.stderr.write("@@%r %r\\n" % (t0, t1))
"""


def what_if_gc_freeze(pytest_args: list[str], env: dict[str, str], runs: int = 3) -> None:
    """Subprocess wall clock with and without gc.freeze() once signoff has loaded (src unchanged)."""
    print(
        "\nwhat-if (experiment; src unchanged): gc.freeze() once signoff's pytest_configure has loaded the artifacts,"
    )
    print(
        "so the cyclic GC stops re-scanning them (automatic collections, pytest's unconfigure collect, "
        "interpreter exit):"
    )
    for mode in ("as-is", "freeze"):
        best = None
        for _ in range(runs):
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", WHAT_IF, mode, *pytest_args],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            end = time.perf_counter()
            marks = [line for line in proc.stderr.splitlines() if line.startswith("@@")]
            if not marks:
                raise SystemExit(f"what-if run failed:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
            t0, t1 = (float(x) for x in marks[0][2:].split())
            row = (end - start, t1 - t0, end - t1)
            if best is None or row[0] < best[0]:
                best = row
        assert best is not None
        print(
            f"  {mode:<7} total {best[0]:.3f}s = ... pytest.main {best[1]:.3f}s "
            f"+ interpreter exit {best[2]:.3f}s (best of {runs})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=170)
    parser.add_argument("--target", type=Path, help="profile this signoff.toml instead of a generated corpus")
    parser.add_argument("--reports", action="store_true", help="write the evidence (to the working directory)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--no-what-if", action="store_true", help="skip the gc.freeze() experiment")
    args = parser.parse_args()

    work = (args.workdir or Path(tempfile.mkdtemp(prefix="signoff-profile-"))).resolve()
    if os.environ.get("PYTHONPYCACHEPREFIX") != str(work / "pycache") or os.environ.get("PYTHONDONTWRITEBYTECODE"):
        env = dict(os.environ, PYTHONPYCACHEPREFIX=str(work / "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        argv = [sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]]
        if not args.workdir:
            argv += ["--workdir", str(work)]
        try:
            return subprocess.run(argv, env=env, check=False).returncode
        finally:
            if not args.workdir:
                shutil.rmtree(work, ignore_errors=True)

    os.chdir(REPO)
    if args.target:
        target = args.target.resolve()
    else:
        corpus_dir = work / "corpus"
        if not (corpus_dir / "signoff.toml").exists():
            generate(corpus_dir, args.artifacts, args.seed)
        target = corpus_dir / "signoff.toml"
    reports = f"--signoff-reports={work / 'reports'}" if args.reports else "--signoff-reports=none"
    pytest_args = ["-m", "eip170", f"--signoff-target={target}", "-q", "-p", "no:cacheprovider", reports]
    print(f"profiling: pytest {' '.join(pytest_args)}")

    # Warm the bytecode cache in a subprocess, then measure importtime there too.
    env = dict(os.environ)
    subprocess.run([sys.executable, "-m", "pytest", *pytest_args], cwd=REPO, env=env, capture_output=True, check=False)
    roots, total_import, modules = importtime(sys.executable, pytest_args, env)

    clock = GcClock()
    timer, start, end, _ = run_inprocess(pytest_args, profile=False, gc_clock=clock)
    print("\nphases, wall clock, one in-process run (interpreter start and import pytest come before, exit after):")
    for label, seconds in phases(timer, start, end):
        print(f"  {label:<82} {seconds:7.3f}s")
    print(f"  {'total pytest.main':<82} {end - start:7.3f}s")
    loop = timer.marks["runtestloop:end"] - timer.marks["runtestloop:start"]
    if timer.items:
        print(f"  per item in the test loop: {loop / timer.items * 1e3:.3f} ms")
    print(
        f"  cyclic GC inside pytest.main: {sum(clock.count)} collections, {sum(clock.seconds):.3f}s "
        f"(generation 2: {clock.count[2]} collections, {clock.seconds[2]:.3f}s)"
    )

    print(
        f"\nimports (-X importtime -s, subprocess, warm cache): {modules} modules, "
        f"{total_import:.3f}s self time in total; by package:"
    )
    for name, seconds in sorted(roots.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {name:<30} {seconds:.3f}s")

    # cProfile: a second in-process run (modules are imported by now, so this is the steady cost).
    _, pstart, pend, stats = run_inprocess(pytest_args, profile=True)
    assert stats is not None
    print(f"\ncProfile of a second in-process run (imports already done; {pend - pstart:.2f}s under the profiler):")
    for key, title in (("tottime", "own time"), ("cumulative", "cumulative")):
        buffer = io.StringIO()
        stats.stream = buffer
        stats.sort_stats(key).print_stats(args.top)
        print(f"--- top {args.top} by {title} ---")
        lines = buffer.getvalue().splitlines()
        begin = next(i for i, line in enumerate(lines) if line.strip().startswith("ncalls"))
        for line in lines[begin:]:
            if line.strip():
                print(line.replace(str(REPO) + "/", "").replace(sys.prefix, "<venv>"))
    if not args.no_what_if:
        what_if_gc_freeze(pytest_args, env)
    if args.reports:
        written = sorted((work / "reports").glob("*"))
        print("\nevidence written:", ", ".join(f"{p.name} ({p.stat().st_size / 1e6:.1f} MB)" for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
