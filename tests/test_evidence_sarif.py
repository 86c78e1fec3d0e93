"""signoff sarif: real runtime-24577 evidence (one suite run for the module), variants edited in Python."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from signoff.evidence.collector import SCHEMA
from signoff.evidence.sarif import CHECK_TITLES, SARIF_SCHEMA, locations, main, to_sarif

REPO = Path(__file__).resolve().parents[1]
BIG_TARGET = REPO / "fixtures" / "defective" / "runtime-24577" / "signoff.toml"
BIG_NODE = "suites/preflight/test_pf_size.py::test_pf_size[contracts/Big.sol:Big]"
INVENTORY_NODE = "suites/preflight/test_pf_size.py::test_pf_size_inventory"
LEVELS = {"none", "note", "warning", "error"}

# A hand-written subset of the SARIF 2.1.0 schema: the parts signoff writes and dashboards require.
SARIF_SUBSET: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string"},
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "rules": {"type": "array", "items": {"$ref": "#/definitions/rule"}},
                                },
                            }
                        },
                    },
                    "results": {"type": "array", "items": {"$ref": "#/definitions/result"}},
                    "invocations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["executionSuccessful"],
                            "properties": {"executionSuccessful": {"type": "boolean"}},
                        },
                    },
                },
            },
        },
    },
    "definitions": {
        "message": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
        "rule": {
            "type": "object",
            "required": ["id"],
            "properties": {"id": {"type": "string"}, "shortDescription": {"$ref": "#/definitions/message"}},
        },
        "location": {
            "type": "object",
            "properties": {
                "physicalLocation": {
                    "type": "object",
                    "required": ["artifactLocation"],
                    "properties": {
                        "artifactLocation": {
                            "type": "object",
                            "required": ["uri"],
                            "properties": {"uri": {"type": "string", "minLength": 1}},
                        }
                    },
                },
                "logicalLocations": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
            },
        },
        "result": {
            "type": "object",
            "required": ["message"],
            "properties": {
                "ruleId": {"type": "string"},
                "ruleIndex": {"type": "integer", "minimum": 0},
                "level": {"enum": sorted(LEVELS)},
                "message": {"$ref": "#/definitions/message"},
                "locations": {"type": "array", "items": {"$ref": "#/definitions/location"}},
                "properties": {"type": "object"},
            },
        },
    },
}


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The evidence of a real ``-m eip170`` run on the runtime-24577 fixture (Big is 1 byte over EIP-170)."""
    reports = tmp_path_factory.mktemp("evidence-big")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    command = [sys.executable, "-m", "pytest", "-m", "eip170", "-q", "-p", "no:cacheprovider"]
    command += [f"--signoff-reports={reports}", f"--signoff-target={BIG_TARGET}"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    (found,) = [p for p in sorted(reports.glob("*.json")) if json.loads(p.read_text()).get("schema") == SCHEMA]
    return found


@pytest.fixture
def big(big_file: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(big_file.read_text())
    return document


def check(document: dict[str, Any], nodeid: str) -> dict[str, Any]:
    (found,) = [c for c in document["checks"] if c["nodeid"] == nodeid]
    return found  # type: ignore[no-any-return]


def validate(log: dict[str, Any]) -> None:
    """Structural SARIF checks (what code-scanning uploads need), with or without jsonschema."""
    assert log["$schema"] == SARIF_SCHEMA
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "signoff"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert rule_ids == sorted(set(rule_ids))
    for rule in driver["rules"]:
        assert isinstance(rule["shortDescription"]["text"], str) and rule["shortDescription"]["text"]
    for result in run["results"]:
        assert result["ruleId"] in rule_ids
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in LEVELS
        assert isinstance(result["message"]["text"], str) and result["message"]["text"]
        for location in result.get("locations", []):
            assert "physicalLocation" in location or location["logicalLocations"]
            if "physicalLocation" in location:
                uri = location["physicalLocation"]["artifactLocation"]["uri"]
                assert uri and "://" not in uri and not uri.startswith("/")
        assert set(result["properties"]) == {"nodeid", "outcome"}
    json.dumps(log)  # plain JSON all the way down


def test_real_size_finding_is_an_error_at_big_sol(big: dict[str, Any]) -> None:
    log = to_sarif(big)
    validate(log)
    (run,) = log["runs"]
    assert run["tool"]["driver"]["version"] == big["environment"]["signoff"]
    assert run["tool"]["driver"]["rules"] == [
        {
            "id": "PF-SIZE",
            "shortDescription": {"text": CHECK_TITLES["PF-SIZE"]},
            "defaultConfiguration": {"level": "error"},
        }
    ]
    (result,) = run["results"]  # the failed check has its finding: no second, synthetic result
    assert result["ruleId"] == "PF-SIZE"
    assert result["level"] == "error"
    assert result["message"]["text"] == check(big, BIG_NODE)["findings"][0]["message"]
    assert "24,577 bytes" in result["message"]["text"]
    (location,) = result["locations"]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "contracts/Big.sol"
    assert location["logicalLocations"][0]["name"] == "Big"
    assert result["properties"] == {"nodeid": BIG_NODE, "outcome": "failed"}
    assert run["invocations"][0]["executionSuccessful"] is True
    assert run["invocations"][0]["exitCode"] == 1


def test_validates_against_an_embedded_schema_subset(big: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(to_sarif(big), SARIF_SUBSET)


def test_levels_and_rules_follow_the_findings(big: dict[str, Any]) -> None:
    inventory = check(big, INVENTORY_NODE)
    inventory["findings"] = [
        {"check": "PF-SIZE", "subject": "contracts/Low.sol:Low", "severity": "warning", "message": "low headroom"},
        {"check": "PF-SEL", "subject": "diamond D", "severity": "info", "message": "allowed by rule 1"},
        {"check": "PF-SIZE", "subject": "x", "severity": "strange", "message": "unknown severity"},
    ]
    log = to_sarif(big)
    validate(log)
    (run,) = log["runs"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["PF-SEL", "PF-SIZE"]
    levels = {r["message"]["text"]: (r["ruleId"], r["level"]) for r in run["results"]}
    assert levels == {
        check(big, BIG_NODE)["findings"][0]["message"]: ("PF-SIZE", "error"),
        "low headroom": ("PF-SIZE", "warning"),
        "allowed by rule 1": ("PF-SEL", "note"),
        "unknown severity": ("PF-SIZE", "note"),
    }


def test_failed_checks_without_error_findings_still_report(big: dict[str, Any]) -> None:
    big_check = check(big, BIG_NODE)
    big_check.update(findings=[], message="AssertionError: something broke")
    inventory = check(big, INVENTORY_NODE)
    inventory.update(outcome="error", message=None)
    inventory["findings"] = [{"check": "PF-SIZE", "subject": "", "severity": "warning", "message": "a warning"}]
    big["checks"].append({"nodeid": "suites/x.py::test_skip", "check": "PF-NET", "outcome": "skipped", "findings": []})
    big["checks"].append({"nodeid": "suites/x.py::test_ok", "check": None, "outcome": "passed", "findings": []})
    log = to_sarif(big)
    validate(log)
    results = log["runs"][0]["results"]
    assert [(r["properties"]["nodeid"], r["level"], r["message"]["text"]) for r in results] == [
        (BIG_NODE, "error", "AssertionError: something broke"),
        (INVENTORY_NODE, "warning", "a warning"),
        (INVENTORY_NODE, "error", f"{INVENTORY_NODE}: error, no message recorded"),
    ]
    # the synthetic result is located by the test's parameter when it names a source
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "contracts/Big.sol"
    assert "locations" not in results[1]  # a finding without a subject has no location
    assert results[2]["locations"] == [{"logicalLocations": [{"name": INVENTORY_NODE}]}]
    # every check id present has a rule, also those without results; a test without one gets "signoff"
    assert [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]] == ["PF-NET", "PF-SIZE", "signoff"]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (
            "contracts/Big.sol:Big",
            [
                {
                    "physicalLocation": {"artifactLocation": {"uri": "contracts/Big.sol"}},
                    "logicalLocations": [
                        {"name": "Big", "fullyQualifiedName": "contracts/Big.sol:Big", "kind": "type"}
                    ],
                }
            ],
        ),
        ("@openzeppelin/contracts/utils/StorageSlot.sol:StorageSlot", "@openzeppelin/contracts/utils/StorageSlot.sol"),
        ("src/with space/A.sol:A", "src/with%20space/A.sol"),
        ("vyper/Vault.vy:Vault", "vyper/Vault.vy"),
        ("PayRoxProxyRouter.dispatcher", [{"logicalLocations": [{"name": "PayRoxProxyRouter.dispatcher"}]}]),
        (
            "0x51a240271AB8AB9f9a21C82d9a85396b704E164d",
            [{"logicalLocations": [{"name": "0x51a240271AB8AB9f9a21C82d9a85396b704E164d"}]}],
        ),
        ("contracts/Big.sol", [{"logicalLocations": [{"name": "contracts/Big.sol"}]}]),
        ("", []),
    ],
)
def test_locations(subject: str, expected: Any) -> None:
    found = locations(subject)
    if isinstance(expected, str):
        assert found[0]["physicalLocation"]["artifactLocation"]["uri"] == expected
    else:
        assert found == expected


def test_deterministic(big: dict[str, Any]) -> None:
    shuffled = copy.deepcopy(big)
    shuffled["checks"].reverse()
    assert json.dumps(to_sarif(big)) == json.dumps(to_sarif(shuffled))


def test_main_writes_next_to_the_evidence(
    big: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evidence = tmp_path / "signoff-eip170.json"
    evidence.write_text(json.dumps(big))
    assert main([str(evidence)]) == 0
    written = tmp_path / "signoff-eip170.sarif"
    assert capsys.readouterr().out == f"wrote {written}: 1 error\n"
    assert json.loads(written.read_text()) == to_sarif(big)
    elsewhere = tmp_path / "out" / "x.sarif"
    elsewhere.parent.mkdir()
    assert main([str(evidence), "--out", str(elsewhere)]) == 0
    validate(json.loads(elsewhere.read_text()))


@pytest.mark.parametrize("case", ["missing", "not-json", "not-evidence", "no-argument", "unwritable"])
def test_main_usage_errors(big: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    evidence = tmp_path / "e.json"
    evidence.write_text(json.dumps(big))
    args, expected = {
        "missing": ([str(tmp_path / "absent.json")], f"{tmp_path / 'absent.json'}: no such file"),
        "not-json": ([str(_text(tmp_path / "r.html", "<html>"))], f"{tmp_path / 'r.html'}: is not JSON"),
        "not-evidence": ([str(_text(tmp_path / "s.json", '{"version": "2.1.0"}'))], "expected schema"),
        "no-argument": ([], "the following arguments are required: EVIDENCE.json"),
        "unwritable": ([str(evidence), "--out", str(tmp_path / "no" / "dir" / "x.sarif")], "cannot write SARIF"),
    }[case]
    assert main(args) == 4
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("signoff sarif: ") and expected in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
