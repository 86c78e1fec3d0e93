"""A third shape: a plain EIP-2535 diamond (fixtures/reference-diamond2535): diamondCut + loupe, no Merkle
manifest, no factory, the owner (EIP-173) in diamond storage handed to a Safe by a routed call. The
deploy plan cuts the facets in with struct arguments through the diamond; the same preflight and
postdeploy code passes it, and fails each variant on exactly its check."""

from __future__ import annotations

from tests.conftest import FIXTURES, SuiteRun

DIAMOND = FIXTURES / "reference-diamond2535" / "signoff.toml"


def test_the_plain_diamond_passes_preflight_and_postdeploy_strictly(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "preflight or postdeploy", "--signoff-strict", target=DIAMOND)
    assert run.result.ret == 0, run.output
    evidence = run.evidence()
    rows = evidence["tables"]["PD-DSP-routes"]["rows"]
    assert len(rows) == 14 and all(r["verdict"] == "pass" for r in rows), rows
    assert {r["function"] for r in rows} >= {
        "CounterFacet.count()",
        "DiamondCutFacet.diamondCut((address,uint8,bytes4[])[],address,bytes)",
    }
    steps = [r["step"] for r in evidence["tables"]["PF-REH"]["rows"]] if "PF-REH" in evidence["tables"] else []
    assert not steps or any("Diamond.diamondCut" in s for s in steps), steps


def test_an_open_cut_is_found_by_the_discovery_alone(run_suite) -> None:
    """diamondCut guarded only when init is non-zero: the discovery's all-zero call takes the diamond."""
    run: SuiteRun = run_suite("-m", "postdeploy", target=FIXTURES / "defective" / "diamond-cut-open" / "signoff.toml")
    record = run.assert_fails_only(
        "test_pd_acl_discovery",
        "unexpected permission escalation: DiamondCutFacet.diamondCut((address,uint8,bytes4[])[],address,bytes) "
        "through Diamond succeeded for unprivileged",
        skips_count=False,
    )
    assert "; sent for real in a snapshot, it " in record["message"]


def test_a_facet_function_left_out_of_the_cut_fails_the_declared_routes(run_suite) -> None:
    run: SuiteRun = run_suite(
        "-m", "postdeploy", target=FIXTURES / "defective" / "diamond-route-missing" / "signoff.toml"
    )
    run.assert_fails_only(
        "test_pd_dsp_declared_routes[Diamond]",
        "Diamond: CounterFacet.count() (0x06661abd) is not routed, expected CounterFacet (",
        skips_count=False,
    )


def test_a_manifest_on_a_diamond_without_its_lifecycle_is_not_applicable_not_a_traceback(run_suite, tmp_path) -> None:
    text = DIAMOND.read_text()
    for name in ("artifacts", "abi"):
        text = text.replace(f'"{name}"', f'"{DIAMOND.parent / name}"')
    text += '\n[manifest]\nplan = "dispatcher.plan.json"\ndispatcher = "Diamond"\n'
    target = tmp_path / "signoff.toml"
    target.write_text(text)
    (tmp_path / "dispatcher.plan.json").write_text("{}")
    run: SuiteRun = run_suite("-m", "gas or dispatcher", target=target)
    assert "Traceback" not in run.output and "AssertionError" not in run.output, run.output
    outcomes = run.outcomes()
    assert outcomes["test_pd_gas[workflow]"] == "skipped", outcomes
    [gas] = [c for c in run.evidence()["checks"] if c["nodeid"].endswith("test_pd_gas[workflow]")]
    assert "PD-GAS measures the dispatcher's manifest lifecycle, but Diamond's ABI lacks" in gas["message"]


def test_a_drill_on_a_facet_named_by_its_own_name_is_told_to_use_the_diamond(run_suite, tmp_path) -> None:
    text = DIAMOND.read_text()
    for name in ("artifacts", "abi"):
        text = text.replace(f'"{name}"', f'"{DIAMOND.parent / name}"')
    old = (
        '[[postdeploy.emergency]]   # pause()/unpause()/paused() of CounterFacet, through the diamond\n'
        'contract = "Diamond"'
    )
    assert old in text
    target = tmp_path / "signoff.toml"
    target.write_text(text.replace(old, '[[postdeploy.emergency]]\ncontract = "CounterFacet"'))
    run: SuiteRun = run_suite("-m", "emergency", target=target)
    run.assert_fails_only(
        "test_pd_emg_pause[CounterFacet]",
        "[[postdeploy.emergency]] CounterFacet: CounterFacet is a facet routed by Diamond ([[diamonds]]): its "
        "functions run in Diamond's storage, where its guards and its pause live, so the drill must call it there. "
        'Next step: name Diamond instead (contract = "Diamond", or "Diamond.<function>")',
        skips_count=False,
    )
