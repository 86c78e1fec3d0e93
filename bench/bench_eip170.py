"""Wall-clock benchmark of ``pytest -m eip170`` against its floor (see bench/README.md).

    python bench/bench_eip170.py [--artifacts 2000] [--repeat 5] [--budget 60] [--cases ...]

Generates a seeded Hardhat-shaped corpus (bench/corpus.py) in a temporary directory, then
times, each as a fresh subprocess from the repository root:

  floor        fresh interpreter + import pytest + pytest start-up on an empty dir + reading
               the corpus JSON (bench/_floor.py)
  b            python -m pytest -m eip170 --signoff-target=<corpus> --signoff-reports=none
  c            the same with reports on (HTML + JUnit + JSON evidence)
  ref-floor    the floor for the reference target's artifacts
  ref          (b) on fixtures/reference/signoff.toml; ref-reports: (c) on the reference
  d            (b) with -n 2 (pytest-xdist), for information
  nodbg        (b) on the same corpus without .dbg.json files: the loader then never opens
               build-info, which isolates the cost of build-info handling (information)
  items-floor  the floor, but pytest runs as many trivial parametrised tests as (b) has items:
               pytest's own per-item cost, which no one-test-per-contract design avoids (information)

Speed is measured here, never asserted in tests. Nothing outside the temporary directory is
written: pytest's cache provider is off, reports go to the temporary directory and bytecode
caches (pyc and pytest's rewritten test modules) go to PYTHONPYCACHEPREFIX inside it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import generate  # noqa: E402

REFERENCE = REPO / "fixtures" / "reference" / "signoff.toml"
TARGET_RATIO = 2.0
ALL_CASES = ("floor", "b", "c", "ref-floor", "ref", "ref-reports", "d", "nodbg", "items-floor")
HEAVY_ROOTS = (
    "web3",
    "eth_tester",
    "eth_abi",
    "eth_utils",
    "eth_account",
    "eth_keys",
    "Crypto",
    "eth",
    "hypothesis",
    "pytest_html",
    "xdist",
)

PROBE = f"""\
import json, sys, pytest
rc = pytest.main(sys.argv[1:])
roots = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY_ROOTS!r}))
facts = {{'rc': int(rc), 'web3': 'web3' in sys.modules, 'modules': len(sys.modules), 'heavy': roots}}
print('@@PROBE@@' + json.dumps(facts))
"""


@dataclass
class Case:
    name: str
    label: str
    command: list[str]
    cwd: Path
    ok_codes: tuple[int, ...] = (0,)
    floor: str | None = None  # the case it is compared with
    timings: Path | None = None  # the floor script's own timings file
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + sys of the process tree (contention-robust)
    extra: dict = field(default_factory=dict)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=int, default=2000, help="contract artifacts in the corpus (default 2000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (default 5)")
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="stop repeating a case once its timed runs add up to this many seconds (default 60; at least one run)",
    )
    parser.add_argument("--seed", type=int, default=170)
    parser.add_argument("--cases", default=",".join(ALL_CASES), help=f"comma-separated subset of {','.join(ALL_CASES)}")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="run with PYTHONDONTWRITEBYTECODE=1: no pyc and no cached assertion rewriting (cold imports every run)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where to build the corpus (default: a new temporary directory, removed afterwards)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    wanted = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(wanted) - set(ALL_CASES))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(ALL_CASES)}")

    work = args.workdir or Path(tempfile.mkdtemp(prefix="signoff-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return run(args, wanted, work.resolve())
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, wanted: list[str], work: Path) -> int:
    python = sys.executable
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_PLUGINS", None)
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    if args.no_bytecode_cache:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")

    started = time.perf_counter()
    corpus = generate(work / "corpus", args.artifacts, args.seed)
    twin = _twin_without_dbg(corpus.root, work / "corpus-nodbg")
    print(
        f"corpus: {corpus.artifact_files} artifacts + {corpus.dbg_files} .dbg.json + "
        f"{corpus.build_info_files} build-info "
        f"({corpus.total_bytes / 1e6:.1f} MB, build-info {corpus.build_info_bytes / 1e6:.1f} MB); "
        f"{corpus.deployable} size-checked; generated in {time.perf_counter() - started:.1f}s in {corpus.root}"
    )
    empty = work / "empty"
    empty.mkdir(exist_ok=True)
    (empty / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    reports = work / "reports"
    items = work / "items"
    items.mkdir(exist_ok=True)
    (items / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (items / "test_items.py").write_text(
        "import pytest\n\n\n"
        f"@pytest.mark.parametrize('case', range({corpus.deployable + 1}))\n"
        "def test_item(case):\n    assert case >= 0\n",
        encoding="utf-8",
    )

    def pytest_cmd(target: Path, *more: str) -> list[str]:
        return [
            python,
            "-m",
            "pytest",
            "-m",
            "eip170",
            f"--signoff-target={target}",
            "-q",
            "-p",
            "no:cacheprovider",
            *more,
        ]

    def floor_cmd(artifacts: Path, out: Path, tests: Path = empty) -> list[str]:
        return [python, str(HERE / "_floor.py"), str(tests), str(artifacts), str(out)]

    none, on = "--signoff-reports=none", f"--signoff-reports={reports}"
    cases = {
        "floor": Case(
            "floor",
            "floor (corpus)",
            floor_cmd(corpus.artifacts_dir, work / "floor.json"),
            empty,
            timings=work / "floor.json",
        ),
        "b": Case("b", "(b) corpus, reports none", pytest_cmd(corpus.toml, none), REPO, floor="floor"),
        "c": Case("c", "(c) corpus, reports on", pytest_cmd(corpus.toml, on), REPO, floor="floor"),
        "ref-floor": Case(
            "ref-floor",
            "floor (reference)",
            floor_cmd(REFERENCE.parent / "artifacts", work / "ref-floor.json"),
            empty,
            timings=work / "ref-floor.json",
        ),
        "ref": Case("ref", "(b) reference, reports none", pytest_cmd(REFERENCE, none), REPO, floor="ref-floor"),
        "ref-reports": Case(
            "ref-reports", "(c) reference, reports on", pytest_cmd(REFERENCE, on), REPO, floor="ref-floor"
        ),
        "d": Case("d", "(d) corpus, -n 2", pytest_cmd(corpus.toml, none, "-n", "2"), REPO, floor="floor"),
        "nodbg": Case("nodbg", "corpus w/o .dbg.json (info)", pytest_cmd(twin, none), REPO, floor="floor"),
        "items-floor": Case(
            "items-floor",
            f"floor + {corpus.deployable + 1} trivial items (info)",
            [*floor_cmd(corpus.artifacts_dir, work / "items-floor.json", items), "--run"],
            items,
            floor="floor",
        ),
    }
    selected = [cases[name] for name in ALL_CASES if name in wanted]

    # Warm-up (untimed): fill the bytecode cache for every module each kind of run imports.
    print("warming up (untimed): floor, reference runs ...", flush=True)
    _once(cases["ref-floor"], env)
    _once(cases["items-floor"], env)
    for name in ("ref", "ref-reports", "d"):
        warm = cases[name]
        if name == "d":
            warm = Case("d-warm", "", pytest_cmd(REFERENCE, none, "-n", "2"), REPO)
        _once(warm, env)

    # Which heavy modules does the size check import? In-process pytest.main, same arguments.
    probes = {}
    for name, target in (("b", corpus.toml), ("ref", REFERENCE)):
        if name in wanted:
            print(f"import probe (untimed) for {name} ...", flush=True)
            probes[name] = _probe(python, pytest_cmd(target, none)[3:], env)

    load_before = os.getloadavg()[0]
    for case in selected:
        print(f"timing {case.label} ...", end="", flush=True)
        for _ in range(args.repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            elapsed, _ = _once(case, env)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            case.times.append(elapsed)
            case.cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
            print(f" {elapsed:.2f}s", end="", flush=True)
            if sum(case.times) >= args.budget:
                break
        print(flush=True)
        if case.timings is not None:
            case.extra = json.loads(case.timings.read_text(encoding="utf-8"))

    load_after = os.getloadavg()[0]
    components = _components(python, empty, env, args.repeat)
    _print_results(selected, cases, probes, components, args)
    print(
        f"1-minute load average before/after timing: {load_before:.2f}/{load_after:.2f}"
        + (
            "  (other work was running: wall-clock numbers are inflated; compare the cpu columns)"
            if max(load_before, load_after) > 0.5
            else ""
        )
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "python": sys.version.split()[0],
                    "revision": _revision(),
                    "cpus": os.cpu_count(),
                    "artifacts": args.artifacts,
                    "seed": args.seed,
                    "bytecode_cache": not args.no_bytecode_cache,
                    "corpus": {k: (str(v) if isinstance(v, Path) else v) for k, v in corpus.__dict__.items()},
                    "cases": {
                        c.name: {
                            "label": c.label,
                            "times": c.times,
                            "cpu": c.cpu,
                            "best": c.best,
                            "median": c.median,
                            "extra": c.extra,
                        }
                        for c in selected
                    },
                    "load_average": [load_before, load_after],
                    "components": components,
                    "probes": probes,
                },
                indent=2,
            ),
            encoding="utf-8",
        )
    print(f"total bench time {time.perf_counter() - started:.0f}s")
    return 0


def _once(case: Case, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        case.command, cwd=case.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in case.ok_codes:
        tail = "\n".join(proc.stdout.splitlines()[-15:])
        raise SystemExit(f"\n{case.label}: exit code {proc.returncode}\n$ {' '.join(case.command)}\n{tail}")
    return elapsed, proc.stdout


def _probe(python: str, pytest_args: list[str], env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [python, "-c", PROBE, *pytest_args], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    for line in proc.stdout.splitlines():
        if line.startswith("@@PROBE@@"):
            return json.loads(line[len("@@PROBE@@") :])
    raise SystemExit(f"import probe failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


def _components(python: str, empty: Path, env: dict[str, str], repeat: int) -> dict[str, float]:
    """Best-of wall clock of the floor's pieces, for the README's breakdown."""
    bare = dict(env, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    pieces = {
        "python -c pass": ([python, "-c", "pass"], env),
        "python -c 'import pytest'": ([python, "-c", "import pytest"], env),
        "pytest on empty dir, plugins auto-loaded (-p no:signoff)": (
            [python, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", "-p", "no:signoff", str(empty)],
            env,
        ),
        "pytest on empty dir, no plugin auto-load": (
            [python, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", str(empty)],
            bare,
        ),
    }
    out = {}
    for label, (command, environment) in pieces.items():
        subprocess.run(command, cwd=empty, env=environment, capture_output=True, check=False)  # warm
        times = []
        for _ in range(max(3, repeat)):
            start = time.perf_counter()
            subprocess.run(command, cwd=empty, env=environment, capture_output=True, check=False)
            times.append(time.perf_counter() - start)
        out[label] = min(times)
    return out


def _revision() -> str:
    """The repository commit, marked when src/ or suites/ differ from it."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "src", "suites", "conftest.py", "pytest.ini"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + (" (src modified)" if dirty else "")


def _twin_without_dbg(source: Path, dest: Path) -> Path:
    """The same corpus without .dbg.json and build-info: the loader never opens build-info."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(
        source, dest, ignore=lambda _d, names: [n for n in names if n.endswith(".dbg.json") or n == "build-info"]
    )
    return dest / "signoff.toml"


def _print_results(
    selected: list[Case], cases: dict[str, Case], probes: dict, components: dict[str, float], args: argparse.Namespace
) -> None:
    print()
    print(
        f"signoff PF-SIZE benchmark: {args.artifacts} artifacts, seed {args.seed}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, bytecode cache {'off' if args.no_bytecode_cache else 'on'}, signoff at {_revision()}"
    )
    header = (
        f"{'case':<34} {'runs':>4} {'best s':>7} {'median s':>8} "
        f"{'x floor':>8} {'x floor':>8} {'cpu s':>7} {'x floor':>8}\n"
        f"{'':<34} {'':>4} {'wall':>7} {'wall':>8} {'(best)':>8} {'(median)':>8} {'(best)':>7} {'(cpu)':>8}"
    )
    print(header)
    print("-" * len(header.splitlines()[0]))
    for case in selected:
        floor = cases.get(case.floor) if case.floor else None
        if floor is not None and floor.times:
            ratio_best = f"{case.best / floor.best:.2f}"
            ratio_median = f"{case.median / floor.median:.2f}"
            ratio_cpu = f"{min(case.cpu) / min(floor.cpu):.2f}"
        else:
            ratio_best = ratio_median = ratio_cpu = "-"
        print(
            f"{case.label:<34} {len(case.times):>4} {case.best:>7.3f} {case.median:>8.3f} "
            f"{ratio_best:>8} {ratio_median:>8} "
            f"{min(case.cpu):>7.3f} {ratio_cpu:>8}"
        )
    for name in ("floor", "ref-floor"):
        case = cases[name]
        if case.times and case.extra:
            e = case.extra
            print(
                f"  {case.label}: import pytest {e['import_pytest_s']:.3f}s + "
                f"pytest start-up {e['pytest_startup_s']:.3f}s + reading JSON {e['read_json_s']:.3f}s "
                f"({e['files']['artifacts']} artifacts, {e['files']['dbg']} dbg parsed, "
                f"{e['files']['build_info']} build-info read; {e['files']['bytes'] / 1e6:.1f} MB) in-process, last run"
            )
    print()
    print("floor components (best of separate fresh processes):")
    for label, seconds in components.items():
        print(f"  {label:<60} {seconds:.3f}s")
    if "b" in probes:
        p = probes["b"]
        print()
        print(
            f"web3 imported during (b): {'YES' if p['web3'] else 'no'} "
            f"(in-process pytest.main, exit code {p['rc']}, {p['modules']} modules; "
            f"heavy packages loaded: {', '.join(p['heavy']) or 'none'})"
        )
    if "ref" in probes:
        p = probes["ref"]
        print(
            f"web3 imported during (b) on the reference: {'YES' if p['web3'] else 'no'} "
            f"(heavy packages loaded: {', '.join(p['heavy']) or 'none'})"
        )
    b, floor = cases["b"], cases["floor"]
    if b.times and floor.times:
        ratio = b.best / floor.best
        verdict = "within" if ratio <= TARGET_RATIO else "NOT within"
        print(f"(b) is {ratio:.2f}x the floor (best of runs): {verdict} the {TARGET_RATIO:g}x target")
        items_floor = cases["items-floor"]
        if items_floor.times:
            print(
                f"(b) is {b.best / items_floor.best:.2f}x the floor + pytest's per-item cost "
                f"({items_floor.best - floor.best:+.3f}s for {items_floor.label.split()[2]} trivial items)"
            )


if __name__ == "__main__":
    sys.exit(main())
