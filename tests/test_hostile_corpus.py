# ruff: noqa: E501  (one case per line: the corpus reads as a table)
"""The hostile-input corpus (issue 11): malformed signoff.toml values, by family, each loaded the
way a run loads it. Every case must be signoff's own error (never another exception, which the
user would see as a traceback) that names the file and the key and gives the next step, and never
prints the secret it was handed. The families and their counts are listed in the issue's note;
the end-to-end channels (terminal, reports, logs, child processes) have their own self-tests in
test_hostile_rpc, test_hostile_services, test_secrets and test_children."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from signoff.errors import SignoffError
from signoff.redaction import forget_secrets, redact
from signoff.session import resolve_session
from tests.conftest import FIXTURES

ARTIFACTS = FIXTURES / "reference" / "artifacts"
SECRET = "corpus-Secret-0123456789abcdef"
BASE = f'[target]\nname = "corpus"\nartifacts = "{ARTIFACTS}"\n'
STAGE = '[networks.stage]\nrpc_url = "${CORPUS_RPC}"\nchain_id = 11155111\n'
POU = (
    '[pou]\nurl = "http://127.0.0.1:9"\nclient_did = "did:test:s:client"\nagent_did = "did:test:s:agent"\n'
    'outsider_did = "did:test:s:outsider"\n'
)

# (family, case, document after [target], network, a fragment the message must hold)
CASES: list[tuple[str, str, str, str, str]] = [
    # numbers: not finite, out of range, wrong type
    ("number", "headroom nan", "[sizes]\nwarn_headroom = nan\n", "eth-tester", "warn_headroom"),
    ("number", "headroom inf", "[sizes]\nwarn_headroom = inf\n", "eth-tester", "warn_headroom"),
    ("number", "headroom negative", "[sizes]\nwarn_headroom = -1\n", "eth-tester", "warn_headroom"),
    ("number", "headroom as text", '[sizes]\nwarn_headroom = "1024"\n', "eth-tester", "warn_headroom"),
    ("number", "optimizer runs as text", '[compiler]\noptimizer_runs = "200"\n', "eth-tester", "optimizer_runs"),
    ("number", "optimizer runs float", "[compiler]\noptimizer_runs = 2.5\n", "eth-tester", "optimizer_runs"),
    ("number", "chain id zero", STAGE.replace("11155111", "0"), "stage", "chain_id"),
    ("number", "chain id negative", STAGE.replace("11155111", "-5"), "stage", "chain_id"),
    ("number", "chain id as text", STAGE.replace("11155111", '"1"'), "stage", "chain_id"),
    ("number", "chain id float", STAGE.replace("11155111", "1.5"), "stage", "chain_id"),
    ("number", "chain id boolean", STAGE.replace("11155111", "true"), "stage", "chain_id"),
    ("number", "block age zero", STAGE + "max_block_age_seconds = 0\n", "stage", "max_block_age_seconds"),
    ("number", "request timeout nan", STAGE + "request_timeout_seconds = nan\n", "stage", "request_timeout_seconds"),
    ("number", "request timeout zero", STAGE + "request_timeout_seconds = 0\n", "stage", "request_timeout_seconds"),
    ("number", "request timeout a year", STAGE + "request_timeout_seconds = 3e7\n", "stage", "request_timeout"),
    ("number", "min balance nonsense", STAGE + 'min_deployer_balance_wei = "lots"\n', "stage", "min_deployer_balance"),
    ("number", "min balance negative", STAGE + "min_deployer_balance_wei = -1\n", "stage", "min_deployer_balance"),
    # counts: k-of-m and other bounded counts
    ("count", "k huge", POU + "k = 100000000\nm = 100000000\n", "eth-tester", "k"),
    ("count", "k above m", POU + "k = 4\nm = 3\n", "eth-tester", "k = 4 is larger than m = 3"),
    ("count", "k zero", POU + "k = 0\n", "eth-tester", "k"),
    ("count", "m as text", POU + 'm = "5"\n', "eth-tester", "m"),
    ("count", "interval inf", POU + "finalizer_interval_seconds = inf\n", "eth-tester", "finalizer_interval"),
    ("count", "interval zero", POU + "finalizer_interval_seconds = 0\n", "eth-tester", "finalizer_interval"),
    ("count", "examples huge", POU + "stateful_examples = 1000000000\n", "eth-tester", "stateful_examples"),
    ("count", "broker timeout negative", POU + "request_timeout_seconds = -1\n", "eth-tester", "request_timeout"),
    ("count", "notify wait zero", POU + "notify_timeout_seconds = 0\n", "eth-tester", "notify_timeout_seconds"),
    # URLs: no scheme, wrong scheme, empty
    ("url", "rpc without scheme", '[networks.stage]\nrpc_url = "localhost:8545"\nchain_id = 1\n', "stage", "rpc_url"),
    ("url", "rpc empty", '[networks.stage]\nrpc_url = ""\nchain_id = 1\n', "stage", "rpc_url"),
    ("url", "rpc websocket", '[networks.stage]\nrpc_url = "ws://127.0.0.1:8546"\nchain_id = 1\n', "stage", "rpc_url"),
    ("url", "rpc ftp", '[networks.stage]\nrpc_url = "ftp://127.0.0.1"\nchain_id = 1\n', "stage", "rpc_url"),
    ("url", "rpc scheme only", '[networks.stage]\nrpc_url = "http://"\nchain_id = 1\n', "stage", "rpc_url"),
    ("url", "rpc unset variable", '[networks.stage]\nrpc_url = "${CORPUS_UNSET}"\nchain_id = 1\n', "stage", "CORPUS_UNSET"),
    ("url", "broker without scheme", POU.replace("http://127.0.0.1:9", "broker:8080"), "eth-tester", "url"),
    ("url", "broker empty", POU.replace("http://127.0.0.1:9", ""), "eth-tester", "url"),
    # paths: missing, wrong kind, loops, empty
    ("path", "artifacts missing", "", "eth-tester", "artifacts"),
    ("path", "artifacts empty", "", "eth-tester", "artifacts"),
    ("path", "artifacts a file", "", "eth-tester", "artifacts"),
    ("path", "artifacts symlink loop", "", "eth-tester", "artifacts"),
    ("path", "deploy plan a folder", '[deploy]\nplan = "."\n', "eth-tester", "plan"),
    ("path", "abi snapshots a file", '[abi]\nsnapshots = "signoff.toml"\n', "eth-tester", "snapshots"),
    ("path", "manifest plan a folder", '[manifest]\nplan = "."\ndispatcher = "ManifestDispatcher"\n', "eth-tester", "plan"),
    ("path", "migrations missing", POU + 'migrations = "nope"\n', "eth-tester", "migrations"),
    ("path", "deployments a symlink loop", STAGE + 'deployments = "loop"\n', "stage", "deployments"),
    # names: contracts and networks that do not exist (the choices are listed)
    ("name", "unknown network", "", "nowhere", "Valid choices"),
    ("name", "empty network", "", "", "network"),
    ("name", "unknown dispatcher", '[[diamonds]]\ndispatcher = "Nope"\nfacets = ["PingFacet"]\n', "eth-tester", "Nope"),
    ("name", "unknown facet", '[[diamonds]]\ndispatcher = "ManifestDispatcher"\nfacets = ["Nope"]\n', "eth-tester", "Nope"),
    ("name", "unknown contract table", "[contracts.Nope]\nconstructor_args = []\n", "eth-tester", "Nope"),
    ("name", "unknown reference variant", POU.replace('url = "http://127.0.0.1:9"\n', 'reference_variant = "x"\n'), "eth-tester", "Valid choices"),
    # structure: unknown keys and tables, tables that are not tables, wrong list types
    ("structure", "interface not a signature", '[manifest]\nplan = "p.json"\ndispatcher = "ManifestDispatcher"\n[manifest.interface]\ncommit = "proposeRoot"\n', "eth-tester", "not a full signature"),
    ("structure", "interface unknown role", '[manifest]\nplan = "p.json"\ndispatcher = "ManifestDispatcher"\n[manifest.interface]\ncommitt = "proposeRoot(bytes32,uint64)"\n', "eth-tester", "committ"),
    ("structure", "fields unknown part", '[manifest]\nplan = "p.json"\ndispatcher = "ManifestDispatcher"\n[manifest.fields]\nrooot = "merkleRoot"\n', "eth-tester", "rooot"),
    ("structure", "fields sides twice", '[manifest]\nplan = "p.json"\ndispatcher = "ManifestDispatcher"\n[manifest.fields]\nis_right = "a"\npositions = "b"\n', "eth-tester", "both is_right and positions"),
    ("structure", "unknown leaf encoding", '[manifest]\nplan = "p.json"\ndispatcher = "ManifestDispatcher"\nleaf = "sorted-pairs"\n', "eth-tester", "leaf"),
    ("structure", "unknown key", "[sizes]\nwarn_headroom_bytes = 1\n", "eth-tester", "warn_headroom_bytes"),
    ("structure", "unknown table", "[sizez]\nwarn_headroom = 1\n", "eth-tester", "sizez"),
    ("structure", "table as number", "sizes = 3\n", "eth-tester", "sizes"),
    ("structure", "facets as text", '[[diamonds]]\ndispatcher = "ManifestDispatcher"\nfacets = "PingFacet"\n', "eth-tester", "facets"),
    ("structure", "governance as text", STAGE + 'governance = "0x0000000000000000000000000000000000000001"\n', "stage", "governance"),
    ("structure", "address malformed", STAGE + 'deployer = "0x1234"\n', "stage", "deployer"),
    ("structure", "address bad checksum", STAGE + 'deployer = "0x52908400098527886E0F7030069857D2E4169Ee7"\n', "stage", "deployer"),
    ("structure", "test DIDs too few", POU + 'seed_token = "${CORPUS_TOKEN}"\ntest_agent_dids = ["did:test:s:a"]\n', "eth-tester", "test_agent_dids"),
    # secrets written into the file instead of the environment
    ("secret", "seed token literal", POU + f'seed_token = "{SECRET}"\n', "eth-tester", "seed_token"),
    ("secret", "sign key literal", f'[evidence]\nsign_key = "0x{"ab" * 32}"\n', "eth-tester", "sign_key"),
    ("secret", "keystore password literal", f'[evidence]\nsign_keystore = "signoff.toml"\nsign_keystore_password = "{SECRET}"\n', "eth-tester", "sign_keystore_password"),
    ("secret", "basic auth beside a bearer token", POU.replace("http://127.0.0.1:9", f"http://u:{SECRET}@127.0.0.1:9") + 'seed_token = "${CORPUS_TOKEN}"\n', "eth-tester", "user:password"),
    # the file itself: syntax, encoding
    ("file", "toml syntax", "[sizes\nwarn_headroom = 1\n", "eth-tester", "TOML"),
    ("file", "duplicate table", "[sizes]\nwarn_headroom = 1\n[sizes]\nwarn_headroom = 2\n", "eth-tester", "TOML"),
    ("file", "duplicate key", "[sizes]\nwarn_headroom = 1\nwarn_headroom = 2\n", "eth-tester", "TOML"),
    ("file", "not UTF-8", "", "eth-tester", "UTF-8"),
    ("file", "target a folder", "", "eth-tester", "directory"),
    ("file", "target missing", "", "eth-tester", "does not exist"),
]


def _write(tmp_path: Path, case: str, document: str) -> Path:
    target = tmp_path / "signoff.toml"
    base = BASE
    if case == "artifacts missing":
        base = base.replace(str(ARTIFACTS), str(tmp_path / "nope"))
    elif case == "artifacts empty":
        base = base.replace(str(ARTIFACTS), "")
    elif case == "artifacts a file":
        base = base.replace(str(ARTIFACTS), "signoff.toml")
    elif case in ("artifacts symlink loop", "deployments a symlink loop"):
        (tmp_path / "loop").symlink_to(tmp_path / "loop")
        if case.startswith("artifacts"):
            base = base.replace(str(ARTIFACTS), "loop")
    if case == "not UTF-8":
        target.write_bytes(base.encode() + b"# caf\xe9\n")
    elif case == "target a folder":
        target.mkdir()
    elif case != "target missing":
        target.write_text(base + document)
    return target


@pytest.mark.parametrize(("family", "case", "document", "network", "fragment"), CASES, ids=[c[1] for c in CASES])
def test_hostile_input_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, family: str, case: str, document: str, network: str, fragment: str
) -> None:
    monkeypatch.setenv("CORPUS_RPC", "https://rpc.example/v3/" + SECRET)
    monkeypatch.setenv("CORPUS_TOKEN", SECRET)
    monkeypatch.delenv("CORPUS_UNSET", raising=False)
    forget_secrets()
    target = _write(tmp_path, case, document)
    with pytest.raises(SignoffError) as caught:
        settings = resolve_session(target, network)
        if settings.target.has_pou:
            settings.target.pou()  # ${VAR} expansion, as e2e_pou does
    message = redact(str(caught.value))  # what the plugin prints
    forget_secrets()
    assert fragment in message, message
    assert str(target) in message or "--signoff-network" in message or "network" in message, message
    assert "Next step" in message or "Valid choices" in message, message
    assert SECRET not in message and SECRET.lower() not in message.lower(), message
    assert "Traceback" not in message


def test_the_corpus_covers_every_family() -> None:
    families = {family for family, *_ in CASES}
    assert families == {"number", "count", "url", "path", "name", "structure", "secret", "file"}
    assert len(CASES) >= 60
    assert os.environ.get("CORPUS_RPC") is None
