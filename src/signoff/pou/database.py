"""A throwaway PostgreSQL for one session, and one database in it per xdist worker.

testcontainers first, where a Docker engine answers (no engine fails in about 0.2 s with
``docker.errors.DockerException``, a cheap signal); else the embedded PostgreSQL 16 of the
``pgserver`` wheel in a short directory (unix-socket paths are limited to ~100 characters) of
:func:`servers_folder`: RAM where the machine has room there. Workers of one xdist run share
the server and get a database each. Every database gets its own role with a random password,
registered as a secret at once, so no URL this module hands out can leak into a report.

An embedded server outlives a hard-killed run (PostgreSQL daemonises). So each
``signoff-pg-*`` directory holds the server's data in ``data/`` and one owner file per
process using it (pid and start time); every start first stops the servers, and removes the
directories, of which no owner is alive.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from signoff.errors import SignoffError
from signoff.processes import alive, owner
from signoff.redaction import display_url, redact, register_secret
from signoff.whole_files import write_whole

DIRECTORY_PREFIX = "signoff-pg-"
OWNER_PREFIX = "owner-"
# A stopped, never-used cluster made by pgserver's own initdb, kept beside the servers' directories: a new
# server's data directory starts as a copy of it (0.05-0.8 s, above) instead of a new initdb (about 1 s). One per
# PostgreSQL installation (a virtual environment's pgserver); a "<template>.source" file beside it names
# the installation's binaries, so the template of one that is gone (a deleted clone or venv) is removed.
TEMPLATE_PREFIX = "signoff-pgtemplate-"
SOURCE_SUFFIX = ".source"
# A directory younger than this without an owner file may be one being created right now.
_GRACE_SECONDS = 60.0
# Where the embedded servers and their template live. A throwaway cluster needs no disk: copying the
# 38 MB template (994 files) onto this machine's ext4 takes 0.17-0.77 s, onto tmpfs 0.05-0.08 s, and the
# server's own writes (databases, migrations, WAL) go to RAM too: `pytest -m e2e_pou` 10.5 s -> 9.2 s
# (bench/README.md).
# A container's /dev/shm is often 64 MB, too small for a cluster and its WAL: then the temporary directory.
SERVERS_FOLDER_ENV = "SIGNOFF_PG_DIR"
RAM_FOLDER = Path("/dev/shm")  # noqa: S108 (as the temporary directory: mkdtemp, owner files, a sweep lock)
RAM_ROOM_BYTES = 1 << 30


def servers_folder(environ: Mapping[str, str] = os.environ, ram: Path = RAM_FOLDER, room: int = RAM_ROOM_BYTES) -> Path:
    """``$SIGNOFF_PG_DIR`` when set; else ``ram`` when it is a writable folder with ``room`` bytes free;
    else the temporary directory."""
    chosen = environ.get(SERVERS_FOLDER_ENV, "").strip()
    if chosen:
        return Path(chosen)
    return ram if _room_in(ram) >= room else Path(tempfile.gettempdir())


def _room_in(folder: Path) -> int:
    """The bytes this process may still write in ``folder`` (0: not a writable folder, or no statvfs)."""
    try:
        if not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
            return 0
        stats = os.statvfs(folder)
    except (OSError, AttributeError):  # AttributeError: Windows has no statvfs
        return 0
    return stats.f_bavail * stats.f_frsize


class DatabaseError(SignoffError):
    """No database could be provisioned or reached."""


@dataclass
class Server:
    """A running PostgreSQL server and the superuser URL to administer it."""

    kind: str  # "testcontainers" or "pgserver"
    admin_url: str
    host_part: str  # how a URL reaches the server: "@host:port" or "@/?host=<socket dir>" pieces
    socket_dir: str | None
    _stop: Callable[[], None] = field(repr=False)
    watchdog_pid: int | None = None  # the process that stops this server if its run is killed

    def stop(self) -> None:
        self._stop()

    def url(self, user: str, password: str, database: str) -> str:
        credentials = f"{quote(user)}:{quote(password)}"
        if self.socket_dir is not None:
            return f"postgresql://{credentials}@/{database}?host={self.socket_dir}"
        return f"postgresql://{credentials}@{self.host_part}/{database}"


def start_server(shared_key: str | None = None) -> Server:
    """Start (or join, for an xdist run sharing ``shared_key``) a throwaway server."""
    problems: list[str] = []
    try:
        return _testcontainers()
    except Exception as exc:
        problems.append(f"testcontainers: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    try:
        return _pgserver(shared_key)
    except Exception as exc:
        problems.append(f"pgserver: {type(exc).__name__}: {exc}")
    raise DatabaseError(
        redact(
            "no throwaway PostgreSQL could be started ("
            + "; ".join(problems)
            + "). Next step: start Docker, or `pip install pgserver`, or point [pou] database_url at a database"
        )
    )


DOCKER_SOCKET = Path("/var/run/docker.sock")  # where docker's client looks when DOCKER_HOST is unset


def docker_absent(environ: Mapping[str, str], socket: Path = DOCKER_SOCKET) -> str | None:
    """Why no Docker engine can answer, known without importing docker's client (about 0.2 s of imports
    and a connection attempt in every run that needs a database); None when one may answer."""
    if environ.get("DOCKER_HOST") or sys.platform == "win32":
        return None
    if socket.exists():
        return None
    return f"no Docker engine: DOCKER_HOST is unset and {socket} does not exist"


class NoDockerEngine(Exception):
    """No Docker engine can answer (:func:`docker_absent`)."""


def _testcontainers() -> Server:
    absent = docker_absent(os.environ)
    if absent is not None:
        raise NoDockerEngine(absent)
    import docker

    docker.from_env().ping()  # DockerException in ~0.2 s when no engine answers
    from testcontainers.postgres import PostgresContainer

    password = secrets.token_urlsafe(24)
    register_secret(password)
    container = PostgresContainer("postgres:16-alpine", password=password, driver=None)
    container.start()
    host, port = container.get_container_host_ip(), container.get_exposed_port(5432)
    admin = f"postgresql://{container.username}:{quote(password)}@{host}:{port}/{container.dbname}"
    register_secret(admin)
    return Server("testcontainers", admin, f"{host}:{port}", None, container.stop)


def _pgserver(shared_key: str | None) -> Server:
    with warnings.catch_warnings():  # platformdirs: XDG_RUNTIME_DIR unset (harmless; /tmp is used)
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server

    base = servers_folder()
    if not base.is_dir():
        raise DatabaseError(
            f"{SERVERS_FOLDER_ENV}={base} is not a folder. Next step: create it, or unset {SERVERS_FOLDER_ENV} "
            "(RAM, else the temporary directory, is used)"
        )
    with _sweep_lock(base):  # a sweep never sees a directory between its creation and its owner file
        remove_orphaned_servers(base)
        remove_templates_of_gone_installations(base)
        if shared_key:
            digest = hashlib.sha256(shared_key.encode()).hexdigest()[:12]
            directory = base / f"{DIRECTORY_PREFIX}{digest}"
            directory.mkdir(exist_ok=True)
        else:
            directory = Path(tempfile.mkdtemp(prefix=DIRECTORY_PREFIX, dir=base))
        marker = directory / f"{OWNER_PREFIX}{os.getpid()}.json"
        marker.write_text(json.dumps(owner()))
    try:
        with warnings.catch_warnings():  # platformdirs: XDG_RUNTIME_DIR unset (harmless; /tmp is used)
            warnings.simplefilter("ignore")
            template = _seed_data(directory, base)
            try:
                server = get_server(directory / "data", cleanup_mode="delete")
            except Exception as exc:
                if template is None:
                    raise
                shutil.rmtree(template, ignore_errors=True)  # the next run makes it again
                raise RuntimeError(
                    f"{type(exc).__name__}: {exc} (its data directory was a copy of {template}, now removed: run again)"
                ) from exc
    except BaseException:
        _release(directory, marker)
        raise
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir) if info.socket_dir is not None else str(directory / "data")

    watchdog = _start_watchdog(directory)

    def stop() -> None:
        server.cleanup()  # stops the server when this is its last handle, and deletes data/
        _release(directory, marker)
        with contextlib.suppress(OSError):
            watchdog.kill()

    return Server("pgserver", server.get_uri(), "", socket_dir, stop, watchdog.pid)


def _template_path(base: Path) -> Path:
    from importlib.metadata import version

    who = os.geteuid() if hasattr(os, "geteuid") else 0
    key = hashlib.sha256(f"{version('pgserver')}|{_postgres_binaries()}|{who}".encode()).hexdigest()[:12]
    return base / f"{TEMPLATE_PREFIX}{key}"


def _postgres_binaries() -> Path:
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _source_of(template: Path) -> Path:
    return template.with_name(template.name + SOURCE_SUFFIX)


def remove_templates_of_gone_installations(base: Path) -> list[Path]:
    """Delete the templates whose PostgreSQL binaries no longer exist (as their ``.source`` file says; a
    template without one, made by a signoff version before it, is left alone). The templates removed."""
    removed = []
    for source in sorted(base.glob(f"{TEMPLATE_PREFIX}*{SOURCE_SUFFIX}")):
        try:
            binaries = Path(source.read_text(encoding="utf-8").strip())
        except OSError:
            continue
        if not binaries.is_absolute() or binaries.is_dir():
            continue
        template = source.with_name(source.name.removesuffix(SOURCE_SUFFIX))
        shutil.rmtree(template, ignore_errors=True)
        if not template.exists():
            source.unlink(missing_ok=True)
            removed.append(template)
    return removed


def _template_usable(template: Path) -> bool:
    """A cluster whose control file reads back intact (its checksum holds) and says it was shut down cleanly."""
    if not (template / "PG_VERSION").is_file():
        return False
    command = [str(_postgres_binaries() / "pg_controldata"), "-D", str(template)]
    try:
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    state = re.search(r"^Database cluster state:\s*(.+)$", done.stdout, re.MULTILINE)
    return done.returncode == 0 and state is not None and state.group(1).strip() == "shut down"


def _seed_data(directory: Path, base: Path) -> Path | None:
    """Give ``directory``'s server a data directory copied from the pristine cluster (made first, by
    pgserver's own initdb, when there is none yet); the template used, or None (pgserver runs initdb).
    Under a lock: the workers of one xdist run share ``directory``."""
    from filelock import FileLock

    data = directory / "data"
    with FileLock(str(directory / "seed.lock"), timeout=120):
        if data.exists():
            return None
        template = _template_path(base)
        if template.exists() and not _template_usable(template):
            shutil.rmtree(template, ignore_errors=True)  # damaged, or not from this PostgreSQL: made again
        if not template.exists():
            _make_template(data, template)
        if not _template_usable(template):
            return None
        if not _source_of(template).exists():
            write_whole(_source_of(template), str(_postgres_binaries()))
        partial = directory / "data.partial"
        shutil.rmtree(partial, ignore_errors=True)
        _copy_tree(template, partial)
        _throwaway(partial)
        partial.rename(data)
        return template


# A throwaway cluster is deleted after the run, so it needs no durability: no fsync at commit, checkpoint
# or CREATE DATABASE. Nothing a check reads changes (on a quiet machine no run measured faster either:
# bench/README.md).
THROWAWAY_SETTINGS = "\n# signoff: a throwaway cluster\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"


def _throwaway(data: Path) -> None:
    """The copied cluster's configuration, with :data:`THROWAWAY_SETTINGS` last (so they win)."""
    conf = data / "postgresql.conf"
    if conf.exists():
        with conf.open("a", encoding="utf8") as out:
            out.write(THROWAWAY_SETTINGS)


def _make_template(data: Path, template: Path) -> None:
    """initdb (pgserver's own, in ``data``, where a killed run's sweep finds it), a clean stop, and the
    stopped cluster moved to ``template``; another run that made one first wins."""
    from pgserver.postgres_server import get_server

    server = get_server(data, cleanup_mode="stop")
    # The last handle: pg_ctl stop, waiting for a clean shutdown. pgserver keeps this handle's exit hook.
    # By the time it runs (exit hooks run last-registered first), the handle of the copy started at
    # ``data`` next has taken this process off that copy's handle list, so the hook finds nothing to stop.
    server.cleanup()
    for leftover in ("log", ".handle_pids.json", "postmaster.opts"):
        (data / leftover).unlink(missing_ok=True)
    try:
        data.rename(template)
    except OSError:  # another run's template is there already
        shutil.rmtree(data, ignore_errors=True)


def _copy_tree(source: Path, target: Path) -> None:
    """A copy that keeps modes and owners (under root, pgserver runs PostgreSQL as a user of its own)."""
    cp = shutil.which("cp")
    if cp is not None and os.name == "posix":
        subprocess.run([cp, "-a", str(source), str(target)], check=True, capture_output=True, timeout=120)
    else:  # Windows: no owners to keep
        shutil.copytree(source, target, symlinks=True)


_WATCH_SECONDS = 0.5


def _start_watchdog(directory: Path) -> subprocess.Popen[bytes]:
    """A small process that outlives a killed run: when this process dies without stopping its server
    (SIGKILL, an OOM kill), it stops the now-orphaned PostgreSQL within a second and removes its files."""
    code = "import sys\nfrom signoff.pou.database import watch\nwatch(int(sys.argv[1]), sys.argv[2])\n"
    return subprocess.Popen(  # our own interpreter and module
        [sys.executable, "-c", code, str(os.getpid()), str(directory)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C of the run must not stop the watchdog before the run's own cleanup
    )


def watch(owner_pid: int, directory: str) -> None:
    """The watchdog's loop: wait for ``owner_pid`` to end, then sweep servers whose owners are all gone."""
    folder = Path(directory)
    while alive(owner_pid) and folder.exists():
        time.sleep(_WATCH_SECONDS)
    if folder.exists():
        with _sweep_lock(folder.parent):
            remove_orphaned_servers(folder.parent)


def _release(directory: Path, marker: Path) -> None:
    marker.unlink(missing_ok=True)
    if not any(directory.glob(f"{OWNER_PREFIX}*")) and not (directory / "data").exists():
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def _sweep_lock(base: Path) -> Iterator[None]:
    from filelock import FileLock

    with FileLock(str(base / f"{DIRECTORY_PREFIX}sweep.lock"), timeout=60):
        yield


def remove_orphaned_servers(base: Path | None = None) -> list[Path]:
    """Stop the embedded servers of signoff runs that are gone, and delete their directories.

    A directory is orphaned when none of its owners is alive (for directories of signoff
    versions before owner files: none of pgserver's handle pids). Returns the directories removed.
    """
    removed = []
    for directory in sorted((base or servers_folder()).glob(f"{DIRECTORY_PREFIX}*")):
        if not directory.is_dir() or _owned(directory):
            continue
        data = directory / "data" if (directory / "data").is_dir() else directory
        _stop_postmaster(data)
        shutil.rmtree(directory, ignore_errors=True)
        if not directory.exists():
            removed.append(directory)
    return removed


def _owned(directory: Path) -> bool:
    """Whether a live process still uses ``directory`` (or it is too young to tell)."""
    owners = list(directory.glob(f"{OWNER_PREFIX}*.json"))
    for path in owners:
        try:
            record = json.loads(path.read_text())
            if alive(int(record["pid"]), record.get("started")):
                return True
        except (OSError, ValueError, KeyError, TypeError):
            return True  # unreadable: being written; leave it
    if owners:
        return False
    try:
        young = time.time() - directory.stat().st_mtime < _GRACE_SECONDS
        handles = json.loads((directory / ".handle_pids.json").read_text())
    except FileNotFoundError:
        handles = []
    except (OSError, ValueError):
        return True
    return young or any(alive(int(pid)) for pid in handles)


def _stop_postmaster(data: Path) -> None:
    """Stop the server of ``data`` at once (immediate shutdown); it is throwaway."""
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        command = None  # not Linux, or gone: the pid check below decides
    if not alive(pid) or (command is not None and str(data) not in command):
        return  # gone, or the pid now belongs to another process
    for sig, wait in ((signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not alive(pid):
            return


def create_database(server: Server, name: str) -> str:
    """A fresh database ``name`` owned by a fresh role with a random password; its URL."""
    import psycopg

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,50}", name):
        raise DatabaseError(f"invalid database name {name!r}")
    password = secrets.token_urlsafe(24)
    register_secret(password)
    role = f"{name}_owner"
    try:
        with psycopg.connect(server.admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.execute(f"DROP ROLE IF EXISTS {role}")
            # The password is generated here (URL-safe alphabet), never user input. The role may create
            # extensions (a team's schema does: vector, uuid-ossp) as its own database's owner would on a
            # developer's server; the server is signoff's and is thrown away.
            admin.execute(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'")
            admin.execute(f"CREATE DATABASE {name} OWNER {role}")
    except psycopg.Error as exc:
        raise DatabaseError(redact(f"could not create database {name} on the {server.kind} server: {exc}")) from None
    url = server.url(role, password, name)
    register_secret(url)
    return url


def drop_database(server: Server, name: str) -> None:
    import psycopg

    try:
        with psycopg.connect(server.admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.execute(f"DROP ROLE IF EXISTS {name}_owner")
    except psycopg.Error:
        pass  # the server goes away with the session anyway


def check_reachable(url: str, timeout: float = 5.0) -> None:
    """Raise :class:`DatabaseError` naming the host (never the password) when ``url`` does not answer."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        raise DatabaseError(
            redact(
                f"the database at [pou] database_url ({display_url(url)}) is unreachable: {libpq_reason(exc)}. "
                "Next step: check the URL (percent-encode @ : / and spaces in the user name and password)"
            )
        ) from None


_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")


def libpq_reason(exc: BaseException) -> str:
    """libpq's reason without the values it quotes: a malformed DSN makes it quote pieces of the
    user name or password (``failed to resolve host 'ss'`` for ``p@ss``), which no registered form
    of the secret matches."""
    return _QUOTED.sub('"***"', " ".join(str(exc).split())) or type(exc).__name__
