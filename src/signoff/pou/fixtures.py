"""Session fixtures of the e2e_pou suite: the database, the broker, and test data.

Imported by the plugin so pytest finds them; every heavy import (psycopg, httpx, pgserver,
uvicorn) happens inside a fixture body. Infrastructure problems fail the test that needs
them, with the reason and the next step; they never skip (a sign-off run must not turn
green by not checking). Against a live broker (``[pou] url``) the suite seeds only through
the broker's test-seeding API, with the test DIDs of ``[pou]``, one check at a time across
xdist workers (they share those DIDs), and leaves its test agents inactive at the end.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from signoff.errors import ConfigError, SignoffError
from signoff.pou import workers
from signoff.pou.dialect import StatusRule
from signoff.pou.identity import Identities
from signoff.pou.seedfile import SqlFileSeeder
from signoff.pou.seeding import (
    FRESH_PREFIX,
    ApiSeeder,
    DatabaseSeeder,
    Journal,
    Parties,
    Seeder,
    SeedingError,
    api_refusal,
    configured_dids,
    configured_parties,
    fresh_parties,
    missing_test_dids,
    seed_rows,
)
from signoff.redaction import display_url, redact, register_secret
from signoff.stash import record_environment
from signoff.target import PouSettings

if TYPE_CHECKING:
    from signoff.evidence.collector import Evidence
    from signoff.pou.client import BrokerClient
    from signoff.pou.database import Server


def _worker(config: pytest.Config) -> str:
    """The xdist worker's name as it may appear in a database name: "gw0", or "main"."""
    return "".join(ch for ch in workers.worker_name(config).lower() if ch.isalnum()) or "main"


def run_key(config: pytest.Config) -> str | None:
    """What the xdist workers of one run share (xdist's test run id), or None (a serial run)."""
    key = getattr(config, "workerinput", {}).get("testrunuid")
    return str(key) if key else None


def live_lock_path(url: str) -> Path:
    """The lock that serialises the checks of every worker on one live broker."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"signoff-pou-live-{digest}.lock"


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The run is over (every xdist worker too): remove the live broker's lock file."""
    if hasattr(config, "workerinput"):
        return
    from signoff.stash import SETTINGS_KEY

    settings = config.stash.get(SETTINGS_KEY, None)
    url = None
    with contextlib.suppress(SignoffError):  # no [pou], or its variables are unset: no live broker was used
        url = settings.target.pou().url if settings is not None else None
    if url:
        live_lock_path(url).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def pou_settings(request: pytest.FixtureRequest) -> PouSettings:
    """The target's ``[pou]`` table with ``${VAR}`` values expanded (secrets registered)."""
    from signoff.stash import settings_of
    from signoff.suite import not_applicable

    target = settings_of(request.config).target
    if not target.has_pou:  # e.g. -m access_control on a target without a broker: not a failure
        not_applicable(
            f"no [pou] in {target.path}: the e2e_pou checks apply to a Proof-of-Usefulness broker. To check one, "
            'add [pou] (url = "http://host:port" for your broker, or reference = "pou" for ours)'
        )
    problem = ""
    try:
        return target.pou()
    except ConfigError as exc:
        problem = redact(str(exc))
    pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def scratch_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """A throwaway PostgreSQL (testcontainers, else pgserver), shared by the workers of one run: the
    broker's migrations (PU-MIG) and an application's (FL-MIG) are rehearsed on its databases."""
    from signoff.pou.database import start_server

    try:
        server = start_server(shared_key=run_key(request.config))
    except SignoffError as exc:
        pytest.fail(redact(str(exc)), pytrace=False)
    record_environment(request.config, "PostgreSQL (throwaway)", f"{server.kind}, {_server_version(server)}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pou_server(pou_settings: PouSettings, scratch_server: Server) -> Server:
    """The throwaway server, for a target with a broker (without one, e2e_pou is not applicable)."""
    return scratch_server


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


def _server_version(server: Server) -> str:
    import psycopg

    try:
        with psycopg.connect(server.admin_url, connect_timeout=10) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as exc:
        return f"version unknown ({exc.__class__.__name__})"
    return f"PostgreSQL {row[0]}" if row else "version unknown"


NOT_CHECKED = "not checked: this check needs its own test agents and negotiations on the broker, and "


@dataclass
class Broker:
    """The broker under test, how to reach it and (for a started broker) its database."""

    url: str
    client: BrokerClient
    settings: PouSettings
    database_url: str | None  # the started broker's throwaway database; None for a live broker
    started: bool
    journal: Journal = field(default_factory=Journal)  # what the suite created, for the evidence
    identities: Identities = field(default_factory=Identities)  # every DID the run may act as
    keyed: bool = False  # the team's own stack: real did:key identities, seeded through its seeding file
    read_log: Callable[[], str] | None = None  # what the broker printed so far (a broker signoff started)
    _seeder: Seeder | SqlFileSeeder | None = field(default=None, repr=False)
    _refusal: str | None = None

    def parties(self, members: int, outsiders: int = 1, tag: str = "") -> Parties:
        """The DIDs of one settlement: fresh ones on a started broker (did:key identities on a team's
        stack), the ``[pou]`` test DIDs on a live one."""
        if self.keyed:
            fresh = [self.identities.create().did for _ in range(2 + members + outsiders)]
            return Parties(fresh[0], fresh[1], tuple(fresh[2 : 2 + members]), tuple(fresh[2 + members :]))
        if self.started:
            parties = fresh_parties(members, outsiders, tag)
        else:
            try:
                parties = configured_parties(self.settings, members, outsiders)
            except SeedingError as exc:
                pytest.fail(NOT_CHECKED + str(exc), pytrace=False)
        self.identities.allow(parties.client, parties.agent, *parties.members, *parties.outsiders)
        return parties

    def outsider(self) -> str:
        """A DID that is no party to anything (for requests whose DID does not matter)."""
        if self.started or self.settings.outsider_did is None:
            return self.parties(0).outsiders[0]
        self.identities.allow(self.settings.outsider_did)
        return self.settings.outsider_did

    @property
    def fixed_quorum(self) -> bool:
        """One k and m for every receipt (a live broker, or a team's); only the reference takes them per settle."""
        return not self.started or self.keyed

    def codes(self, case: str) -> StatusRule:
        """The status codes the dialect accepts for ``case`` (signoff.pou.dialect.DEFAULT_STATUS)."""
        return self.settings.dialect.codes(case)

    def seeder(self) -> Seeder | SqlFileSeeder:
        """How test agents and negotiations get onto the broker; fails the check saying why it cannot
        (also when the run has created [pou] seed_cap things on a live broker already)."""
        made = len(self.journal.entries)
        if not self.started and made >= self.settings.seed_cap:
            pytest.fail(
                NOT_CHECKED + f"this run has created {made} things on the live broker at {display_url(self.url)} "
                f"([pou] seed_cap = {self.settings.seed_cap}; the PU-SEED table lists them). Next step: raise "
                "seed_cap if the broker may take more, or select fewer checks",
                pytrace=False,
            )
        if self._seeder is None and self._refusal is None:
            self._seeder, self._refusal = _open_seeder(self)
        if self._seeder is None:
            pytest.fail(NOT_CHECKED + (self._refusal or "no way to seed them"), pytrace=False)
        return self._seeder

    def direct_writer(self) -> tuple[DatabaseSeeder | SqlFileSeeder | None, str]:
        """What writes rows straight into the broker's throwaway database (never a live one), or why nothing can."""
        if not self.started or self.database_url is None:
            return None, "a live broker's database is never written"
        if not self.keyed:
            return DatabaseSeeder(self.database_url, self.journal), ""
        seeder = self.seeder()
        if isinstance(seeder, SqlFileSeeder) and seeder.seed.has("attestation"):
            return seeder, ""
        return None, f"[pou] seed_sql ({self.settings.seed_sql}) has no -- signoff:attestation block"

    def exclusive(self) -> contextlib.AbstractContextManager[Any]:
        """One check at a time on a live broker (workers share its test DIDs); a started one is per worker."""
        if self.started:
            return contextlib.nullcontext()
        from filelock import FileLock

        return FileLock(str(live_lock_path(self.url)))

    def retire(self) -> None:
        """End of the session: leave none of the run's test agents active (best effort)."""
        if self._seeder is not None:
            # Under the lock: another worker may be in the middle of a check with its pool active.
            with self.exclusive(), contextlib.suppress(SignoffError):
                self._seeder.retire()


def _open_seeder(broker: Broker) -> tuple[Seeder | SqlFileSeeder | None, str | None]:
    """(seeder, None), or (None, why this broker cannot be seeded)."""
    client = broker.client
    if not broker.started:
        return _open_live_seeder(broker)
    if broker.keyed:
        return _open_file_seeder(broker)
    info = client.seed_info()
    if info.status == 200:
        return ApiSeeder(client), None
    if info.status == 404 and broker.database_url is not None:
        return DatabaseSeeder(broker.database_url, broker.journal), None
    return None, f"the started broker answered GET /api/test with {info.short()}"


def _open_file_seeder(broker: Broker) -> tuple[SqlFileSeeder | None, str | None]:
    """The team's stack: its own seeding file writes signoff's identities into the throwaway database."""
    from signoff.pou.seedfile import load

    path = broker.settings.seed_sql
    if path is None or broker.database_url is None:
        return None, (
            "[pou] seed_sql is not set, so signoff cannot write its test agents and negotiations into your schema. "
            'Next step: seed_sql = "signoff/seed.sql" with -- signoff:agent and -- signoff:negotiation blocks (see '
            "the README, e2e_pou: a throwaway stack)"
        )
    try:
        return SqlFileSeeder(broker.database_url, load(path), broker.identities, broker.journal), None
    except ConfigError as exc:
        return None, str(exc)


def _open_live_seeder(broker: Broker) -> tuple[Seeder | None, str | None]:
    """A live broker: its test-seeding API with the [pou] test DIDs, or why not."""
    client, settings = broker.client, broker.settings
    missing = missing_test_dids(settings, settings.m + 2)
    if missing:
        return None, missing
    if settings.seed_token is None:
        return None, (
            f"[pou] seed_token is not set, so the test-seeding API of the broker at {display_url(broker.url)} "
            "cannot be used (signoff never writes into a live broker's database). Next step: seed_token = "
            '"${POU_SEED_TOKEN}" with the broker\'s test API token in that variable'
        )
    dids = configured_dids(settings)
    refusal = api_refusal(client.seed_info(), broker.url, dids)
    if refusal is not None:
        return None, refusal
    return ApiSeeder(client, universe=dids), None


@contextlib.contextmanager
def around_check(item: pytest.Item) -> Iterator[None]:
    """Wraps one e2e_pou check's call: serialises it on a live broker, keeps what it recorded
    when it stops early (signoff.pou.expect.stopped), and adds the PU-SEED rows of what it
    created to its evidence."""
    from signoff.pou.expect import stopped

    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    evidence: Evidence | None = funcargs.get("evidence")
    broker: Broker | None = funcargs.get("pou_broker")
    with broker.exclusive() if broker is not None else contextlib.nullcontext():
        mark = len(broker.journal.entries) if broker is not None else 0
        try:
            yield
        except BaseException as exc:
            replacement = stopped(evidence, exc) if evidence is not None else None
            if replacement is None:
                raise
            raise replacement from None
        finally:
            if broker is not None and evidence is not None:
                entries = broker.journal.entries[mark:]
                rows = seed_rows(entries, mark, evidence.check_id, item.name, throwaway=broker.started)
                for row in rows:
                    evidence.row("PU-SEED", row)
            if broker is not None and broker.read_log is not None and workers.spread(item.config):
                workers.publish_log(item.config, broker.read_log())  # for PU-LOG, on whichever worker


@dataclass
class Unstarted:
    """The broker could not be reached or started: said once whole, then "not checked" by every other check."""

    problem: str
    reported_by: str = ""  # the check that said it whole


@pytest.fixture(scope="session")
def pou_session(request: pytest.FixtureRequest, pou_settings: PouSettings) -> Iterator[Broker | Unstarted]:
    """The broker of the session, or why there is none (one failure, not one per check)."""
    started = _broker(request, pou_settings)
    try:
        broker = next(started)
    except pytest.fail.Exception as exc:
        yield Unstarted(str(exc.msg))
        return
    try:
        yield broker
    finally:
        with contextlib.suppress(StopIteration):
            next(started)


@pytest.fixture
def pou_broker(request: pytest.FixtureRequest, pou_session: Broker | Unstarted) -> Broker:
    """The broker under test; where it could not be started, the first check says why and the rest are
    "not checked" (counted apart from failures in the evidence)."""
    if isinstance(pou_session, Unstarted):
        if not pou_session.reported_by:
            # With a broker per worker, the first check of the run to meet the problem says it whole.
            first, pou_session.reported_by = workers.claim_unstarted(request.config, request.node.name)
            if first:
                pytest.fail(pou_session.problem, pytrace=False)
        pytest.fail(
            f"not checked: there is no broker to check ({pou_session.reported_by} says why it was not reached or "
            "started)",
            pytrace=False,
        )
    return pou_session


def _client(url: str, settings: PouSettings, seed_token: str | None = None) -> tuple[BrokerClient, Journal, Identities]:
    """A client of the broker at ``url`` in the target's dialect, the journal of what it creates, and the
    identities it may act as."""
    from signoff.pou.client import BrokerClient

    journal, identities = Journal(), Identities()
    client = BrokerClient(
        url,
        dialect=settings.dialect,
        identities=identities,
        seed_token=seed_token,
        observer=journal.observe,
        deadline=settings.request_timeout_seconds,
    )
    return client, journal, identities


def _broker(request: pytest.FixtureRequest, pou_settings: PouSettings) -> Iterator[Broker]:
    """The broker: the live one at ``[pou] url``, the team's stack (``[pou] command``), else the reference."""
    from signoff.pou.client import BrokerUnreachable

    if pou_settings.url is not None:
        client, journal, identities = _client(pou_settings.url, pou_settings, pou_settings.seed_token)
        try:
            client.health()
        except BrokerUnreachable as exc:
            pytest.fail(str(exc), pytrace=False)
        broker = Broker(
            pou_settings.url, client, pou_settings, None, started=False, journal=journal, identities=identities
        )
        record_environment(request.config, "Broker", f"live broker at {display_url(pou_settings.url)}")
        try:
            yield broker
        finally:
            broker.retire()
            client.close()
        return
    if pou_settings.command:
        yield from _stack_broker(request, pou_settings)
        return
    yield from _reference_broker(request, pou_settings)


def _reference_broker(request: pytest.FixtureRequest, settings: PouSettings) -> Iterator[Broker]:
    import psycopg

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
    token = secrets.token_urlsafe(24)
    register_secret(token)
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
            test_did_prefix=FRESH_PREFIX,  # signoff's own namespace: the suite seeds through the test API
            test_token=token,
        )
        base = broker.start()
    except (SignoffError, psycopg.Error) as exc:
        pytest.fail(redact(f"the reference broker could not be started: {exc}"), pytrace=False)
    client, journal, identities = _client(base, settings, token)
    worker = _worker(request.config)
    record_environment(
        request.config,
        "Broker" if worker == "main" else f"Broker ({worker})",
        f"reference broker ({settings.reference_variant}) from {settings.reference}, started at {base} over a "
        "throwaway database" + (" (one per worker that runs e2e_pou checks)" if workers.spread(request.config) else ""),
    )
    try:
        yield Broker(
            base, client, settings, url, started=True, journal=journal, identities=identities, read_log=broker.output
        )
    finally:
        client.close()
        broker.stop()
        drop_database(server, name)


def _stack_broker(request: pytest.FixtureRequest, settings: PouSettings) -> Iterator[Broker]:
    """The team's broker, started by its own command over a throwaway database with its schema, after
    the sidecars it declares; everything stops at the end of the session."""
    import os

    from signoff.pou.database import create_database, drop_database
    from signoff.pou.stack import Stack, bootstrap, start_broker, start_sidecar
    from signoff.services import ServiceError, get

    server: Server = request.getfixturevalue("pou_server")
    name = f"signoff_stack_{_worker(request.config)}"
    env = dict(os.environ)  # [pou.env] values were expanded (and their secrets registered) with the settings
    stack = Stack()
    cwd = settings.cwd or settings.migrations or Path.cwd()
    problem = ""
    url = ""

    def answers(ready_url: str) -> bool:
        try:
            get(ready_url, timeout=1.0)
        except ServiceError:
            return False
        return True

    try:
        url = create_database(server, name)
        stack.applied = bootstrap(url, settings, server.kind)
        for sidecar in settings.services:
            process, port = start_sidecar(sidecar, settings.cwd or cwd, env)
            stack.sidecars.append((sidecar, process, port))
        stack.broker, stack.url = start_broker(stack, settings, env, url, answers)
    except SignoffError as exc:
        problem = redact(str(exc))
    if problem:
        stack.stop()
        drop_database(server, name)
        pytest.fail(problem, pytrace=False)
    assert stack.broker is not None
    client, journal, identities = _client(stack.url, settings)
    record_stack(request.config, stack, client, settings)
    try:
        yield Broker(
            stack.url,
            client,
            settings,
            url,
            started=True,
            journal=journal,
            identities=identities,
            keyed=True,
            read_log=stack.broker.output,
        )
    finally:
        client.close()
        keep_output(request.config, stack)
        stack.stop()
        drop_database(server, name)


def keep_output(config: pytest.Config, stack: Any) -> None:
    """The output of the broker and its sidecars, redacted, beside the evidence:
    ``<reports>/<network>-pou-broker-<worker>.log``, named in the environment table."""
    from signoff.stash import reports_directory, settings_of

    directory = reports_directory(config)
    if directory is None or stack.broker is None:
        return
    parts = [f"== broker: {stack.broker.command}\n{stack.broker.output()}"]
    parts += [f"== sidecar {s.name}: {p.command}\n{p.output(4000)}" for s, p, _ in stack.sidecars]
    worker = _worker(config)
    path = directory / f"{settings_of(config).network}-pou-broker-{worker}.log"
    key = "Broker log" if worker == "main" else f"Broker log ({worker})"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(redact("\n".join(parts)), encoding="utf-8")
    except OSError as exc:
        record_environment(config, key, f"not written ({exc.strerror}): {path}")
        return
    record_environment(config, key, f"{path.name}: what the broker and its sidecars printed (redacted)")


def record_stack(config: pytest.Config, stack: Any, client: BrokerClient, settings: PouSettings) -> None:
    """The broker's identity in the environment table: URL, version and commit if it serves them,
    command, sidecars, and a digest of the migrations applied."""
    health = client.health()
    served = ", ".join(
        f"{key} {health.field(key)}" for key in ("version", "commit") if isinstance(health.field(key), str | int)
    )
    digest = hashlib.sha256()
    for migration in stack.applied:  # what was applied, in its order
        digest.update(migration.sql.encode())
    assert stack.broker is not None
    record_environment(
        config,
        "Broker",
        f"your broker, started by signoff at {stack.url}: {stack.broker.command} in {settings.cwd}"
        + (f"; it serves {served}" if served else "; it serves no version or commit on its health path"),
    )
    if stack.sidecars:
        record_environment(
            config,
            "Broker sidecars",
            "; ".join(f"{s.name}: {p.command} on port {port}" for s, p, port in stack.sidecars),
        )
    record_environment(
        config,
        "Broker schema",
        f"{len(stack.applied)} migration file(s) applied ({stack.applied[0].label} .. {stack.applied[-1].label}), "
        f"sha256 {digest.hexdigest()[:16]}",
    )
