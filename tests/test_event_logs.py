"""Logs that carry an event's topic but do not decode as the artifact declares it (another indexing,
other data) are not skipped: they come back as unreadable, and PD-EVT and PD-MON fail on them with
one finding that names the contract, the event, the blocks and what did not fit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from eth_abi.abi import encode

from signoff.findings import Finding
from signoff.postdeploy.event_logs import decode_logs, event_specs, unreadable_findings
from tests.conftest import FIXTURES, SuiteRun

CONTROL = FIXTURES / "reference-control" / "signoff.toml"

ABI = [
    {
        "type": "event",
        "name": "Committed",
        "inputs": [
            {"name": "root", "type": "bytes32", "indexed": True},
            {"name": "epoch", "type": "uint256", "indexed": False},
            {"name": "eta", "type": "uint256", "indexed": False},
        ],
    }
]
[SPEC] = event_specs(ABI, lambda name: name == "Committed")
ROOT = b"\x11" * 32


def _log(block: int, topics: list[bytes], data: bytes) -> dict[str, object]:
    return {"blockNumber": block, "topics": [SPEC.topic, *topics], "data": data}


def test_a_log_as_declared_decodes() -> None:
    seen, unreadable = decode_logs("Hub", SPEC, [_log(7, [ROOT], encode(["uint256", "uint256"], [1, 99]))])
    assert unreadable == []
    [event] = seen
    assert (event.block, event.values["epoch"], event.values["eta"]) == (7, 1, 99)
    assert event.values["root"] == ROOT


def test_logs_of_another_shape_are_unreadable_not_skipped() -> None:
    logs = [
        _log(3, [], encode(["bytes32", "uint256", "uint256"], [ROOT, 1, 99])),  # root not indexed: one topic short
        _log(5, [ROOT], encode(["uint256"], [1])),  # one data word instead of two
        _log(6, [ROOT], encode(["uint256", "uint256"], [2, 100])),  # as declared
    ]
    seen, unreadable = decode_logs("Hub", SPEC, logs)
    assert [e.block for e in seen] == [6]
    assert [(u.block, u.why) for u in unreadable] == [
        (3, "1 indexed topic declared, the log has 0"),
        (5, "the data is 32 bytes, 64 declared"),
    ]
    [finding] = unreadable_findings("PD-MON", unreadable)
    assert isinstance(finding, Finding) and finding.severity == "error"
    assert finding.message == (
        "Hub: 2 Committed(bytes32,uint256,uint256) logs do not decode as the artifact declares the event (block 3: "
        "1 indexed topic declared, the log has 0; block 5: the data is 32 bytes, 64 declared), so signoff cannot "
        "judge them. Next step: check that the artifact is the build deployed there (PD-CODE) and that its ABI "
        "declares the event as the contract emits it"
    )
    assert unreadable_findings("PD-MON", []) == []


def test_a_roster_event_the_artifact_declares_otherwise_fails_pd_evt(run_suite, tmp_path: Path) -> None:
    """The control reference with one edit to EnergyOracle's artifact: SignerUpdated's signer is declared
    not indexed (the same signature, so the same topic), while the deployed code indexes it. The roster
    events cannot be read as declared: PD-EVT says so and fails, where it used to pass on no events."""
    copy = tmp_path / "control"
    shutil.copytree(CONTROL.parent, copy, ignore=lambda at, _: ["contracts"] if Path(at) == CONTROL.parent else [])
    artifact = copy / "artifacts" / "contracts" / "EnergyOracle.sol" / "EnergyOracle.json"
    document = json.loads(artifact.read_text())
    [event] = [e for e in document["abi"] if e.get("type") == "event" and e["name"] == "SignerUpdated"]
    event["inputs"][0]["indexed"] = False
    artifact.write_text(json.dumps(document, indent=2))
    run: SuiteRun = run_suite("-m", "events", target=copy / "signoff.toml")
    assert run.result.ret == 1, run.output
    record = run.assert_fails_only(
        "test_pd_evt_roster",
        "EnergyOracle: 2 SignerUpdated(address,bool) logs do not decode as the artifact declares the event (block",
        skips_count=False,
    )
    assert "0 indexed topics declared, the log has 1" in record["message"]
    assert "Next step: check that the artifact is the build deployed there (PD-CODE)" in record["message"]
