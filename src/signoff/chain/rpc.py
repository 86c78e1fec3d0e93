"""A minimal JSON-RPC client over HTTP (stdlib only) for probes and readiness checks."""

from __future__ import annotations

import base64
import itertools
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from signoff.chain import BlockPin, is_write_method
from signoff.errors import ChainError
from signoff.redaction import display_url


class JsonRpcClient:
    """Read-only JSON-RPC: refuses write methods outright, names only the host on error."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.shown = display_url(url)
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._target, self._headers = split_credentials(url)
        if urlsplit(url).scheme not in ("http", "https"):
            raise ChainError(f"RPC URL {self.shown} must be http:// or https://. Next step: correct rpc_url")

    def call(self, method: str, *params: Any) -> Any:
        if is_write_method(method):
            raise ChainError(f"refused to send {method} to {self.shown}: signoff never writes to a live network")
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)})
        # the scheme was checked to be http(s) in __init__
        request = urllib.request.Request(self._target, data=body.encode(), headers=self._headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise ChainError(
                f"RPC {self.shown} answered HTTP {exc.code} to {method}. Next step: check the URL and its API key"
            ) from None
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ChainError(
                f"RPC {self.shown} is unreachable ({_reason(reason)}) while calling {method}. "
                "Next step: check the network's rpc_url, that the node is up, and the firewall"
            ) from None
        except json.JSONDecodeError:
            raise ChainError(f"RPC {self.shown} did not answer JSON to {method}: is it a JSON-RPC endpoint?") from None
        if "error" in payload:
            error = payload["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ChainError(f"RPC {self.shown} answered an error to {method}: {message}")
        return payload.get("result")

    def chain_id(self) -> int:
        return int(self.call("eth_chainId"), 16)

    def latest_block(self) -> BlockPin:
        block = self.call("eth_getBlockByNumber", "latest", False)
        if not isinstance(block, dict):
            raise ChainError(f"RPC {self.shown} returned no latest block")
        return BlockPin(int(block["number"], 16), str(block["hash"]), int(block["timestamp"], 16))

    def balance(self, address: str, block: int) -> int:
        return int(self.call("eth_getBalance", address, hex(block)), 16)

    def nonce(self, address: str, block: int) -> int:
        return int(self.call("eth_getTransactionCount", address, hex(block)), 16)

    def code(self, address: str, block: int) -> bytes:
        text = str(self.call("eth_getCode", address, hex(block)))
        return bytes.fromhex(text[2:] if text.startswith("0x") else text)

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


def _reason(reason: object) -> str:
    text = str(reason)
    if isinstance(reason, ConnectionRefusedError) or "refused" in text.lower():
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    if "Name or service not known" in text or "getaddrinfo" in text:
        return "host name not resolved"
    return type(reason).__name__ if not isinstance(reason, str) else reason
