"""Preflight on a real-sized project: OpenZeppelin Contracts compiled with viaIR, ASTs included.

    python bench/bench_realproject.py [--repeat 5] [--workdir DIR] [--json FILE]

The project is real third-party code, not generated: every ``.sol`` of the installed
``@openzeppelin/contracts`` (248 sources, 257 contracts, 81 with code) compiled by solc-js through
``fixtures/tools/compile.cjs`` with viaIR, the optimizer and Hardhat's output selection, so its
one build-info holds every source and every AST (about 23 MB). ``signoff init`` writes its
signoff.toml as for any Hardhat project, and the ABI snapshots are recorded once, as a team would.

Each case runs as a fresh subprocess from the project's root, exactly as a user types it, with
the bytecode cache on (``PYTHONPYCACHEPREFIX`` in the work directory; this sandbox exports
``PYTHONDONTWRITEBYTECODE=1``), one untimed warm-up first. The floor is ``bench/_floor.py`` with
``--parse-build-info``: interpreter, pytest start-up with every installed plugin but signoff, and
``json.loads`` of every artifact, ``.dbg.json`` and the build-info, which the preflight checks that
read settings and ASTs must do. The table shows best and median wall clock and x floor.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import cached_env, timed

REPO = Path(__file__).resolve().parents[1]
OZ = REPO / "node_modules" / "@openzeppelin" / "contracts"
HARDHAT_CONFIG = (
    'module.exports = { solidity: { version: "0.8.30", settings: '
    '{ viaIR: true, optimizer: { enabled: true, runs: 200 }, evmVersion: "prague" } } };\n'
)
CASES = ("eip170", "selectors", "abi", "compiler", "addresses", "manifest", "preflight")


def build(work: Path) -> Path:
    """The project at ``work/project`` (kept between runs with --workdir): sources, artifacts, signoff.toml."""
    project = work / "project"
    if (project / "signoff.toml").is_file():
        return project
    shutil.rmtree(project, ignore_errors=True)
    (project / "contracts").mkdir(parents=True)
    shutil.copytree(OZ, project / "contracts" / "oz", ignore=shutil.ignore_patterns("*.json", "*.md"))
    (project / "hardhat.config.js").write_text(HARDHAT_CONFIG)
    started = time.perf_counter()
    subprocess.run(
        ["node", str(REPO / "fixtures" / "tools" / "compile.cjs"), str(project), "--formats", "hardhat"],
        check=True,
        capture_output=True,
    )
    print(f"compiled {project} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    signoff = str(Path(sys.executable).parent / "signoff")
    subprocess.run([signoff, "init"], cwd=project, check=True, capture_output=True)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "abi", "--signoff-update-snapshots", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        check=False,  # the first run has no snapshots to compare: it only writes them
    )
    return project


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", type=Path, help="keep the project here (default: a temporary directory)")
    parser.add_argument("--json", type=Path, help="write the raw timings here")
    args = parser.parse_args()
    if not OZ.is_dir():
        print(f"no {OZ}: run `npm ci` first", file=sys.stderr)
        return 2
    temporary = None if args.workdir else tempfile.TemporaryDirectory(prefix="signoff-bench-real-")
    work = args.workdir or Path(temporary.name)  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    try:
        project = build(work)
        env = cached_env(work)
        empty = work / "empty"
        empty.mkdir(exist_ok=True)
        (empty / "pytest.ini").write_text("[pytest]\n")
        artifacts = project / "artifacts"
        build_info = sum(p.stat().st_size for p in (artifacts / "build-info").glob("*.json"))
        floor_cmd = [
            sys.executable,
            str(REPO / "bench" / "_floor.py"),
            str(empty),
            str(artifacts),
            str(work / "floor.json"),
            "--parse-build-info",
        ]
        results: dict[str, list[float]] = {"floor": timed(floor_cmd, project, env, args.repeat)}
        for case in CASES:
            command = [sys.executable, "-m", "pytest", "-m", case, "-q", "-p", "no:cacheprovider"]
            results[case] = timed([*command, "--signoff-reports=none"], project, env, args.repeat)
        results["preflight, reports on"] = timed(
            [
                sys.executable,
                "-m",
                "pytest",
                "-m",
                "preflight",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--signoff-reports={work / 'reports'}",
            ],
            project,
            env,
            args.repeat,
        )
        load = os.getloadavg()[0]
        floor = min(results["floor"])
        print(
            f"\nOpenZeppelin Contracts, viaIR, one build-info of {build_info / 1e6:.1f} MB with ASTs; "
            f"{args.repeat} runs per case; load average {load:.2f}\n"
        )
        print("| case | best s | median s | x floor (best) |")
        print("|---|---|---|---|")
        for case, times in results.items():
            shown = (
                "floor (start-up + json.loads of every artifact and the build-info)"
                if case == "floor"
                else (f"`pytest -m {case}`" + ("" if "reports on" in case else ", reports none"))
            )
            if case == "preflight, reports on":
                shown = "`pytest -m preflight`, reports on (HTML, JUnit, JSON)"
            ratio = "-" if case == "floor" else f"{min(times) / floor:.2f}"
            print(f"| {shown} | {min(times):.3f} | {statistics.median(times):.3f} | {ratio} |")
        if shutil.which("slither-check-upgradeability") is None:
            print("\nslither-check-upgradeability is not installed here: the side-by-side case is skipped")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        if temporary is not None:
            temporary.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
