"""Hostile services (issue 11): an RPC or broker that echoes every request back, headers
included (the Authorization header is base64 of user:password, or the seed bearer token), a raw
TCP service that echoes bytes, a broker that trickles its answers, and libpq errors that quote
their DSN. Each is a clean failure: no secret in any form on any channel, no traceback, no
green report, and no wait past the configured deadline."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import FIXTURES, SuiteRun

USER, PASSWORD = "opsuser", "Pa55-Echo-w0rd"
TOKEN = "seed-Token-0123456789abcdefXYZ"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@pytest.fixture
def echo_http() -> Iterator[dict[str, Any]]:
    """Answers every request 200 with a JSON copy of its request line, headers and body."""
    state: dict[str, Any] = {"trickle": 0.0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def _echo(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode(errors="replace") if length else ""
            answer = json.dumps(
                {"request": self.requestline, "headers": dict(self.headers.items()), "body": body}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            for start in range(0, len(answer), 1 if state["trickle"] else len(answer)):
                self.wfile.write(answer[start : start + (1 if state["trickle"] else len(answer))])
                if state["trickle"]:
                    self.wfile.flush()
                    time.sleep(state["trickle"])

        do_GET = do_POST = do_PUT = do_DELETE = _echo

        def log_message(self, *_: Any) -> None:
            pass

    server = _Quiet(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    state["port"] = server.server_address[1]
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def echo_tcp() -> Iterator[int]:
    """A raw TCP service that sends back every byte it receives (not HTTP at all)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed at teardown
                return
            with conn:
                conn.settimeout(1.0)
                try:
                    while data := conn.recv(65536):
                        conn.sendall(data)
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


def _leaks(run: SuiteRun, *secrets: str) -> list[str]:
    everything = (run.output + run.all_report_text()).lower()
    derived = {s for s in secrets} | {quote(s, safe="") for s in secrets}
    return sorted(s for s in derived if s.lower() in everything)


def _rpc_target(tmp_path: Path) -> Path:
    target = tmp_path / "signoff.toml"
    target.write_text(
        f'[target]\nname = "echo"\nartifacts = "{FIXTURES / "reference" / "artifacts"}"\n'
        '[networks.stage]\nrpc_url = "${STAGE_RPC_URL}"\nchain_id = 31337\n'
    )
    return target


@pytest.mark.parametrize("service", ["http", "tcp"])
def test_an_rpc_that_echoes_the_request_leaks_no_credentials(
    run_suite, request: pytest.FixtureRequest, tmp_path: Path, service: str
) -> None:
    port = request.getfixturevalue("echo_http")["port"] if service == "http" else request.getfixturevalue("echo_tcp")
    url = f"http://{USER}:{PASSWORD}@127.0.0.1:{port}/v3/{TOKEN}"
    run: SuiteRun = run_suite(
        "-m", "network", "--network", "stage", target=_rpc_target(tmp_path), env={"STAGE_RPC_URL": url}
    )
    assert run.result.ret == 1, run.output
    assert "Traceback" not in run.output and "INTERNALERROR" not in run.output
    assert run.evidence()["summary"]["results"]["passed"] == 0
    assert f"127.0.0.1:{port}" in run.output  # the host is named
    assert _leaks(run, PASSWORD, TOKEN, BASIC, f"{USER}:{PASSWORD}") == []


def _pou_target(tmp_path: Path, url: str, *, token: bool, timeout: float | None = None) -> Path:
    target = tmp_path / "signoff.toml"
    lines = [
        "[target]",
        'name = "echo broker"',
        f'artifacts = "{FIXTURES / "reference" / "artifacts"}"',
        "[pou]",
        'url = "${POU_URL}"',
        'client_did = "did:test:signoff:client"',
        'agent_did = "did:test:signoff:agent"',
        'outsider_did = "did:test:signoff:outsider"',
        "test_agent_dids = [" + ", ".join(f'"did:test:signoff:a{i}"' for i in range(7)) + "]",
    ]
    if token:
        lines.append('seed_token = "${POU_SEED_TOKEN}"')
    if timeout is not None:
        lines.append(f"request_timeout_seconds = {timeout}")
    target.write_text("\n".join(lines) + "\n")
    return target


@pytest.mark.parametrize(("service", "credentials"), [("http", "basic"), ("http", "bearer"), ("tcp", "basic")])
def test_a_broker_that_echoes_the_request_leaks_no_credentials(
    run_suite, request: pytest.FixtureRequest, tmp_path: Path, service: str, credentials: str
) -> None:
    port = request.getfixturevalue("echo_http")["port"] if service == "http" else request.getfixturevalue("echo_tcp")
    if credentials == "basic":
        url, env = f"http://{USER}:{PASSWORD}@127.0.0.1:{port}", {}
    else:
        url, env = f"http://127.0.0.1:{port}", {"POU_SEED_TOKEN": TOKEN}
    target = _pou_target(tmp_path, url, token=credentials == "bearer")
    run: SuiteRun = run_suite("-m", "e2e_pou", target=target, env={"POU_URL": url, **env})
    assert run.result.ret == 1, run.output
    assert "Traceback" not in run.output and "INTERNALERROR" not in run.output
    assert run.evidence()["verdict"]["label"] == "NOT SIGNED OFF"
    assert _leaks(run, PASSWORD, TOKEN, BASIC, f"{USER}:{PASSWORD}") == []


def test_a_trickling_broker_is_cut_off_at_request_timeout_seconds(
    run_suite, tmp_path: Path, echo_http: dict[str, Any]
) -> None:
    echo_http["trickle"] = 0.05
    url = f"http://127.0.0.1:{echo_http['port']}"
    started = time.monotonic()
    run: SuiteRun = run_suite(
        "-m", "e2e_pou", target=_pou_target(tmp_path, url, token=False, timeout=0.5), env={"POU_URL": url}
    )
    assert run.result.ret == 1, run.output
    assert "did not finish answering GET" in run.output and "within 0.5 s" in run.output, run.output
    assert "raise [pou] request_timeout_seconds" in run.output
    assert time.monotonic() - started < 60


@pytest.mark.parametrize(
    ("dsn", "pieces"),
    [
        # @ and : not percent-encoded in the password
        ("postgresql://ops:p@ss:w0rdXyz@127.0.0.1/db", ["'ss'", '"ss"', "w0rdXyz", "p@ss"]),
        ("postgresql://ops user:Pw0rd-Secret@127.0.0.1/db", ["ops user", "Pw0rd-Secret"]),
        ("host=127.0.0.1 user=opsuser password=Qw3rty-99 port=x5432", ["Qw3rty-99", "x5432"]),
        # a well-formed database URL: only its password is hidden (the user, host and database stay readable)
        ("postgresql://opsuser:SecretPW-123@127.0.0.1:1/db?sslmode=bogus", ["SecretPW-123"]),
        ("postgresql://opsuser:SecretPW-123@127.0.0.1:1/db", ["SecretPW-123"]),  # refused
    ],
)
def test_libpq_errors_never_quote_the_dsn(dsn: str, pieces: list[str]) -> None:
    from signoff.pou.database import DatabaseError, check_reachable
    from signoff.redaction import forget_secrets, register_secret

    forget_secrets()
    register_secret(dsn)  # as the plugin does with every ${VAR}-expanded value
    with pytest.raises(DatabaseError) as caught:
        check_reachable(dsn, timeout=2)
    message = str(caught.value)
    forget_secrets()
    assert "[pou] database_url" in message and "Next step:" in message, message
    assert [piece for piece in pieces if piece in message] == [], message
    if "opsuser:SecretPW" in dsn:
        assert "postgresql://opsuser:***@127.0.0.1:1/db" in message, message
