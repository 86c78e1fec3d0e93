"""Benchmark of the postdeploy suite on the reference: wall time of the whole suite (rehearsal
and every PD-* check) on eth-tester and on anvil, and the rehearsal alone.

    python bench/bench_postdeploy.py [--runs 3] [--target fixtures/reference/signoff.toml]
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


def run_once(target: Path, markexpr: str, network: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as reports:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-m", markexpr, "-q", "-p", "no:cacheprovider",
             f"--signoff-target={target}", f"--signoff-reports={reports}", f"--signoff-network={network}"],
            cwd=REPO, capture_output=True, text=True, check=False,
        )  # fmt: skip
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"{markexpr} on {network} failed (exit {done.returncode}):\n{done.stdout[-3000:]}")
        evidence = json.loads(next(Path(reports).glob("*.json")).read_text())
    durations = [float(c.get("duration_s", 0.0)) for c in evidence["checks"]]
    return {"wall_seconds": wall, "tests": float(len(durations)), "test_seconds": sum(durations)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--target", type=Path, default=REPO / "fixtures" / "reference" / "signoff.toml")
    args = parser.parse_args()
    for markexpr, network in (("rehearsal", "eth-tester"), ("postdeploy", "eth-tester"), ("postdeploy", "anvil")):
        results = [run_once(args.target.resolve(), markexpr, network) for _ in range(args.runs)]
        for key in results[0]:
            values = [r[key] for r in results]
            print(
                f"{markexpr:10s} {network:10s} {key:13s} median {statistics.median(values):8.2f}"
                f"   min {min(values):8.2f}   max {max(values):8.2f}"
            )


if __name__ == "__main__":
    main()
