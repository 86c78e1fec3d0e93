"""The whole gate, serial beside `-n 2`: when does pytest-xdist pay?

    python bench/bench_gate.py [--repeat 5] [--checkout DIR] [--target fixtures/reference/signoff.toml]

Runs `pytest -m "preflight or postdeploy or e2e_pou"` on the bundled reference, serial and with `-n 2`,
alternating, each as a fresh subprocess with reports off and the bytecode cache on (one untimed round
first fills it), and prints best and median wall seconds and the speed-up. `--checkout DIR` runs the
same commands in another checkout (its own `.venv`), so two commits are measured side by side in one
run. Each `-n 2` run also records when every worker starts and ends each suite module (a small plugin
passed with `-p`), and the last run's timeline is printed: it shows which worker is the critical path.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import cached_env

REPO = Path(__file__).resolve().parents[1]
GATE = "preflight or postdeploy or e2e_pou"

TIMELINE_PLUGIN = """
import json, os, time
START = float(os.environ["BENCH_GATE_T0"])
_events = []
def pytest_runtest_setup(item):
    _events.append((item.nodeid.split("::")[0], time.time() - START))
def pytest_runtest_logfinish(nodeid, location):
    _events.append((nodeid.split("::")[0], time.time() - START))
def pytest_unconfigure(config):
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker:
        with open(os.path.join(os.environ["BENCH_GATE_OUT"], worker + ".json"), "w") as out:
            json.dump(_events, out)
"""


def run(checkout: Path, target: Path, parallel: bool, timeline: Path, base_env: dict[str, str]) -> float:
    python = checkout / ".venv" / "bin" / "python"
    command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", GATE, "--signoff-reports=none"]
    command += [f"--signoff-target={target}"]
    if parallel:
        command += ["-n", "2", "-p", "bench_gate_timeline"]
    env = dict(base_env, PYTHONPATH=str(timeline), BENCH_GATE_OUT=str(timeline))
    started = time.time()
    env["BENCH_GATE_T0"] = repr(started)
    done = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, check=False)
    wall = time.time() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed in {checkout} (exit {done.returncode}):\n{done.stdout[-3000:]}")
    return wall


def spans(timeline: Path) -> list[str]:
    """Per worker: each suite module's first start and last end, in seconds from the command's start."""
    lines = []
    for path in sorted(timeline.glob("gw*.json")):
        modules: dict[str, list[float]] = {}
        for module, at in json.loads(path.read_text()):
            seen = modules.setdefault(module, [at, at])
            seen[0], seen[1] = min(seen[0], at), max(seen[1], at)
        folders: dict[str, list[float]] = {}
        for module, (first, last) in modules.items():
            folder = module.split("/")[1] if module.count("/") >= 2 else module
            seen = folders.setdefault(folder, [first, last])
            seen[0], seen[1] = min(seen[0], first), max(seen[1], last)
        parts = ", ".join(
            f"{folder} {a:.1f}-{b:.1f} s" for folder, (a, b) in sorted(folders.items(), key=lambda i: i[1])
        )
        lines.append(f"  {path.stem}: {parts}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--checkout", type=Path, action="append", default=[])
    parser.add_argument("--target", type=Path, default=Path("fixtures/reference/signoff.toml"))
    options = parser.parse_args()
    checkouts = [REPO, *options.checkout]
    results: dict[tuple[Path, bool], list[float]] = {(c, p): [] for c in checkouts for p in (False, True)}
    with tempfile.TemporaryDirectory() as scratch:
        timeline = Path(scratch)
        (timeline / "bench_gate_timeline.py").write_text(TIMELINE_PLUGIN)
        env = cached_env(timeline)
        for round_ in range(options.repeat + 1):  # the first round, untimed, fills the bytecode cache
            for checkout in checkouts:
                for parallel in (False, True):
                    wall = run(checkout, checkout / options.target, parallel, timeline, env)
                    if round_:
                        results[(checkout, parallel)].append(wall)
        last_timeline = spans(timeline)
    print("| checkout | serial best / median s | `-n 2` best / median s | speed-up (best) |\n|---|---|---|---|")
    for checkout in checkouts:
        serial, parallel = results[(checkout, False)], results[(checkout, True)]
        print(
            f"| {checkout} | {min(serial):.2f} / {statistics.median(serial):.2f} | "
            f"{min(parallel):.2f} / {statistics.median(parallel):.2f} | {min(serial) / min(parallel):.2f}x |"
        )
    print(f"\nlast `-n 2` run ({checkouts[-1]}), per worker:")
    print("\n".join(last_timeline))


if __name__ == "__main__":
    main()
