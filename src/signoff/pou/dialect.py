"""How one broker speaks, and the model rules it claims: ``[pou.dialect]`` and ``[pou.model]``.

The checks of the e2e_pou suite judge rules (the seed's k-of-m quorum, who may attest what), not
the details of one implementation. What differs between brokers that follow the same rules is
read from here: success is any 2xx unless the target pins a code; numbers may come back as
numeric strings ("0.9500"); the DID header, the reputation path, the WebSocket handshake and the
notification shape are named by the target. Every check says in its evidence which rule it
applied.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from signoff.errors import ConfigError

if TYPE_CHECKING:
    from signoff.target import _Table

ATTESTATION_TYPES = ("ACCEPTED", "REJECTED", "AUDIT_PASS", "AUDIT_FAIL")
SUCCESS = range(200, 300)
CLIENT_ERROR = range(400, 500)

# What each answer must be, by default: the seed's codes where it names one, else the class.
DEFAULT_STATUS: Mapping[str, str] = {
    "read": "2xx",  # GET /health, receipt, committee, reputation
    "settle": "2xx",  # the seed: "POST settle -> receipt created"
    "attest": "2xx",  # "POST attestation -> 201" on the reference; any success elsewhere
    "finalize": "2xx",
    "no_did": "401",  # "DID authentication required (X-AINP-DID header)"
    "unauthorized": "403",  # UNAUTHORIZED_ATTESTATION
    "invalid": "4xx",  # a malformed body, a score out of range, a bad signature
    "duplicate": "409",
    "quorum_not_met": "409",  # QUORUM_NOT_MET
    "finalized": "4xx",  # an attestation on a finalized receipt
}
_STATUS_FORM = re.compile(r"[1-5]xx|[1-5][0-9][0-9]")


class StatusRule(frozenset[int]):
    """The status codes one rule accepts, with the rule's name (what the evidence shows as expected) and
    its ``[pou.dialect.status]`` key."""

    label: str
    case: str

    def __new__(cls, codes: Collection[int], label: str, case: str = "") -> StatusRule:
        rule = super().__new__(cls, codes)
        rule.label = label
        rule.case = case
        return rule


@dataclass(frozen=True)
class Dialect:
    did_header: str = "X-AINP-DID"
    sign_attestations: bool = False  # Ed25519 over the JCS form, base64, in "signature"
    reputation_path: str = "/api/reputation/{did}"
    websocket_url: str = "/ws?did={did}"
    websocket_subscribe: str = ""  # JSON text sent after opening ({did} replaced); empty: none
    websocket_greeting: bool = True  # the broker answers the subscription before any notification
    notification_task_id: str = "task_id"  # dotted path of the task id in a settlement notification
    status: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_STATUS))

    def codes(self, case: str) -> StatusRule:
        """The status codes ``case`` accepts (a pinned code, or a whole class), named for the evidence."""
        rule = self.status[case]
        if rule.endswith("xx"):
            base = int(rule[0]) * 100
            return StatusRule(range(base, base + 100), self.rule(case, named=True), case)
        return StatusRule((int(rule),), self.rule(case, named=True), case)

    def rule(self, case: str, *, named: bool = False) -> str:
        """How the evidence names the rule applied to ``case``: ``2xx (default)``, ``201 ([pou.dialect.status]
        settle)``."""
        source = f"[pou.dialect.status] {case}" if case in self._pinned else ("default " + case if named else "default")
        return f"{self.status[case]} ({source})"

    @property
    def _pinned(self) -> frozenset[str]:
        return frozenset(key for key, value in self.status.items() if DEFAULT_STATUS.get(key) != value)


@dataclass(frozen=True)
class ModelRules:
    """The broker's model, as the team states it; checked for consistency and then against the broker."""

    quorum_types: tuple[str, ...] = ("AUDIT_PASS",)  # counted toward k on the manual path
    finalizer_quorum_types: tuple[str, ...] = ("AUDIT_PASS",)  # ... and by the automatic finalizer
    ewma_alpha: float = 0.2
    reputation_moves_at: str = "settlement"  # or "finalization"
    finalizer_batch: int = 0  # receipts per finalizer run (the checklist's LIMIT 100); 0: no limit

    def inconsistencies(self) -> list[str]:
        """What in these rules contradicts itself (each a finding of PU-QRM)."""
        problems = []
        if set(self.quorum_types) != set(self.finalizer_quorum_types):
            problems.append(
                f"the manual path counts {', '.join(self.quorum_types)} toward the quorum and the finalizer counts "
                f"{', '.join(self.finalizer_quorum_types)}: one receipt can be final on one path and pending on the "
                "other. Next step: make [pou.model] quorum_types and finalizer_quorum_types the same, in the broker "
                "first"
            )
        if "AUDIT_PASS" not in self.quorum_types:
            problems.append("AUDIT_PASS does not count toward the quorum on the manual path (quorum_types)")
        return problems


def parse_dialect(table: _Table) -> Dialect:
    header = table.string("did_header") or Dialect.did_header
    if not re.fullmatch(r"[A-Za-z0-9-]+", header):
        raise ConfigError(
            f"{table.file}: [{table.where}] did_header = {header!r} is not an HTTP header name. Next step: e.g. "
            '"X-AINP-DID"'
        )
    reputation = table.string("reputation_path") or Dialect.reputation_path
    socket = table.string("websocket_url") or Dialect.websocket_url
    for key, value in (("reputation_path", reputation), ("websocket_url", socket)):
        if not value.startswith("/"):
            raise ConfigError(f"{table.file}: [{table.where}] {key} = {value!r} must start with /. Next step: fix it")
    if "{did}" not in reputation:
        raise ConfigError(
            f"{table.file}: [{table.where}] reputation_path = {reputation!r} never mentions {{did}}. Next step: e.g. "
            '"/api/agents/{did}/reputation"'
        )
    subscribe = table.string("websocket_subscribe") or ""
    if "{did}" not in socket and "{did}" not in subscribe:
        raise ConfigError(
            f"{table.file}: [{table.where}] neither websocket_url nor websocket_subscribe mentions {{did}}, so the "
            "broker cannot tell whose notifications a socket wants. Next step: e.g. websocket_subscribe = "
            '\'{"type": "auth", "did": "{did}"}\''
        )
    status_table = table.table("status")
    status = dict(DEFAULT_STATUS)
    for case in DEFAULT_STATUS:
        value = status_table._take_raw(case, False)
        if value is None:
            continue
        text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
        if not _STATUS_FORM.fullmatch(text):
            raise ConfigError(
                f"{table.file}: [{status_table.where}] {case} = {value!r} is not a status code or class. Next step: "
                'a code (200) or a class ("2xx")'
            )
        status[case] = text
    status_table.done()
    greeting = table.boolean("websocket_greeting")
    sign = table.boolean("sign_attestations")
    task_field = table.string("notification_task_id") or Dialect.notification_task_id
    table.done()
    return Dialect(
        did_header=header,
        sign_attestations=bool(sign),
        reputation_path=reputation,
        websocket_url=socket,
        websocket_subscribe=subscribe,
        websocket_greeting=True if greeting is None else greeting,
        notification_task_id=task_field,
        status=status,
    )


def parse_model(table: _Table) -> ModelRules:
    manual = tuple(table.string_list("quorum_types")) or ModelRules.quorum_types
    automatic = tuple(table.string_list("finalizer_quorum_types")) or manual
    for key, types in (("quorum_types", manual), ("finalizer_quorum_types", automatic)):
        unknown = [t for t in types if t not in ATTESTATION_TYPES]
        if unknown:
            raise ConfigError(
                f"{table.file}: [{table.where}] {key} names {', '.join(unknown)}, not an attestation type. "
                f"Valid choices: {', '.join(ATTESTATION_TYPES)}"
            )
    moves = table.string("reputation_moves_at") or "settlement"
    if moves not in ("settlement", "finalization"):
        raise ConfigError(
            f"{table.file}: [{table.where}] reputation_moves_at = {moves!r}. Valid choices: settlement, finalization"
        )
    rules = ModelRules(
        quorum_types=manual,
        finalizer_quorum_types=automatic,
        ewma_alpha=table.number("ewma_alpha", default=0.2, minimum=0.0, maximum=1.0),
        reputation_moves_at=moves,
        finalizer_batch=table.integer("finalizer_batch", default=0, minimum=0, maximum=100_000) or 0,
    )
    table.done()
    return rules


@dataclass(frozen=True)
class LogRules:
    """``[pou.logs]``: what the broker's own output must and must not say (PU-LOG)."""

    # a matching line is a finding (error, exception, traceback, fatal, failed, failure; any case)
    errors: tuple[str, ...] = (r"(?i)\b(errors?|exceptions?|traceback|fatal|failed|failure)\b",)
    ignore: tuple[str, ...] = ()  # lines matching these are not judged
    scheduled: tuple[str, ...] = ()  # each must match some line: its cron jobs were scheduled

    def judge(self, text: str) -> tuple[list[str], list[str]]:
        """(lines that match an error pattern, scheduled patterns no line matches)."""
        ignored = [re.compile(p) for p in self.ignore]
        lines = [line for line in text.splitlines() if line.strip() and not any(p.search(line) for p in ignored)]
        errors = [re.compile(p) for p in self.errors]
        bad = [line for line in lines if any(p.search(line) for p in errors)]
        missing = [p for p in self.scheduled if not any(re.search(p, line) for line in lines)]
        return bad, missing


def parse_logs(table: _Table) -> LogRules:
    rules = {}
    for key in ("errors", "ignore", "scheduled"):
        patterns = table.string_list(key)
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(
                    f"{table.file}: [{table.where}] {key}: {pattern!r} is not a regular expression ({exc}). "
                    "Next step: fix it (a TOML literal string '...' keeps backslashes as they are)"
                ) from None
        if patterns or key != "errors":
            rules[key] = tuple(patterns)
    table.done()
    return LogRules(**rules)


# -- numbers as brokers write them ------------------------------------------------------------------


def as_number(value: Any) -> float | None:
    """A JSON number, or a numeric string ("0.9500"), as a float; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*", value):
        return float(value)
    return None


def resolution(value: Any) -> float:
    """How exactly a broker wrote ``value``: half a unit of its last decimal for a numeric string
    ("0.9500" -> 0.00005), else float precision."""
    if isinstance(value, str) and "." in value and "e" not in value.lower():
        decimals = len(value.strip().split(".")[1])
        return 0.5 / 10.0**decimals + 1e-12
    return 1e-9


def dig(message: Any, dotted: str) -> Any:
    """``message["data"]["task_id"]`` for ``"data.task_id"``; None where a step is missing."""
    for step in dotted.split("."):
        if not isinstance(message, Mapping):
            return None
        message = message.get(step)
    return message
