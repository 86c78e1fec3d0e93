"""A loopback JSON-RPC proxy that forwards everything and remembers every method it saw.

Pointing a whole suite run at :class:`RecordingRpcProxy` instead of the node turns "this run sent
no write RPC to a live network" (criterion RP-RO) from a promise into a measurement: each POST
body goes upstream byte for byte, the upstream answer comes back unchanged, and the method names
of single and batch requests are recorded in arrival order. Stdlib only; the method is recorded
before forwarding, so even a request the upstream refuses or never answers is counted.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from signoff.chain import is_write_method
from signoff.chain.rpc import split_credentials
from signoff.redaction import display_url

_POLL_SECONDS = 0.05  # how quickly serve_forever notices stop()


class RecordingRpcProxy:
    """Forward JSON-RPC POSTs from ``127.0.0.1:<free port>`` to ``upstream``; record methods."""

    def __init__(self, upstream: str, *, timeout: float = 30.0, refuse_writes: bool = False) -> None:
        self.upstream = upstream  # may hold an API key: show only display_url(upstream)
        self.timeout = timeout
        self.refuse_writes = refuse_writes  # answer write methods with an error instead of forwarding them
        self.url = ""
        self._target, self._headers = split_credentials(upstream)
        self._lock = threading.Lock()
        self._methods: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Listen on a free loopback port and return the proxy's URL."""
        if self._server is not None:
            return self.url
        server = _Server(("127.0.0.1", 0), _handler_for(self))
        thread = threading.Thread(
            target=server.serve_forever, args=(_POLL_SECONDS,), name="signoff-rpc-proxy", daemon=True
        )
        thread.start()
        self._server, self._thread = server, thread
        host, port = server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        return self.url

    def stop(self) -> None:
        """Stop serving and close the listening socket (the port is free afterwards)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()

    def methods(self) -> tuple[str, ...]:
        """Every method name seen so far, in arrival order (a batch adds its entries in order)."""
        with self._lock:
            return tuple(self._methods)

    def write_methods(self) -> tuple[str, ...]:
        """The recorded methods that change chain state (see :func:`signoff.chain.is_write_method`)."""
        return tuple(method for method in self.methods() if is_write_method(method))

    def __enter__(self) -> RecordingRpcProxy:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _record(self, body: bytes) -> None:
        names = request_methods(body)
        with self._lock:
            self._methods.extend(names)

    def _forward(self, body: bytes, content_type: str) -> tuple[int, bytes, str]:
        """Status, body and content type of the upstream's answer to ``body``."""
        headers = {**self._headers, "Content-Type": content_type}
        # the upstream URL is the caller's own node; the scheme is checked by urllib itself
        request = urllib.request.Request(self._target, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, response.read(), response.headers.get("Content-Type", "application/json")
        except urllib.error.HTTPError as exc:  # a JSON-RPC error can arrive with an HTTP error status
            return exc.code, exc.read(), exc.headers.get("Content-Type", "application/json")
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            message = f"signoff proxy: upstream {display_url(self.upstream)} failed: {type(reason).__name__}"
            answer = {"jsonrpc": "2.0", "id": None, "error": {"code": -32603, "message": message}}
            return HTTPStatus.BAD_GATEWAY, json.dumps(answer).encode(), "application/json"


def request_methods(body: bytes) -> list[str]:
    """The ``method`` of each call in a JSON-RPC request body, single or batch; [] if unreadable.

    An unreadable body is forwarded anyway: the upstream will refuse it, so it changes nothing.
    """
    try:
        document: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    calls = document if isinstance(document, list) else [document]
    return [call["method"] for call in calls if isinstance(call, dict) and isinstance(call.get("method"), str)]


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck upstream call must not keep the test run alive
    # an anvil fork opens dozens of connections at once while it starts; with the default
    # backlog of 5 the rest wait out a one-second SYN retransmit (or fail and are retried)
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # anvil drops requests it no longer needs (it races eth_getAccountInfo against
        # eth_getBalance/eth_getCode/eth_getTransactionCount); a client that left is no error
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(proxy: RecordingRpcProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so stop() leaves no idle keep-alive sockets behind
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                self.send_error(HTTPStatus.LENGTH_REQUIRED)
                return
            body = self.rfile.read(length)
            proxy._record(body)
            writes = [m for m in request_methods(body) if is_write_method(m)] if proxy.refuse_writes else []
            if writes:
                message = f"signoff proxy: {writes[0]} refused: nothing is ever sent to a live network"
                refusal = {"jsonrpc": "2.0", "id": None, "error": {"code": -32601, "message": message}}
                status, content_type = int(HTTPStatus.OK), "application/json"
                answer_bytes = json.dumps(refusal).encode()
            else:
                status, answer_bytes, content_type = proxy._forward(
                    body, self.headers.get("Content-Type", "application/json")
                )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(answer_bytes)))
            self.end_headers()
            self.wfile.write(answer_bytes)

        def do_GET(self) -> None:
            self.send_error(HTTPStatus.METHOD_NOT_ALLOWED, "JSON-RPC only: send a POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # request lines would flood the test output

    return Handler
