"""A client for the broker API of CRITERIA.md (JSON over HTTP, notifications over WebSocket).

It returns what the broker answered (status code and JSON body) and never interprets it: the
checks decide. A transport failure raises :class:`BrokerUnreachable` naming the host only. An
optional observer sees every request and answer (signoff.pou.seeding keeps its journal of what
the run created that way), and the test-seeding API (``/api/test``) is called with the bearer
token given at construction, which is sent on those calls only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from signoff.deadline import DeadlineExceeded, run_within
from signoff.errors import SignoffError
from signoff.pou.dialect import Dialect
from signoff.pou.identity import Identities
from signoff.redaction import display_url, redact

SEED_PATH = "/api/test"
MAX_BACKOFF_SECONDS = 65.0  # a broker's per-minute rate limit: at most one window waited per request


class BrokerUnreachable(SignoffError):
    """The broker did not answer (connection refused, timeout)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # parsed JSON, or the raw text when the body is not JSON

    def field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None

    def short(self, limit: int = 300) -> str:
        """The status and the body, cut at ``limit`` characters with a marker saying how much was left out."""
        text = self.body if isinstance(self.body, str) else json.dumps(self.body, sort_keys=True)
        if len(text) > limit:
            text = f"{text[:limit]}... [{len(text) - limit:,} more characters not shown]"
        return redact(f"HTTP {self.status} {text}")


@dataclass(frozen=True)
class Request:
    """One request as the observer sees it (never the token)."""

    method: str
    path: str
    did: str | None
    body: Any


Observer = Callable[[Request, Answer], None]


class BrokerClient:
    """HTTP calls to one broker; one connection pool per client."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        deadline: float = 10.0,
        dialect: Dialect | None = None,
        identities: Identities | None = None,
        seed_token: str | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.dialect = dialect or Dialect()
        self.identities = identities  # when set, every DID the client acts as must be one of them
        self.backed_off = 0.0  # seconds waited on 429 answers, for the evidence
        self.observer = observer
        self._seed_token = seed_token
        self._timeout = timeout  # per network operation
        self.deadline = deadline  # per request, whole answer included ([pou] request_timeout_seconds)
        self._http = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, *, did: str | None = None, body: Any = None) -> Answer:
        answer = self._send(method, path, did=did, body=body)
        if self.observer is not None:
            self.observer(Request(method, path, did, body), answer)
        return answer

    def _send(self, method: str, path: str, *, did: str | None = None, body: Any = None) -> Answer:
        """One request; a 429 is waited out (its Retry-After, within MAX_BACKOFF_SECONDS) and sent again."""
        import time

        if did is not None and self.identities is not None:
            self.identities.require(did)
        waited = 0.0
        while True:
            answer, retry_after = self._exchange(method, path, did=did, body=body)
            if answer.status != 429 or waited >= MAX_BACKOFF_SECONDS:
                return answer
            pause = min(max(retry_after, 0.5), MAX_BACKOFF_SECONDS - waited)
            time.sleep(pause)
            waited += pause
            self.backed_off += pause

    def _exchange(self, method: str, path: str, *, did: str | None, body: Any) -> tuple[Answer, float]:
        headers = {self.dialect.did_header: did} if did is not None else {}
        if path.startswith(SEED_PATH) and self._seed_token is not None:
            headers["Authorization"] = f"Bearer {self._seed_token}"
        http = self._http
        try:
            response = run_within(
                self.deadline, lambda: http.request(method, path, headers=headers, json=body), cancel=http.close
            )
        except DeadlineExceeded:
            self._http = httpx.Client(base_url=self.url, timeout=self._timeout)  # the old one was closed to cut it off
            raise BrokerUnreachable(
                f"the broker at {display_url(self.url)} did not finish answering {method} {redact(path)} within "
                f"{self.deadline:g} s: as bad as no answer. Next step: find what makes the broker this slow, or "
                "raise [pou] request_timeout_seconds"
            ) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise BrokerUnreachable(
                f"the broker at {display_url(self.url)} did not answer {method} {redact(path)}: "
                f"{type(exc).__name__}: {redact(str(exc))}. Next step: start the broker or correct [pou] url"
            ) from None
        except httpx.HTTPError as exc:  # connected, then the broker broke off: a server fault
            raise BrokerUnreachable(
                f"the broker at {display_url(self.url)} broke off {method} {redact(path)} without an answer "
                f"({type(exc).__name__}: {redact(str(exc))}): a server fault, as bad as a 5xx. "
                "Next step: fix the broker's handling of this request"
            ) from None
        try:
            parsed: Any = response.json()
        except ValueError:
            parsed = response.text
        retry = response.headers.get("retry-after", "")
        return Answer(response.status_code, parsed), float(retry) if retry.strip().isdigit() else 1.0

    # -- the API -------------------------------------------------------------------------
    def health(self) -> Answer:
        return self._call("GET", "/health")

    def settle(self, negotiation_id: str, body: Mapping[str, Any] | None = None) -> Answer:
        return self._call("POST", f"/api/negotiations/{quote(negotiation_id, safe='')}/settle", body=dict(body or {}))

    def receipt(self, task_id: str) -> Answer:
        return self._call("GET", f"/api/receipts/{quote(task_id, safe='')}")

    def committee(self, task_id: str) -> Answer:
        return self._call("GET", f"/api/receipts/{quote(task_id, safe='')}/committee")

    def attest(
        self,
        task_id: str,
        did: str | None,
        type_: str,
        score: Any = 0.9,
        confidence: Any = 0.9,
        **extra: Any,
    ) -> Answer:
        body = {"type": type_, "score": score, "confidence": confidence, **extra}
        if (
            self.dialect.sign_attestations
            and did is not None
            and self.identities is not None
            and "signature" not in body
        ):
            signature = self.identities.signature(task_id, did, body)
            if signature is not None:
                body["signature"] = signature
        return self._call("POST", f"/api/receipts/{quote(task_id, safe='')}/attestations", did=did, body=body)

    def finalize(self, task_id: str, did: str | None = None) -> Answer:
        return self._call("POST", f"/api/receipts/{quote(task_id, safe='')}/finalize", did=did)

    def reputation(self, did: str) -> Answer:
        return self._call("GET", self.dialect.reputation_path.replace("{did}", quote(did, safe="")))

    # -- the test-seeding API (signoff's own test agents and negotiations) ------------------
    def seed_info(self) -> Answer:
        return self._call("GET", SEED_PATH)

    def seed_agents(self, agents: Mapping[str, Mapping[str, Any]]) -> Answer:
        """``agents``: DID -> ``{"active": bool, "trust": float | None}``."""
        return self._call("PUT", f"{SEED_PATH}/agents", body={"agents": {d: dict(a) for d, a in agents.items()}})

    def seed_negotiation(self, client: str, agent: str, amount_atomic: int = 1000) -> Answer:
        body = {"client_did": client, "agent_did": agent, "amount_atomic": amount_atomic}
        return self._call("POST", f"{SEED_PATH}/negotiations", body=body)

    def status_of(self, task_id: str) -> str | None:
        answer = self.receipt(task_id)
        receipt = answer.field("receipt")
        return receipt.get("status") if isinstance(receipt, dict) else None

    # -- WebSocket -----------------------------------------------------------------------
    def websocket_url(self, did: str) -> str:
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return f"{scheme}://{parts.netloc}{self.dialect.websocket_url.replace('{did}', quote(did, safe=''))}"

    def status_after_settle(self, answer: Answer) -> tuple[str | None, dict[str, Any] | None]:
        """(task id, receipt) after a successful settle: from its body where the broker returns the
        receipt, else read back with GET (a broker may answer with the task id only)."""
        receipt = answer.field("receipt")
        task_id = answer.field("task_id") or (receipt.get("id") if isinstance(receipt, dict) else None)
        if task_id is None:
            return None, None
        if not isinstance(receipt, dict) or "committee" not in receipt:
            read = self.receipt(str(task_id)).field("receipt")
            receipt = read if isinstance(read, dict) else None
        return str(task_id), receipt


class Listener:
    """One WebSocket subscription for a DID; waits for the broker's ``subscribed`` greeting."""

    def __init__(self, client: BrokerClient, did: str, timeout: float = 5.0) -> None:
        from contextlib import ExitStack

        from websockets.sync.client import connect

        self._stack = ExitStack()
        self.did = did
        self.timeout = timeout
        url = client.websocket_url(did)
        dialect = client.dialect
        greeting: Any = None
        try:
            self._socket = self._stack.enter_context(connect(url, open_timeout=timeout, close_timeout=1))
            if dialect.websocket_subscribe:
                self._socket.send(dialect.websocket_subscribe.replace("{did}", did))
            if dialect.websocket_greeting:
                greeting = json.loads(self._socket.recv(timeout=timeout))
            else:  # nothing says the subscription is in place: give the broker a moment to take it
                import time

                time.sleep(0.3)
        except (OSError, TimeoutError, ValueError) as exc:
            raise BrokerUnreachable(
                f"WebSocket {display_url(url)} for {did} did not open: {type(exc).__name__}: {redact(str(exc))}"
            ) from None
        self.greeting: Any = greeting

    def wait_for(self, predicate: Any, timeout: float) -> tuple[Any | None, list[Any]]:
        import time

        seen: list[Any] = []
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                message = json.loads(self._socket.recv(timeout=remaining))
            except Exception:
                break
            seen.append(message)
            if predicate(message):
                return message, seen
        return None, seen

    def close(self) -> None:
        self._stack.close()
