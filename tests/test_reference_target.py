"""The reference target is correct: its contracts work as the runbooks say, and every
artifact format read from the same compilation gives the same PF-SIZE numbers."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from signoff.artifacts.loader import load_artifacts
from signoff.preflight.sizes import check_size
from tests.conftest import FIXTURES, REPO

FORMATS = REPO / "tests" / "data" / "formats"


def test_reference_contracts_walk_the_runbook_on_eth_tester() -> None:
    """Deploy, commit -> apply -> activate with Merkle proofs, CREATE2 idempotency, pause,
    and the reentrancy drill against both guarded withdrawals (fixtures/tools/smoke_reference.py)."""
    script = FIXTURES / "tools" / "smoke_reference.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"^summary: \d+ checks passed", done.stdout, re.M), done.stdout[-2000:]
    assert "FAIL" not in done.stdout


@pytest.mark.parametrize(
    "location",
    ["foundry/out", "truffle/build/contracts", "solc-output.json"],
)
def test_size_numbers_agree_across_formats(location: str) -> None:
    hardhat = {c.name: c for c in load_artifacts(FIXTURES / "reference" / "artifacts").contracts}
    other = load_artifacts(FORMATS / location)
    assert not other.problems, other.problems
    project = [c for c in other.contracts if c.source.startswith("contracts/")]
    assert len(project) == 6, [c.fqn for c in other.contracts]
    for contract in project:
        expected = check_size(hardhat[contract.name], warn_headroom=1024)
        actual = check_size(contract, warn_headroom=1024)
        assert (actual.runtime, actual.initcode, actual.verdict) == (
            expected.runtime,
            expected.initcode,
            expected.verdict,
        )
        assert actual.runtime > 0
