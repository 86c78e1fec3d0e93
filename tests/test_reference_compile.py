"""The committed reference artifacts are exactly what solc-js makes of the committed sources.

``fixtures/tools/compile.cjs`` is deterministic (no timestamps, no absolute paths, ids from
content), so a fresh compile into a temporary directory must reproduce every committed file
byte for byte: the Hardhat artifacts and build-info of the reference, and the Foundry, truffle
and standard-JSON copies the loader tests read. A difference means someone edited an artifact
by hand, changed a source without recompiling, or has a different solc in node_modules.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO, node_available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not node_available(),
        reason="node or node_modules/solc is missing (run `npm ci`); the reference cannot be recompiled",
    ),
]

FORMATS_DIR = REPO / "tests" / "data" / "formats"
# committed location -> where `compile.cjs --out DIR` writes the same output
COMMITTED = {
    FIXTURES / "reference" / "artifacts": "artifacts",
    FORMATS_DIR / "foundry" / "out": "foundry/out",
    FORMATS_DIR / "truffle" / "build" / "contracts": "truffle/build/contracts",
    FORMATS_DIR / "solc-output.json": "solc-output.json",
}
NEXT_STEP = (
    "Next step: run `node fixtures/tools/compile.cjs fixtures/reference "
    "--formats hardhat,foundry,truffle,standard-json` and commit the result if the sources changed"
)


@pytest.fixture(scope="module")
def recompiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference compiled afresh, in every format, into a temporary directory."""
    out = tmp_path_factory.mktemp("reference-compile")
    result = subprocess.run(
        [
            "node",
            str(FIXTURES / "tools" / "compile.cjs"),
            str(FIXTURES / "reference"),
            "--formats",
            "hardhat,foundry,truffle,standard-json",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"compile.cjs failed:\n{result.stdout}{result.stderr}"
    return out


def _files(location: Path) -> dict[str, bytes]:
    if location.is_file():
        return {location.name: location.read_bytes()}
    return {p.relative_to(location).as_posix(): p.read_bytes() for p in sorted(location.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("committed", list(COMMITTED), ids=[p.relative_to(REPO).as_posix() for p in COMMITTED])
def test_committed_output_is_reproduced_byte_for_byte(recompiled: Path, committed: Path) -> None:
    expected = _files(committed)
    actual = _files(recompiled / COMMITTED[committed])
    assert expected, f"nothing committed at {committed}"
    missing = sorted(set(actual) - set(expected))
    extra = sorted(set(expected) - set(actual))
    assert not missing, f"{committed}: a fresh compile also writes {missing}, which are not committed. {NEXT_STEP}"
    assert not extra, f"{committed}: committed files a fresh compile does not write: {extra}. {NEXT_STEP}"
    differing = [name for name in sorted(expected) if expected[name] != actual[name]]
    assert not differing, f"{committed}: {len(differing)} file(s) differ from a fresh compile: {differing}. {NEXT_STEP}"


def test_the_compile_covers_the_whole_reference(recompiled: Path) -> None:
    # Guards the byte comparison against comparing two empty trees.
    hardhat = _files(recompiled / "artifacts")
    assert sum(name.endswith(".dbg.json") for name in hardhat) == 16
    assert len([name for name in hardhat if name.startswith("build-info/")]) == 1
    assert len(_files(recompiled / "truffle/build/contracts")) == 6
    assert (recompiled / "solc-output.json").stat().st_size > 100_000


@pytest.mark.parametrize(
    "target",
    [
        FIXTURES / "reference-control",
        FIXTURES / "reference-control-roles",
        FIXTURES / "reference-market",
        REPO / "tests" / "data" / "genesis-target",
    ],
    ids=lambda p: p.name,
)
def test_the_control_references_are_what_their_sources_compile_to(tmp_path: Path, target: Path) -> None:
    result = subprocess.run(
        ["node", str(FIXTURES / "tools" / "compile.cjs"), str(target), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"compile.cjs failed:\n{result.stdout}{result.stderr}"
    committed = sorted(p.relative_to(target / "artifacts") for p in (target / "artifacts").rglob("*") if p.is_file())
    fresh = sorted(p.relative_to(tmp_path / "artifacts") for p in (tmp_path / "artifacts").rglob("*") if p.is_file())
    assert committed == fresh, f"{target}: the file lists differ. Next step: node fixtures/tools/compile.cjs {target}"
    for path in committed:
        assert (target / "artifacts" / path).read_bytes() == (tmp_path / "artifacts" / path).read_bytes(), (
            f"{target}/artifacts/{path} differs from a fresh compile. Next step: recompile {target} with compile.cjs"
        )
