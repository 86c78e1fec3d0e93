"""The throwaway PostgreSQL: whether Docker can answer is known before importing docker's client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from signoff.pou.database import docker_absent


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
