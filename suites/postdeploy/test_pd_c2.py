"""PD-C2: CREATE2 addresses — predicted equals deployed, a repeat deploy is idempotent, every
configured network records the same addresses.

Per ``[[postdeploy.create2]]`` entry (named by contract): ``predict`` is read-only and runs on
live networks too; ``idempotent`` repeats the deployment on a drill chain (NOT RUN on a live
network without ``--signoff-fork``). ``networks`` compares deployments files on disk and never
contacts another network. Collection reads settings only.
"""

import pytest

from signoff.deploy.system import DeployedSystem
from signoff.errors import SignoffError
from signoff.findings import Finding
from signoff.postdeploy import create2 as c2
from signoff.session import SessionSettings
from signoff.stash import settings_of
from signoff.suite import not_applicable

CHECK_ID = c2.CHECK_ID
pytestmark = [pytest.mark.postdeploy, pytest.mark.create2]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "c2_index" in metafunc.fixturenames:
        postdeploy = settings_of(metafunc.config).postdeploy
        entries = list(postdeploy.create2) if postdeploy else []
        names = [e.contract for e in entries]
        ids = [n if names.count(n) == 1 else f"{n}-{e.factory}" for n, e in zip(names, entries, strict=True)]
        metafunc.parametrize("c2_index", list(range(len(entries))) or [None], ids=ids or ["not-configured"])


def _skip_not_configured(settings: SessionSettings) -> None:
    not_applicable(
        f"no [[postdeploy.create2]] in {settings.target.path}: PD-C2 is not configured. To check a CREATE2 "
        'deployment, add [[postdeploy.create2]] factory = "<Factory>", contract = "<Name>"'
    )


def _subject(settings: SessionSettings, system: DeployedSystem, index: int, evidence) -> c2.Create2Subject | None:
    assert settings.postdeploy is not None
    entry = settings.postdeploy.create2[index]
    try:
        return c2.subject_for(system, entry)
    except SignoffError as exc:
        evidence.check([Finding(CHECK_ID, entry.contract, "error", str(exc))])
    return None


def test_pd_c2_predict(c2_index: int | None, signoff_settings: SessionSettings, request, evidence) -> None:
    if c2_index is None:
        _skip_not_configured(signoff_settings)
    system: DeployedSystem = request.getfixturevalue("deployed_system")
    chain = request.getfixturevalue("chain")
    subject = _subject(signoff_settings, system, c2_index, evidence)
    if subject is None:
        return
    predicted = c2.read_prediction(chain.w3, subject, c2.factory_abi(system, subject))
    findings = c2.predict_findings(subject, predicted)
    evidence.row(
        c2.TABLE,
        subject.row(
            factory_predict=predicted or "(none)",
            computed=subject.computed,
            idempotent="(test_pd_c2_idempotent)",
            verdict="FINDING" if any(f.is_error for f in findings) else "ok",
        ),
    )
    evidence.attach("init_code_hash", "0x" + subject.init_code_hash.hex())
    evidence.check(findings)


@pytest.mark.drill
def test_pd_c2_idempotent(c2_index: int | None, signoff_settings: SessionSettings, request, evidence) -> None:
    if c2_index is None:
        _skip_not_configured(signoff_settings)
    system: DeployedSystem = request.getfixturevalue("deployed_system")
    drill = request.getfixturevalue("drill")
    subject = _subject(signoff_settings, system, c2_index, evidence)
    if subject is None:
        return
    try:
        result = c2.repeat_deploy(drill, subject, c2.factory_abi(system, subject))
    except SignoffError as exc:
        evidence.check([Finding(CHECK_ID, subject.contract, "error", f"repeating the deployment failed: {exc}")])
        return
    findings = c2.repeat_findings(subject, result)
    evidence.row(
        c2.TABLE,
        subject.row(
            factory_predict="",
            computed=subject.computed,
            idempotent=result.observed(),
            verdict="FINDING" if findings else "ok",
        ),
    )
    evidence.check(findings)


def test_pd_c2_networks(signoff_settings: SessionSettings, request, evidence) -> None:
    postdeploy = signoff_settings.postdeploy
    if postdeploy is None or not postdeploy.create2:
        _skip_not_configured(signoff_settings)
    system: DeployedSystem = request.getfixturevalue("deployed_system")
    contracts = [e.contract for e in postdeploy.create2 if e.contract in system.addresses]
    live = signoff_settings.network_settings
    try:
        books = c2.network_books(signoff_settings.target)
        comparison = c2.compare_networks(
            signoff_settings.network, system.addresses, contracts, books, skip=live.name if live is not None else ""
        )
    except SignoffError as exc:
        evidence.check([Finding(CHECK_ID, "networks", "error", str(exc))])
        return
    for row in comparison.rows:
        evidence.row(c2.NETWORKS_TABLE, row)
    evidence.attach("networks", comparison.summary())
    evidence.attach("networks_compared", len(comparison.compared))
    evidence.check(comparison.findings)
