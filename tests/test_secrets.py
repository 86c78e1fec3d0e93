"""RP-SECRET: with a secret in every configurable slot and failures that would print them,
no secret reaches the terminal, the HTML report (including its embedded blobs), the JUnit
XML or the JSON evidence."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from signoff.redaction import display_url, forget_secrets, redact, register_secret
from tests.conftest import FIXTURES, SuiteRun, anvil_available


def _decoded_blobs(text: str) -> str:
    """Everything base64-embedded in a self-contained report, decoded."""
    found = []
    for blob in re.findall(r"base64,([A-Za-z0-9+/=]+)", text):
        try:
            found.append(base64.b64decode(blob).decode("utf-8", errors="replace"))
        except ValueError:
            continue
    return "\n".join(found)


@pytest.mark.skipif(not anvil_available(), reason="anvil not installed: run `npm ci`")
def test_no_secret_in_any_output(run_suite, tmp_path: Path, live_node: dict[str, str]) -> None:
    artifacts = tmp_path / "build-output-secret-dir"
    shutil.copytree(FIXTURES / "reference" / "artifacts", artifacts)
    host = live_node["url"].removeprefix("http://")
    secrets = {
        "SECRET_NAME": "Project Nightingale",
        "SECRET_ARTIFACTS": str(artifacts),
        "SECRET_RPC": f"http://rpcuser:Pa55w0rd-xyz@{host}/?apikey=0123456789abcdef0123456789",
        "SECRET_DEPLOYER": live_node["deployer"],
        "SECRET_GOVERNANCE": live_node["eoa"],  # an EOA: the check fails and would print it
        "SECRET_MIN_BALANCE": "20000 ether",  # more than the deployer has: fails, prints numbers
        "SECRET_DEPLOYMENTS": "deployments/secret-stage.json",
    }
    target = tmp_path / "signoff.toml"
    target.write_text(
        '[target]\nname = "${SECRET_NAME}"\nartifacts = "${SECRET_ARTIFACTS}"\n'
        '[networks.stage]\nrpc_url = "${SECRET_RPC}"\nchain_id = 31337\ndeployments = "${SECRET_DEPLOYMENTS}"\n'
        'deployer = "${SECRET_DEPLOYER}"\nmin_deployer_balance_wei = "${SECRET_MIN_BALANCE}"\n'
        'governance = ["${SECRET_GOVERNANCE}"]\n'
    )
    (tmp_path / "deployments").mkdir()  # PD-CODE reads the deployed PingFacet through web3
    (tmp_path / "deployments" / "secret-stage.json").write_text(json.dumps({"PingFacet": live_node["contract"]}))
    log_file = tmp_path / "debug.log"
    run: SuiteRun = run_suite(
        "-m",
        "preflight or bytecode",  # bytecode reads through web3, which logs every request at DEBUG
        "--network",
        "stage",
        "--log-cli-level=DEBUG",
        f"--log-file={log_file}",
        "--log-file-level=DEBUG",
        target=target,
        env=secrets,
    )
    assert run.result.ret == 1, run.output  # the deployer and governance checks fail
    assert "has no code at block" in run.output and "holds" in run.output  # the failures did print
    report_text = run.all_report_text()
    logged = log_file.read_text()
    assert "Making request. Method: eth_getCode" in logged  # web3 did log its requests at DEBUG
    everything = run.output + report_text + _decoded_blobs(report_text) + logged
    assert len(list(run.reports.glob("*"))) == 4  # html, xml, json and the integrity manifest
    leaked = {
        name: value for name, value in secrets.items() if value in everything or value.lower() in everything.lower()
    }
    for part in ("rpcuser", "Pa55w0rd-xyz", "0123456789abcdef0123456789"):
        if part in everything:
            leaked[part] = part
    assert leaked == {}
    assert f"http://{host}/***" in report_text  # the host is still named
    assert "***" in run.evidence()["environment"]["Target"]


def test_redaction_rules() -> None:
    forget_secrets()
    register_secret("https://u:p4ssword@eth.example:8545/v2/abcdefghijklmnop?x=1")
    register_secret("http://127.0.0.1:8545")  # a bare host is not a secret
    text = "calling https://u:p4ssword@eth.example:8545/v2/abcdefghijklmnop?x=1 then /v2/abcdefghijklmnop, p4ssword"
    assert redact(text) == "calling *** then /***, ***"
    assert redact("node http://127.0.0.1:8545 down") == "node http://127.0.0.1:8545 down"
    assert display_url("https://u:p@eth.example:8545/v2/key?x=1") == "https://eth.example:8545/***"
    assert display_url("http://127.0.0.1:8545") == "http://127.0.0.1:8545"
    assert display_url("not a url") == "***"
    forget_secrets()


URL = "https://alice:s3cr%3At-pass@rpc.example.org/v2/KEY123456789abcdefXYZ"
PRIVATE = "0xAbCdEf0123456789aBcDeF0123456789abcdef0123456789abcdef0123456789"
QUOTED = 'Pro"ject \\Nightingale\\ s3cr "x"'


@pytest.mark.parametrize(
    ("shown", "why"),
    [
        (lambda: "Authorization: Basic " + base64.b64encode(b"alice:s3cr:t-pass").decode(), "base64 user:password"),
        (lambda: base64.urlsafe_b64encode(b"alice:s3cr:t-pass").decode(), "url-safe base64"),
        (lambda: quote(URL, safe=""), "URL-encoded URL"),
        (lambda: quote_plus("s3cr:t-pass"), "form-encoded password"),
        (URL.upper, "upper case"),
        (lambda: "KEY123456789ABCDEFXYZ", "key in another case"),
        (lambda: html.escape('{"k": "' + PRIVATE + '"}'), "HTML-escaped"),
        (lambda: json.dumps({"key": PRIVATE.upper()}), "JSON, upper case"),
        (lambda: PRIVATE[2:], "hex key without 0x"),
        (lambda: base64.b64encode(PRIVATE.encode()).decode(), "base64 of the key"),
        (lambda: html.escape(json.dumps({"name": QUOTED})), "JSON inside HTML (pytest-html's blob)"),
        (lambda: json.dumps({"name": QUOTED}), "JSON with escaped quotes and backslashes"),
    ],
)
def test_secrets_are_hidden_in_every_derived_form(shown, why: str) -> None:
    forget_secrets()
    register_secret(URL)
    register_secret(PRIVATE)
    register_secret(QUOTED)
    text = shown()
    assert "***" in redact(text), why
    for secret in ("s3cr", "KEY123456789", "ABCDEF0123456789ABCDEF", "alice:"):
        assert secret.lower() not in redact(text).lower(), (why, redact(text))
    assert redact("the node at rpc.example.org did not answer") == "the node at rpc.example.org did not answer"
    forget_secrets()


def test_an_internal_error_is_printed_redacted(run_suite, pytester: pytest.Pytester, tmp_path: Path) -> None:
    """A crash inside pytest itself (here a hook of the project's own conftest) shows its traceback with the
    secrets hidden: the INTERNALERROR path is an output channel like any other."""
    secret = "Nightingale-Key-0123456789"
    (pytester.path / "conftest.py").write_text(
        (pytester.path / "conftest.py").read_text()
        + "\nimport os\n\ndef pytest_collection_finish(session):\n"
        "    raise RuntimeError('boom: ' + os.environ['SECRET_NAME'].upper())\n"
    )
    target = tmp_path / "signoff.toml"
    target.write_text(f'[target]\nname = "${{SECRET_NAME}}"\nartifacts = "{FIXTURES / "reference" / "artifacts"}"\n')
    run: SuiteRun = run_suite("-m", "eip170", target=target, env={"SECRET_NAME": secret})
    assert run.result.ret == 3, run.output  # pytest's INTERNAL_ERROR
    assert "INTERNALERROR> " in run.output and "boom: ***" in run.output
    assert secret.lower() not in run.output.lower()
