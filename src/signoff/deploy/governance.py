"""Governance contracts: deploy and drive a real Safe 1.4.1 on a rehearsal chain, and read who controls a system.

The Safe bytecode is the canonical Safe 1.4.1 build shipped by the Python package safe-eth-py
(a dependency of signoff: no npm at run time); :func:`deploy_safe` puts the singleton and proxy factory
on a chain once and creates proxies, :func:`safe_exec` makes a Safe call a contract with
pre-approved hashes and tells "the target reverted" (:class:`SafeCallReverted`) from "the Safe
refused" (:class:`SafeRefused`). :func:`read_governance` classifies an address as an EOA, a
Safe, a timelock or an unknown contract using view calls only, at any pinned block, and the
pure :func:`check_governance` turns those facts into findings against a policy.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eth_abi.abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_typing import ChecksumAddress, HexStr
from web3 import Web3
from web3.types import BlockIdentifier, TxParams, TxReceipt, Wei

from signoff.artifacts.hashing import keccak256
from signoff.chain.backends import estimates_run_once, is_revert, revert_data, send_checked
from signoff.errors import ArtifactError, ChainError, ConfigError

SAFE_PACKAGE = "safe-eth-py"
_ARTIFACTS_IN_PACKAGE = Path("eth", "contracts", "abis")  # inside the safe_eth package
_SINGLETON_ARTIFACT = Path("Safe_V1_4_1.json")
_FACTORY_ARTIFACT = Path("ProxyFactory_V1_4_1.json")

ZERO_ADDRESS = "0x" + "00" * 20
_SENTINEL = "0x" + "00" * 19 + "01"  # Safe's linked-list head for owners and modules
_MODULE_PAGE = 10  # enough to show that modules exist; the finding names them
_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_GS013 = "GS013"  # Safe: the inner call failed with safeTxGas = 0 and gasPrice = 0
_PROXY_CREATION = keccak256(b"ProxyCreation(address,address)")
_EXECUTION_SUCCESS = keccak256(b"ExecutionSuccess(bytes32,uint256)")
# Markers of a node saying "the EVM failed" (not "I cannot answer"): anvil reports an invalid
# opcode as a plain RPC error, not as a revert.

GovernanceKind = Literal["eoa", "safe", "timelock", "contract"]


class SafeCallReverted(ChainError):
    """The Safe accepted the transaction but the call it makes reverted: the target's fault."""

    def __init__(self, message: str, *, safe: str, target: str, revert_data: bytes) -> None:
        super().__init__(message)
        self.safe = safe
        self.target = target
        self.revert_data = revert_data  # b"" when the node did not say why


class SafeRefused(ChainError):
    """The Safe itself rejected the transaction (a ``GSxxx`` code: signatures, owners, nonce)."""

    def __init__(self, message: str, *, safe: str, code: str) -> None:
        super().__init__(message)
        self.safe = safe
        self.code = code  # "GS026", or "" when the revert carried no Safe code


@dataclass(frozen=True)
class GovernanceFacts:
    """What an address is, read at one block. Safe fields are empty unless ``kind == "safe"``."""

    address: str
    kind: GovernanceKind
    code_size: int
    owners: tuple[str, ...] = ()
    threshold: int | None = None
    version: str | None = None
    modules: tuple[str, ...] = ()  # Safe modules act without owner signatures
    min_delay: int | None = None  # timelock only, seconds


@dataclass(frozen=True)
class _SafeDeployment:
    singleton: ChecksumAddress
    factory: ChecksumAddress


# Singleton and factory per chain, so a test session deploys them once; weak keys let a
# discarded Web3 take its entry with it.
_DEPLOYED: weakref.WeakKeyDictionary[Web3, dict[tuple[int, Path], _SafeDeployment]] = weakref.WeakKeyDictionary()


# ---------------------------------------------------------------- artifacts


def find_safe_artifacts() -> Path:
    """The folder of Safe 1.4.1 Hardhat artifacts inside the installed safe-eth-py (not imported)."""
    from importlib.util import find_spec

    spec = find_spec("safe_eth")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        candidate = Path(folder, _ARTIFACTS_IN_PACKAGE)
        if (candidate / _SINGLETON_ARTIFACT).is_file():
            return candidate
    where = f"in {', '.join(folders)}" if folders else "(the package is not installed)"
    raise ConfigError(
        f"the Safe 1.4.1 contracts were not found: no {_ARTIFACTS_IN_PACKAGE / _SINGLETON_ARTIFACT} of the Python "
        f"package {SAFE_PACKAGE} {where}. Next step: `pip install {SAFE_PACKAGE}` into the environment that runs "
        "signoff (it is one of signoff's dependencies)"
    )


def _load_artifact(artifacts: Path, relative: Path) -> dict[str, Any]:
    path = artifacts / relative
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ArtifactError(
            f"cannot read the Safe artifact {path}: {error}. Next step: reinstall {SAFE_PACKAGE} "
            f"(`pip install --force-reinstall {SAFE_PACKAGE}`)"
        ) from error
    if not isinstance(loaded, dict) or not str(loaded.get("bytecode", "")).startswith("0x"):
        raise ArtifactError(
            f"{path} is not a Hardhat artifact with a 'bytecode' string. "
            f"Next step: reinstall {SAFE_PACKAGE} (`pip install --force-reinstall {SAFE_PACKAGE}`)"
        )
    return loaded


# ---------------------------------------------------------------- encoding and revert data


def _calldata(signature: str, types: Sequence[str] = (), args: Sequence[Any] = ()) -> bytes:
    return keccak256(signature.encode())[:4] + encode(list(types), list(args))


def _checksum(address: str, what: str) -> ChecksumAddress:
    if not Web3.is_address(address):
        raise ConfigError(f"{what} {address!r} is not an address. Next step: give a 0x-prefixed 20-byte address")
    return Web3.to_checksum_address(address)


def _reason(data: bytes) -> str | None:
    """The text of an ``Error(string)`` revert, else None."""
    if data[:4] != _ERROR_STRING:
        return None
    try:
        (text,) = decode(["string"], data[4:])
    except (DecodingError, ValueError):
        return None
    return str(text)


def _describe(data: bytes) -> str:
    reason = _reason(data)
    if reason is not None:
        return f"Error({reason!r})"
    return "0x" + data.hex() if data else "no revert data"


# ---------------------------------------------------------------- transactions


def _transact(w3: Web3, tx: TxParams, sender: str, what: str) -> TxReceipt:
    """Send ``tx`` from its unlocked (or impersonated) sender; a revert or a status-0 receipt
    becomes a ChainError that names ``what``."""
    try:
        tx_hash = send_checked(w3, tx)
    except Exception as error:
        if not is_revert(error):
            raise
        raise ChainError(
            f"{what} from {sender} reverted: {_describe(revert_data(error))}. "
            "Next step: check the sender is unlocked and funded and the arguments are valid"
        ) from error
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt["status"] != 1:
        raise ChainError(
            f"{what} from {sender} failed (receipt status 0, tx 0x{bytes(tx_hash).hex()}, "
            f"gas used {receipt['gasUsed']}). Next step: replay it with a trace on anvil"
        )
    return receipt


def _deploy(w3: Web3, deployer: str, bytecode: str, what: str) -> ChecksumAddress:
    receipt = _transact(w3, {"from": deployer, "data": HexStr(bytecode)}, deployer, f"deployment of {what}")
    address = receipt["contractAddress"]
    if not address or not w3.eth.get_code(Web3.to_checksum_address(address)):
        raise ChainError(
            f"deployment of {what} from {deployer} left no code (EIP-170 size limit?). "
            "Next step: run on a chain with the standard contract size limit"
        )
    return Web3.to_checksum_address(address)


def _safe_contracts(w3: Web3, deployer: str, artifacts: Path) -> _SafeDeployment:
    """Singleton + proxy factory for this chain, deployed on first use. A cached pair whose
    code is gone (a snapshot was reverted) is deployed again."""
    key = (int(w3.eth.chain_id), artifacts.resolve())
    per_w3 = _DEPLOYED.setdefault(w3, {})
    cached = per_w3.get(key)
    if cached is not None and w3.eth.get_code(cached.singleton) and w3.eth.get_code(cached.factory):
        return cached
    singleton = _load_artifact(artifacts, _SINGLETON_ARTIFACT)
    factory = _load_artifact(artifacts, _FACTORY_ARTIFACT)
    deployed = _SafeDeployment(
        singleton=_deploy(w3, deployer, singleton["bytecode"], "the Safe singleton"),
        factory=_deploy(w3, deployer, factory["bytecode"], "the SafeProxyFactory"),
    )
    per_w3[key] = deployed
    return deployed


def _validate_owners(owners: Sequence[str], threshold: int) -> list[ChecksumAddress]:
    checked = [_checksum(owner, "Safe owner") for owner in owners]
    if len(set(checked)) != len(checked) or ZERO_ADDRESS in checked or _SENTINEL in checked:
        raise ConfigError(f"Safe owners {checked} must be distinct non-zero addresses. Next step: list each owner once")
    if not 1 <= threshold <= len(checked):
        raise ConfigError(
            f"Safe threshold {threshold} is not between 1 and the {len(checked)} owners. "
            "Next step: choose a threshold of at least 1 and at most the number of owners"
        )
    return checked


def deploy_safe(
    w3: Web3, *, deployer: str, owners: Sequence[str], threshold: int, artifacts: Path, salt_nonce: int = 0
) -> str:
    """Create a Safe proxy with ``owners`` and ``threshold`` (deploying the singleton and
    factory first if this chain lacks them) and return the proxy's address."""
    deployer = _checksum(deployer, "deployer")
    checked = _validate_owners(owners, threshold)
    contracts = _safe_contracts(w3, deployer, artifacts)
    setup = _calldata(
        "setup(address[],uint256,address,bytes,address,address,uint256,address)",
        ["address[]", "uint256", "address", "bytes", "address", "address", "uint256", "address"],
        [checked, threshold, ZERO_ADDRESS, b"", ZERO_ADDRESS, ZERO_ADDRESS, 0, ZERO_ADDRESS],
    )
    create = _calldata(
        "createProxyWithNonce(address,bytes,uint256)",
        ["address", "bytes", "uint256"],
        [contracts.singleton, setup, salt_nonce],
    )
    receipt = _transact(
        w3,
        {"from": deployer, "to": contracts.factory, "data": create},
        deployer,
        f"SafeProxyFactory.createProxyWithNonce (salt nonce {salt_nonce})",
    )
    for log in receipt["logs"]:
        topics = log["topics"]
        if str(log["address"]).lower() == contracts.factory.lower() and topics and bytes(topics[0]) == _PROXY_CREATION:
            # Safe 1.4.1 indexes the proxy (topic 1); the singleton is in the data.
            return str(Web3.to_checksum_address(bytes(topics[1])[-20:]))
    raise ChainError(
        f"SafeProxyFactory {contracts.factory} emitted no ProxyCreation event (tx "
        f"0x{bytes(receipt['transactionHash']).hex()}). Next step: check {artifacts} holds Safe 1.4.1"
    )


# ---------------------------------------------------------------- views


def _view(
    w3: Web3, address: str, signature: str, returns: Sequence[str], block: BlockIdentifier = "latest"
) -> tuple[Any, ...] | None:
    """A view call decoded as ``returns``; None when it reverts, returns nothing or returns
    something that does not decode (the contract does not have that function)."""
    try:
        raw = w3.eth.call({"to": address, "data": _calldata(signature)}, block)
    except Exception as error:
        if is_revert(error):
            return None
        raise
    if not raw:
        return None
    try:
        return tuple(decode(list(returns), bytes(raw)))
    except (DecodingError, ValueError, OverflowError):
        return None


def _safe_threshold(w3: Web3, safe: str) -> int:
    answer = _view(w3, safe, "getThreshold()", ["uint256"])
    if answer is None:
        raise ConfigError(f"{safe} does not answer getThreshold(): it is not a Safe. Next step: pass a Safe address")
    return int(answer[0])


def read_governance(w3: Web3, address: str, block_identifier: BlockIdentifier = "latest") -> GovernanceFacts:
    """Classify ``address`` at ``block_identifier`` by its code and view calls alone (never a
    transaction): an EOA, a Safe (owners, threshold, version, modules), an OpenZeppelin
    TimelockController (min delay), or another contract."""
    checked = _checksum(address, "governance address")
    code_size = len(w3.eth.get_code(checked, block_identifier))
    if code_size == 0:
        return GovernanceFacts(address=checked, kind="eoa", code_size=0)
    threshold = _view(w3, checked, "getThreshold()", ["uint256"], block_identifier)
    owners = _view(w3, checked, "getOwners()", ["address[]"], block_identifier)
    if threshold is not None and owners is not None:
        version = _view(w3, checked, "VERSION()", ["string"], block_identifier)
        modules = _view_modules(w3, checked, block_identifier)
        return GovernanceFacts(
            address=checked,
            kind="safe",
            code_size=code_size,
            owners=tuple(str(Web3.to_checksum_address(owner)) for owner in owners[0]),
            threshold=int(threshold[0]),
            version=None if version is None else str(version[0]),
            modules=modules,
        )
    delay = _view(w3, checked, "getMinDelay()", ["uint256"], block_identifier)
    if delay is not None:
        return GovernanceFacts(address=checked, kind="timelock", code_size=code_size, min_delay=int(delay[0]))
    return GovernanceFacts(address=checked, kind="contract", code_size=code_size)


def _view_modules(w3: Web3, safe: str, block: BlockIdentifier) -> tuple[str, ...]:
    try:
        raw = w3.eth.call(
            {
                "to": safe,
                "data": _calldata(
                    "getModulesPaginated(address,uint256)", ["address", "uint256"], [_SENTINEL, _MODULE_PAGE]
                ),
            },
            block,
        )
        modules, _next = decode(["address[]", "address"], bytes(raw))
    except (DecodingError, ValueError, OverflowError):
        return ()
    except Exception as error:
        if is_revert(error):
            return ()  # an older Safe without pagination: modules are not knowable here
        raise
    return tuple(str(Web3.to_checksum_address(module)) for module in modules)


# ---------------------------------------------------------------- policy


def check_governance(
    facts: GovernanceFacts, *, min_threshold: int, min_owners: int, min_delay_seconds: int | None
) -> list[str]:
    """Findings (empty when it passes) for ``facts`` against the policy. ``min_delay_seconds``
    applies to timelocks; None means no delay is required. A timelock's proposers are not
    enumerable on chain, so only its delay is judged here."""
    if min_threshold < 1 or min_owners < min_threshold or (min_delay_seconds is not None and min_delay_seconds < 0):
        raise ConfigError(
            f"governance policy min_threshold={min_threshold}, min_owners={min_owners}, "
            f"min_delay_seconds={min_delay_seconds} is inconsistent. "
            "Next step: use 1 <= min_threshold <= min_owners and a non-negative delay"
        )
    address = facts.address
    if facts.kind == "eoa":
        return [f"governance {address} is an EOA (no code): a single key controls the system"]
    if facts.kind == "contract":
        return [
            f"governance {address} is a contract ({facts.code_size} bytes) that is neither a Safe nor a "
            "timelock: who controls it cannot be verified"
        ]
    if facts.kind == "timelock":
        delay = facts.min_delay or 0
        if min_delay_seconds is not None and delay < min_delay_seconds:
            return [f"timelock {address} min delay {delay} s is below the required {min_delay_seconds} s"]
        return []
    findings: list[str] = []
    count = len(facts.owners)
    threshold = facts.threshold or 0
    if threshold < min_threshold:
        findings.append(
            f"Safe {address} threshold {threshold} of {count} is below the required {min_threshold} of {count}"
        )
    if count < min_owners:
        findings.append(f"Safe {address} has {count} owners, fewer than the required {min_owners}")
    if facts.modules:
        findings.append(
            f"Safe {address} has {len(facts.modules)} module(s) enabled ({', '.join(facts.modules)}): "
            "a module executes without the owners' signatures, so the threshold does not bound it"
        )
    return findings


# ---------------------------------------------------------------- execution


def _signers(safe_owners: Sequence[str], owners: Sequence[str], threshold: int, executor: str, safe: str) -> list[str]:
    """Exactly ``threshold`` signing owners, the executor first when it is one (its approval
    is implicit: the Safe accepts ``msg.sender`` as a signer)."""
    on_chain = {owner.lower() for owner in safe_owners}
    checked: list[str] = [_checksum(owner, "signing owner") for owner in owners]
    strangers = [owner for owner in checked if owner.lower() not in on_chain]
    if strangers:
        raise ConfigError(
            f"not owners of Safe {safe}: {', '.join(strangers)} (its owners: {', '.join(safe_owners)}). "
            "Next step: sign with the Safe's owners"
        )
    ordered = list(dict.fromkeys(([executor] if executor in checked else []) + checked))
    if len(ordered) < threshold:
        raise ConfigError(
            f"Safe {safe} needs {threshold} signing owners, {len(ordered)} given. Next step: pass at least "
            f"{threshold} of its owners"
        )
    return ordered[:threshold]


def _simulate_from_safe(w3: Web3, safe: str, to: str, data: bytes, value: int) -> None:
    """Run the inner call as the Safe will make it, before anything is sent, so a target
    revert surfaces with its data (the Safe itself discards it). gasPrice 0 lets the Safe
    be the sender without paying for gas; estimateGas (unlike eth_call on eth-tester) allows it.
    Only whether it succeeds matters, so on eth-tester the call runs once (estimates_run_once)."""
    try:
        with estimates_run_once(w3):
            w3.eth.estimate_gas({"from": safe, "to": to, "data": data, "value": Wei(value), "gasPrice": Wei(0)})
    except Exception as error:
        if not is_revert(error):
            raise
        revert = revert_data(error)
        raise SafeCallReverted(
            f"Safe {safe} calling {to} (selector 0x{data[:4].hex()}) would revert: {_describe(revert)}; "
            "nothing was sent. Next step: fix the call or the target's state; the Safe itself is fine",
            safe=safe,
            target=to,
            revert_data=revert,
        ) from error


def _signatures(signers: Sequence[str]) -> bytes:
    """Pre-validated signatures, ascending by owner as the Safe requires: r = owner, s = 0, v = 1."""
    ordered = sorted(signers, key=lambda owner: int(owner, 16))
    return b"".join(bytes(12) + bytes.fromhex(owner[2:]) + bytes(32) + b"\x01" for owner in ordered)


def safe_exec(
    w3: Web3,
    safe: str,
    *,
    owners: Sequence[str],
    to: str,
    data: bytes,
    value: int = 0,
    executor: str | None = None,
) -> TxReceipt:
    """Make ``safe`` call ``to`` with ``data``: ``threshold`` of ``owners`` approve the Safe
    transaction hash, the executor (default: the first owner) sends ``execTransaction``.

    Raises :class:`SafeCallReverted` with the target's revert data when the call would revert
    (checked before any transaction), :class:`SafeRefused` when the Safe rejects it."""
    safe = _checksum(safe, "Safe")
    to = _checksum(to, "call target")
    if not owners:
        raise ConfigError(f"safe_exec on {safe} needs signing owners. Next step: pass owners=[...]")
    executor = _checksum(executor or owners[0], "executor")
    safe_owners = _view(w3, safe, "getOwners()", ["address[]"])
    if safe_owners is None:
        raise ConfigError(f"{safe} does not answer getOwners(): it is not a Safe. Next step: pass a Safe address")
    threshold = _safe_threshold(w3, safe)
    signers = _signers([str(Web3.to_checksum_address(o)) for o in safe_owners[0]], owners, threshold, executor, safe)
    _simulate_from_safe(w3, safe, to, data, value)

    nonce_answer = _view(w3, safe, "nonce()", ["uint256"])
    nonce = 0 if nonce_answer is None else int(nonce_answer[0])
    # operation 0 (call), safeTxGas 0, baseGas 0, gasPrice 0, no gas token, no refund receiver.
    tx_fields: list[Any] = [to, value, data, 0, 0, 0, 0, ZERO_ADDRESS, ZERO_ADDRESS]
    tx_types = ["address", "uint256", "bytes", "uint8", "uint256", "uint256", "uint256", "address", "address"]
    hashed = w3.eth.call(
        {
            "to": safe,
            "data": _calldata(
                "getTransactionHash(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,uint256)",
                [*tx_types, "uint256"],
                [*tx_fields, nonce],
            ),
        }
    )
    safe_tx_hash = bytes(hashed)[:32]
    for signer in signers:
        if signer != executor:
            _transact(
                w3,
                {"from": signer, "to": safe, "data": _calldata("approveHash(bytes32)", ["bytes32"], [safe_tx_hash])},
                signer,
                f"Safe {safe} approveHash(0x{safe_tx_hash.hex()})",
            )
    exec_data = _calldata(
        "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)",
        [*tx_types, "bytes"],
        [*tx_fields, _signatures(signers)],
    )
    return _execute(w3, safe, to, executor, exec_data)


def _execute(w3: Web3, safe: str, to: str, executor: str, exec_data: bytes) -> TxReceipt:
    try:
        tx_hash = send_checked(w3, {"from": executor, "to": safe, "data": exec_data})
    except Exception as error:
        if not is_revert(error):
            raise
        revert = revert_data(error)
        code = _reason(revert) or ""
        if code == _GS013:  # the inner call failed although the simulation passed
            raise SafeCallReverted(
                f"Safe {safe} execTransaction to {to} reverted with GS013: the call it makes failed "
                "(the Safe does not pass on why). Next step: simulate the call from the Safe to see the revert",
                safe=safe,
                target=to,
                revert_data=b"",
            ) from error
        raise SafeRefused(
            f"Safe {safe} refused execTransaction from {executor}: {code or _describe(revert)}. "
            "Next step: look the code up in Safe's error list (GS0xx); signatures, owners and nonce are checked here",
            safe=safe,
            code=code if code.startswith("GS") else "",
        ) from error
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    succeeded = any(
        str(log["address"]).lower() == safe.lower() and log["topics"] and bytes(log["topics"][0]) == _EXECUTION_SUCCESS
        for log in receipt["logs"]
    )
    if receipt["status"] != 1 or not succeeded:
        raise SafeCallReverted(
            f"Safe {safe} execTransaction to {to} did not succeed (status {receipt['status']}, no ExecutionSuccess; "
            f"tx 0x{bytes(tx_hash).hex()}). Next step: replay it with a trace on anvil",
            safe=safe,
            target=to,
            revert_data=b"",
        )
    return receipt
