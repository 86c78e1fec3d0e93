"""Fuzzing what users hand signoff: signoff.toml shapes and artifact JSON.

Whatever the shape, loading either succeeds or raises signoff's own error (ConfigError or
ArtifactError) with a message that names the file; never another exception (a traceback for the
user), and no secret from the environment ever appears in the message.
"""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from signoff.artifacts.abi import signature
from signoff.artifacts.loader import load_artifacts
from signoff.errors import ArtifactError, ConfigError, SignoffError
from signoff.redaction import forget_secrets, redact
from signoff.session import resolve_session
from tests.conftest import FIXTURES

ARTIFACTS = FIXTURES / "reference" / "artifacts"
SECRET = "fuzz-secret-0123456789abcdef"

# Values of every TOML type, including the hostile ones (nan, inf, huge, empty, secrets, paths).
scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(alphabet=string.printable, max_size=30),
    st.sampled_from(["", "${FUZZ_SECRET}", "${UNSET_FUZZ_VAR}", "0x" + "11" * 20, "..", "/", "http://", "did:x:"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
KNOWN = {
    "target": ["name", "artifacts"],
    "compiler": ["version", "via_ir", "optimizer", "optimizer_runs", "evm_version", "exclude"],
    "sizes": ["warn_headroom", "exclude"],
    "abi": ["snapshots", "contracts"],
    "manifest": ["plan", "dispatcher"],
    "evidence": ["operator", "sign_key", "sign_keystore", "sign_keystore_password", "sign_gpg_key", "sarif"],
    "pou": ["url", "k", "m", "finalizer_interval_seconds", "seed_token", "migrations", "stateful_examples"],
}


@st.composite
def tables(draw: st.DrawFn) -> dict[str, Any]:
    """Known tables with their own keys (mostly), sometimes a stray key or a table that is not a table."""
    document: dict[str, Any] = {}
    for table in draw(st.lists(st.sampled_from(sorted(KNOWN)), unique=True, max_size=3)):
        if draw(st.integers(0, 9)) == 0:
            document[table] = draw(values)  # `sizes = 3`: not a table
            continue
        keys = draw(st.lists(st.sampled_from(KNOWN[table]), unique=True, max_size=4))
        if draw(st.integers(0, 9)) == 0:
            keys.append("typo_key")
        document[table] = {key: draw(values) for key in keys}
    return document


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(value), repr(value))
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(value)  # a TOML basic string is a JSON string


def _render(document: dict[str, Any]) -> str:
    lines = ['[target]\nname = "fuzz"\nartifacts = "' + str(ARTIFACTS) + '"']
    for table, body in document.items():
        if table == "target":
            continue
        if not isinstance(body, dict):
            lines.append(f"{table} = {_toml_value(body)}")
            continue
        lines.append(f"[{table}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in body.items())
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def _fuzz_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUZZ_SECRET", SECRET)  # the same for every example, so one fixture call serves all


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(document=tables(), network=st.sampled_from(["eth-tester", "anvil", "sepolia", "", "nope"]))
def test_any_target_shape_loads_or_is_a_config_error(document: dict[str, Any], network: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "signoff.toml"
        target.write_text(_render(document))
        forget_secrets()
        try:
            settings_ = resolve_session(target, network or "eth-tester")
            pou = settings_.target.pou() if "pou" in document else None
        except ConfigError as exc:
            message = redact(str(exc))  # what the plugin prints (every message passes through redact)
            assert message and SECRET not in message, message
            event("usage error")
            return
        except SignoffError as exc:  # an artifact or plan problem: still ours, still named
            assert SECRET not in redact(str(exc))
            return
        event("loaded")
        assert settings_.target.name == "fuzz"
        if pou is not None:
            assert 1 <= pou.k <= pou.m <= 100


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.just("0x" + "60" * 10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
BASE = json.loads((ARTIFACTS / "contracts" / "facets" / "PingFacet.sol" / "PingFacet.json").read_text())
ABI_KEYS = ["type", "name", "inputs", "outputs", "stateMutability", "components"]


@st.composite
def mutated_artifacts(draw: st.DrawFn) -> Any:
    """A real Hardhat artifact with a few top-level fields and ABI entry fields replaced by anything."""
    document = json.loads(json.dumps(BASE))
    for key, value in draw(st.dictionaries(st.sampled_from(sorted(BASE)), json_values, max_size=2)).items():
        document[key] = value
    if isinstance(document.get("abi"), list) and document["abi"]:
        for index, key, value in draw(
            st.lists(
                st.tuples(st.integers(0, len(document["abi"]) - 1), st.sampled_from(ABI_KEYS), json_values), max_size=2
            )
        ):
            if isinstance(document["abi"][index], dict):
                document["abi"][index][key] = value
    return document


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    document=st.one_of(mutated_artifacts(), mutated_artifacts(), mutated_artifacts(), json_values),
    raw=st.sampled_from([False, False, False, True]),
)
def test_any_artifact_json_is_read_or_a_named_problem(document: Any, raw: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "contracts" / "Fuzz.sol" / "Fuzz.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(document) if not raw else json.dumps(document)[:-1])
        try:
            found = load_artifacts(Path(folder))
        except ArtifactError as exc:
            assert str(exc)
            event("artifact error")
            return
        event(f"{len(found.contracts)} contract(s), {len(found.problems)} problem(s)")
        for problem in found.problems:
            assert str(path) in problem.message or str(problem.path) in problem.message
        for contract in found.contracts:  # what every check reads must be readable
            assert isinstance(contract.abi, tuple)
            contract.runtime.size  # noqa: B018 - reading it must not raise
            contract.creation.size  # noqa: B018
            for entry in contract.abi:  # PF-SEL, PF-ABI and PD-ACL compute these from every entry
                if entry.get("type", "function") in {"function", "event", "error"}:
                    signature(entry)
