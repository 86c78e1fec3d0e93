"""PF-ABI: every contract's interface equals its committed snapshot; declared interfaces are
implemented with the same signatures.

One test per contract (its snapshot), one per ``implements`` declaration, and an inventory
that fails when no contract was checked. ``--signoff-update-snapshots`` writes the snapshots
instead of comparing them and reports, as warnings, which ones it created or changed.
"""

from pathlib import Path

import pytest

from signoff.artifacts.loader import Contract
from signoff.findings import Finding
from signoff.preflight import abi_shape as shape
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import ContractCase, contract_cases, safe_id
from signoff.target import excluded_by

CHECK_ID = shape.CHECK_ID
pytestmark = [pytest.mark.preflight, pytest.mark.abi]


def _subjects(settings: SessionSettings) -> set[str]:
    """``[abi] contracts``, else every deployable project contract (outside ``[compiler] exclude``)
    that is not a test, mock, script or library (see :func:`_left_out`)."""
    target, artifacts = settings.target, settings.artifacts
    if target.abi.contracts:
        return {artifacts.resolve(name).fqn for name in target.abi.contracts}
    left_out = _left_out(settings)
    return {c.fqn for c in artifacts.contracts if settings.is_project_contract(c) and c.fqn not in left_out}


def _left_out(settings: SessionSettings) -> dict[str, str]:
    """Project contracts the default scope leaves out, with the reason ([abi] contracts brings them in)."""
    if settings.target.abi.contracts:
        return {}
    reasons = {
        c.fqn: shape.left_out_by_default(c.source, c.name, c.runtime.hex, c.abi)
        for c in settings.artifacts.contracts
        if settings.is_project_contract(c)
    }
    return {fqn: reason for fqn, reason in reasons.items() if reason is not None}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    settings = settings_of(metafunc.config)
    if "abi_case" in metafunc.fixturenames:
        subjects = _subjects(settings)
        cases = contract_cases(settings.artifacts, lambda c: c.fqn in subjects)
        folder = settings.target.abi.snapshots
        first_run = not metafunc.config.getoption("signoff_update_snapshots") and not (
            folder.is_dir() and any(folder.glob("*.json"))
        )
        if cases and first_run:  # one failure that says what to do, not one per contract
            metafunc.parametrize("abi_case", [None], ids=["no-snapshots-yet"])
        elif cases:
            metafunc.parametrize("abi_case", cases, ids=[case.id for case in cases])
        else:  # test_pf_abi_inventory fails for this
            reason = "no contract selected for PF-ABI (see test_pf_abi_inventory)"
            metafunc.parametrize("abi_case", [pytest.param(None, marks=pytest.mark.skip(reason=reason))], ids=["none"])
    if "declared" in metafunc.fixturenames:
        pairs = [(name, iface) for name, cs in settings.target.contracts.items() for iface in cs.implements]
        if not pairs:
            metafunc.parametrize("declared", [None], ids=["none-declared"])
        else:
            metafunc.parametrize("declared", pairs, ids=[safe_id(f"{c}-implements-{i}") for c, i in pairs])


def _shown(settings: SessionSettings, path: Path) -> str:
    """A path as the user wrote it: relative to the target file when it is below it."""
    try:
        return path.relative_to(settings.target.root).as_posix()
    except ValueError:
        return str(path)


def _snapshot_path(settings: SessionSettings, contract: Contract) -> tuple[Path, str]:
    unique = sum(c.name == contract.name for c in settings.artifacts.contracts) == 1
    path = settings.target.abi.snapshots / shape.snapshot_name(contract.name, contract.fqn, unique)
    return path, _shown(settings, path)


def _snapshot(contract: Contract) -> dict[str, object]:
    try:
        return shape.snapshot_of(contract.fqn, contract.abi)
    except shape.SnapshotError as exc:
        pytest.fail(f"{contract.fqn} ({contract.artifact_path}): {exc}; the artifact is malformed", pytrace=False)


def test_pf_abi_snapshot(
    abi_case: ContractCase | None, signoff_settings: SessionSettings, request: pytest.FixtureRequest, evidence
) -> None:
    if abi_case is None:
        subjects = sorted(_subjects(signoff_settings))
        folder = _shown(signoff_settings, signoff_settings.target.abi.snapshots)
        message = (
            f"no ABI snapshots yet in {folder}/ for the {len(subjects)} contract(s) PF-ABI checks "
            f"({', '.join(subjects[:6])}{', ...' if len(subjects) > 6 else ''}): there is no expected interface to "
            "compare with. Next step: `pytest -m abi --signoff-update-snapshots`, review the files it writes and "
            "commit them"
        )
        evidence.check([Finding(CHECK_ID, folder, "error", message)])
        return
    contract = abi_case.require()
    actual = _snapshot(contract)
    path, shown = _snapshot_path(signoff_settings, contract)
    stored = path.read_text(encoding="utf-8") if path.is_file() else None
    if request.config.getoption("signoff_update_snapshots"):
        result = shape.update_snapshot(contract.fqn, actual, stored, shown)
        if result.status != "unchanged":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(shape.render_snapshot(actual), encoding="utf-8")
    else:
        result = shape.check_snapshot(contract.fqn, actual, stored, shown)
    evidence.row("PF-ABI", result.row())
    if result.diff is not None and not result.diff.empty:
        evidence.attach("diff", result.diff.lines())
    evidence.check(result.findings)


def test_pf_abi_implements(declared: tuple[str, str] | None, signoff_settings: SessionSettings, evidence) -> None:
    if declared is None:
        sentence = f"no [contracts.NAME] implements = [...] in {signoff_settings.target.path}: no interface declared"
        evidence.attach("nothing_to_check", safe_id(sentence))
        return
    name, interface_name = declared
    contract = signoff_settings.artifacts.resolve(name)
    interface = signoff_settings.artifacts.resolve(interface_name)
    try:
        result = shape.check_implements(contract.fqn, contract.abi, interface.fqn, interface.abi)
    except shape.SnapshotError as exc:
        pytest.fail(f"{contract.fqn} implements {interface.fqn}: {exc}; the artifact is malformed", pytrace=False)
    for row in result.rows():
        evidence.row("PF-ABI-implements", row)
    evidence.check(result.findings)


def test_pf_abi_inventory(signoff_settings: SessionSettings, evidence) -> None:
    subjects = _subjects(signoff_settings)
    directory = signoff_settings.target.abi.snapshots
    expected = {_snapshot_path(signoff_settings, signoff_settings.artifacts.resolve(fqn))[0].name for fqn in subjects}
    present = {p.name for p in directory.glob("*.json")} if directory.is_dir() else set()
    evidence.attach("contracts_checked", len(subjects))
    evidence.attach("snapshots_dir", str(directory))
    evidence.attach(
        "left_out_by_default",
        [f"{fqn} ({reason})" for fqn, reason in sorted(_left_out(signoff_settings).items())],
    )
    findings: list[Finding] = []
    if not subjects:
        findings.append(
            Finding(
                CHECK_ID,
                str(signoff_settings.target.path),
                "error",
                f"no contract's ABI was checked among {len(signoff_settings.artifacts.contracts)} in "
                f"{signoff_settings.artifacts.root}"
                + (
                    f" ({len(_left_out(signoff_settings))} left out by default as tests, mocks, scripts or libraries)"
                    if _left_out(signoff_settings)
                    else ""
                )
                + ": PF-ABI would pass on nothing. Next step: name the contracts in [abi] contracts, or check "
                "[compiler] exclude in the target file",
            )
        )
    findings.extend(shape.orphan_snapshots(present, expected, _shown(signoff_settings, directory)))
    evidence.check(findings)


def test_pf_abi_unique_names(signoff_settings: SessionSettings, evidence) -> None:
    """One contract per name among the project's (outside [compiler] exclude)."""
    exclude = signoff_settings.target.compiler.exclude
    contracts = [c for c in signoff_settings.artifacts.contracts if not excluded_by(c.source, exclude)]
    evidence.attach("contracts_named", len(contracts))
    evidence.check(shape.duplicate_names((c.fqn, c.name, c.deployable) for c in contracts))
