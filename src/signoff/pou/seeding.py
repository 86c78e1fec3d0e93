"""The e2e_pou suite's own test data: which DIDs it uses, how it seeds them, what it created.

Seeding goes through the broker's test-seeding API (``/api/test``, see
fixtures/reference/pou/broker.py) where the broker has one, else through the throwaway
database signoff started the broker on. Against a live broker the suite uses only the test
DIDs of ``[pou]`` and seeds only through the API; without it, the checks that need test data
fail saying what was not checked. Every request that creates or changes something on the
broker goes into a :class:`Journal`, whose entries become the PU-SEED evidence rows of the
check that made them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from signoff.errors import SignoffError
from signoff.redaction import display_url

if TYPE_CHECKING:
    from signoff.pou.client import Answer, BrokerClient, Request
    from signoff.target import PouSettings

FRESH_PREFIX = "did:signoff:"  # the namespace of the reference broker signoff starts
THROUGH_API = "broker test API"
THROUGH_BROKER = "broker API"
THROUGH_DATABASE = "throwaway database"
_RECEIPT_PATH = re.compile(r"/api/receipts/(?P<task>[^/]+)/(?P<action>attestations|finalize)")
_SETTLE_PATH = re.compile(r"/api/negotiations/(?P<negotiation>[^/]+)/settle")


class SeedingError(SignoffError):
    """The broker refused or failed a seeding request."""


# -- who takes part -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Parties:
    """The DIDs of one settlement: client, agent, the agent pool's members and outsiders."""

    client: str
    agent: str
    members: tuple[str, ...]
    outsiders: tuple[str, ...]


def fresh_parties(members: int, outsiders: int = 1, tag: str = "") -> Parties:
    """New DIDs in signoff's namespace (a started broker: each settlement gets its own), named
    ``did:signoff:<tag or random>:<role>`` so a report reads ``member2``, not a random string."""
    run = f"{FRESH_PREFIX}{tag or uuid.uuid4().hex[:10]}"
    return Parties(
        f"{run}:client",
        f"{run}:agent",
        tuple(f"{run}:member{i}" for i in range(members)),
        tuple(f"{run}:outsider{i}" for i in range(outsiders)),
    )


def configured_parties(settings: PouSettings, members: int, outsiders: int = 1) -> Parties:
    """The ``[pou]`` test DIDs (a live broker): the first ``members`` test agents, the outsider,
    then test agents outside the pool as further outsiders."""
    missing = missing_test_dids(settings, members)
    if missing:
        raise SeedingError(missing)
    assert settings.client_did and settings.agent_did and settings.outsider_did  # checked just above
    pool = settings.test_agent_dids[:members]
    spare = [did for did in settings.test_agent_dids if did not in pool]
    others = [settings.outsider_did, *spare]
    return Parties(
        settings.client_did,
        settings.agent_did,
        tuple(pool),
        tuple(others[i % len(others)] for i in range(outsiders)),
    )


def missing_test_dids(settings: PouSettings, members: int) -> str | None:
    """Why the configured test DIDs cannot seed a pool of ``members``, or ``None``."""
    absent = [key for key in ("client_did", "agent_did", "outsider_did") if getattr(settings, key) is None]
    if not settings.test_agent_dids:
        absent.append("test_agent_dids")
    if absent:
        return (
            f"[pou] {', '.join(absent)} not set: against a live broker signoff uses only the test DIDs the target "
            "file names. Next step: set client_did, agent_did, outsider_did and test_agent_dids (at least m + 2) "
            "to DIDs in the broker's test namespace"
        )
    if members > len(settings.test_agent_dids):
        return (
            f"this check needs {members} test agents and [pou] test_agent_dids names "
            f"{len(settings.test_agent_dids)}. Next step: add test agent DIDs (at least m + 2 = {settings.m + 2})"
        )
    return None


def configured_dids(settings: PouSettings) -> list[str]:
    values = [settings.client_did, settings.agent_did, settings.outsider_did, *settings.test_agent_dids]
    return [did for did in values if did is not None]


# -- what the run created -------------------------------------------------------------------------


@dataclass
class Created:
    kind: str
    id: str
    detail: str
    through: str


@dataclass
class Journal:
    """Everything the suite created or changed on the broker, in order."""

    entries: list[Created] = field(default_factory=list)

    def note(self, kind: str, id_: str, detail: str, through: str) -> None:
        self.entries.append(Created(kind, id_, detail, through))

    def observe(self, request: Request, answer: Answer) -> None:
        """The client's observer: turn a successful creating request into an entry."""
        for entry in entries_for(request, answer):
            self.entries.append(entry)


def entries_for(request: Request, answer: Answer) -> list[Created]:
    """What one answered request created or changed (nothing for reads and refusals)."""
    body = request.body if isinstance(request.body, dict) else {}
    if request.method == "PUT" and request.path.endswith("/api/test/agents") and answer.status == 200:
        return [Created("agents", _count(body.get("agents")), _pool_detail(body, answer), THROUGH_API)]
    if request.method == "POST" and request.path.endswith("/api/test/negotiations") and answer.status == 201:
        detail = f"client {body.get('client_did')}, agent {body.get('agent_did')}, amount {body.get('amount_atomic')}"
        return [Created("negotiation", str(answer.field("negotiation_id")), detail, THROUGH_API)]
    settle = _SETTLE_PATH.fullmatch(request.path)
    if request.method == "POST" and settle and answer.status == 201:
        receipt = answer.field("receipt") if isinstance(answer.field("receipt"), dict) else {}
        detail = (
            f"settled negotiation {settle['negotiation']}: receipt {receipt.get('status')}, committee "
            f"{', '.join(receipt.get('committee') or []) or '(empty)'}; the broker also updates the reputation of "
            f"{receipt.get('agent_did')}"
        )
        return [Created("receipt", str(answer.field("task_id")), detail, THROUGH_BROKER)]
    receipt_action = _RECEIPT_PATH.fullmatch(request.path)
    if request.method == "POST" and receipt_action and receipt_action["action"] == "attestations":
        if answer.status == 201:
            detail = f"{body.get('type')} by {request.did} on receipt {receipt_action['task']}"
            return [Created("attestation", str(answer.field("id")), detail, THROUGH_BROKER)]
    if request.method == "POST" and receipt_action and receipt_action["action"] == "finalize":
        if answer.status == 200 and answer.field("status") == "finalized":
            return [Created("receipt finalized", receipt_action["task"], "manual finalize", THROUGH_BROKER)]
    return []


def _count(agents: Any) -> str:
    """``"9 set active, 9 set inactive"``: the DIDs one pool request touched."""
    if not isinstance(agents, dict):
        return ""
    active = sum(1 for spec in agents.values() if isinstance(spec, dict) and spec.get("active"))
    return f"{active} set active, {len(agents) - active} set inactive"


def _pool_detail(body: Mapping[str, Any], answer: Answer) -> str:
    raw = body.get("agents")
    agents: dict[str, Any] = raw if isinstance(raw, dict) else {}
    created = set(answer.field("created") or [])

    def label(did: str, spec: Any) -> str:
        trust = f"trust {spec.get('trust')}" if isinstance(spec, dict) and spec.get("trust") is not None else ""
        notes = ", ".join(n for n in (trust, "created" if did in created else "") if n)
        return f"{did} ({notes})" if notes else did

    active = [label(d, s) for d, s in agents.items() if isinstance(s, dict) and s.get("active")]
    inactive = [label(d, s) for d, s in agents.items() if not (isinstance(s, dict) and s.get("active"))]
    parts = [f"active: {', '.join(active)}" if active else "", f"inactive: {', '.join(inactive)}" if inactive else ""]
    return "; ".join(p for p in parts if p)


def seed_rows(
    entries: Sequence[Created], start: int, check: str, test: str, *, throwaway: bool = False
) -> list[dict[str, str]]:
    """PU-SEED rows for the entries one test made; the attestations on one receipt share a row.

    ``throwaway``: the broker's database is signoff's and is dropped after the run, so one row
    per kind of thing (a count and the first ids) keeps the report small; on a live broker every
    thing created is listed, as that is what its operator may want to find again.
    """
    rows = _summary(entries) if throwaway else _listing(entries)
    return [{"order": f"{start + i:06d}", "check": check, "test": test, **row} for i, row in enumerate(rows)]


def _listing(entries: Sequence[Created]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    attestations: dict[str, list[str]] = {}
    for entry in entries:
        if entry.kind == "attestation":
            task = entry.detail.rsplit(" on receipt ", 1)[-1]
            if task not in attestations:
                attestations[task] = []
                rows.append({"kind": "attestations", "id": f"receipt {task}", "through": entry.through})
            attestations[task].append(entry.detail.rsplit(" on receipt ", 1)[0])
        else:
            rows.append({"kind": entry.kind, "id": entry.id, "detail": entry.detail, "through": entry.through})
    for row in rows:
        if row["kind"] == "attestations":
            made = attestations[row["id"].removeprefix("receipt ")]
            row["detail"] = f"{len(made)}: {', '.join(made)}"
    return rows


def _summary(entries: Sequence[Created]) -> list[dict[str, str]]:
    by_kind: dict[tuple[str, str], list[str]] = {}
    for entry in entries:
        by_kind.setdefault((entry.kind, entry.through), []).append(entry.id)
    rows = []
    for (kind, through), ids in by_kind.items():
        shown = ", ".join(ids[:3]) + (f", ... ({len(ids) - 3} more)" if len(ids) > 3 else "")
        detail = f"{shown}; in the throwaway database, dropped at the end of the run"
        rows.append({"kind": kind, "id": f"{len(ids)} in this check", "detail": detail, "through": through})
    return rows


# -- seeding ----------------------------------------------------------------------------------------


class ApiSeeder:
    """Test agents and negotiations through the broker's test-seeding API.

    ``universe`` is every DID this seeder may have left active (a live broker: all configured
    test DIDs, as another worker may have activated any of them); a pool deactivates those of
    them not in it, and nothing else.
    """

    through = THROUGH_API

    def __init__(self, client: BrokerClient, universe: Iterable[str] | None = None) -> None:
        self.client = client
        self.universe = frozenset(universe) if universe is not None else None
        self.active: set[str] = set()

    def agent_pool(self, trust: Mapping[str, float]) -> None:
        """Make ``trust`` (DID -> score) the active test agents; deactivate the others it knows."""
        known = self.universe if self.universe is not None else self.active
        agents: dict[str, dict[str, Any]] = {did: {"active": True, "trust": score} for did, score in trust.items()}
        agents |= {did: {"active": False, "trust": None} for did in sorted(known - set(trust))}
        if not agents:
            return  # an empty pool, and nothing of ours active
        answer = self.client.seed_agents(agents)
        if answer.status != 200:
            raise SeedingError(
                f"the broker at {display_url(self.client.url)} refused the test agent pool (PUT /api/test/agents): "
                f"{answer.short()}. Next step: check that every [pou] test DID is in the broker's test namespace"
            )
        self.active = set(trust)

    def negotiation(self, client: str, agent: str, amount_atomic: int = 1000) -> str:
        answer = self.client.seed_negotiation(client, agent, amount_atomic)
        negotiation_id = answer.field("negotiation_id")
        if answer.status != 201 or not isinstance(negotiation_id, str):
            raise SeedingError(
                f"the broker at {display_url(self.client.url)} did not create the test negotiation {client} -> "
                f"{agent} (POST /api/test/negotiations): {answer.short()}, expected 201 with negotiation_id. "
                "Next step: fix the broker's test-seeding API"
            )
        return negotiation_id

    def retire(self) -> None:
        """Leave no test agent of this run active (end of the session; best effort)."""
        leftover = self.universe if self.universe is not None else self.active
        if leftover:
            self.client.seed_agents({did: {"active": False, "trust": None} for did in sorted(leftover)})
            self.active = set()


class DatabaseSeeder:
    """Test agents, trust scores and negotiations written into the broker's throwaway database
    (a started broker without the test-seeding API)."""

    through = THROUGH_DATABASE

    def __init__(self, url: str, journal: Journal) -> None:
        self.url = url
        self.journal = journal

    def _execute(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        import psycopg

        with psycopg.connect(self.url) as conn:
            for sql, params in statements:
                conn.execute(sql.encode(), params)

    def agent_pool(self, trust: Mapping[str, float]) -> None:
        """Register ``trust`` (DID -> score) as the only active agents (the database is signoff's)."""
        statements: list[tuple[str, tuple[Any, ...]]] = [("UPDATE agents SET active = FALSE", ())]
        for did, score in trust.items():
            statements.append(
                (
                    "INSERT INTO agents (did, active) VALUES (%s, TRUE) ON CONFLICT (did) DO UPDATE SET active = TRUE",
                    (did,),
                )
            )
            statements.append(
                (
                    "INSERT INTO trust_scores (agent_did, score) VALUES (%s, %s) "
                    "ON CONFLICT (agent_did) DO UPDATE SET score = EXCLUDED.score",
                    (did, score),
                )
            )
        self._execute(statements)
        active = ", ".join(f"{did} (trust {score})" for did, score in trust.items())
        detail = f"active: {active}; every other agent inactive"
        self.journal.note("agents", f"{len(trust)} set active, all others inactive", detail, self.through)

    def negotiation(self, client: str, agent: str, amount_atomic: int = 1000) -> str:
        negotiation_id = str(uuid.uuid4())
        self._execute(
            [
                (
                    "INSERT INTO negotiations (id, intent_id, client_did, agent_did, intent_type, amount_atomic) "
                    "VALUES (%s, %s, %s, %s, 'signoff.test', %s)",
                    (negotiation_id, str(uuid.uuid4()), client, agent, amount_atomic),
                )
            ]
        )
        detail = f"client {client}, agent {agent}, amount {amount_atomic}"
        self.journal.note("negotiation", negotiation_id, detail, self.through)
        return negotiation_id

    def attestation(self, task_id: str, by_did: str, type_: str, score: float = 0.9, confidence: float = 0.9) -> None:
        """A row written straight into the attestations table (PU-FIN's finalizer probe), not through the API."""
        self._execute(
            [
                (
                    "INSERT INTO task_attestations (task_id, by_did, type, score, confidence) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (task_id, by_did, type_, score, confidence),
                )
            ]
        )
        self.journal.note("attestation", f"{type_} by {by_did}", f"written by SQL on receipt {task_id}", self.through)

    def retire(self) -> None:
        """Nothing to do: the database goes away with the broker."""


Seeder = ApiSeeder | DatabaseSeeder


def api_refusal(info: Answer, url: str, dids: Sequence[str]) -> str | None:
    """Why the broker's ``GET /api/test`` answer rules out seeding ``dids``, or ``None``."""
    where = f"the broker at {display_url(url)}"
    if info.status == 404:
        return (
            f"{where} has no test-seeding API (GET /api/test answered 404), and signoff never writes into a live "
            "broker's database. Next step: enable the broker's test-seeding API (see the README, e2e_pou against "
            "your broker)"
        )
    if info.status in (401, 403):
        return (
            f"{where} refused [pou] seed_token (GET /api/test answered {info.status}). Next step: set the "
            "environment variable seed_token names to the broker's test API token"
        )
    prefix = info.field("did_prefix")
    if info.status != 200 or not isinstance(prefix, str) or not prefix:
        return f"{where} answered GET /api/test with {info.short()}, expected 200 with did_prefix"
    outside = [did for did in dids if not did.startswith(prefix)]
    if outside:
        return (
            f"[pou] names test DIDs outside the broker's test namespace {prefix!r}: {', '.join(outside)}; the broker "
            f"would refuse them. Next step: use DIDs that start with {prefix}"
        )
    return None
