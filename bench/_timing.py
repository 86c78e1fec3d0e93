"""Fresh-subprocess timing shared by the benchmarks (run as scripts: bench/ is on sys.path)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def cached_env(work: Path) -> dict[str, str]:
    """The environment with the bytecode cache on, kept under ``work`` (this sandbox exports
    PYTHONDONTWRITEBYTECODE=1, which would make every run recompile and re-rewrite signoff)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def timed(command: list[str], cwd: Path, env: dict[str, str], repeat: int) -> list[float]:
    """Wall seconds of ``repeat`` runs of ``command``, after one untimed warm-up that fills the cache."""
    subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return times
