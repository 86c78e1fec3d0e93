"""Bad input to the owner control plane: a clear failure or usage error naming the file and key, the
value found and the next step; never a traceback, a silent skip or a green report."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, SuiteRun

SOURCE = FIXTURES / "reference-control"


def _json(path: Path, change: Callable[[dict], object]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


CASES: dict[str, tuple[Callable[[Path], None], int, str]] = {
    "config-file-is-an-array": (
        lambda t: (t / "config" / "fee-pool.json").write_text("[1, 2]"),
        1,
        "fee-pool.json is an array, not a JSON object of key -> value",
    ),
    "owner-control-module-is-a-string": (
        lambda t: _json(t / "config" / "owner-control.json", lambda d: d["modules"].update(feePool="ownable")),
        1,
        'modules.feePool must be an object with "type"',
    ),
    "address-book-is-an-array": (
        lambda t: (t / "config" / "deployment.json").write_text("[]"),
        1,
        "the address book must be a JSON object of module key -> address",
    ),
    "value-is-an-object": (
        lambda t: _json(t / "config" / "job-registry.json", lambda d: d.update(feePct={"a": 1})),
        1,
        'feePct = {"a": 1} must be a whole number (a number or a numeric string)',
    ),
    "getter-takes-arguments": (
        lambda t: (t / "signoff.toml").write_text(
            (t / "signoff.toml")
            .read_text()
            .replace('keys.feePct = "percent"', 'keys.feePct = { getter = "createJob", unit = "percent" }')
        ),
        1,
        "JobRegistry.createJob is createJob(uint256) returns (uint256), not a view without arguments",
    ),
    "config-is-a-file": (
        lambda t: (t / "signoff.toml").write_text(
            (t / "signoff.toml").read_text().replace('config = "config"', 'config = "config/fee-pool.json"', 1)
        ),
        4,
        "is a file, expected a folder",
    ),
    "unknown-pause-key": (
        lambda t: (t / "signoff.toml").write_text(
            (t / "signoff.toml").read_text().replace("[control.pause]", '[control.pause]\npause_al = "pauseAll"', 1)
        ),
        4,
        "unknown key(s) pause_al in [control.pause]",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_control_input_is_a_clear_error(run_suite, tmp_path: Path, case: str) -> None:
    edit, exit_code, message = CASES[case]
    target = tmp_path / "target"
    shutil.copytree(SOURCE, target, ignore=lambda at, _: ["contracts"] if Path(at) == SOURCE else [])
    edit(target)
    run: SuiteRun = run_suite("-m", "control", target=target / "signoff.toml")
    assert run.result.ret == exit_code, run.output
    assert message in run.output
    assert "Traceback" not in run.output and "INTERNALERROR" not in run.output
    if exit_code == 1:
        assert "SIGNED OFF" in run.output and "NOT SIGNED OFF" in run.output
