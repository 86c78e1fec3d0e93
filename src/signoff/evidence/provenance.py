"""Who ran a sign-off, where, with what: the provenance rows of every report.

An auditor must be able to tell the operator, the host, the exact command line, the time (UTC),
the signoff code that judged (its version, a digest of its own files, and its git commit with
the dirty state when it runs from a checkout) and the version of every engine involved. Nothing
here may carry a secret: the command line is redacted like everything else.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import platform
import shlex
import socket
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from signoff.bundled import bundled
from signoff.redaction import redact

_PACKAGE = Path(__file__).resolve().parents[1]
ENGINES = (
    "pytest",
    "pytest-html",
    "pytest-xdist",
    "hypothesis",
    "web3",
    "eth-tester",
    "py-evm",
    "eth-abi",
    "safe-eth-py",
    "psycopg",
    "pgserver",
    "testcontainers",
)


def operator() -> str:
    """``$SIGNOFF_OPERATOR`` (who signs), else the login name of the account that ran it."""
    named = os.environ.get("SIGNOFF_OPERATOR", "").strip()
    if named:
        return named
    try:
        return f"{getpass.getuser()} (login; set SIGNOFF_OPERATOR to name the person)"
    except (KeyError, OSError):
        return "unknown (set SIGNOFF_OPERATOR)"


def host() -> str:
    return socket.gethostname() or "unknown"


def command_line(args: Sequence[str], program: str = "pytest") -> str:
    return redact(shlex.join([program, *args]))


def git_commit(directory: Path) -> str:
    """The commit of the repository holding ``directory``, marked when the tree is dirty."""
    try:
        head = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
        if head.returncode != 0:
            return "not a git repository"
        dirty = subprocess.run(
            ["git", "-C", str(directory), "status", "--porcelain", "--untracked-files=no", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown (git not available)"
    suffix = " (with uncommitted changes)" if dirty.stdout.strip() else ""
    return head.stdout.strip() + suffix


def code_digest() -> str:
    """sha256 over signoff's own Python files and suites, as loaded: an edited check changes it."""
    digest = hashlib.sha256()
    roots = [_PACKAGE, *(folder for folder in (bundled("suites"),) if folder is not None)]
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" in path.parts or (root == _PACKAGE and "suites" in path.relative_to(root).parts[:1]):
                continue
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def signoff_source() -> str:
    """Where signoff's code comes from: a checkout's commit (and dirty state), or an installed package."""
    checkout = _PACKAGE.parents[1]
    if (checkout / ".git").exists() and (checkout / "pyproject.toml").is_file():
        return f"checkout {checkout}, commit {git_commit(checkout)}"
    return f"installed package {_PACKAGE}"


def engine_versions(names: Sequence[str] = ENGINES) -> str:
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def rows(args: Sequence[str], started_at: str) -> dict[str, str]:
    """The provenance rows of the environment table."""
    return {
        "Platform": platform.platform(),
        "Operator": operator(),
        "Host": host(),
        "Command line": command_line(args),
        "Started (UTC)": started_at,
        "signoff code": f"sha256 {code_digest()}; {signoff_source()}",
        "Engines": engine_versions(),
    }
