"""A warm interpreter for the self-tests' suite runs (see ``tests/warm.py``); run as a script.

It imports the heavy third-party libraries every suite run imports anyway (pytest, web3, eth-tester
and py-evm: about a second of CPU per process, mostly py_ecc's BLS tables), then serves on a Unix
socket: one connection per run, one JSON line (args, cwd, env, stdout and stderr files). For each it
forks; the child becomes ``python -m pytest ARGS`` in that directory and environment, and exits as
that process would (thread shutdown, atexit handlers, flushed output). The server answers the
child's pid at once and its exit code when it ends. Nothing of signoff's is imported here: each run
imports, configures and rewrites signoff, its suites and conftests itself, as a fresh process does.

The server stops when its standard input closes (the self-test process that started it is gone).
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import selectors
import signal
import socket
import sys
from typing import Any

# Libraries that no pytest11 plugin distribution ships (pytest rewrites those, so they must be
# imported by the run itself) and that start no thread on import.
PRELOAD = (
    "pytest",
    "_pytest.pytester",
    "web3",
    "eth_tester",
    "eth_tester.backends.pyevm.main",
    "eth.vm.forks",
    "eth_abi",
    "eth_account",
    "rlp",
    "trie",
    "requests",
    "aiohttp",
    "pydantic",
    "jinja2",  # pytest-html's templates
    "packaging.requirements",
    "tomllib",
    "unittest",
    "xml.etree.ElementTree",
    "execnet",
    "pdb",
)
REAP_EVERY = 0.05  # seconds between looks for ended runs


def main(socket_path: str) -> int:
    inherited = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    base_path = [entry for entry in sys.path[1:] if entry not in inherited]  # without this script's folder
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            continue  # a run imports it (or fails) as it would anyway
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "parent")
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    running: dict[int, socket.socket] = {}
    test_of: dict[int, str] = {}  # pid -> the self-test that asked for the run
    while True:
        for key, _ in selector.select(timeout=REAP_EVERY):
            if key.data == "parent":
                if not os.read(sys.stdin.fileno(), 4096):
                    for pid in running:
                        kill(pid)
                    return 0
                continue
            connection, _ = listener.accept()
            request = json.loads(_read_line(connection))
            pid = os.fork()
            if pid == 0:
                selector.close()
                listener.close()
                for other in running.values():
                    other.close()
                connection.close()
                return _become_the_run(request, base_path)
            running[pid] = connection
            test_of[pid] = request["env"].get("PYTEST_CURRENT_TEST", "")
            connection.sendall(f"{pid}\n".encode())
        while running:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
            if pid == 0:
                break
            connection = running.pop(pid)
            _log_cpu(test_of.pop(pid), usage.ru_utime + usage.ru_stime)
            try:
                connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
            except OSError:
                pass  # the test gave up waiting (its timeout)
            connection.close()


def _become_the_run(request: dict[str, Any], base_path: list[str]) -> int:
    """This forked process turns into ``python -m pytest ARGS`` run in ``cwd`` with ``env``."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for fd, path, flags in (
        (0, os.devnull, os.O_RDONLY),
        (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        opened = os.open(path, flags, 0o644)
        os.dup2(opened, fd)
        os.close(opened)
    env: dict[str, str] = request["env"]
    cwd: str = request["cwd"]
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    pythonpath = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path[:] = [cwd, *pythonpath, *base_path]  # as `python -m` sets it: the cwd, PYTHONPATH, the rest
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()
    sys.dont_write_bytecode = bool(env.get("PYTHONDONTWRITEBYTECODE"))
    sys.argv = ["", *request["args"]]
    runpy.run_module("pytest", run_name="__main__", alter_sys=True)  # exactly `python -m pytest`: SystemExit
    return 0


def _log_cpu(test: str, seconds: float) -> None:
    """With SIGNOFF_SELFTEST_RUN_LOG=FILE, a JSON line per run: the self-test and the run's CPU seconds
    (a run's CPU is the server's child's, which the self-test's own rusage does not see)."""
    path = os.environ.get("SIGNOFF_SELFTEST_RUN_LOG")
    if path:
        with open(path, "a", encoding="utf8") as log:
            log.write(json.dumps([test, round(seconds, 3)]) + "\n")


def kill(pid: int) -> None:
    """SIGKILL to ``pid``, if it is still there."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read_line(connection: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
