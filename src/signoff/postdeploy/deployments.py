"""Where a network's contracts were deployed, read from what the deploy tool left behind.

:func:`load_deployments` accepts three layouts and tells them apart by shape: a plain address
book (one JSON object ``{"Name": "0x..."}``), a hardhat-deploy network folder
(``deployments/<network>/<Name>.json`` plus an optional ``.chainId``), and a Foundry broadcast
(``broadcast/<script>/<chainId>/run-latest.json``, or the folder holding it). Every address comes
back EIP-55 checksummed; a chain id the files state is checked against the one the network
expects. This module imports no web3, so reading deployments stays cheap on every path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from signoff.deploy.manifest import checksum
from signoff.errors import ConfigError

ADDRESS_BOOK = "address-book"
HARDHAT_DEPLOY = "hardhat-deploy"
FOUNDRY_BROADCAST = "foundry-broadcast"
FOUNDRY_RUN_FILE = "run-latest.json"
_CREATE_KINDS = ("CREATE", "CREATE2")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_SHOWN_VALUE_CHARS = 80


@dataclass(frozen=True)
class DeployedAddresses:
    """Contract name -> checksummed address for one network, and where that came from.

    ``duplicates`` names every contract deployed more than once, with all its addresses in
    deployment order; the last one is the one in ``addresses``.
    """

    source: Path
    format: str  # ADDRESS_BOOK, HARDHAT_DEPLOY or FOUNDRY_BROADCAST
    addresses: Mapping[str, str]
    chain_id: int | None = None
    duplicates: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    # contract name -> the block its (last) deployment was mined in, where the tool recorded the receipt
    # (hardhat-deploy's receipt.blockNumber, a Foundry broadcast's receipts); an address book has none
    blocks: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


def load_deployments(path: Path, *, expected_chain_id: int | None = None) -> DeployedAddresses:
    """Read the deployments at ``path`` (file or folder), detecting which tool wrote them."""
    if not path.exists():
        raise ConfigError(
            f"deployments path {path} does not exist. Next step: point `deployments` at an address-book "
            "JSON file, a hardhat-deploy folder deployments/<network>/ or a Foundry "
            f"broadcast/<script>/<chainId>/{FOUNDRY_RUN_FILE}"
        )
    if path.is_dir():
        if (path / FOUNDRY_RUN_FILE).is_file():
            found = _foundry(path / FOUNDRY_RUN_FILE, _read_json(path / FOUNDRY_RUN_FILE))
        elif _hardhat_files(path) or (path / ".chainId").is_file():
            found = _hardhat(path)
        else:
            raise ConfigError(_unrecognised_folder(path))
    else:
        document = _read_json(path)
        if isinstance(document, dict) and "transactions" in document:
            found = _foundry(path, document)
        else:
            found = _address_book(path, document)
    if not found.addresses:
        raise ConfigError(
            f"{found.source} ({found.format}) names no deployed contract. "
            "Next step: point `deployments` at the records of a deployment that has run"
        )
    if expected_chain_id is not None and found.chain_id is not None and found.chain_id != expected_chain_id:
        raise ConfigError(
            f"{found.source} records chain id {found.chain_id}, but this network expects chain id "
            f"{expected_chain_id}. Next step: point `deployments` at this network's records "
            "or correct the network's chain_id"
        )
    return found


# -- JSON reading ------------------------------------------------------------------------------


class _Object(dict[str, Any]):
    """A JSON object that also keeps its keys in file order with repeats (a dict keeps the last)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}. Next step: check the file's permissions and encoding") from None


def _read_json(path: Path) -> Any:
    text = _read_text(path)
    try:
        return json.loads(text, object_pairs_hook=_Object)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}. "
            "Next step: fix the file, or regenerate it with the deploy tool"
        ) from None


def _decimal(text: str) -> int | None:
    return int(text) if re.fullmatch(r"[0-9]+", text) else None


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= _SHOWN_VALUE_CHARS else text[: _SHOWN_VALUE_CHARS - 3] + "..."


def _address(value: Any, where: str, source: Path) -> str:
    """The EIP-55 form of ``value``, or a ConfigError naming ``where`` in ``source``."""
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise ConfigError(
            f"{source}: {where} is {_shown(value)}, expected an address (0x followed by 40 hex digits). "
            "Next step: correct the value, or regenerate the file with the deploy tool"
        )
    checked = checksum(bytes.fromhex(value[2:]))
    plain = value[2:]
    # mixed case is a promise of EIP-55; a broken promise is usually a mistyped digit
    if plain != plain.lower() and plain != plain.upper() and value != checked:
        raise ConfigError(
            f"{source}: {where} is {value}, whose mixed-case EIP-55 checksum is wrong, so a digit may "
            "be mistyped. Next step: copy the address again from the deployment's transaction receipt"
        )
    return checked


class _Collector:
    """Names -> addresses in deployment order: the last deployment wins, repeats are kept."""

    def __init__(self) -> None:
        self.addresses: dict[str, str] = {}
        self.history: dict[str, list[str]] = {}
        self.blocks: dict[str, int] = {}

    def add(self, name: str, address: str, block: int | None = None) -> None:
        self.addresses.pop(name, None)  # re-inserted: the order follows the latest deployment
        self.addresses[name] = address
        self.history.setdefault(name, []).append(address)
        if block is None:
            self.blocks.pop(name, None)
        else:
            self.blocks[name] = block

    def result(self, source: Path, kind: str, chain_id: int | None) -> DeployedAddresses:
        duplicates = {name: tuple(seen) for name, seen in self.history.items() if len(seen) > 1}
        return DeployedAddresses(
            source=source,
            format=kind,
            addresses=MappingProxyType(dict(self.addresses)),
            chain_id=chain_id,
            duplicates=MappingProxyType(duplicates),
            blocks=MappingProxyType(dict(self.blocks)),
        )


def _block_number(value: Any) -> int | None:
    """A receipt's blockNumber: an integer, or a decimal or 0x string; anything else is not recorded."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    if isinstance(value, str):
        try:
            return int(value, 16) if value.lower().startswith("0x") else int(value)
        except ValueError:
            return None
    return None


# -- the three formats -------------------------------------------------------------------------


def _address_book(path: Path, document: Any) -> DeployedAddresses:
    if not isinstance(document, _Object):
        raise ConfigError(
            f"{path} holds JSON {_shown(document)}, expected an object of contract name -> "
            'address, e.g. {"ManifestDispatcher": "0x..."}. Next step: correct the file'
        )
    if "address" in document and "abi" in document:
        raise ConfigError(
            f"{path} is a single hardhat-deploy deployment file. Next step: point `deployments` at its "
            f"folder {path.parent}"
        )
    collected = _Collector()
    for name, value in document.pairs:
        collected.add(name, _address(value, f"key {json.dumps(name)}", path))
    return collected.result(path, ADDRESS_BOOK, None)


def _hardhat_files(folder: Path) -> list[Path]:
    # hardhat-deploy keeps its own state in dot-files (.chainId, .migrations.json) and the
    # compiler inputs in solcInputs/; only top-level <Name>.json files are deployments
    return sorted(p for p in folder.glob("*.json") if p.is_file() and not p.name.startswith("."))


def _hardhat(folder: Path) -> DeployedAddresses:
    chain_id = None
    chain_file = folder / ".chainId"
    if chain_file.is_file():
        text = _read_text(chain_file).strip()
        chain_id = _decimal(text)
        if chain_id is None:
            raise ConfigError(
                f"{chain_file} holds {text[:_SHOWN_VALUE_CHARS]!r}, expected a decimal chain id. "
                "Next step: write the network's chain id into it (hardhat-deploy does on every deploy)"
            )
    collected = _Collector()
    for file in _hardhat_files(folder):
        document = _read_json(file)
        if not isinstance(document, dict) or "address" not in document:
            raise ConfigError(
                f'{file} has no "address" key, so it is not a hardhat-deploy deployment file. '
                f"Next step: move it out of {folder}, or regenerate the folder with `hardhat deploy`"
            )
        if not isinstance(document.get("abi"), list):
            raise ConfigError(
                f'{file} has no "abi" list, so it is not a complete hardhat-deploy deployment file. '
                "Next step: regenerate it with `hardhat deploy`"
            )
        receipt = document.get("receipt")
        block = _block_number(receipt.get("blockNumber")) if isinstance(receipt, dict) else None
        collected.add(file.stem, _address(document["address"], 'key "address"', file), block)
    return collected.result(folder, HARDHAT_DEPLOY, chain_id)


def _foundry(file: Path, document: Any) -> DeployedAddresses:
    if file.parent.name == "dry-run":
        raise ConfigError(
            f"{file} is a Foundry dry run: nothing was sent to the chain. Next step: point `deployments` "
            f"at broadcast/<script>/<chainId>/{FOUNDRY_RUN_FILE} of the run made with --broadcast"
        )
    transactions = document.get("transactions") if isinstance(document, dict) else None
    if not isinstance(transactions, list):
        raise ConfigError(
            f'{file} has no "transactions" list, so it is not a Foundry broadcast. '
            "Next step: point `deployments` at the run-latest.json that `forge script --broadcast` wrote"
        )
    chain_id = _foundry_chain_id(file, document.get("chain"))
    receipts = document.get("receipts")
    mined = {
        str(receipt.get("transactionHash", "")).lower(): _block_number(receipt.get("blockNumber"))
        for receipt in (receipts if isinstance(receipts, list) else [])
        if isinstance(receipt, dict)
    }
    collected = _Collector()
    for index, transaction in enumerate(transactions):
        where = f"transactions[{index}]"
        if not isinstance(transaction, dict):
            raise ConfigError(f"{file}: {where} is {_shown(transaction)}, expected an object. Next step: regenerate it")
        block = mined.get(str(transaction.get("hash", "")).lower())
        if transaction.get("transactionType") in _CREATE_KINDS:
            _add_named(collected, transaction, "contractAddress", where, file, block)
        extra = transaction.get("additionalContracts") or []
        if not isinstance(extra, list):
            raise ConfigError(f"{file}: {where}.additionalContracts is {_shown(extra)}, expected a list")
        for number, contract in enumerate(extra):
            if isinstance(contract, dict):
                # forge names contracts created inside a call only when it recognises their code
                _add_named(collected, contract, "address", f"{where}.additionalContracts[{number}]", file, block)
    return collected.result(file, FOUNDRY_BROADCAST, chain_id)


def _add_named(  # noqa: PLR0917 - the entry, where it is, and the block its transaction was mined in
    collected: _Collector, entry: dict[str, Any], key: str, where: str, file: Path, block: int | None
) -> None:
    name = entry.get("contractName")
    if not isinstance(name, str) or not name:
        return  # forge could not tell which contract this is: nothing to look it up by
    collected.add(name, _address(entry.get(key), f"{where}.{key} ({name})", file), block)


def _foundry_chain_id(file: Path, stated: Any) -> int | None:
    from_folder = _decimal(file.parent.name)
    if stated is None:
        return from_folder
    if not isinstance(stated, int) or isinstance(stated, bool):
        raise ConfigError(f'{file}: "chain" is {_shown(stated)}, expected an integer chain id. Next step: correct it')
    if from_folder is not None and from_folder != stated:
        raise ConfigError(
            f"{file} says chain {stated} but sits in folder {file.parent.name}/, which forge names after the "
            "chain id. Next step: find out which chain it was broadcast to and move or regenerate it"
        )
    return stated


def _unrecognised_folder(folder: Path) -> str:
    nested = sorted(
        str(p.parent) for p in (*folder.glob(f"*/{FOUNDRY_RUN_FILE}"), *folder.glob("*/.chainId")) if p.is_file()
    )
    hint = f" It holds these: {', '.join(nested)}; pass one of them" if nested else ""
    return (
        f"{folder} holds neither a Foundry {FOUNDRY_RUN_FILE} nor hardhat-deploy <Name>.json files.{hint}. "
        "Next step: point `deployments` at deployments/<network>/ (hardhat-deploy), "
        f"broadcast/<script>/<chainId>/ (Foundry) or an address-book JSON file"
    )
