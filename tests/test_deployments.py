"""Reading deployments: address books, hardhat-deploy folders and Foundry broadcasts.

The files under tests/data/deployments were written from real anvil runs of the reference
contracts (hardhat-deploy's and forge's layouts and keys); the broken variants are made here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from signoff.errors import ConfigError
from signoff.postdeploy.deployments import (
    ADDRESS_BOOK,
    FOUNDRY_BROADCAST,
    HARDHAT_DEPLOY,
    DeployedAddresses,
    load_deployments,
)

DATA = Path(__file__).resolve().parent / "data" / "deployments"
BOOK = DATA / "address-book" / "sepolia.json"
HARDHAT = DATA / "hardhat-deploy" / "localhost"
BROADCAST = DATA / "broadcast" / "Deploy.s.sol" / "31337"
RUN_LATEST = BROADCAST / "run-latest.json"

FACTORY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
PING_CREATE2 = "0xC8b1808c2DeafD8ED76CAe6D3e2271F0843B8D1D"
PING_REDEPLOYED = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9"
VAULT_CREATE2 = "0x7E3362A1f544124b696f58EA4bFF9B06eC787a88"


def error_of(path: Path, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load_deployments(path, **kwargs)
    return str(caught.value)


def write(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) if not isinstance(document, str) else document)
    return path


# -- each format ---------------------------------------------------------------------------------


def test_address_book_is_read_and_checksummed() -> None:
    found = load_deployments(BOOK)
    assert found.format == ADDRESS_BOOK
    assert found.source == BOOK
    assert found.chain_id is None
    assert dict(found.addresses) == {
        "ManifestDispatcher": "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
        "DeterministicChunkFactory": FACTORY,  # written all lowercase
        "PingFacet": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
        "VaultFacet": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",  # written all uppercase
    }
    assert list(found.addresses) == ["ManifestDispatcher", "DeterministicChunkFactory", "PingFacet", "VaultFacet"]
    assert found.duplicates == {}


def test_hardhat_deploy_folder_matches_its_receipts() -> None:
    found = load_deployments(HARDHAT)
    assert found.format == HARDHAT_DEPLOY
    assert found.source == HARDHAT
    assert found.chain_id == 31337
    # solcInputs/, .chainId and .migrations.json are not deployments
    assert sorted(found.addresses) == ["DeterministicChunkFactory", "ManifestDispatcher", "PingFacet", "VaultFacet"]
    for name, address in found.addresses.items():
        receipt = json.loads((HARDHAT / f"{name}.json").read_text())["receipt"]
        assert address == receipt["contractAddress"]
        assert found.blocks[name] == receipt["blockNumber"]  # where PD-MON's history starts on a live network


@pytest.mark.parametrize("given", [RUN_LATEST, BROADCAST], ids=["file", "folder"])
def test_foundry_broadcast_creates_create2_and_contracts_made_inside_a_call(given: Path) -> None:
    found = load_deployments(given)
    assert found.format == FOUNDRY_BROADCAST
    assert found.source == RUN_LATEST  # run-latest.json, never the timestamped copy beside it
    assert found.chain_id == 31337
    assert dict(found.addresses) == {
        "DeterministicChunkFactory": FACTORY,
        "VaultFacet": VAULT_CREATE2,  # from additionalContracts of the CALL to the factory
        "PingFacet": PING_REDEPLOYED,
    }


def test_foundry_contract_deployed_twice_keeps_the_last_and_records_both() -> None:
    found = load_deployments(RUN_LATEST)
    assert found.addresses["PingFacet"] == PING_REDEPLOYED
    assert found.duplicates == {"PingFacet": (PING_CREATE2, PING_REDEPLOYED)}
    # each from its transaction's receipt (hex blockNumber); VaultFacet from the CALL that created it
    assert dict(found.blocks) == {"DeterministicChunkFactory": 1, "VaultFacet": 3, "PingFacet": 4}
    assert load_deployments(BOOK).blocks == {}  # an address book records no receipt


def test_address_book_repeated_key_is_a_duplicate(tmp_path: Path) -> None:
    book = write(tmp_path / "book.json", f'{{"PingFacet": "{PING_CREATE2}",\n "PingFacet": "{PING_REDEPLOYED}"}}')
    found = load_deployments(book)
    assert dict(found.addresses) == {"PingFacet": PING_REDEPLOYED}
    assert found.duplicates == {"PingFacet": (PING_CREATE2, PING_REDEPLOYED)}


def test_foundry_chain_id_falls_back_to_the_folder_name(tmp_path: Path) -> None:
    document = json.loads(RUN_LATEST.read_text())
    del document["chain"]
    found = load_deployments(write(tmp_path / "broadcast" / "Deploy.s.sol" / "11155111" / "run-latest.json", document))
    assert found.chain_id == 11155111
    anywhere = load_deployments(write(tmp_path / "elsewhere" / "run-latest.json", document))
    assert anywhere.chain_id is None


def test_foundry_skips_calls_and_contracts_forge_could_not_name(tmp_path: Path) -> None:
    document = json.loads(RUN_LATEST.read_text())
    document["transactions"][0]["contractName"] = None
    document["transactions"][2]["additionalContracts"][0].pop("contractName")
    found = load_deployments(write(tmp_path / "31337" / "run-latest.json", document))
    assert dict(found.addresses) == {"PingFacet": PING_REDEPLOYED}  # the CALL's target is not a deployment


def test_result_is_read_only() -> None:
    found = load_deployments(BOOK)
    with pytest.raises(TypeError):
        found.addresses["PingFacet"] = FACTORY  # type: ignore[index]
    with pytest.raises(AttributeError):
        found.chain_id = 1  # type: ignore[misc]
    assert isinstance(found, DeployedAddresses)


def test_module_imports_without_web3() -> None:
    code = "import sys, signoff.postdeploy.deployments; sys.exit('web3' in sys.modules or 'eth_utils' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# -- detection -----------------------------------------------------------------------------------


def test_a_broadcast_file_under_any_name_is_detected_by_its_shape(tmp_path: Path) -> None:
    copy = shutil.copy(RUN_LATEST, tmp_path / "deploy-output.json")
    assert load_deployments(Path(copy)).format == FOUNDRY_BROADCAST


def test_a_folder_holding_networks_says_which_to_pass(tmp_path: Path) -> None:
    message = error_of(HARDHAT.parent)
    assert str(HARDHAT) in message and "pass one of them" in message and "Next step:" in message
    message = error_of(BROADCAST.parent)
    assert str(BROADCAST) in message


def test_an_empty_folder_is_not_deployments(tmp_path: Path) -> None:
    message = error_of(tmp_path)
    assert f"{tmp_path} holds neither a Foundry run-latest.json nor hardhat-deploy <Name>.json files" in message


def test_a_single_hardhat_deploy_file_points_at_its_folder() -> None:
    message = error_of(HARDHAT / "PingFacet.json")
    assert "single hardhat-deploy deployment file" in message and f"its folder {HARDHAT}" in message


def test_a_foundry_dry_run_is_refused(tmp_path: Path) -> None:
    dry = write(tmp_path / "31337" / "dry-run" / "run-latest.json", RUN_LATEST.read_text())
    assert f"{dry} is a Foundry dry run" in error_of(dry)


def test_a_json_file_in_a_hardhat_folder_without_address_is_named(tmp_path: Path) -> None:
    shutil.copytree(HARDHAT, tmp_path / "localhost")
    notes = write(tmp_path / "localhost" / "notes.json", {"comment": "deployed by ops"})
    message = error_of(tmp_path / "localhost")
    assert f'{notes} has no "address" key' in message


def test_nothing_deployed_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "localhost").mkdir()
    (tmp_path / "localhost" / ".chainId").write_text("31337")
    assert "names no deployed contract" in error_of(tmp_path / "localhost")
    assert "names no deployed contract" in error_of(write(tmp_path / "book.json", {}))


# -- chain ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize("given", [HARDHAT, RUN_LATEST], ids=["hardhat-deploy", "foundry"])
def test_chain_id_mismatch_is_an_error(given: Path) -> None:
    assert load_deployments(given, expected_chain_id=31337).chain_id == 31337
    message = error_of(given, expected_chain_id=11155111)
    assert "records chain id 31337, but this network expects chain id 11155111" in message
    assert "Next step:" in message


def test_address_book_states_no_chain_id_so_any_is_accepted() -> None:
    assert load_deployments(BOOK, expected_chain_id=11155111).chain_id is None


def test_foundry_chain_key_disagreeing_with_its_folder(tmp_path: Path) -> None:
    message = error_of(shutil.copytree(BROADCAST, tmp_path / "1") / "run-latest.json")
    assert "says chain 31337 but sits in folder 1/" in message


def test_hardhat_chain_id_file_must_be_a_number(tmp_path: Path) -> None:
    folder = shutil.copytree(HARDHAT, tmp_path / "localhost")
    (folder / ".chainId").write_text("sepolia\n")
    assert "holds 'sepolia', expected a decimal chain id" in error_of(folder)


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0x5fbdb2315678afecb367f032d93f642f64180aa", '"0x5fbdb2315678afecb367f032d93f642f64180aa"'),
        ("5fbdb2315678afecb367f032d93f642f64180aa3", '"5fbdb2315678afecb367f032d93f642f64180aa3"'),
        ("0xZZbdb2315678afecb367f032d93f642f64180aa3", '"0xZZbdb2315678afecb367f032d93f642f64180aa3"'),
        (1234, "1234"),
        (None, "null"),
        ({"address": FACTORY}, '{"address": "0x5FbDB2315678afecb367f032d93F642f64180aa3"}'),
    ],
    ids=["short", "no-0x", "not-hex", "number", "null", "object"],
)
def test_address_book_bad_value_names_key_and_value(tmp_path: Path, value: object, shown: str) -> None:
    book = write(tmp_path / "book.json", {"PingFacet": PING_CREATE2, "Vault Facet": value})
    message = error_of(book)
    assert f'{book}: key "Vault Facet" is {shown}, expected an address (0x followed by 40 hex digits)' in message
    assert "Next step:" in message


def test_mixed_case_address_with_a_wrong_checksum_is_refused(tmp_path: Path) -> None:
    typo = FACTORY.replace("FbDB", "FbDb")
    message = error_of(write(tmp_path / "book.json", {"DeterministicChunkFactory": typo}))
    assert f'key "DeterministicChunkFactory" is {typo}, whose mixed-case EIP-55 checksum is wrong' in message


def test_bad_address_in_hardhat_and_foundry_files_is_named(tmp_path: Path) -> None:
    folder = shutil.copytree(HARDHAT, tmp_path / "localhost")
    deployment = json.loads((folder / "VaultFacet.json").read_text())
    write(folder / "VaultFacet.json", {**deployment, "address": "0x1234"})
    assert f'{folder / "VaultFacet.json"}: key "address" is "0x1234"' in error_of(folder)

    document = json.loads(RUN_LATEST.read_text())
    document["transactions"][2]["additionalContracts"][0]["address"] = "0xdead"
    run = write(tmp_path / "31337" / "run-latest.json", document)
    message = error_of(run)
    assert f'{run}: transactions[2].additionalContracts[0].address (VaultFacet) is "0xdead"' in message


def test_address_book_must_be_an_object(tmp_path: Path) -> None:
    message = error_of(write(tmp_path / "book.json", [FACTORY]))
    assert 'holds JSON ["0x5FbDB2315678afecb367f032d93F642f64180aa3"], expected an object' in message


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    book = write(tmp_path / "book.json", f'{{\n  "PingFacet": "{PING_CREATE2}"\n  "VaultFacet": "{VAULT_CREATE2}"\n}}')
    message = error_of(book)
    assert f"{book} is not valid JSON: Expecting ',' delimiter at line 3, column 3" in message

    folder = shutil.copytree(HARDHAT, tmp_path / "localhost")
    text = (folder / "PingFacet.json").read_text()
    (folder / "PingFacet.json").write_text(text[: len(text) // 2])
    assert f"{folder / 'PingFacet.json'} is not valid JSON" in error_of(folder)


def test_missing_path_names_it_and_the_next_step(tmp_path: Path) -> None:
    missing = tmp_path / "deployments" / "sepolia"
    message = error_of(missing)
    assert f"deployments path {missing} does not exist" in message
    assert "Next step: point `deployments` at" in message
