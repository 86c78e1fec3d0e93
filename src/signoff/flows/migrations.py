"""FL-MIG: the application's own SQL migrations, rehearsed on a scratch PostgreSQL.

The same rules and rehearsal as the broker's migrations (PU-MIG, :mod:`signoff.pou.migrations_check`
and :mod:`signoff.pou.migrations`), for the two layouts teams use::

    [migrations]
    path = "prisma/migrations"   # <timestamp>_<name>/migration.sql (Prisma), or NNN_name.sql files
    release = 1                  # how many of the newest migrations this release adds (default 1)
    exclude = ["*draft*"]        # include / exclude: globs over migration names
    order = "scripts/migrate.sh" # the team's runner: the order it names them in is rehearsed

A Prisma migration rolls back by ``down.sql`` in its folder; a numbered one by
``rollback/NNN_name.sql`` or ``NNN_name.down.sql``. The rollback drill applies everything before the
release, reads the schema, applies the release, and then rolls it back: by its down migrations
when every one of them has one, else by restoring a ``pg_dump`` of the database taken before the
release (the plan a team without down migrations runs). Either way the schema must be as before.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from signoff.errors import ConfigError, SignoffError
from signoff.pou.migrations import chosen, scripted
from signoff.pou.migrations_check import Migration, Plan, Rules, plan
from signoff.redaction import redact
from signoff.target import Target, _Table

if TYPE_CHECKING:
    import psycopg

CHECK_ID = "FL-MIG"
DUMP_TIMEOUT_SECONDS = 60
_PRISMA_FOLDER = re.compile(r"\d+_[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class MigrationSettings:
    path: Path
    release: int = 1
    include: tuple[str, ...] = ()  # globs over migration names (file or Prisma folder); empty: all
    exclude: tuple[str, ...] = ()
    order: Path | None = None  # the team's migrate script (or a list): the names in the order it applies them


def load_migrations(target: Target) -> MigrationSettings | None:
    if target.raw_migrations is None:
        return None
    table = _Table(target.path, "migrations", target.raw_migrations, expand=False)
    path = table.path("path", target.root, must_exist=True, required=True, kind="dir")
    release = table.integer("release", default=1, minimum=1, maximum=10_000) or 1
    include = tuple(table.string_list("include"))
    exclude = tuple(table.string_list("exclude"))
    order = table.path("order", target.root, must_exist=True, kind="file")
    table.done()
    assert path is not None
    return MigrationSettings(path, release, include, exclude, order)


@dataclass(frozen=True)
class Folder:
    layout: str  # "prisma" or "numbered"
    plan: Plan


def discover(
    directory: Path, include: tuple[str, ...] = (), exclude: tuple[str, ...] = (), order: Path | None = None
) -> Folder:
    """The folder's migrations (those ``include`` and ``exclude`` leave) in apply order, with everything
    wrong with the files themselves; in the team's own order when ``order`` names its migrate script."""
    folder = _discover(directory, include, exclude)
    if order is not None:
        folder = Folder(folder.layout, scripted(folder.plan, order, str(directory), CHECK_ID))
    return folder


def _discover(directory: Path, include: tuple[str, ...], exclude: tuple[str, ...]) -> Folder:
    folders = sorted(
        p
        for p in directory.iterdir()
        if p.is_dir() and (p / "migration.sql").is_file() and chosen(p.name, include, exclude)
    )
    where = str(directory)
    if folders:
        files = {p / "migration.sql": _read(p / "migration.sql") for p in folders}
        downs = {p / "down.sql": _read(p / "down.sql") for p in folders if (p / "down.sql").is_file()}
        strays = [p.name for p in sorted(directory.glob("*.sql"))]
        rules = Rules(required=(), gaps=False, rollback_required=False, check_id=CHECK_ID, name_of=_prisma_name)
        result = plan(files, downs, where, rules)
        if strays:
            from signoff.findings import Finding

            result.findings.append(
                Finding(
                    CHECK_ID,
                    where,
                    "error",
                    f"{', '.join(strays)} in {where} sit beside Prisma migration folders and are applied by no "
                    "runner. Next step: move each into its own <timestamp>_<name>/migration.sql folder, or out",
                )
            )
        return Folder("prisma", result)
    files = {
        p: _read(p)
        for p in sorted(directory.glob("*.sql"))
        if not p.name.endswith(".down.sql") and chosen(p.name, include, exclude)
    }
    downs = {p: _read(p) for p in sorted((directory / "rollback").glob("*.sql"))}
    downs.update({p: _read(p) for p in sorted(directory.glob("*.down.sql"))})
    if not files:
        raise ConfigError(
            f"{directory} holds no migration: neither <timestamp>_<name>/migration.sql folders (Prisma) nor "
            "NNN_name.sql files. Next step: point [migrations] path at the folder that holds them"
        )
    rules = Rules(required=(), gaps=False, rollback_required=False, check_id=CHECK_ID, name_of=_numbered_name)
    return Folder("numbered", plan(files, downs, where, rules))


def _prisma_name(path: Path) -> str:
    """``20240101000000_init/migration.sql`` -> ``20240101000000_init.sql`` (down.sql alike)."""
    return f"{path.parent.name}.sql" if _PRISMA_FOLDER.fullmatch(path.parent.name) else path.name


def _numbered_name(path: Path) -> str:
    return path.name.replace(".down.sql", ".sql")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} cannot be read as UTF-8 text ({exc}). Next step: fix the file") from None


def split_release(ordered: list[Migration], release: int) -> tuple[list[Migration], list[Migration]]:
    """(the migrations before this release, the release's), ``release`` being how many are new."""
    count = min(release, len(ordered))
    return ordered[: len(ordered) - count], ordered[len(ordered) - count :]


# -- the rollback by dump --------------------------------------------------------------------------


class DumpError(SignoffError):
    """pg_dump could not run or failed; the message says why and what to install."""


def find_pg_dump() -> str | None:
    """The pg_dump of the embedded server (pgserver) if there is one, else the PATH's."""
    try:
        import pgserver

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"
        if bundled.is_file():
            return str(bundled)
    except ImportError:
        pass
    return shutil.which("pg_dump")


def dump_schema(url: str) -> str:
    """``pg_dump --schema-only`` of the database at ``url``, as SQL. The password goes through the
    environment (PGPASSWORD), never the command line."""
    from psycopg.conninfo import conninfo_to_dict

    binary = find_pg_dump()
    if binary is None:
        raise DumpError(
            "pg_dump is not installed, so the restore-from-dump rollback cannot be rehearsed. Next step: install "
            "the PostgreSQL client (apt-get install postgresql-client), or add down migrations"
        )
    info = conninfo_to_dict(url)
    env = {**os.environ}
    for key, variable in (
        ("host", "PGHOST"),
        ("port", "PGPORT"),
        ("user", "PGUSER"),
        ("password", "PGPASSWORD"),
        ("dbname", "PGDATABASE"),
    ):
        if info.get(key):
            env[variable] = str(info[key])
    try:
        done = subprocess.run(
            [binary, "--schema-only", "--no-owner", "--no-privileges", "--schema=public"],
            env=env,
            capture_output=True,
            text=True,
            timeout=DUMP_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DumpError(redact(f"pg_dump did not complete: {exc}")) from None
    if done.returncode != 0:
        raise DumpError(redact(f"pg_dump failed (exit {done.returncode}): {done.stderr.strip()[:400]}"))
    return done.stdout


def restore_schema(conn: psycopg.Connection[tuple[object, ...]], dump: str) -> None:
    """Drop the public schema and run the dump (psql meta-commands, which only psql reads, skipped)."""
    from signoff.pou.migrations import _run

    _run(conn, "DROP SCHEMA IF EXISTS public CASCADE", "dropping the schema before the restore")
    statements = "\n".join(line for line in dump.splitlines() if not line.startswith("\\"))
    _run(conn, statements, "restoring the dump taken before the release")
    _run(conn, "RESET search_path", "resetting the session after the restore")  # the dump empties it
