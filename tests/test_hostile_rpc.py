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
    state: dict[str, Any] = {"answer": lambda m: None, "trickle": 0.0, "trickle_headers": False}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            method = json.loads(body).get("method", "")
            answer = state["answer"](method) or _good(method)
            if state["trickle_headers"]:  # the status line and headers one byte at a time
                head = f"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(answer)}\r\n\r\n"
                for byte in head.encode():
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(state["trickle"])
                self.wfile.write(answer)
                return
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
    with pytest.raises(ChainError, match=r"did not finish answering eth_chainId within 0.5 s"):
        client.chain_id()
    assert time.monotonic() - started < 1.0


def test_trickled_headers_are_cut_off_at_the_call_deadline_too(hostile: dict[str, Any]) -> None:
    hostile["trickle"], hostile["trickle_headers"] = 0.05, True  # each byte well within the socket timeout
    client = JsonRpcClient(hostile["url"], timeout=1.0, deadline=0.5)
    started = time.monotonic()
    with pytest.raises(ChainError, match=r"did not finish answering eth_chainId within 0.5 s"):
        client.chain_id()
    assert time.monotonic() - started < 1.0


def test_web3_reads_of_a_live_network_have_the_same_deadline(hostile: dict[str, Any]) -> None:
    from signoff.chain import Endpoint
    from signoff.chain.backends import open_endpoint

    chain = open_endpoint(Endpoint("stage", hostile["url"], 31337, "live", request_timeout=0.5))
    assert chain.w3.eth.chain_id == 31337  # answers in time: the provider speaks JSON-RPC
    hostile["trickle"] = 0.05
    started = time.monotonic()
    with pytest.raises(ChainError, match=r"did not finish answering eth_blockNumber within 0.5 s"):
        _ = chain.w3.eth.block_number
    assert time.monotonic() - started < 1.0
    with pytest.raises(ChainError, match=r"refused to send eth_sendRawTransaction .* live networks are read-only"):
        chain.w3.eth.send_raw_transaction(b"\x01")


def test_a_slow_network_takes_request_timeout_seconds(run_suite, tmp_path: Path, hostile: dict[str, Any]) -> None:
    hostile["trickle"] = 0.05
    target = _target(tmp_path)
    target.write_text(target.read_text() + "request_timeout_seconds = 0.5\n")
    started = time.monotonic()
    run: SuiteRun = run_suite(
        "-m", "network", "--network", "stage", target=target, env={"STAGE_RPC_URL": hostile["url"]}
    )
    assert run.result.ret == 1, run.output
    assert "did not finish answering eth_chainId within 0.5 s" in run.output, run.output
    assert "raise request_timeout_seconds of the network" in run.output
    assert time.monotonic() - started < 20
