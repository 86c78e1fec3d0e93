"""The floor of a PF-SIZE run, in one fresh interpreter (see bench/README.md, "The floor").

    python bench/_floor.py EMPTY_DIR ARTIFACTS_DIR TIMINGS_JSON [--run] [--parse-build-info]

1. ``import pytest`` and start pytest on EMPTY_DIR (an empty ``pytest.ini`` and nothing to
   collect) with every installed plugin auto-loaded except signoff itself, as in a real run
   (with ``--run``, EMPTY_DIR is instead a directory of trivial tests that pytest runs: the
   informational "floor + pytest's per-item cost");
2. read the files the artifact loader is obliged to read, each once: every contract artifact
   and every ``.dbg.json`` is read and ``json.loads``-parsed, every ``build-info/*.json`` is
   read (bytes only: the loader does not parse build-info for a size check; with
   ``--parse-build-info`` it is parsed too, as any check that reads ASTs or settings must).

Writes the in-process timings of both steps to TIMINGS_JSON (the interpreter start is what
the wall clock measured outside adds on top).
"""

from __future__ import annotations

import json
import os
import sys
import time

started = time.perf_counter()

import pytest  # noqa: E402 - timed on purpose

imported = time.perf_counter()


def read_corpus(root: str, parse_build_info: bool = False) -> dict[str, int]:
    counts = {"artifacts": 0, "dbg": 0, "build_info": 0, "bytes": 0}
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        in_build_info = os.path.basename(directory) == "build-info"
        for name in sorted(files):
            if not name.endswith(".json"):
                continue
            with open(os.path.join(directory, name), "rb") as handle:
                raw = handle.read()
            counts["bytes"] += len(raw)
            if in_build_info:
                counts["build_info"] += 1
                if parse_build_info:
                    json.loads(raw)
                continue
            json.loads(raw)
            counts["dbg" if name.endswith(".dbg.json") else "artifacts"] += 1
    return counts


def main() -> int:
    empty, artifacts, out = sys.argv[1:4]
    collect_only = [] if "--run" in sys.argv[4:] else ["--co"]
    rc = pytest.main([*collect_only, "-q", "-p", "no:cacheprovider", "-p", "no:signoff", empty])
    collected = time.perf_counter()
    counts = read_corpus(artifacts, "--parse-build-info" in sys.argv[4:])
    done = time.perf_counter()
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "pytest_rc": int(rc),
                "import_pytest_s": imported - started,
                "pytest_startup_s": collected - imported,
                "read_json_s": done - collected,
                "files": counts,
            },
            handle,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
