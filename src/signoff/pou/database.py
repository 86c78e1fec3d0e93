"""A throwaway PostgreSQL for one session, and one database in it per xdist worker.

testcontainers first, where a Docker engine answers (no engine fails in about 0.2 s with
``docker.errors.DockerException``, a cheap signal); else the embedded PostgreSQL 16 of the
``pgserver`` wheel in a short temporary directory (unix-socket paths are limited to ~100
characters). Workers of one xdist run share the server and get a database each. Every
database gets its own role with a random password, registered as a secret at once, so no
URL this module hands out can leak into a report.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from signoff.errors import SignoffError
from signoff.redaction import redact, register_secret


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


def _testcontainers() -> Server:
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

    if shared_key:
        digest = hashlib.sha256(shared_key.encode()).hexdigest()[:12]
        directory = Path(tempfile.gettempdir()) / f"signoff-pg-{digest}"
        directory.mkdir(exist_ok=True)
    else:
        directory = Path(tempfile.mkdtemp(prefix="signoff-pg-"))
    with warnings.catch_warnings():  # platformdirs: XDG_RUNTIME_DIR unset (harmless; /tmp is used)
        warnings.simplefilter("ignore")
        server = get_server(directory, cleanup_mode="delete")
    return Server("pgserver", server.get_uri(), "", str(directory), server.cleanup)


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
            # The password is generated here (URL-safe alphabet), never user input.
            admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
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
            redact(f"the database at [pou] database_url is unreachable: {str(exc).strip()}. Next step: check the URL")
        ) from None
