"""The second reference system (fixtures/reference-orbit): a dispatcher shaped unlike the first
(proposeRoot / installRoutes / activate, committedAt() + activationDelay(), proof sides as uint256
bitmasks in another argument order, one governor instead of AccessControl, setPaused(bool) /
halted(), no loupe, errors of its own). The same preflight and postdeploy code must pass it with no
mapping, and fail each of its defective variants on exactly the check the defect breaks."""

from __future__ import annotations

from tests.conftest import FIXTURES, SuiteRun

ORBIT = FIXTURES / "reference-orbit" / "signoff.toml"


def test_the_orbit_reference_passes_preflight_and_postdeploy_strictly(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "preflight or postdeploy", "--signoff-strict", target=ORBIT)
    assert run.result.ret == 0, run.output
    evidence = run.evidence()
    checks = {c["nodeid"].split("::", 1)[1]: c for c in evidence["checks"]}
    aspects = {name: c["outcome"] for name, c in checks.items() if name.startswith("test_pd_dsp[")}
    assert aspects == {
        f"test_pd_dsp[{a}]": "passed"
        for a in ("live-routes", "commit-epoch", "apply-proofs", "activation-delay", "no-early-routes")
    }
    interface = {row["role"]: row for row in checks["test_pd_dsp[live-routes]"]["data"]["interface"]}
    assert interface["commit"]["signature"] == "proposeRoot(bytes32,uint64)"
    assert interface["apply"]["signature"] == "installRoutes(bytes32[][],uint256[],bytes4[],address[],bytes32[])"
    assert interface["committed_at"]["from"] == "detected" and interface["eta"]["from"] == "not present"
    rows = [r for r in evidence["tables"]["PD-DSP"]["rows"]]
    assert any(r["verdict"] == "not checked" and "no EIP-2535 loupe" in r["observed"] for r in rows)
    assert any("reverts TooEarly(" in r["expected"] for r in rows)
    assert any("reverts NoRoute(" in r["expected"] for r in rows)
    hub = [r for r in evidence["tables"]["PD-OWN"]["rows"] if r["contract"] == "OrbitHub"]
    assert ("governor()", "pass") in {(r["authority"], r["verdict"]) for r in hub}, hub
    # the routed AccessControl is read through the hub: governance holds its admin role
    assert any(r["authority"] == "DEFAULT_ADMIN_ROLE" and "Governance" in r["holder"] for r in hub), hub
    acl = {r["function"]: r for r in evidence["tables"]["PD-ACL"]["rows"]}
    assert acl["OrbitHub.setNote"]["as_role"] == "succeeded"
    assert acl["OrbitHub.setNote"]["as_outsider"].startswith("reverted: AccessControlUnauthorizedAccount(")
    pause = checks["test_pd_emg_pause[OrbitHub]"]
    assert pause["outcome"] == "passed" and pause["data"]["pause_shape"] == "detected: setPaused(bool)"
    steps = [r["step"] for r in evidence["tables"]["PD-EMG"]["rows"] if r["drill"] == "rotation"]
    for step in (
        "governor()",  # the hub's own single-address holder
        "transferGovernor(new holder) as Governance (0x9db516B65E1e6Fd5e6f296FC85Ad7b43Fafc6885)",
        "governor() after the rotation",
        "grantRole(NOTE_ROLE, new holder) as Governance (0x9db516B65E1e6Fd5e6f296FC85Ad7b43Fafc6885)",  # routed
        "hasRole(NOTE_ROLE) after the rotation",
    ):
        assert step in steps, steps
    gas = checks["test_pd_gas[workflow]"]
    assert gas["outcome"] == "passed" and gas["data"]["measured_as"].startswith("eth_estimateGas of governance's")
    steps = [r["step"] for r in evidence["tables"]["PD-REH"]["rows"]] if "PD-REH" in evidence["tables"] else []
    assert not steps or any("wait until OrbitHub.committedAt" in s for s in steps)


def test_a_route_live_before_activation_fails_no_early_routes(run_suite) -> None:
    target = FIXTURES / "defective" / "orbit-routes-live-before-activation" / "signoff.toml"
    run: SuiteRun = run_suite("-m", "postdeploy", target=target)
    run.assert_fails_only(
        "test_pd_dsp[no-early-routes]",
        "a route answers before activation: the timelock gates bookkeeping but not behaviour.",
        skips_count=False,
    )
    assert "instead of reverting NoRoute(0x" in run.output
    assert "During handling of the above exception" not in run.output


def test_a_pause_that_cannot_be_undone_fails_the_pause_drill(run_suite) -> None:
    target = FIXTURES / "defective" / "orbit-pause-irreversible" / "signoff.toml"
    run: SuiteRun = run_suite("-m", "postdeploy", target=target)
    run.assert_fails_only(
        "test_pd_emg_pause[OrbitHub]",
        "unpause cannot be reached while paused: the pause is irreversible (Halted()); setPaused(bool) with (false) "
        "as Governance",
        skips_count=False,
    )


def test_an_initializer_guarded_only_by_a_public_constant_is_found_through_the_hub(run_suite) -> None:
    """Random bytes32 values never pass the CONFIG_SALT check; the system's own constants do."""
    target = FIXTURES / "defective" / "orbit-initializer-open-by-constant" / "signoff.toml"
    run: SuiteRun = run_suite("-m", "postdeploy", target=target)
    record = run.assert_fails_only(
        "test_pd_acl_discovery",
        "unexpected permission escalation: ConfigFacet.initializeConfig(bytes32,address) through OrbitHub succeeded "
        "for unprivileged",
        skips_count=False,
    )
    salt = "3c443c805dc2407f55cc11231cf41aa61db81e22f45c3df3f03d7a68a8e57581"  # keccak256("signoff.orbit.config.v1")
    assert f"calldata 0x04b18730{salt}" in record["message"]
    assert record["data"]["discovery"]["routed_through"] == ["OrbitHub"]


def test_a_setter_open_only_through_the_hub_is_found(run_suite) -> None:
    """At the facet's own address every call reverts DirectCall(); through OrbitHub setFee is open."""
    target = FIXTURES / "defective" / "orbit-setter-open-through-hub" / "signoff.toml"
    run: SuiteRun = run_suite("-m", "postdeploy", target=target)
    record = run.assert_fails_only(
        "test_pd_acl_discovery",
        "unexpected permission escalation: ConfigFacet.setFee(uint256) through OrbitHub succeeded for unprivileged",
        skips_count=False,
    )
    assert "at OrbitHub's address" in record["message"]
    assert "; sent for real in a snapshot, it emitted 1 event(s)" in record["message"]  # setFee(0): the fee was 0
    rows = run.evidence()["tables"]["PD-ACL-discovery"]["rows"]
    direct = next(r for r in rows if r["function"] == "ConfigFacet.setFee(uint256)")
    assert direct["succeeded"].startswith("0 of") and direct["verdict"] == "pass"


def test_a_hub_governed_by_a_key_fails_pd_own_on_its_governor(run_suite) -> None:
    """OrbitHub has no owner() and no AccessControl: its authority is governor(), read and judged."""
    target = FIXTURES / "defective" / "orbit-hub-governed-by-a-key" / "signoff.toml"
    run: SuiteRun = run_suite("-m", "ownership", target=target)
    run.assert_fails_only(
        "test_pd_own[OrbitHub]",
        "OrbitHub: governor() is Deployer (0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf), an EOA, not the governance "
        "Governance (0x9db516B65E1e6Fd5e6f296FC85Ad7b43Fafc6885). Next step: hand governor() to the governance with "
        "OrbitHub's own transfer function, or redeploy it with the governance as that address",
        skips_count=False,
    )


PACKED = FIXTURES / "reference-orbit-packed" / "signoff.toml"


def test_a_dispatcher_with_packed_leaves_passes_with_manifest_leaf(run_suite) -> None:
    """The same system whose hub hashes a route as keccak256(abi.encodePacked(0x00, selector, facet,
    codehash)): with [manifest] leaf = "packed" the plan, PF-MRK's proofs and PD-DSP's drills agree."""
    run: SuiteRun = run_suite("-m", "manifest or dispatcher or rehearsal", "--signoff-strict", target=PACKED)
    assert run.result.ret == 0, run.output
    outcomes = run.outcomes()
    assert outcomes["test_pd_dsp[apply-proofs]"] == "passed" and outcomes["test_pf_mrk[proofs]"] == "passed"


def test_a_plan_for_other_leaves_than_manifest_leaf_is_one_usage_error(run_suite, tmp_path) -> None:
    target = tmp_path / "signoff.toml"
    text = PACKED.read_text().replace('leaf = "packed"', "").replace('"artifacts"', f'"{PACKED.parent / "artifacts"}"')
    text = text.replace('plan = "dispatcher.plan.json"', f'plan = "{PACKED.parent / "dispatcher.plan.json"}"')
    text = text.replace('"../reference-orbit/', f'"{FIXTURES / "reference-orbit"}/')
    target.write_text(text)
    run: SuiteRun = run_suite("-m", "manifest or dispatcher", target=target)
    assert run.result.ret == 4, run.output
    assert "[manifest] leaf is 'hashed-abi-encode', but the plan" in run.output
    assert "was written for 'packed' leaves" in run.output
    assert not run.reports.exists() or not list(run.reports.glob("*.json"))


def _team_plan(tmp_path, tamper: bool = False):
    """The Orbit plan as a team's own script might write it: other keys, no signatures, proof sides as a
    positions bitmask, a key of theirs signoff does not know, and the epoch as a string."""
    import json

    ours = json.loads((ORBIT.parent / "dispatcher.plan.json").read_text())
    entries = []
    for route in ours["routes"]:
        positions = sum(1 << level for level, right in enumerate(route["isRight"]) if right)
        entries.append(
            {
                "sel": route["selector"],
                "facetName": route["facet"],
                "facetAddress": route["address"],
                "hash": route["codehash"],
                "merkle": {"proof": route["proof"], "positions": positions ^ 1 if tamper else positions},
            }
        )
    team = {"generatedBy": "deploy/scripts/manifest.ts", "merkleRoot": ours["root"], "epoch": "1", "entries": entries}
    plan = tmp_path / "team.plan.json"
    plan.write_text(json.dumps(team))
    text = ORBIT.read_text().replace('"artifacts"', f'"{ORBIT.parent / "artifacts"}"', 1)
    text = text.replace('plan = "dispatcher.plan.json"', f'plan = "{plan}"')
    text = text.replace('snapshots = "abi"', f'snapshots = "{ORBIT.parent / "abi"}"')
    text = text.replace('baseline = "gas-baseline.json"', f'baseline = "{ORBIT.parent / "gas-baseline.json"}"')
    text += (
        '\n[manifest.fields]\nroot = "merkleRoot"\nroutes = "entries"\nselector = "sel"\nfacet = "facetName"\n'
        'address = "facetAddress"\ncodehash = "hash"\nproof = "merkle.proof"\npositions = "merkle.positions"\n'
    )
    target = tmp_path / "signoff.toml"
    target.write_text(text)
    return target


def test_a_team_s_own_plan_format_is_read_through_manifest_fields(run_suite, tmp_path) -> None:
    run: SuiteRun = run_suite(
        "-m", "manifest or dispatcher or rehearsal", "--signoff-strict", target=_team_plan(tmp_path)
    )
    assert run.result.ret == 0, run.output
    assert run.outcomes()["test_pf_mrk[proofs]"] == "passed"


def test_a_wrong_positions_bitmask_in_a_team_plan_fails_the_proofs(run_suite, tmp_path) -> None:
    run: SuiteRun = run_suite("-m", "manifest", target=_team_plan(tmp_path, tamper=True))
    outcomes = run.outcomes()
    assert outcomes["test_pf_mrk[proofs]"] == "failed", outcomes
    assert outcomes["test_pf_mrk[root]"] == "passed"


MAPPED = FIXTURES / "reference-orbit-mapped" / "signoff.toml"


def test_names_no_synonym_covers_pass_through_the_readme_s_mapping(run_suite) -> None:
    """The README's third shape, verbatim in fixtures/reference-orbit-mapped: only signoff.toml keys."""
    run: SuiteRun = run_suite("-m", "preflight or postdeploy", "--signoff-strict", target=MAPPED)
    assert run.result.ret == 0, run.output
    checks = {c["nodeid"].split("::", 1)[1]: c for c in run.evidence()["checks"]}
    interface = {row["role"]: row for row in checks["test_pd_dsp[live-routes]"]["data"]["interface"]}
    assert interface["commit"] == {
        "role": "commit",
        "kind": "function",
        "what": "the function that commits a root for an epoch",
        "signature": "scheduleManifest(uint64,bytes32)",
        "from": "[manifest.interface]",
    }
    assert checks["test_pd_emg_pause[OrbitHub]"]["outcome"] == "passed"
    readme = (FIXTURES.parent / "README.md").read_text()
    mapping = MAPPED.read_text().split("[manifest.interface]\n", 1)[1].split("\n\n", 1)[0]
    assert mapping in readme  # the README shows exactly the mapping this test proves


def test_without_the_mapping_pd_dsp_is_not_applicable_once_naming_the_keys(run_suite, tmp_path) -> None:
    text = MAPPED.read_text()
    text = (
        text.split("[manifest.interface]\n", 1)[0]
        + "\n"
        + text.split("[manifest.interface]\n", 1)[1].split("\n\n", 1)[1]
    )
    for name in ("artifacts", "dispatcher.plan.json", "abi", "gas-baseline.json"):
        text = text.replace(f'"{name}"', f'"{MAPPED.parent / name}"')
    target = tmp_path / "signoff.toml"
    target.write_text(text)
    run: SuiteRun = run_suite("-m", "dispatcher", target=target)
    # the declared routes need the rehearsal, whose manifest steps cannot run unmapped: that step is named
    assert run.outcomes() == {"test_pd_dsp[interface]": "skipped", "test_pd_dsp_declared_routes[OrbitHub]": "failed"}
    assert "rehearsal step #8 manifest commit from @Governance" in run.output
    assert "Traceback" not in run.output
    [record] = [c for c in run.evidence()["checks"] if c["nodeid"].endswith("test_pd_dsp[interface]")]
    assert (
        "OrbitHub's ABI lacks the function that commits a root for an epoch ([manifest.interface] commit"
        in (record["message"])
    )


OZ = FIXTURES / "reference-orbit-oz" / "signoff.toml"


def test_a_dispatcher_with_openzeppelin_merkle_encoding_passes_with_manifest_leaf_and_node(run_suite) -> None:
    """The same system whose hub uses OpenZeppelin's StandardMerkleTree leaf and MerkleProof (sorted pairs,
    no sides): with [manifest] leaf = "oz-standard" and node = "sorted-pair" the plan, PF-MRK and PD-DSP's
    drills on the rehearsal chain (OpenZeppelin's own verifier) agree."""
    run: SuiteRun = run_suite("-m", "manifest or dispatcher or rehearsal", "--signoff-strict", target=OZ)
    assert run.result.ret == 0, run.output
    outcomes = run.outcomes()
    assert outcomes["test_pf_mrk[proofs]"] == outcomes["test_pd_dsp[apply-proofs]"] == "passed", outcomes
    [root] = run.evidence()["tables"]["PF-MRK-root"]["rows"]
    assert root["hashing"] == (
        "leaf = keccak256(keccak256(abi.encode(selector, facet, codehash))), node = keccak256(min(a, b) ‖ max(a, b))"
    )


def _oz_target(tmp_path, plan, extra: str = "") -> object:
    text = OZ.read_text().replace('"artifacts"', f'"{OZ.parent / "artifacts"}"', 1)
    text = text.replace('plan = "dispatcher.plan.json"', f'plan = "{plan}"')
    text = text.replace('"../reference-orbit/', f'"{FIXTURES / "reference-orbit"}/')
    target = tmp_path / "signoff.toml"
    target.write_text(text.replace("[manifest]\n", "[manifest]\n" + extra, 1))
    return target


def _split_team_plan(tmp_path, *, drop: int | None = None):
    """The OpenZeppelin-encoded plan as a team keeps it in two files: manifest.json with the root, the
    epoch and per route its facet's address, codehash and proof (no sides: sorted pairs have none), and
    selectors.json, facet name -> signatures, read side by side (route i with entry i)."""
    import json

    ours = json.loads((OZ.parent / "dispatcher.plan.json").read_text())
    by_facet: dict[str, list[dict]] = {}
    for route in ours["routes"]:
        by_facet.setdefault(route["facet"], []).append(route)
    selectors = {facet: [r["signature"] for r in routes] for facet, routes in by_facet.items()}
    proofs = [
        {"facetAddress": r["address"], "runtimeHash": r["codehash"], "proof": r["proof"]}
        for routes in by_facet.values()
        for r in routes
    ]
    if drop is not None:
        proofs.pop(drop)
    (tmp_path / "manifest.json").write_text(json.dumps({"root": ours["root"], "epoch": 1, "proofs": proofs}))
    (tmp_path / "selectors.json").write_text(json.dumps(selectors))
    target = _oz_target(tmp_path, tmp_path / "manifest.json", 'selectors = "selectors.json"\n')
    return _with_fields(target, 'routes = "proofs"\naddress = "facetAddress"\ncodehash = "runtimeHash"\n')


def _with_fields(target, fields: str):
    target.write_text(target.read_text() + "\n[manifest.fields]\n" + fields)
    return target


def test_a_plan_split_over_two_files_is_read_side_by_side(run_suite, tmp_path) -> None:
    run: SuiteRun = run_suite(
        "-m", "manifest or dispatcher or rehearsal", "--signoff-strict", target=_split_team_plan(tmp_path)
    )
    assert run.result.ret == 0, run.output
    assert run.outcomes()["test_pf_mrk[routes]"] == "passed"


def test_two_plan_files_of_different_lengths_are_one_usage_error(run_suite, tmp_path) -> None:
    run: SuiteRun = run_suite("-m", "manifest", target=_split_team_plan(tmp_path, drop=3))
    assert "manifest.json has 19 routes but selectors.json has 20: they are read side by side" in run.output
    assert "Traceback" not in run.output and run.result.ret != 0


def test_a_plan_that_covers_some_facets_is_judged_on_those(run_suite, tmp_path) -> None:
    """An upgrade plan routing two of the four facets: with [manifest] covers it is complete; without, every
    function of the other two is 'not routed'; a route to a facet it does not cover is named."""
    from signoff.artifacts.loader import load_artifacts
    from signoff.deploy.manifest import dump_plan, plan_for_target
    from signoff.target import load_target

    target = load_target(OZ)
    plan = plan_for_target(target, load_artifacts(OZ.parent / "artifacts"), facets=("LedgerFacet", "BeaconFacet"))
    (tmp_path / "upgrade.plan.json").write_text(dump_plan(plan))
    covered = _oz_target(tmp_path, tmp_path / "upgrade.plan.json", 'covers = ["LedgerFacet", "BeaconFacet"]\n')
    run: SuiteRun = run_suite("-m", "manifest", "--signoff-strict", target=covered)
    assert run.result.ret == 0, run.output
    [root] = run.evidence()["tables"]["PF-MRK-root"]["rows"]
    assert root["covers"] == "LedgerFacet, BeaconFacet"

    (tmp_path / "all").mkdir()
    everything = _oz_target(tmp_path / "all", tmp_path / "upgrade.plan.json")
    run = run_suite("-m", "manifest", target=everything)
    run.assert_fails_only("test_pf_mrk[routes]", "ConfigFacet.", skips_count=False)

    (tmp_path / "one").mkdir()
    narrower = _oz_target(tmp_path / "one", tmp_path / "upgrade.plan.json", 'covers = ["LedgerFacet"]\n')
    run = run_suite("-m", "manifest", target=narrower)
    run.assert_fails_only(
        "test_pf_mrk[routes]", "facet 'BeaconFacet' is not one the plan says it covers (LedgerFacet)", skips_count=False
    )


def test_a_delegating_router_that_answers_a_hub_function_itself_fails_pf_sel(run_suite) -> None:
    """OrbitGateway delegates every call it does not answer to the hub's code; the variant's gateway answers
    halted() itself, so through the gateway the hub's own halted() is never reached."""
    target = FIXTURES / "defective" / "orbit-gateway-shadows-hub" / "signoff.toml"
    run: SuiteRun = run_suite("-m", "selectors", target=target)
    run.assert_fails_only(
        "test_pf_sel[OrbitHub]",
        "shadowed selector 0xb9b8af0b: the dispatcher contracts/hub/OrbitHub.sol:OrbitHub's own halted() is "
        "unreachable through the router contracts/hub/OrbitGateway.sol:OrbitGateway, which answers halted() itself",
        skips_count=False,
    )


def _orbit_with(tmp_path, emergency_extra: str):
    text = ORBIT.read_text()
    for name in ("artifacts", "dispatcher.plan.json", "abi", "gas-baseline.json"):
        text = text.replace(f'"{name}"', f'"{ORBIT.parent / name}"')
    old = 'blocked = "beacon()"'
    assert old in text
    target = tmp_path / "signoff.toml"
    target.write_text(text.replace(old, old + "\n" + emergency_extra))
    return target


def test_the_paused_state_can_be_read_from_a_storage_slot(run_suite, tmp_path) -> None:
    """OrbitHub's halted flag shares slot 0 with governor (byte offset 20): read there, not through halted()."""
    run: SuiteRun = run_suite("-m", "emergency", target=_orbit_with(tmp_path, "paused_slot = 0\npaused_offset = 20"))
    assert run.result.ret == 0, run.output
    checks = {c["nodeid"].split("::", 1)[1]: c for c in run.evidence()["checks"]}
    assert checks["test_pd_emg_pause[OrbitHub]"]["data"]["paused_state"] == "storage slot 0x0 byte 20"
    rows = {r["step"]: r for r in run.evidence()["tables"]["PD-EMG"]["rows"] if r["drill"] == "pause"}
    assert rows["storage slot 0x0 byte 20 after the pause"]["observed"] == "true (byte 0x01)"


def test_a_wrong_paused_slot_fails_the_drill_naming_the_slot(run_suite, tmp_path) -> None:
    run: SuiteRun = run_suite("-m", "emergency", target=_orbit_with(tmp_path, "paused_slot = 0\npaused_offset = 21"))
    run.assert_fails_only(
        "test_pd_emg_pause[OrbitHub]",
        "storage slot 0x0 byte 21 is false (byte 0x00) right after setPaused(bool) with (true) succeeded (expected "
        "true). Next step: correct paused_slot / paused_offset in [[postdeploy.emergency]] OrbitHub",
        skips_count=False,
    )


def test_a_function_that_succeeds_for_an_outsider_but_does_nothing_is_info(run_suite, tmp_path) -> None:
    """OpenZeppelin's renounceRole, routed through the hub: an outsider renouncing a role it does not hold
    succeeds and changes nothing. Not listed public, it is sent in a snapshot and reported as info, never as
    an escalation; the open setter of the variant is still an escalation, with what it changed."""
    text = ORBIT.read_text().replace('    "RolesFacet.renounceRole",', "")
    for name in ("artifacts", "dispatcher.plan.json", "abi", "gas-baseline.json"):
        text = text.replace(f'"{name}"', f'"{ORBIT.parent / name}"')
    target = tmp_path / "signoff.toml"
    target.write_text(text)
    run: SuiteRun = run_suite("-m", "access_control", target=target)
    assert run.result.ret == 0, run.output
    rows = {r["function"]: r for r in run.evidence()["tables"]["PD-ACL-discovery"]["rows"]}
    routed = rows["RolesFacet.renounceRole(bytes32,address) through OrbitHub"]
    assert routed["verdict"] == "info", routed
    assert routed["effect"] == "changed no storage, balance, code or nonce of the system and emitted no event"
    [record] = [c for c in run.evidence()["checks"] if c["nodeid"].endswith("test_pd_acl_discovery")]
    assert "but does nothing: sent for real in a snapshot" in json_text(record)


def json_text(record) -> str:
    import json

    return json.dumps(record)


SELFGUARD = FIXTURES / "reference-orbit-selfguard" / "signoff.toml"


def test_a_facet_with_a_self_address_immutable_is_planned_and_judged_with_it_filled(run_suite) -> None:
    """BeaconFacet keeps address(this) in an immutable: the plan writer, PF-MRK and PD-CODE all derive its
    deployed code with the facet's own (planned, then deployed) address, and PD-DSP installs it."""
    from signoff.artifacts.loader import load_artifacts
    from signoff.deploy.immutables import runtime_at
    from signoff.deploy.manifest import load_plan

    plan = load_plan(SELFGUARD.parent / "dispatcher.plan.json")
    beacon = next(r for r in plan.routes if r.facet == "BeaconFacet")
    contract = load_artifacts(SELFGUARD.parent / "artifacts").resolve("BeaconFacet")
    filled = runtime_at(contract, beacon.address)
    assert filled.reason == "immutables filled: 2 with its own address, 0 constant"
    assert beacon.address.hex() in (filled.code or b"").hex()

    run: SuiteRun = run_suite("-m", "manifest or dispatcher or bytecode", "--signoff-strict", target=SELFGUARD)
    assert run.result.ret == 0, run.output
    evidence = run.evidence()
    routes = [r for r in evidence["tables"]["PF-MRK"]["rows"] if r["facet"] == "BeaconFacet"]
    assert routes and all(r["codehash_ok"] is True for r in routes), routes
    immutables = {r["immutable"]: r for r in evidence["tables"]["PD-CODE-immutables"]["rows"]}
    assert immutables["self (address)"]["verdict"] == "pass"
    assert run.outcomes()["test_pd_dsp[apply-proofs]"] == "passed"


def test_a_plan_pinning_the_unfilled_artifact_codehash_fails_pf_mrk(run_suite, tmp_path) -> None:
    """A team that hashed the artifact's deployedBytecode: a consistent plan (root and proofs rebuilt over
    that codehash) whose BeaconFacet codehash is not what the facet will have once deployed."""
    from dataclasses import replace

    from signoff.artifacts.loader import load_artifacts
    from signoff.deploy.manifest import assemble, dump_plan, load_plan, runtime_codehash

    contract = load_artifacts(SELFGUARD.parent / "artifacts").resolve("BeaconFacet")
    ours = load_plan(SELFGUARD.parent / "dispatcher.plan.json")
    unfilled = runtime_codehash(contract)
    routes = [replace(r, codehash=unfilled) if r.facet == "BeaconFacet" else r for r in ours.routes]
    plan = tmp_path / "dispatcher.plan.json"
    plan.write_text(
        dump_plan(assemble("team", ours.dispatcher, ours.epoch, routes, facets=ours.facets, factory=ours.factory))
    )
    text = SELFGUARD.read_text().replace('"artifacts"', f'"{SELFGUARD.parent / "artifacts"}"', 1)
    text = text.replace('plan = "dispatcher.plan.json"', f'plan = "{plan}"')
    text = text.replace('snapshots = "abi"', f'snapshots = "{SELFGUARD.parent / "abi"}"')
    text = text.replace('"../reference-orbit/', f'"{FIXTURES / "reference-orbit"}/')
    target = tmp_path / "signoff.toml"
    target.write_text(text)
    run: SuiteRun = run_suite("-m", "manifest", target=target)
    run.assert_fails_only(
        "test_pf_mrk[codehashes]",
        "is keccak256 of the artifact's runtime code with its immutables left as zeros, not as deployed",
        skips_count=False,
    )
