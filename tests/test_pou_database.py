"""The throwaway PostgreSQL: whether Docker can answer is known before importing docker's client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from signoff.pou.database import SOURCE_SUFFIX, TEMPLATE_PREFIX, docker_absent, servers_folder


def test_no_docker_host_and_no_socket_means_no_engine(tmp_path: Path) -> None:
    socket = tmp_path / "docker.sock"
    assert docker_absent({}, socket) == f"no Docker engine: DOCKER_HOST is unset and {socket} does not exist"
    assert docker_absent({"DOCKER_HOST": ""}, socket) is not None  # empty is unset, as docker's client reads it


def test_a_socket_or_a_docker_host_is_asked(tmp_path: Path) -> None:
    socket = tmp_path / "docker.sock"
    assert docker_absent({"DOCKER_HOST": "tcp://127.0.0.1:2375"}, socket) is None
    socket.touch()
    assert docker_absent({}, socket) is None


@pytest.mark.skipif(Path("/var/run/docker.sock").exists(), reason="this machine has a Docker socket")
def test_without_docker_the_server_starts_without_importing_docker() -> None:
    """On a machine with no Docker engine, the throwaway server (pgserver here) starts and docker's client
    (about 0.2 s of imports, and a connection attempt) is never loaded."""
    code = (
        "import sys\n"
        "from signoff.pou.database import start_server\n"
        "server = start_server()\n"
        "server.stop()\n"
        "print(server.kind, 'docker' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["pgserver", "False"], done.stdout + done.stderr


# -- where the embedded servers live -------------------------------------------------------------------


def test_the_servers_live_in_ram_when_it_has_room(tmp_path: Path) -> None:
    assert servers_folder({}, ram=tmp_path) == tmp_path
    assert servers_folder({}, ram=tmp_path, room=1 << 62) == Path(tempfile.gettempdir())  # not that much room
    assert servers_folder({}, ram=tmp_path / "absent") == Path(tempfile.gettempdir())  # no /dev/shm (macOS)
    assert servers_folder({"SIGNOFF_PG_DIR": str(tmp_path / "chosen")}, ram=tmp_path) == tmp_path / "chosen"
    assert servers_folder({"SIGNOFF_PG_DIR": " "}, ram=tmp_path) == tmp_path  # blank is unset


def test_a_servers_folder_that_is_not_there_is_a_clear_error(tmp_path: Path) -> None:
    code = "from signoff.pou.database import start_server\nstart_server()\n"
    env = dict(os.environ, SIGNOFF_PG_DIR=str(tmp_path / "nowhere"))
    env.pop("DOCKER_HOST", None)
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode != 0
    assert f"SIGNOFF_PG_DIR={tmp_path / 'nowhere'} is not a folder. Next step: create it" in done.stderr


# -- a new server's data directory starts as a copy of a pristine cluster --------------------------

SERVER_IN_BASE = """
import json, os, sys, time
os.environ["SIGNOFF_PG_DIR"] = sys.argv[1]
import psycopg
from signoff.pou.database import start_server
started = time.monotonic()
server = start_server()
seconds = time.monotonic() - started
with psycopg.connect(server.admin_url, autocommit=True) as conn:
    names = sorted(row[0] for row in conn.execute("select datname from pg_database"))
    conn.execute("create database scratch")
    shown = {n: conn.execute(f"show {n}").fetchone()[0] for n in ("fsync", "synchronous_commit", "full_page_writes")}
server.stop()
print(json.dumps({"seconds": seconds, "databases": names, "settings": shown}))
"""


def _start_in(base: Path) -> dict[str, object]:
    command = [sys.executable, "-c", SERVER_IN_BASE, str(base)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_server_starts_from_a_copy_of_a_pristine_cluster(tmp_path: Path) -> None:
    """The first start on a machine keeps a stopped, never-used cluster (pgserver's own initdb); later
    starts copy it instead of running initdb. What a run creates never reaches the template."""
    first = _start_in(tmp_path)
    [template] = sorted(p for p in tmp_path.glob(f"{TEMPLATE_PREFIX}*") if p.is_dir())
    assert (template / "PG_VERSION").is_file() and not (template / "postmaster.pid").exists()
    second = _start_in(tmp_path)
    assert first["databases"] == second["databases"] == ["postgres", "template0", "template1"]
    throwaway = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    assert first["settings"] == second["settings"] == throwaway  # a copy's own settings: no durability
    assert "fsync = off" not in (template / "postgresql.conf").read_text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [template.name]  # the runs' own are gone
    source = Path(f"{template}{SOURCE_SUFFIX}").read_text()  # the installation it was made by
    assert Path(source, "pg_controldata").is_file()


def test_the_template_of_a_postgresql_installation_that_is_gone_is_removed(tmp_path: Path) -> None:
    """A deleted clone or virtual environment leaves its template (38 MB) behind: the next start removes it.
    The templates of installations still there, and those that do not say where they came from, stay."""
    from signoff.pou.database import remove_templates_of_gone_installations

    installed = tmp_path / "venv" / "bin"
    installed.mkdir(parents=True)
    templates = {name: tmp_path / f"{TEMPLATE_PREFIX}{name}" for name in ("gone", "here", "unsaid")}
    for template in templates.values():
        (template / "base").mkdir(parents=True)
        (template / "PG_VERSION").write_text("16")
    Path(f"{templates['gone']}{SOURCE_SUFFIX}").write_text(str(tmp_path / "deleted-clone" / ".venv" / "bin"))
    Path(f"{templates['here']}{SOURCE_SUFFIX}").write_text(str(installed))
    assert remove_templates_of_gone_installations(tmp_path) == [templates["gone"]]
    assert not Path(f"{templates['gone']}{SOURCE_SUFFIX}").exists()
    assert templates["here"].is_dir() and templates["unsaid"].is_dir()


def test_a_damaged_template_is_made_again(tmp_path: Path) -> None:
    """A template whose control file no longer reads back (pg_controldata) is deleted and made again."""
    _start_in(tmp_path)
    [template] = sorted(p for p in tmp_path.glob(f"{TEMPLATE_PREFIX}*") if p.is_dir())
    (template / "global" / "pg_control").write_bytes(b"not a control file")
    again = _start_in(tmp_path)
    assert again["databases"] == ["postgres", "template0", "template1"]
    assert (template / "global" / "pg_control").read_bytes() != b"not a control file"
