"""Session fixtures of the e2e_pou suite: the database, the broker, and test data.

Imported by the plugin so pytest finds them; every heavy import (psycopg, httpx, pgserver,
uvicorn) happens inside a fixture body. Infrastructure problems fail the test that needs
them, with the reason and the next step; they never skip (a sign-off run must not turn
green by not checking).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from signoff.errors import ConfigError, SignoffError
from signoff.redaction import redact
from signoff.target import PouSettings

if TYPE_CHECKING:
    from signoff.pou.client import BrokerClient
    from signoff.pou.database import Server


def unique(prefix: str) -> str:
    """A fresh test DID (signoff's namespace, so it is recognisable in a shared database)."""
    return f"did:signoff:{prefix}:{uuid.uuid4().hex[:10]}"


def _worker(config: pytest.Config) -> str:
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    return "".join(ch for ch in str(worker).lower() if ch.isalnum()) or "main"


@pytest.fixture(scope="session")
def pou_settings(request: pytest.FixtureRequest) -> PouSettings:
    """The target's ``[pou]`` table with ``${VAR}`` values expanded (secrets registered)."""
    from signoff.plugin import settings_of

    try:
        return settings_of(request.config).target.pou()
    except ConfigError as exc:
        pytest.fail(redact(str(exc)), pytrace=False)


@pytest.fixture(scope="session")
def pou_server(request: pytest.FixtureRequest, pou_settings: PouSettings) -> Iterator[Server]:
    """A throwaway PostgreSQL (testcontainers, else pgserver), shared by the workers of one run."""
    from signoff.pou.database import start_server

    uid = getattr(request.config, "workerinput", {}).get("testrun_uid")
    try:
        server = start_server(shared_key=uid)
    except SignoffError as exc:
        pytest.fail(redact(str(exc)), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pou_scratch(request: pytest.FixtureRequest, pou_server: Server) -> Iterator[str]:
    """URL of an empty database of this worker, for the migration rehearsal."""
    from signoff.pou.database import create_database, drop_database

    name = f"signoff_mig_{_worker(request.config)}"
    try:
        url = create_database(pou_server, name)
    except SignoffError as exc:
        pytest.fail(redact(str(exc)), pytrace=False)
    yield url
    drop_database(pou_server, name)


@dataclass
class Broker:
    """The broker under test, how to reach it and (for a started broker) its database."""

    url: str
    client: BrokerClient
    settings: PouSettings
    database_url: str | None  # the started broker's throwaway database; None for a live broker
    started: bool
    created: list[str] = field(default_factory=list)  # what the suite created, for the evidence

    def seeder(self) -> Seeder:
        if self.database_url is None:
            pytest.fail(
                "this check seeds agents and negotiations, which needs the broker's throwaway database; against "
                f"a live broker ({self.url}) signoff can only use the test DIDs of [pou] and creates nothing. "
                "Next step: run it against the reference broker or your broker started over signoff's database",
                pytrace=False,
            )
        return Seeder(self.database_url, self.created)


class Seeder:
    """Test agents, trust scores and negotiations, written into the broker's throwaway database."""

    def __init__(self, url: str, created: list[str]) -> None:
        self.url = url
        self.created = created

    def _execute(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        import psycopg

        with psycopg.connect(self.url) as conn:
            for sql, params in statements:
                conn.execute(sql.encode(), params)

    def agent_pool(self, trust: Mapping[str, float], *, exclusive: bool = True) -> None:
        """Register ``trust`` (DID -> score) as the active agents; others become inactive if ``exclusive``."""
        statements: list[tuple[str, tuple[Any, ...]]] = []
        if exclusive:
            statements.append(("UPDATE agents SET active = FALSE", ()))
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
        self.created.append(f"{len(trust)} agents")

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
        self.created.append(f"negotiation {negotiation_id}")
        return negotiation_id


@pytest.fixture(scope="session")
def pou_broker(request: pytest.FixtureRequest, pou_settings: PouSettings) -> Iterator[Broker]:
    """The broker: the live one at ``[pou] url``, else the reference broker started for the run."""
    from signoff.pou.client import BrokerClient, BrokerUnreachable

    if pou_settings.url is not None:
        client = BrokerClient(pou_settings.url, websocket_path=pou_settings.websocket_path)
        try:
            client.health()
        except BrokerUnreachable as exc:
            pytest.fail(str(exc), pytrace=False)
        yield Broker(pou_settings.url, client, pou_settings, None, started=False)
        client.close()
        return
    yield from _reference_broker(request, pou_settings)


def _reference_broker(request: pytest.FixtureRequest, settings: PouSettings) -> Iterator[Broker]:
    import psycopg

    from signoff.pou.client import BrokerClient
    from signoff.pou.database import create_database, drop_database
    from signoff.pou.migrations import apply_all, discover
    from signoff.pou.reference import ReferenceBroker

    if settings.reference is None:
        pytest.fail(
            "[pou] has neither url (a running broker) nor reference (the reference broker's directory). "
            "Next step: set one of them in the target file",
            pytrace=False,
        )
    server: Server = request.getfixturevalue("pou_server")
    name = f"signoff_broker_{_worker(request.config)}"
    try:
        url = create_database(server, name)
        with psycopg.connect(url) as conn:
            # The broker owns its schema: its own prerequisites and migrations, not the target's
            # [pou] migrations (those are rehearsed by PU-MIG in a scratch database).
            for directory in (settings.reference / "prerequisites", settings.reference / "migrations"):
                apply_all(conn, discover(directory).ordered)
        broker = ReferenceBroker(
            settings.reference,
            url,
            variant=settings.reference_variant,
            k=settings.k,
            m=settings.m,
            finalizer_interval_seconds=settings.finalizer_interval_seconds,
        )
        base = broker.start()
    except (SignoffError, psycopg.Error) as exc:
        pytest.fail(redact(f"the reference broker could not be started: {exc}"), pytrace=False)
    client = BrokerClient(base, websocket_path=settings.websocket_path)
    try:
        yield Broker(base, client, settings, url, started=True)
    finally:
        client.close()
        broker.stop()
        drop_database(server, name)
