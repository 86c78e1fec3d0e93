"""A system as real teams build it: a module that reads decimals() of a token at a hard-coded
address in its constructor, and a module over EIP-170. The rehearsal puts the token's code at that
address first (``[[deploy.genesis]]``: a genesis alloc on eth-tester, ``anvil_setCode`` on anvil)
and lifts the size limit (``[deploy] code_size_limit = false``: py-evm's limits for the chain's
lifetime, ``--disable-code-size-limit`` on anvil), while preflight still fails the oversized module.
Without either key the rehearsal fails with the key that fixes it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, SuiteRun, anvil_available

TARGET = REPO / "tests" / "data" / "genesis-target"


def _copy(tmp_path: Path, edit) -> Path:
    folder = tmp_path / "target"
    shutil.copytree(TARGET, folder, ignore=lambda at, _: ["contracts"] if Path(at) == TARGET else [])
    toml = folder / "signoff.toml"
    toml.write_text(edit(toml.read_text()))
    return toml


@pytest.mark.parametrize(
    "network",
    [
        "eth-tester",
        pytest.param("anvil", marks=pytest.mark.skipif(not anvil_available(), reason="needs anvil (npm ci)")),
    ],
)
def test_the_rehearsal_holds_the_hard_coded_token_and_deploys_over_the_limit(run_suite, network: str) -> None:
    run: SuiteRun = run_suite("-m", "rehearsal", "--network", network, target=TARGET / "signoff.toml")
    assert run.result.ret == 0, run.output
    steps = [r["step"] for r in run.evidence()["tables"]["PF-REH"]["rows"]]
    assert any("RewardEngine" in s for s in steps) and any("BigModule" in s for s in steps), steps


def test_preflight_still_fails_the_oversized_module(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "eip170", target=TARGET / "signoff.toml")
    run.assert_fails_only("test_pf_size[contracts/BigModule.sol:BigModule]", "BigModule")


def test_without_the_genesis_code_the_constructor_revert_names_the_key(run_suite, tmp_path: Path) -> None:
    toml = _copy(
        tmp_path, lambda text: re.sub(r"\[\[deploy\.genesis\]\].*?code = \"AgiAlpha\"\n", "", text, flags=re.S)
    )
    run: SuiteRun = run_suite("-m", "rehearsal", target=toml)
    assert run.result.ret == 1, run.output
    assert "rehearsal step #1 deploy RewardEngine" in run.output
    assert "put that code there first with [[deploy.genesis]]" in run.output
    assert "Traceback" not in run.output


def test_without_lifting_the_limit_the_oversized_deploy_names_the_key(run_suite, tmp_path: Path) -> None:
    toml = _copy(tmp_path, lambda text: text.replace("code_size_limit = false", "code_size_limit = true"))
    run: SuiteRun = run_suite("-m", "rehearsal", target=toml)
    assert run.result.ret == 1, run.output
    assert "rehearsal step #2 deploy BigModule" in run.output and "Got code of size: 36761" in run.output
    assert "rehearse it as built with [deploy] code_size_limit = false" in run.output


def test_the_limit_is_restored_when_the_chain_closes() -> None:
    import eth.vm.forks.spurious_dragon.computation as spurious_dragon

    from signoff.chain.backends import open_eth_tester

    chain = open_eth_tester(code_size_limit=False)
    assert spurious_dragon.EIP170_CODE_SIZE_LIMIT > 24_576
    chain.close()
    assert spurious_dragon.EIP170_CODE_SIZE_LIMIT == 24_576


def test_a_genesis_entry_must_name_an_address_and_code(tmp_path: Path) -> None:
    from signoff.deploy.plan import load_deploy_plan
    from signoff.errors import ConfigError
    from signoff.target import load_target

    toml = _copy(tmp_path, lambda text: text.replace('at = "0xB86e', 'at = "0xZZ6e'))
    with pytest.raises(ConfigError, match=r"deploy\.genesis\[0\]\.at = .* must be a 0x address of 40 hex digits"):
        load_deploy_plan(load_target(toml))
