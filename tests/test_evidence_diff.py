"""signoff diff: real evidence from the suites (run once per module), variants edited in Python."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from signoff.errors import ConfigError
from signoff.evidence.collector import SCHEMA
from signoff.evidence.diff import (
    ALL_ROWS,
    CODE,
    GAS,
    OTHER,
    OWNERS,
    ROUTES,
    ROW,
    SIZES,
    TABLE,
    WIRING,
    EvidenceDiff,
    classify_outcome,
    diff_evidence,
    load_evidence,
    main,
    render_markdown,
)

REPO = Path(__file__).resolve().parents[1]
DEFECTIVE = REPO / "fixtures" / "defective"

# name -> (marker expression, target file or None for the reference, expected exit status)
RUNS: dict[str, tuple[str, Path | None, int]] = {
    "reference": ("eip170 or (postdeploy and (gas or ownership or bytecode or wiring))", None, 0),
    "big": ("eip170", DEFECTIVE / "runtime-24577" / "signoff.toml", 1),
    "gas_regression": ("postdeploy and gas", DEFECTIVE / "pd-gas-regression" / "signoff.toml", 1),
}
GAS_NODE = "suites/postdeploy/test_pd_gas.py::test_pd_gas[workflow]"
BIG_NODE = "suites/preflight/test_pf_size.py::test_pf_size[contracts/Big.sol:Big]"
DISPATCHER = "contracts/dispatcher/ManifestDispatcher.sol:ManifestDispatcher"


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The evidence files of real suite runs (in parallel, once for the module)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    started = {}
    for name, (markers, target, _) in RUNS.items():
        reports = tmp_path_factory.mktemp(f"evidence-{name}")
        command = [sys.executable, "-m", "pytest", "-m", markers, "-q", "-p", "no:cacheprovider"]
        command.append(f"--signoff-reports={reports}")
        if target is not None:
            command.append(f"--signoff-target={target}")
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        started[name] = (process, reports)
    files = {}
    for name, (process, reports) in started.items():
        output, _ = process.communicate(timeout=300)
        assert process.returncode == RUNS[name][2], output.decode(errors="replace")
        (found,) = [p for p in sorted(reports.glob("*.json")) if json.loads(p.read_text()).get("schema") == SCHEMA]
        files[name] = found
    return files


def doc(real: dict[str, Path], name: str) -> dict[str, Any]:
    """A fresh copy of one real evidence document, free to edit."""
    document: dict[str, Any] = json.loads(real[name].read_text())
    return document


def only_tables(document: dict[str, Any], *table_ids: str) -> dict[str, Any]:
    document["tables"] = {k: v for k, v in document["tables"].items() if k in table_ids}
    return document


def row(document: dict[str, Any], table: str, **match: Any) -> dict[str, Any]:
    (found,) = [r for r in document["tables"][table]["rows"] if all(r.get(k) == v for k, v in match.items())]
    return found  # type: ignore[no-any-return]


def check(document: dict[str, Any], nodeid: str) -> dict[str, Any]:
    (found,) = [c for c in document["checks"] if c["nodeid"] == nodeid]
    return found  # type: ignore[no-any-return]


def section_cells(diff: EvidenceDiff, section: str) -> dict[tuple[str, str, str], tuple[str | None, str | None, bool]]:
    return {(c.table, c.row, c.column): (c.old, c.new, c.regression) for c in diff.cells if c.section == section}


# -- loading ---------------------------------------------------------------------------------


def test_load_evidence_reads_a_real_file(real: dict[str, Path]) -> None:
    document = load_evidence(real["reference"])
    assert document == doc(real, "reference")
    assert {"PF-SIZE", "PD-GAS", "PD-OWN", "PD-OWN-governance", "PD-CODE", "PD-WIRE"} <= document["tables"].keys()


def _write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing", "no such file"),
        ("directory", "is a directory"),
        ("html", "is not JSON"),
        ("array", "holds an array"),
        ("schema", "schema 'signoff-evidence/0'"),
        ("no-schema", "has no schema key"),
        ("missing-keys", "lacks checks"),
        ("checks-object", "checks is an object, expected an array"),
        ("check-without-nodeid", "checks[0] has nodeid = None"),
        ("table-rows", "tables['PF-SIZE'] has rows that are not an array of objects"),
    ],
)
def test_load_evidence_rejects_what_it_cannot_use(
    real: dict[str, Path], tmp_path: Path, case: str, expected: str
) -> None:
    good = doc(real, "big")
    if case == "missing":
        path = tmp_path / "absent.json"
    elif case == "directory":
        path = tmp_path
    elif case == "html":
        path = _write(tmp_path, "report.html", "<html><body>signoff</body></html>")
    elif case == "array":
        path = _write(tmp_path, "e.json", [good])
    elif case == "schema":
        path = _write(tmp_path, "e.json", {**good, "schema": "signoff-evidence/0"})
    elif case == "no-schema":
        path = _write(tmp_path, "e.json", {k: v for k, v in good.items() if k != "schema"})
    elif case == "missing-keys":
        path = _write(tmp_path, "e.json", {k: v for k, v in good.items() if k != "checks"})
    elif case == "checks-object":
        path = _write(tmp_path, "e.json", {**good, "checks": {}})
    elif case == "check-without-nodeid":
        path = _write(tmp_path, "e.json", {**good, "checks": [{"outcome": "passed"}]})
    else:
        good["tables"]["PF-SIZE"]["rows"] = ["not a row"]
        path = _write(tmp_path, "e.json", good)
    with pytest.raises(ConfigError) as caught:
        load_evidence(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "Next step:" in message
    assert "\n" not in message


# -- comparing -------------------------------------------------------------------------------


def test_identical_evidence_has_no_change(real: dict[str, Path]) -> None:
    diff = diff_evidence(doc(real, "reference"), doc(real, "reference"))
    assert not diff.regression
    assert diff.empty
    assert not diff.scope_changes
    text = render_markdown(diff)
    assert text.splitlines()[0] == "# signoff diff: no regression"
    assert "No change in verdicts or evidence tables." in text
    assert "\n## " not in text


def test_real_gas_regression(real: dict[str, Path]) -> None:
    """pd-gas-regression: the same measured gas against a lower committed baseline fails PD-GAS."""
    old = only_tables(doc(real, "reference"), "PD-GAS")
    old["checks"] = [c for c in old["checks"] if c["check"] == "PD-GAS"]
    diff = diff_evidence(old, doc(real, "gas_regression"))
    assert diff.regression
    assert not diff.same_target
    (verdict,) = diff.verdicts
    assert (verdict.nodeid, verdict.old, verdict.new, verdict.change) == (GAS_NODE, "passed", "failed", "regression")
    assert verdict.regression
    assert "+30.9% against the baseline" in verdict.note
    assert not diff.numbers  # the measured gas is the same: only the baseline moved
    cells = section_cells(diff, GAS)
    assert cells[("PD-GAS", "applyRoutes (2 selectors)", "baseline")] == ("104,749", "80,000", False)
    assert cells[("PD-GAS", "applyRoutes (2 selectors)", "verdict")] == ("pass", "fail", True)
    assert (diff.old_signoff, diff.new_signoff, diff.signoff_lost) == ("SIGNED OFF", "NOT SIGNED OFF", True)
    assert diff.regression_counts() == {"Sign-off": 1, "Verdicts": 1, GAS: 2}
    text = render_markdown(diff)
    first = text.splitlines()[0]
    assert first.startswith("# signoff diff: REGRESSION (across different targets: PayRox reference (signoff) vs ")
    assert "pd-gas-regression" in first
    assert "## Verdicts" in text and "## Gas" in text
    assert "## Sizes" not in text and "## Owners and governance" not in text


def test_different_targets_are_said_first_and_new_failure_regresses(real: dict[str, Path]) -> None:
    diff = diff_evidence(doc(real, "reference"), doc(real, "big"))
    assert diff.scope_value("Target").changed
    assert diff.scope_value("Artifacts sha256").changed
    assert not diff.scope_value("Chain id").changed  # eip170 alone starts no chain: not recorded there
    assert diff.scope_value("Chain id").new == ""
    by_node = {v.nodeid: v for v in diff.verdicts}
    assert by_node[BIG_NODE].change == "new failing check" and by_node[BIG_NODE].regression
    assert diff.verdicts[0].nodeid == BIG_NODE  # regressions first
    removed = by_node[f"suites/preflight/test_pf_size.py::test_pf_size[{DISPATCHER}]"]
    assert (removed.change, removed.regression) == ("removed", False)
    cells = section_cells(diff, SIZES)
    assert cells[("PF-SIZE", "contracts/Big.sol:Big", ROW)] == (
        None,
        "added: runtime 24,577, initcode 24,603, verdict fail",
        True,
    )
    # tables of postdeploy checks the new run did not run: one line each, not one per row
    assert section_cells(diff, CODE)[("PD-CODE", ALL_ROWS, TABLE)] == ("removed: 5 rows", None, False)
    assert render_markdown(diff).splitlines()[0].startswith("# signoff diff: REGRESSION (across different targets")


def _bump_size(document: dict[str, Any], runtime: int) -> None:
    row(document, "PF-SIZE", contract=DISPATCHER)["runtime"] = runtime


def test_size_increase_with_absolute_and_percent_change(real: dict[str, Path]) -> None:
    old = doc(real, "reference")
    base = row(old, "PF-SIZE", contract=DISPATCHER)["runtime"]
    new = doc(real, "reference")
    _bump_size(new, base + base // 20)  # +5%
    diff = diff_evidence(old, new)
    (change,) = diff.numbers
    assert (change.section, change.table, change.row, change.metric) == (SIZES, "PF-SIZE", DISPATCHER, "runtime")
    assert change.delta == base // 20
    assert change.pct == pytest.approx(100 * (base // 20) / base)
    assert change.regression and diff.regression
    text = render_markdown(diff)
    assert f"| {base:,} | {base + base // 20:,} | +{base // 20:,} | +5.0% | **yes** |" in text
    # within a 10% tolerance it is still shown, but not a regression
    tolerant = diff_evidence(old, new, tolerance_pct=10)
    assert not tolerant.regression and tolerant.numbers[0].delta == base // 20
    # a decrease is never a regression
    assert not diff_evidence(new, old).regression


def test_gas_increase_against_the_tolerance(real: dict[str, Path]) -> None:
    old, new = doc(real, "reference"), doc(real, "reference")
    row(old, "PD-GAS", operation="commitRoot")["measured"] = 50_000
    row(new, "PD-GAS", operation="commitRoot")["measured"] = 51_000  # +2.0%
    assert diff_evidence(old, new).regression
    assert diff_evidence(old, new, tolerance_pct=1.9).regression
    exact = diff_evidence(old, new, tolerance_pct=2)
    assert not exact.regression  # at the tolerance, not above it
    (change,) = exact.numbers
    assert (change.section, change.row, change.metric, change.pct) == (GAS, "commitRoot", "measured", 2.0)
    assert "| PD-GAS | commitRoot | measured | 50,000 | 51,000 | +1,000 | +2.0% |  |" in render_markdown(exact)
    with pytest.raises(ValueError, match="tolerance_pct"):
        diff_evidence(old, new, tolerance_pct=-1)


@pytest.mark.parametrize(
    ("old", "new", "change", "regression"),
    [
        ("passed", "failed", "regression", True),
        ("passed", "error", "regression", True),
        ("failed", "passed", "improvement", False),
        ("error", "passed", "improvement", False),
        ("passed", "skipped", "no longer checked", True),
        ("failed", "skipped", "no longer checked", True),
        ("skipped", "passed", "now checked", False),
        ("skipped", "failed", "now checked, failing", True),
        ("failed", "error", "changed", False),
        (None, "failed", "new failing check", True),
        (None, "passed", "added", False),
        (None, "skipped", "added, not run", False),
        ("passed", None, "removed", False),
        ("passed", "interrupted", "interrupted", True),
        ("interrupted", "passed", "improvement", False),
        (None, "interrupted", "new interrupted check", True),
    ],
)
def test_outcome_classification(old: str | None, new: str | None, change: str, regression: bool) -> None:
    assert classify_outcome(old, new) == (change, regression)


def test_losing_the_signoff_is_a_regression_even_without_a_check_change(real: dict[str, Path]) -> None:
    old, new = doc(real, "reference"), doc(real, "reference")
    new["aborted"] = "the chain went away"
    new["verdict"] = {**new["verdict"], "signed_off": False, "label": "NOT SIGNED OFF"}
    diff = diff_evidence(old, new)
    assert diff.signoff_lost and diff.regression and diff.empty
    assert diff.regression_counts() == {"Sign-off": 1}
    text = render_markdown(diff)
    assert text.startswith("# signoff diff: REGRESSION\n")
    assert "(NOT SIGNED OFF; started " in text and "; ABORTED: the chain went away)" in text
    # documents from before the run verdict was recorded: nothing to lose
    for document in (old, new):
        del document["verdict"]
    assert not diff_evidence(old, new).regression


def test_verdicts_from_edited_checks(real: dict[str, Path]) -> None:
    old, new = doc(real, "reference"), doc(real, "reference")
    skipped = check(new, GAS_NODE)
    skipped.update(outcome="skipped", message="Skipped: no [postdeploy.gas] section\nsecond line")
    check(old, BIG_NODE.replace("contracts/Big.sol:Big", DISPATCHER))["outcome"] = "failed"
    new["checks"].append({**check(new, GAS_NODE), "nodeid": "suites/x.py::test_new", "outcome": "error"})
    removed = new["checks"].pop(0)["nodeid"]
    diff = diff_evidence(old, new)
    by_node = {v.nodeid: v for v in diff.verdicts}
    assert len(by_node) == 4
    assert (by_node[GAS_NODE].change, by_node[GAS_NODE].note) == (
        "no longer checked",
        "Skipped: no [postdeploy.gas] section",
    )
    assert by_node["suites/x.py::test_new"].change == "new failing check"
    assert by_node[removed].change == "removed"
    improved = by_node[BIG_NODE.replace("contracts/Big.sol:Big", DISPATCHER)]
    assert (improved.old, improved.new, improved.change, improved.regression) == (
        "failed",
        "passed",
        "improvement",
        False,
    )
    assert [v.regression for v in diff.verdicts] == [True, True, False, False]
    assert [v.nodeid for v in diff.verdicts[:2]] == sorted([GAS_NODE, "suites/x.py::test_new"])


def test_owners_and_governance(real: dict[str, Path]) -> None:
    old, new = doc(real, "reference"), doc(real, "reference")
    factory = row(new, "PD-OWN", contract="DeterministicChunkFactory", authority="owner()")
    factory.update(holder="Deployer (0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf)", verdict="fail")
    (governance,) = new["tables"]["PD-OWN-governance"]["rows"]
    governance["threshold"] = "2 of 5"
    diff = diff_evidence(old, new)
    cells = section_cells(diff, OWNERS)
    key = ("PD-OWN", "DeterministicChunkFactory / owner()")
    assert cells[(*key, "holder")][1] == "Deployer (0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf)"
    assert cells[(*key, "holder")][2] is False
    assert cells[(*key, "verdict")] == ("pass", "fail", True)
    assert cells[("PD-OWN-governance", governance["governance"], "threshold")] == ("3 of 5", "2 of 5", False)
    assert diff.regression
    assert "## Owners and governance" in render_markdown(diff)


def test_code_verdicts(real: dict[str, Path]) -> None:
    old, new = doc(real, "reference"), doc(real, "reference")
    router = row(new, "PD-CODE", contract="PayRoxProxyRouter")
    router.update(onchain_bytes=router["onchain_bytes"] + 1, first_difference=26, verdict="fail")
    diff = diff_evidence(old, new)
    cells = section_cells(diff, CODE)
    assert cells[("PD-CODE", "PayRoxProxyRouter", "first_difference")] == ("", "26", False)
    assert cells[("PD-CODE", "PayRoxProxyRouter", "verdict")] == ("pass", "fail", True)
    assert ("PD-CODE", "PayRoxProxyRouter", "onchain_bytes") in cells
    assert not diff.numbers  # code bytes are facts of the code check, not a size metric


def test_wiring(real: dict[str, Path]) -> None:
    old, new = doc(real, "reference"), doc(real, "reference")
    row(new, "PD-WIRE", getter="PayRoxProxyRouter.dispatcher")["actual"] = "StaleDispatcher (0x6E96)"
    diff = diff_evidence(old, new)
    (change,) = diff.cells
    assert (change.section, change.row, change.column, change.new) == (
        WIRING,
        "PayRoxProxyRouter.dispatcher",
        "actual",
        "StaleDispatcher (0x6E96)",
    )
    assert not diff.regression  # a changed value with the same verdict is a change, not a regression


def _dsp_table(eta: int, facet: str) -> dict[str, Any]:
    columns = ["aspect", "expected", "observed", "verdict"]
    rows = [
        {"aspect": f"activation-delay: activateCommittedRoot at eta {eta} or later", "expected": "succeeds"}
        | {"observed": f"reverted ActivationNotReady({eta}, {eta - 3599})", "order": 402, "verdict": "pass"},
        {"aspect": "live-routes: facetAddress(0x5c36b186) ping()", "expected": "PingFacet (0x0025)"}
        | {"observed": f"{facet} (0x0025)", "order": 103, "verdict": "pass"},
    ]
    return {"title": "PD-DSP: dispatcher lifecycle", "columns": columns, "rows": rows}


def test_routes_ignore_the_clock_but_not_the_facet(real: dict[str, Path]) -> None:
    old, new = doc(real, "reference"), doc(real, "reference")
    old["tables"]["PD-DSP"] = _dsp_table(1796321490, "PingFacet")
    new["tables"]["PD-DSP"] = _dsp_table(1796321564, "PingFacet")
    assert diff_evidence(old, new).empty  # eth-tester chains start at the wall clock
    new["tables"]["PD-DSP"] = _dsp_table(1796321564, "VaultFacet")
    (change,) = diff_evidence(old, new).cells
    assert (change.section, change.row, change.column) == (
        ROUTES,
        "live-routes: facetAddress(0x5c36b186) ping()",
        "observed",
    )


def test_other_tables_by_first_column_with_repeated_keys(real: dict[str, Path]) -> None:
    old, new = doc(real, "reference"), doc(real, "reference")
    table = {"title": "X: a table diff has no rule for", "columns": ["name", "value"]}
    old["tables"]["X-NEW"] = table | {"rows": [{"name": "a", "value": 1}, {"name": "a", "value": 2}]}
    new["tables"]["X-NEW"] = table | {"rows": [{"name": "a", "value": 1}, {"name": "a", "value": 3}]}
    inventory = new["tables"]["PF-SIZE-inventory"]["rows"]
    dropped = inventory.pop(0)
    diff = diff_evidence(old, new)
    cells = section_cells(diff, OTHER)
    assert cells == {
        ("X-NEW", "a #2", "value"): ("2", "3", False),
        ("PF-SIZE-inventory", dropped["contract"], ROW): ("removed: present", None, False),
    }
    assert not diff.regression
    assert "## Other tables" in render_markdown(diff)


def _shuffled(document: dict[str, Any]) -> dict[str, Any]:
    shuffled = copy.deepcopy(document)
    shuffled["checks"].reverse()
    shuffled["tables"] = dict(reversed(list(shuffled["tables"].items())))
    for table in shuffled["tables"].values():
        table["rows"].reverse()
    return shuffled


def test_markdown_is_deterministic_and_well_formed(real: dict[str, Path]) -> None:
    old, new = doc(real, "reference"), doc(real, "big")
    check(new, BIG_NODE)["message"] = "a | pipe\nand a second line"
    row(new, "PF-SIZE", contract="contracts/Big.sol:Big")["libraries"] = "Lib|Other"
    text = render_markdown(diff_evidence(old, new))
    assert text == render_markdown(diff_evidence(_shuffled(old), _shuffled(new)))
    assert "a \\| pipe" in text
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if lines and lines[0].startswith("| "):
            widths = {line.replace("\\|", "").count("|") for line in lines}
            assert len(widths) == 1, block


# -- command line ----------------------------------------------------------------------------


def test_main_exit_status_and_output(real: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    same = main([str(real["reference"]), str(real["reference"])])
    out = capsys.readouterr().out
    assert same == 0 and out.startswith("# signoff diff: no regression\n")

    bigger = doc(real, "reference")
    _bump_size(bigger, row(bigger, "PF-SIZE", contract=DISPATCHER)["runtime"] + 100)
    newer = _write(tmp_path, "new.json", bigger)
    assert main([str(real["reference"]), str(newer)]) == 1
    assert capsys.readouterr().out.startswith("# signoff diff: REGRESSION\n")
    assert main([str(real["reference"]), str(newer), "--tolerance", "50"]) == 0
    capsys.readouterr()

    out_file = tmp_path / "diff.md"
    assert main([str(real["reference"]), str(newer), "--out", str(out_file)]) == 1
    assert capsys.readouterr().out == f"wrote {out_file}: REGRESSION\n"
    assert out_file.read_text().startswith("# signoff diff: REGRESSION\n")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["{missing}", "{good}"], "{missing}: no such file"),
        (["{good}", "{html}"], "{html}: is not JSON"),
        (["{good}"], "the following arguments are required: NEW"),
        (["{good}", "{good}", "--tolerance", "-1"], "expected a percentage >= 0"),
        (["{good}", "{good}", "--tolerance", "lots"], "'lots' is not a number"),
    ],
)
def test_main_usage_errors(
    real: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    names = {
        "good": str(real["reference"]),
        "missing": str(tmp_path / "missing.json"),
        "html": str(_write(tmp_path, "r.html", "<html></html>")),
    }
    assert main([a.format(**names) for a in args]) == 4
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("signoff diff: ")
    assert expected.format(**names) in captured.err
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err
