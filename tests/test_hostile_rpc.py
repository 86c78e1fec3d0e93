"""A hostile or broken RPC: every answer shape a real endpoint has been seen to give (HTML, null, an
array, an integer chain id, a block without a hash, a slow trickle) is a clean failure naming the
host and the next step; never a traceback, never a green report."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from signoff.chain.rpc import JsonRpcClient
from signoff.errors import ChainError
from tests.conftest import FIXTURES, SuiteRun

Answer = Callable[[str], bytes | None]  # method -> body (None: answer correctly)
GOOD = {
    "eth_chainId": "0x7a69",
    "eth_getBlockByNumber": {"number": "0x1", "hash": "0x" + "ab" * 32, "timestamp": "0x0"},
}


def _good(method: str) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "result": GOOD.get(method, "0x0")}).encode()


SCENARIOS: dict[str, tuple[Answer, str]] = {
    "html page": (lambda m: b"<html><body>502 Bad Gateway</body></html>", "did not answer JSON to eth_chainId"),
    "null": (lambda m: b"null", "answered eth_chainId with null, expected a JSON-RPC object"),
    "array": (lambda m: b"[]", "answered eth_chainId with a list of 0, expected a JSON-RPC object"),
    "integer chain id": (
        lambda m: json.dumps({"jsonrpc": "2.0", "id": 1, "result": 31337}).encode() if m == "eth_chainId" else None,
        "answered eth_chainId with int 31337, expected a hex quantity",
    ),
    "block without hash": (
        lambda m: (
            json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"number": "0x1", "timestamp": "0x0"}}).encode()
            if m == "eth_getBlockByNumber"
            else None
        ),
        "returned a latest block without hash",
    ),
    "error object as a string": (
        lambda m: json.dumps({"jsonrpc": "2.0", "id": 1, "error": "quota exceeded"}).encode(),
        "answered an error to eth_chainId: quota exceeded",
    ),
}


class _Hostile(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client hung up on a trickling answer: expected, not worth a traceback


@pytest.fixture
def hostile() -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {"answer": lambda m: None, "trickle": 0.0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            method = json.loads(body).get("method", "")
            answer = state["answer"](method) or _good(method)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            if state["trickle"]:
                for byte in answer:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(state["trickle"])
            else:
                self.wfile.write(answer)

        def log_message(self, *_: Any) -> None:
            pass

    server = _Hostile(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def _target(tmp_path: Path) -> Path:
    target = tmp_path / "signoff.toml"
    target.write_text(
        f'[target]\nname = "hostile"\nartifacts = "{FIXTURES / "reference" / "artifacts"}"\n'
        '[networks.stage]\nrpc_url = "${STAGE_RPC_URL}"\nchain_id = 31337\n'
    )
    return target


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_broken_rpc_fails_every_chain_check_cleanly(
    run_suite, tmp_path: Path, hostile: dict[str, Any], scenario: str
) -> None:
    answer, message = SCENARIOS[scenario]
    hostile["answer"] = answer
    run: SuiteRun = run_suite(
        "-m", "network", "--network", "stage", target=_target(tmp_path), env={"STAGE_RPC_URL": hostile["url"]}
    )
    assert run.result.ret == 1, run.output
    assert message in run.output, run.output
    assert "Traceback" not in run.output and "INTERNALERROR" not in run.output
    evidence = run.evidence()
    assert evidence["verdict"]["label"] == "NOT SIGNED OFF"
    assert evidence["summary"]["results"]["passed"] == 0


def test_a_trickling_rpc_is_cut_off_at_the_call_deadline(hostile: dict[str, Any]) -> None:
    hostile["trickle"] = 0.05  # ~50 bytes: 2.5 s for one answer
    client = JsonRpcClient(hostile["url"], timeout=1.0, deadline=0.5)
    started = time.monotonic()
    with pytest.raises(ChainError, match=r"did not finish answering eth_chainId within 0 s|within 1 s"):
        client.chain_id()
    assert time.monotonic() - started < 2.0
