"""The ``signoff`` console script: set a project up, and run a phase without writing any pytest configuration.

``signoff preflight --network sepolia`` is exactly ``pytest -m preflight --network sepolia`` run
in the current directory (same options, same evidence, same exit codes); ``signoff init`` writes
a commented ``signoff.toml`` from what it finds in the project; ``signoff example DIR`` copies
the bundled reference project out, to try every phase on a system that passes them all.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from signoff.errors import SignoffError

PHASES = ("preflight", "postdeploy", "e2e_pou", "e2e_flows")
USAGE_ERROR = 4


def _fail(message: str) -> int:
    print(f"signoff: {message}", file=sys.stderr)
    return USAGE_ERROR


def _init(args: argparse.Namespace) -> int:
    from signoff.init import write_init

    try:
        result = write_init(Path(args.path))
    except SignoffError as exc:
        return _fail(str(exc))
    for path in result.written:
        print(f"wrote {path}")
    for note in result.notes:
        print(note)
    return 0


def _example(args: argparse.Namespace) -> int:
    from signoff.bundled import bundled

    source = bundled("reference")
    if source is None:
        return _fail("this installation of signoff carries no reference project. Next step: reinstall signoff")
    destination = Path(args.path)
    if destination.exists():
        return _fail(f"{destination} already exists: left unchanged. Next step: name a new folder")
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__", "reports"))
    print(f"copied the reference project to {destination}. Next step: cd {destination} && pytest -m preflight")
    return 0


def phase_arguments(phase: str, extra: Sequence[str]) -> list[str]:
    """``pytest`` arguments for a phase run: ``-m PHASE`` (and-ed with a ``-m`` of the caller's)."""
    rest = list(extra)
    expression = phase
    for index, arg in enumerate(rest):
        if arg == "-m" and index + 1 < len(rest):
            expression = f"{phase} and ({rest[index + 1]})"
            del rest[index : index + 2]
            break
        if arg.startswith("-m") and len(arg) > 2:
            expression = f"{phase} and ({arg[2:].lstrip('=')})"
            del rest[index]
            break
    from signoff.plugin import join_path_options

    return ["-m", expression, *(join_path_options(rest) or rest)]


def _phase(phase: str, extra: Sequence[str]) -> int:
    """Become ``python -m pytest -m PHASE ...``: the same process a pytest command line starts (signoff's
    modules load as pytest plugins there, not before pytest, so pytest can still rewrite their asserts)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *phase_arguments(phase, extra)])  # noqa: S606
    return 0  # not reached


# Commands that own their arguments: name -> (module with main(argv), help).
DELEGATED = {
    "manifest": ("signoff.deploy.manifest", "write the dispatcher plan: signoff manifest write --target signoff.toml"),
    "verify": ("signoff.evidence.integrity", "check an evidence set's digests and signature: signoff verify FILE"),
    "diff": ("signoff.evidence.diff", "what changed between two sign-offs: signoff diff OLD.json NEW.json"),
    "sarif": ("signoff.evidence.sarif", "export an evidence JSON's findings as SARIF: signoff sarif FILE.json"),
}


def _delegate(command: str, extra: Sequence[str]) -> int:
    from importlib import import_module

    module = import_module(DELEGATED[command][0])
    return int(module.main(list(extra)))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signoff",
        description="An acceptance gate for EVM contract systems and their off-chain services, run by pytest.",
        epilog="A phase command takes every pytest option (--network NAME, --target PATH, --signoff-strict, -n 2, "
        "...). Exit codes: 0 signed off, 1 a check failed or could not run, 4 usage error.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    init = commands.add_parser("init", help="write a commented signoff.toml (and pytest.ini if none) for a project")
    init.add_argument("path", nargs="?", default=".", help="the project's root (default: the current directory)")
    example = commands.add_parser("example", help="copy the bundled reference project into a new folder")
    example.add_argument("path", nargs="?", default="signoff-reference", help="where (default: signoff-reference)")
    for phase in PHASES:
        commands.add_parser(phase, help=f"run the {phase} suite here: pytest -m {phase} [options]", add_help=False)
    commands.add_parser(
        "plan",
        help="the change plan that would align the chain with config/*.json, as a Safe batch: pytest -m change_plan",
        add_help=False,
    )
    for name, (_, text) in DELEGATED.items():
        commands.add_parser(name, help=text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in PHASES:  # everything after the phase goes to pytest untouched
        return _phase(args[0], args[1:])
    if args and args[0] == "plan":  # PD-PLAN alone: the change plan, and its Safe batch when not empty
        return _phase("change_plan", args[1:])
    if args and args[0] in DELEGATED:
        return _delegate(args[0], args[1:])
    parsed = _parser().parse_args(args)
    return _init(parsed) if parsed.command == "init" else _example(parsed)


if __name__ == "__main__":
    raise SystemExit(main())
