"""A minimal JSON-RPC client over HTTP (stdlib only) for probes and readiness checks."""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from signoff.chain import BlockPin, is_write_method
from signoff.deadline import DeadlineExceeded, run_within
from signoff.errors import ChainError, describe_value
from signoff.redaction import display_url


class JsonRpcClient:
    """Read-only JSON-RPC: refuses write methods outright, names only the host on error."""

    def __init__(self, url: str, *, timeout: float = 10.0, deadline: float = 30.0, max_bytes: int = 64 << 20) -> None:
        self.url = url
        self.shown = display_url(url)
        self.timeout = timeout  # per network operation
        self.deadline = deadline  # per call, whole answer included (a node that trickles bytes is cut off)
        self.max_bytes = max_bytes
        self._ids = itertools.count(1)
        self._target, self._headers = split_credentials(url)
        if urlsplit(url).scheme not in ("http", "https"):
            raise ChainError(f"RPC URL {self.shown} must be http:// or https://. Next step: correct rpc_url")

    def call(self, method: str, *params: Any) -> Any:
        if is_write_method(method):
            raise ChainError(f"refused to send {method} to {self.shown}: signoff never writes to a live network")
        payload = self.exchange(method, list(params))
        if "error" in payload:
            error = payload["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ChainError(f"RPC {self.shown} answered an error to {method}: {message}")
        return payload.get("result")

    def exchange(self, method: str, params: Any) -> dict[str, Any]:
        """One JSON-RPC round trip within the call's deadline: the node's whole answer object
        (``result`` or ``error``), or a :class:`ChainError` saying what went wrong. Write methods
        are the caller's to refuse (the web3 provider of an anvil we started sends them)."""
        message = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        body = json.dumps(message, default=_bytes_as_hex)
        # the scheme was checked to be http(s) in __init__
        request = urllib.request.Request(self._target, data=body.encode(), headers=self._headers, method="POST")  # noqa: S310
        try:
            payload = run_within(self.deadline, lambda: self._post(request, method))
        except DeadlineExceeded:
            raise ChainError(
                f"RPC {self.shown} did not finish answering {method} within {self.deadline:g} s (it answers too "
                "slowly). Next step: check the node, use another RPC endpoint, or raise request_timeout_seconds "
                "of the network"
            ) from None
        except urllib.error.HTTPError as exc:
            raise ChainError(
                f"RPC {self.shown} answered HTTP {exc.code} to {method}. Next step: check the URL and its API key"
            ) from None
        except http.client.HTTPException as exc:  # not HTTP at all (an echo, another protocol): never quote it
            raise ChainError(
                f"RPC {self.shown} did not answer {method} in HTTP ({type(exc).__name__}). "
                "Next step: check that rpc_url is the node's HTTP JSON-RPC endpoint (not a websocket or another port)"
            ) from None
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ChainError(
                f"RPC {self.shown} is unreachable ({_reason(reason)}) while calling {method}. "
                "Next step: check the network's rpc_url, that the node is up, and the firewall"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            raise ChainError(f"RPC {self.shown} did not answer JSON to {method}: is it a JSON-RPC endpoint?") from None
        if not isinstance(payload, dict):
            raise ChainError(
                f"RPC {self.shown} answered {method} with {describe_value(payload)}, expected a JSON-RPC object "
                '{"jsonrpc", "id", "result"}. Next step: check that rpc_url is a JSON-RPC endpoint'
            )
        return payload

    def _post(self, request: urllib.request.Request, method: str) -> Any:
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return json.loads(self._read(response, method))

    def _read(self, response: Any, method: str) -> bytes:
        """The whole body within the size limit (each read waits ``timeout`` at most)."""
        ends = time.monotonic() + self.deadline
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > ends:  # the caller has given up already; end this thread too
                raise DeadlineExceeded(method)
            chunk = response.read1(65536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_bytes:
                raise ChainError(
                    f"RPC {self.shown} answered {method} with more than {self.max_bytes:,} bytes. "
                    "Next step: check that rpc_url is a JSON-RPC endpoint"
                )
            chunks.append(chunk)

    def _quantity(self, value: Any, method: str) -> int:
        """A JSON-RPC quantity (``"0x1a"``); anything else is the node's fault, said plainly."""
        if isinstance(value, str) and value.startswith("0x"):
            try:
                return int(value, 16)
            except ValueError:
                pass
        raise ChainError(
            f'RPC {self.shown} answered {method} with {describe_value(value)}, expected a hex quantity such as "0x1". '
            "Next step: check that rpc_url is an Ethereum JSON-RPC endpoint"
        )

    def chain_id(self) -> int:
        return self._quantity(self.call("eth_chainId"), "eth_chainId")

    def latest_block(self) -> BlockPin:
        method = "eth_getBlockByNumber"
        block = self.call(method, "latest", False)
        if not isinstance(block, dict):
            raise ChainError(
                f"RPC {self.shown} returned no latest block ({describe_value(block)}). Next step: check the node"
            )
        missing = [key for key in ("number", "hash", "timestamp") if not isinstance(block.get(key), str)]
        if missing:
            raise ChainError(
                f"RPC {self.shown} returned a latest block without {', '.join(missing)}. Next step: check the node"
            )
        return BlockPin(
            self._quantity(block["number"], method), str(block["hash"]), self._quantity(block["timestamp"], method)
        )

    def balance(self, address: str, block: int) -> int:
        return self._quantity(self.call("eth_getBalance", address, hex(block)), "eth_getBalance")

    def nonce(self, address: str, block: int) -> int:
        return self._quantity(self.call("eth_getTransactionCount", address, hex(block)), "eth_getTransactionCount")

    def code(self, address: str, block: int) -> bytes:
        value = self.call("eth_getCode", address, hex(block))
        if isinstance(value, str) and value.startswith("0x"):
            try:
                return bytes.fromhex(value[2:])
            except ValueError:
                pass
        raise ChainError(
            f"RPC {self.shown} answered eth_getCode with {describe_value(value)}, expected 0x-prefixed hex bytes"
        )

    def wait_until_ready(self, deadline_seconds: float) -> None:
        """Poll ``eth_chainId`` until the node answers (a freshly started anvil)."""
        deadline = time.monotonic() + deadline_seconds
        while True:
            try:
                self.chain_id()
                return
            except ChainError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """Move ``user:password@`` out of the URL into a Basic Authorization header."""
    headers = {"Content-Type": "application/json"}
    parts = urlsplit(url)
    if parts.username is None:
        return url, headers
    token = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), headers


def _bytes_as_hex(value: object) -> str:
    """JSON for the byte strings web3 may hand over as parameters (HexBytes included)."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _reason(reason: object) -> str:
    text = str(reason)
    if isinstance(reason, ConnectionRefusedError) or "refused" in text.lower():
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    if "Name or service not known" in text or "getaddrinfo" in text:
        return "host name not resolved"
    return type(reason).__name__ if not isinstance(reason, str) else reason
