"""Benchmark of the e2e_pou suite on the reference broker: wall time of the whole suite
(database, broker, every PU-* check) and examples per second of the PU-QRM state machine.

    python bench/bench_e2e_pou.py [--runs 3] [--target fixtures/reference/signoff.toml] [-- extra pytest args]
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

REPO = Path(__file__).resolve().parents[1]


def run_once(target: Path, extra: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as reports:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-m", "e2e_pou", "-q", "-p", "no:cacheprovider",
             f"--signoff-target={target}", f"--signoff-reports={reports}", *extra],
            cwd=REPO, capture_output=True, text=True, check=False,
        )  # fmt: skip
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"e2e_pou failed (exit {done.returncode}):\n{done.stdout[-3000:]}")
        evidence = json.loads(next(Path(reports).glob("*.json")).read_text())
    stateful = next(c for c in evidence["checks"] if c["nodeid"].endswith("test_pu_qrm_stateful"))
    data = stateful["data"]
    return {
        "suite_seconds": wall,
        "tests": float(evidence["summary"]["total"]),
        "stateful_seconds": float(data["seconds"]),
        "stateful_examples": float(data["examples_run"]),
        "stateful_steps": float(data["steps_run"]),
        "examples_per_second": float(data["examples_per_second"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--target", type=Path, default=REPO / "fixtures" / "reference" / "signoff.toml")
    parser.add_argument("extra", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args()
    results = [run_once(args.target.resolve(), args.extra) for _ in range(args.runs)]
    for key in results[0]:
        values = [r[key] for r in results]
        print(f"{key:22s} median {statistics.median(values):9.2f}   min {min(values):9.2f}   max {max(values):9.2f}")


if __name__ == "__main__":
    main()
