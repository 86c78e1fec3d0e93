"""e2e_pou against a live broker: the reference broker started here as a separate process
(uvicorn on a free 127.0.0.1 port, over its own throwaway PostgreSQL, test-seeding API on for
``did:test:signoff:``), and a target file whose ``[pou]`` only points at it.

The run must seed only through the broker's test API with the configured test DIDs, pass every
check it can run, list what it created (PU-SEED), leak no secret, and leave every other row of
the broker's database as it was; a broken variant must still fail its check; a broker without
the test API must make the seeding checks fail saying what was not checked.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from tests.conftest import FIXTURES, SuiteRun

REFERENCE = FIXTURES / "reference"
PREFIX = "did:test:signoff:"
REAL_AGENTS = ("did:web:agents.example:alpha", "did:web:agents.example:beta", "did:web:agents.example:gamma")
DIDS = {
    "client_did": f"{PREFIX}client",
    "agent_did": f"{PREFIX}agent",
    "outsider_did": f"{PREFIX}outsider",
}
REAL_NEGOTIATION = "00000000-0000-4000-8000-000000000001"
TEST_AGENTS = tuple(f"{PREFIX}auditor{i}" for i in range(1, 8))  # m + 2 = 7
SNAPSHOT = {  # every row that is not signoff's: must be the same after the run
    "agents": f"SELECT * FROM agents WHERE did NOT LIKE '{PREFIX}%' ORDER BY did",
    "trust_scores": f"SELECT * FROM trust_scores WHERE agent_did NOT LIKE '{PREFIX}%' ORDER BY agent_did",
    "negotiations": f"SELECT * FROM negotiations WHERE client_did NOT LIKE '{PREFIX}%' ORDER BY id",
    "task_receipts": f"SELECT * FROM task_receipts WHERE client_did NOT LIKE '{PREFIX}%' ORDER BY id",
    "task_attestations": f"SELECT * FROM task_attestations WHERE by_did NOT LIKE '{PREFIX}%' ORDER BY id",
    "agent_reputation": f"SELECT * FROM agent_reputation WHERE agent_id NOT LIKE '{PREFIX}%' ORDER BY agent_id",
}


@dataclass
class LiveBroker:
    url: str
    database_url: str
    token: str

    @property
    def password(self) -> str:
        return unquote(urlsplit(self.database_url).password or "")


@pytest.fixture(scope="module")
def pg() -> Iterator[Any]:
    from signoff.pou.database import start_server

    server = start_server()
    yield server
    server.stop()


@contextmanager
def live_broker(server: Any, name: str, variant: str = "correct") -> Iterator[LiveBroker]:
    """The reference broker as an operator would run it, with real agents and a real receipt."""
    import psycopg

    from signoff.pou.client import BrokerClient
    from signoff.pou.database import create_database
    from signoff.pou.migrations import apply_all, discover
    from signoff.pou.reference import ReferenceBroker

    database_url = create_database(server, name)
    with psycopg.connect(database_url) as conn:
        for directory in (REFERENCE / "pou" / "prerequisites", REFERENCE / "pou" / "migrations"):
            apply_all(conn, discover(directory).ordered)
        for did in REAL_AGENTS:  # trusted more than any test agent: a leak into test committees shows
            conn.execute("INSERT INTO agents (did) VALUES (%s)", (did,))
            conn.execute("INSERT INTO trust_scores (agent_did, score) VALUES (%s, 1.0)", (did,))
        conn.execute(
            "INSERT INTO negotiations (id, intent_id, client_did, agent_did) VALUES (%s, gen_random_uuid(), %s, %s)",
            (REAL_NEGOTIATION, "did:web:alice.example", "did:web:bob.example"),
        )
    token = secrets.token_urlsafe(24)
    broker = ReferenceBroker(
        REFERENCE / "pou",
        database_url,
        variant=variant,
        k=3,
        m=5,
        finalizer_interval_seconds=0.1,
        test_did_prefix=PREFIX,
        test_token=token,
    )
    url = broker.start()
    try:
        client = BrokerClient(url)
        settled = client.settle(REAL_NEGOTIATION)  # a real receipt, with a committee of real agents
        client.close()
        assert settled.status == 201 and sorted(settled.field("receipt")["committee"]) == sorted(REAL_AGENTS)
        yield LiveBroker(url, database_url, token)
    finally:
        broker.stop()


def snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return {table: conn.execute(sql.encode()).fetchall() for table, sql in SNAPSHOT.items()}


def write_target(tmp_path: Path, broker: LiveBroker, *, extra: str = "", database: bool = True) -> Path:
    agents = ", ".join(f'"{did}"' for did in TEST_AGENTS)
    lines = [
        "[target]",
        'name = "live broker"',
        f'artifacts = "{REFERENCE / "artifacts"}"',
        "",
        "[pou]",
        f'url = "{broker.url}"',
        'seed_token = "${SIGNOFF_LIVE_POU_TOKEN}"',
        *(['database_url = "${SIGNOFF_LIVE_POU_DB}"'] if database else []),
        f'migrations = "{REFERENCE / "pou" / "migrations"}"',
        f'prerequisites = "{REFERENCE / "pou" / "prerequisites"}"',
        "k = 3",
        "m = 5",
        "finalizer_interval_seconds = 0.1",
        "stateful_examples = 10",
        *(f'{key} = "{did}"' for key, did in DIDS.items()),
        f"test_agent_dids = [{agents}]",
        extra,
    ]
    path = tmp_path / "signoff.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def env_of(broker: LiveBroker) -> dict[str, str]:
    return {"SIGNOFF_LIVE_POU_DB": broker.database_url, "SIGNOFF_LIVE_POU_TOKEN": broker.token}


def test_live_broker_passes_and_tells_what_it_created(run_suite, pg, tmp_path: Path) -> None:
    import psycopg

    with live_broker(pg, "live_ok") as broker:
        before = snapshot(broker.database_url)
        run: SuiteRun = run_suite("-m", "e2e_pou", target=write_target(tmp_path, broker), env=env_of(broker))
        after = snapshot(broker.database_url)
        with psycopg.connect(broker.database_url) as conn:
            active = conn.execute(f"SELECT did FROM agents WHERE did LIKE '{PREFIX}%' AND active").fetchall()

    assert run.result.ret == 0, run.output
    outcomes = run.outcomes()
    skipped = {name for name, outcome in outcomes.items() if outcome != "passed"}
    # Said once each, with the key that would make them apply: no signatures declared, no batch declared,
    # a live broker's database is never written (the finalizer probe needs that), its output is not ours.
    assert skipped == {
        "test_pu_att_bad_signature_refused",
        "test_pu_fin_ignores_outsider_rows",
        "test_pu_fin_backlog_larger_than_batch",
        "test_pu_log_no_errors_and_jobs_scheduled",  # a running broker's logs are in its operator's log system
    }, outcomes
    assert {c["result"] for c in run.evidence()["checks"] if c["nodeid"].split("::")[-1] in skipped} == {
        "not applicable"
    }
    assert len(outcomes) >= 20
    assert after == before  # no row that is not signoff's changed (real committees, reputation, ...)
    assert active == []  # the run left its test agents inactive
    from signoff.pou.fixtures import live_lock_path

    assert not live_lock_path(broker.url).exists()  # the run's lock on the live broker is gone with it

    evidence = run.evidence()
    seeded = evidence["tables"]["PU-SEED"]["rows"]
    kinds = {row["kind"] for row in seeded}
    assert {"agents", "negotiation", "receipt", "attestations", "receipt finalized"} <= kinds, kinds
    assert {row["through"] for row in seeded} == {"broker test API", "broker API"}
    mentioned = " ".join(f"{row['id']} {row['detail']}" for row in seeded)
    assert all(did in mentioned for did in (*DIDS.values(), *TEST_AGENTS[:5]))
    assert "did:web:" not in mentioned  # nothing but the configured test DIDs
    assert any(row["order"].startswith("live-") for row in evidence["tables"]["PU-MIG"]["rows"])
    stateful = next(c for c in evidence["checks"] if c["nodeid"].endswith("test_pu_qrm_stateful"))
    assert "k and m" in stateful["data"]["not_varied"]

    text = run.all_report_text() + run.output
    for secret in (broker.password, broker.token, broker.database_url):
        assert secret not in text


def test_broken_live_broker_fails_its_check(run_suite, pg, tmp_path: Path) -> None:
    with live_broker(pg, "live_outsider", variant="outsider-audit-pass") as broker:
        run: SuiteRun = run_suite(
            "-m", "e2e_pou and access_control", target=write_target(tmp_path, broker), env=env_of(broker)
        )
    record = run.assert_fails_only(
        "test_pu_att_audit_pass_only_from_committee",
        "AUDIT_PASS from the outsider: AUDIT_PASS by outsider answered HTTP 201",
    )
    assert any(f["subject"] == "AUDIT_PASS from the outsider" for f in record["findings"])
    assert broker.token not in run.all_report_text() + run.output


def test_live_broker_without_test_api_says_what_was_not_checked(run_suite, pg, tmp_path: Path) -> None:
    with live_broker(pg, "live_noapi", variant="no-test-api") as broker:
        target = write_target(tmp_path, broker, database=False)
        run: SuiteRun = run_suite("-m", "pou_api or migrations", target=target, env=env_of(broker))
    outcomes = run.outcomes()
    assert run.result.ret == 1, run.output
    needs_seeding = {name for name, outcome in outcomes.items() if outcome == "failed"}
    assert needs_seeding == {
        "test_pu_api_settle_creates_pending_receipt",
        "test_pu_att_did_required",
        "test_pu_att_accepted_only_from_client",
        "test_pu_att_audit_pass_only_from_committee",
        "test_pu_att_score_and_confidence_in_unit_interval",
        "test_pu_att_duplicate_is_409",
        "test_pu_att_refused_after_finalization",
    }, outcomes
    results = {c["nodeid"].split("::")[-1]: c["result"] for c in run.evidence()["checks"]}
    assert {results[name] for name in needs_seeding} == {"not checked"}  # counted apart from failures
    assert outcomes["test_pu_api_health"] == outcomes["test_pu_att_malformed_ids_are_4xx"] == "passed"
    assert outcomes["test_pu_mig_rehearsal"] == "passed"  # on its own throwaway server
    assert outcomes["test_pu_mig_live_schema"] == "skipped"  # no database_url: said, not passed
    assert "not checked: this check needs its own test agents and negotiations" in run.output
    assert "has no test-seeding API (GET /api/test answered 404)" in run.output
    assert "not checked: the schema of the live broker's database" in run.output
    assert "Traceback" not in run.output


# -- [pou] live keys in the target file -------------------------------------------------------------------


def _target(tmp_path: Path, pou: str) -> Path:
    path = tmp_path / "signoff.toml"
    path.write_text(f'[target]\nname = "t"\nartifacts = "{REFERENCE / "artifacts"}"\n\n[pou]\n{pou}\n')
    return path


AGENTS = "test_agent_dids = [" + ", ".join(f'"did:test:a{i}"' for i in range(7)) + "]"


@pytest.mark.parametrize(
    ("pou", "fragment"),
    [
        ('client_did = "alice"', "client_did = 'alice' is not a DID"),
        ('test_agent_dids = ["did:test:a", "did:test:b"]', "names 2 DIDs; the checks need m + 2 = 7"),
        (f'client_did = "did:test:a3"\n{AGENTS}', "test_agent_dids[3] and client_did are both 'did:test:a3'"),
        ('seed_token = "s3cret-token-in-the-file"', "seed_token is written into the file"),
        ('url = "localhost:8080"', "url must be the broker's http:// or https:// base URL"),
    ],
)
def test_live_keys_are_validated(tmp_path: Path, pou: str, fragment: str) -> None:
    from signoff.errors import ConfigError
    from signoff.target import load_target

    with pytest.raises(ConfigError) as caught:
        load_target(_target(tmp_path, pou))
    assert fragment in str(caught.value), str(caught.value)
    assert "s3cret-token-in-the-file" not in str(caught.value)


def test_live_keys_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from signoff.redaction import redact
    from signoff.target import load_target

    monkeypatch.setenv("SIGNOFF_TEST_SEED_TOKEN", "a-token-of-some-length")
    pou = f'url = "http://127.0.0.1:9"\nseed_token = "${{SIGNOFF_TEST_SEED_TOKEN}}"\n{AGENTS}'
    settings = load_target(_target(tmp_path, pou)).pou()
    assert settings.live and settings.test_agent_dids[0] == "did:test:a0"
    assert settings.seed_token == "a-token-of-some-length" and "a-token" not in repr(settings)
    assert redact("token a-token-of-some-length") == "token ***"


def test_test_api_refuses_what_is_not_its_own(pg) -> None:
    """The broker side of the contract: token required, test namespace only, nothing else touched."""
    import psycopg

    from signoff.pou.client import BrokerClient
    from signoff.pou.seeding import api_refusal

    with live_broker(pg, "live_refuse") as broker:
        wrong = BrokerClient(broker.url, seed_token="not-the-token-at-all")
        assert wrong.seed_info().status == 401
        assert wrong.seed_agents({f"{PREFIX}x": {"active": True, "trust": 0.5}}).status == 401
        wrong.close()
        client = BrokerClient(broker.url, seed_token=broker.token)
        real = client.seed_agents({f"{PREFIX}x": {"active": True, "trust": 0.5}, REAL_AGENTS[0]: {"active": False}})
        assert (real.status, real.field("error"), real.field("outside")) == (
            403,
            "OUTSIDE_TEST_NAMESPACE",
            [REAL_AGENTS[0]],
        )
        negotiation = client.seed_negotiation("did:web:alice.example", f"{PREFIX}agent")
        assert negotiation.status == 403
        info = client.seed_info()
        client.close()
        with psycopg.connect(broker.database_url) as conn:
            assert conn.execute("SELECT count(*) FROM agents WHERE did LIKE %s", (f"{PREFIX}%",)).fetchone() == (0,)
            assert conn.execute("SELECT active FROM agents WHERE did = %s", (REAL_AGENTS[0],)).fetchone() == (True,)
    assert info.field("did_prefix") == PREFIX
    refusal = api_refusal(info, broker.url, [f"{PREFIX}client", "did:test:other:agent"])
    assert refusal is not None and "outside the broker's test namespace 'did:test:signoff:': did:test:other:agent" in (
        refusal
    )


def test_the_run_stops_seeding_a_live_broker_at_its_cap(run_suite, pg, tmp_path: Path) -> None:
    with live_broker(pg, "live_cap") as broker:
        target = write_target(tmp_path, broker, extra="seed_cap = 3")
        run: SuiteRun = run_suite("-m", "pou_api", target=target, env=env_of(broker))
    assert run.result.ret == 1, run.output
    results = [c["result"] for c in run.evidence()["checks"]]
    assert "not checked" in results and "failed" not in results, results
    assert "([pou] seed_cap = 3; the PU-SEED table lists them)" in run.output
