"""Run a deploy plan on a writable chain (PF-REH) and act as the system's accounts in drills.

:class:`Operator` is the one place that sends transactions: as a rehearsal account (unlocked
on eth-tester, impersonated and funded on anvil), through a rehearsal Safe (its owners approve
the hash, the first owner executes), or as any address on a chain that can impersonate (a
fork). :func:`rehearse` walks the plan's steps with it and returns the
:class:`~signoff.deploy.system.DeployedSystem`. Every failure names the step, the sender and the
revert reason. Imported only on chain paths (it needs web3).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from eth_account import Account
from eth_utils.address import to_checksum_address
from web3 import Web3

from signoff.artifacts.abi import abi_value, constructor_types, encode_call
from signoff.artifacts.hashing import keccak256
from signoff.artifacts.loader import ArtifactSet, Contract, load_artifacts
from signoff.chain.backends import IMPERSONATE, Chain, is_revert, revert_data, send_checked
from signoff.deploy.lifecycle import Lifecycle, apply_values, commit_values, detect
from signoff.deploy.manifest import Plan, facet_salt, load_target_plan
from signoff.deploy.plan import (
    CallStep,
    DeployPlan,
    DeployStep,
    ManifestStep,
    SafeStep,
    Step,
    WaitStep,
    describe,
)
from signoff.deploy.system import REHEARSAL, DeployedSystem, SafeInfo, StepRecord, attach_routes
from signoff.errors import ChainError, ConfigError
from signoff.target import Target

FUNDING_WEI = 10**24  # what an impersonated sender is given on anvil or a fork
SAFE_FUNDING_WEI = 10**20  # what a rehearsal Safe is given, so it can be an eth_call sender


def rehearsal_address(index: int) -> str:
    """The rehearsal account ``index``: test key ``index + 1`` (eth-tester's own accounts)."""
    return str(Account.from_key((index + 1).to_bytes(32, "big")).address)


class Reverted(ChainError):
    """A transaction or simulated call reverted; ``data`` is the revert data (may be empty)."""

    def __init__(self, message: str, data: bytes) -> None:
        super().__init__(message)
        self.data = data


def decode_revert(data: bytes, abis: Sequence[Sequence[Mapping[str, Any]]] = ()) -> str:
    """``Error(string)``, ``Panic(uint256)`` or a custom error named from ``abis``; hex otherwise."""
    from eth_abi.abi import decode

    if not data:
        return "revert without data"
    selector, body = data[:4], data[4:]
    if selector == bytes.fromhex("08c379a0"):
        with contextlib.suppress(Exception):  # a malformed payload is reported as hex below
            return f"Error({decode(['string'], body)[0]!r})"
    if selector == bytes.fromhex("4e487b71"):
        return f"Panic(0x{int.from_bytes(body[:32], 'big'):02x})"
    for abi in abis:
        for entry in abi:
            if entry.get("type") != "error":
                continue
            types = [str(p["type"]) for p in entry.get("inputs", [])]
            if keccak256(f"{entry['name']}({','.join(types)})".encode())[:4] == selector:
                try:
                    values = decode(types, body)
                except Exception:
                    return f"{entry['name']}(<undecodable 0x{body.hex()}>)"
                shown = ", ".join(_show(v) for v in values)
                return f"{entry['name']}({shown})"
    return f"revert 0x{data.hex()}"


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


@dataclass(frozen=True)
class Sent:
    """A mined transaction: its hash, gas used and the contract it created (if any)."""

    tx_hash: str
    gas_used: int
    contract_address: str | None
    logs: tuple[Any, ...]


@dataclass(frozen=True)
class Timelock:
    """A TimelockController the rehearsal drives: who proposes, who executes, the delay it waits out."""

    address: str
    min_delay: int
    proposer: str
    executor: str


class Operator:
    """Sends and simulates calls as the system's accounts on one writable chain. On eth-tester a call
    "from" a TimelockController is scheduled by its proposer, the delay waited out, then executed."""

    def __init__(self, chain: Chain, system: DeployedSystem, *, abis: Sequence[Sequence[Mapping[str, Any]]] = ()):
        if chain.read_only:
            raise ChainError(f"network {chain.network} is read-only: drills run on eth-tester, anvil or a fork")
        self.chain = chain
        self.w3: Web3 = chain.w3
        self.system = system
        self.abis = list(abis)
        self._impersonated: set[str] = set()
        self._accounts: set[str] | None = None
        self._operations = 0  # timelock operations scheduled (each gets its own salt)

    # -- accounts ------------------------------------------------------------------------------
    def prepare_accounts(self, addresses: Sequence[str]) -> None:
        """On anvil or a fork the rehearsal keys are not unlocked: impersonate and fund them."""
        if self.chain.kind == "embedded":
            return
        for address in addresses:
            self._impersonate(address)

    def _impersonate(self, address: str) -> None:
        if address.lower() in self._impersonated:
            return
        if IMPERSONATE not in self.chain.capabilities:
            raise ChainError(
                f"network {self.chain.network} ({self.chain.kind}) cannot act as {self.system.name_of(address)}: "
                "it is not a rehearsal account and the chain cannot impersonate. Next step: run the drill on "
                "anvil or a fork (--signoff-fork)"
            )
        self.chain.impersonate(address)
        balance = int(self.w3.eth.get_balance(to_checksum_address(address)))
        if balance < FUNDING_WEI // 2:
            self.chain.request("anvil_setBalance", address, hex(FUNDING_WEI))
        self._impersonated.add(address.lower())

    def outsider(self, index: int = 0) -> str:
        """An unprivileged, funded address that is none of the system's names or Safe owners."""
        taken = {a.lower() for a in self.system.names().values()}
        taken |= {o.lower() for safe in self.system.safes.values() for o in safe.owners}
        taken |= {g.lower() for g in self.system.governance}
        if self.chain.kind == "embedded":  # a keyed account: not a genesis alloc of code
            free = [a for a in self.w3.eth.accounts if str(a).lower() not in taken and not self.w3.eth.get_code(a)]
            if index >= len(free):
                raise ChainError(f"eth-tester has no unused account #{index} to act as an outsider")
            return str(free[-1 - index])
        address = to_checksum_address(keccak256(f"signoff outsider {index}".encode())[12:])
        self._impersonate(address)
        return str(address)

    # -- sending -------------------------------------------------------------------------------
    def send(self, sender: str, to: str | None, data: bytes, *, value: int = 0, what: str = "") -> Sent:
        """Send as ``sender``; raises :class:`Reverted` (with the decoded reason) on a revert."""
        safe = self._safe(sender)
        label = what or f"call to {self.system.name_of(to) if to else 'a new contract'}"
        if safe is not None and to is not None:
            from signoff.deploy.governance import safe_exec

            try:
                receipt = safe_exec(
                    self.w3,
                    safe.address,
                    owners=list(safe.owners),
                    to=to,
                    data=data,
                    value=value,
                    executor=safe.owners[0],
                )
            except Exception as exc:
                self._raise(exc, label, sender)
            return self._sent(receipt, label, sender)
        if self.chain.kind != "embedded":
            self._impersonate(sender)
        elif sender.lower() not in self._unlocked():
            timelock = self._timelock(sender) if to is not None else None
            if timelock is None:
                self._not_an_account(sender)
            else:
                return self._through_timelock(timelock, to or "", data, value, label)
        tx: dict[str, Any] = {"from": to_checksum_address(sender), "data": data, "value": value}
        if to is not None:
            tx["to"] = to_checksum_address(to)
        try:
            tx_hash = send_checked(self.w3, tx)  # type: ignore[arg-type]
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.05)
        except Exception as exc:
            self._raise(exc, label, sender)
        return self._sent(receipt, label, sender)

    def estimate(self, sender: str, to: str, data: bytes) -> int:
        """``eth_estimateGas`` of a direct call as ``sender`` (a Safe included: the rehearsal funds it)."""
        tx: dict[str, Any] = {"from": to_checksum_address(sender), "to": to_checksum_address(to), "data": data}
        try:
            return int(self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]
        except Exception as exc:
            self._raise(exc, f"gas estimate of a call to {self.system.name_of(to)}", sender)

    def simulate(self, sender: str, to: str, data: bytes, *, value: int = 0) -> bytes:
        """``eth_call`` as ``sender`` at the latest block; raises :class:`Reverted` on a revert."""
        tx: dict[str, Any] = {"from": to_checksum_address(sender), "to": to_checksum_address(to), "data": data}
        if value:
            tx["value"] = value
        try:
            return bytes(self.w3.eth.call(tx))  # type: ignore[arg-type]
        except Exception as exc:
            self._raise(exc, f"simulated call to {self.system.name_of(to)}", sender)

    def _timelock(self, sender: str) -> Timelock | None:
        """``sender`` as an OpenZeppelin TimelockController that a rehearsal account or Safe may propose
        to and execute on (eth-tester cannot impersonate it); None when it is not one."""
        from signoff.deploy.governance import read_governance

        try:
            facts = read_governance(self.w3, sender)
        except (ChainError, ConfigError):
            return None
        if facts.kind != "timelock":
            return None
        candidates = [
            *(safe.address for safe in self.system.safes.values()),
            *self.system.accounts.values(),
            *self.w3.eth.accounts,
        ]
        proposer = next((c for c in candidates if self._has_role(sender, "PROPOSER_ROLE", c)), None)
        if proposer is None:
            return None
        anyone = self._has_role(sender, "EXECUTOR_ROLE", "0x" + "00" * 20)
        executor = (
            proposer if anyone else next((c for c in candidates if self._has_role(sender, "EXECUTOR_ROLE", c)), None)
        )
        if executor is None:
            return None
        return Timelock(str(to_checksum_address(sender)), int(facts.min_delay or 0), str(proposer), str(executor))

    def _has_role(self, contract: str, role: str, who: str) -> bool:
        from signoff.postdeploy.ownership import ChainReader, has_role, role_id

        reader = ChainReader(self.w3, "latest")
        try:
            role_hash = role_id(reader, "timelock", contract, role)
            return has_role(reader, contract, who, role_hash, label=f"{contract}.hasRole({role})")
        except ChainError:
            return False  # not a timelock with these roles

    def _through_timelock(self, timelock: Timelock, to: str, data: bytes, value: int, label: str) -> Sent:
        """Schedule the call with the proposer, wait the minimum delay out, execute it with the executor."""
        from eth_abi.abi import encode

        self._operations += 1
        salt = keccak256(f"signoff operation {self._operations}".encode())
        operation = [to_checksum_address(to), value, data, b"\0" * 32, salt]
        schedule = keccak256(b"schedule(address,uint256,bytes,bytes32,bytes32,uint256)")[:4] + encode(
            ["address", "uint256", "bytes", "bytes32", "bytes32", "uint256"], [*operation, timelock.min_delay]
        )
        execute = keccak256(b"execute(address,uint256,bytes,bytes32,bytes32)")[:4] + encode(
            ["address", "uint256", "bytes", "bytes32", "bytes32"], operation
        )
        self.send(timelock.proposer, timelock.address, schedule, what=f"{label}: schedule on the timelock")
        if timelock.min_delay:
            self.chain.time_travel(timelock.min_delay + 1)
        return self.send(timelock.executor, timelock.address, execute, value=value, what=label)

    def _unlocked(self) -> set[str]:
        if self._accounts is None:
            self._accounts = {str(a).lower() for a in self.w3.eth.accounts}
        return self._accounts

    def _safe(self, sender: str) -> SafeInfo | None:
        for safe in self.system.safes.values():
            if safe.address.lower() == sender.lower():
                return safe
        return None

    def _not_an_account(self, sender: str) -> None:
        raise ChainError(
            f"{self.system.name_of(sender)} is neither a rehearsal account nor a rehearsal Safe, and "
            f"{self.chain.network} cannot impersonate. Next step: run the drill on anvil or a fork"
        )

    def _raise(self, error: BaseException, label: str, sender: str) -> NoReturn:
        if isinstance(error, Reverted):
            raise error
        data = getattr(error, "revert_data", None)  # a Safe's SafeCallReverted carries the target's
        if is_revert(error) or isinstance(data, bytes):
            payload = data if isinstance(data, bytes) else revert_data(error)
            reason = self.explain(decode_revert(payload, self.abis)) if payload else str(error)
            raise Reverted(f"{label} as {self.system.name_of(sender)} reverted: {reason}", payload) from None
        raise ChainError(f"{label} as {self.system.name_of(sender)} failed: {error}") from None

    def explain(self, text: str) -> str:
        """Name the system's addresses and the ABI's role ids inside a decoded revert reason."""
        for name, address in self.system.names().items():
            text = text.replace(address.lower(), f"{name} {address}")
        for abi in self.abis:
            for entry in abi:
                role = str(entry.get("name", ""))
                if entry.get("type") == "function" and role.endswith("_ROLE") and not entry.get("inputs"):
                    role_id = "0x" + (bytes(32) if role == "DEFAULT_ADMIN_ROLE" else keccak256(role.encode())).hex()
                    text = text.replace(role_id, role)
        return text

    def _sent(self, receipt: Any, label: str, sender: str) -> Sent:
        if int(receipt["status"]) != 1:
            raise Reverted(f"{label} as {self.system.name_of(sender)} reverted (receipt status 0)", b"")
        created = receipt.get("contractAddress")
        return Sent(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            gas_used=int(receipt["gasUsed"]),
            contract_address=str(created) if created else None,
            logs=tuple(receipt.get("logs", ())),
        )


# -- the rehearsal ------------------------------------------------------------------------------


_SIZE_LIMIT = ("exceeds EIP170", "initcode", "CreateContractSizeLimit", "max code size", "code size")


def _hint(step: Step, error: BaseException) -> str:
    """The next step for the two ways a system as built cannot be rehearsed on a stock chain."""
    text = str(error)
    if not isinstance(step, DeployStep):
        return ""
    if any(marker.lower() in text.lower() for marker in _SIZE_LIMIT):
        return (
            ". Next step: shrink the contract (preflight's PF-SIZE judges it), or rehearse it as built with "
            "[deploy] code_size_limit = false"
        )
    if isinstance(error, Reverted) and not error.data:
        return (
            ". The constructor reverted without a reason: if it calls a contract at an address the code "
            'hard-codes (a token, an oracle), put that code there first with [[deploy.genesis]] at = "0x…" and '
            'code = "<artifact>"'
        )
    return ""


def genesis_alloc(plan: DeployPlan, artifacts: ArtifactSet) -> dict[str, bytes]:
    """``[[deploy.genesis]]`` as address -> runtime code (an artifact's deployed code, or the hex given)."""
    alloc = {}
    for entry in plan.genesis:
        if entry.code.startswith("0x"):
            alloc[entry.at.lower()] = bytes.fromhex(entry.code[2:])
            continue
        try:
            contract = artifacts.resolve(entry.code)
        except LookupError as exc:
            raise ConfigError(f"{plan.source}: [[deploy.genesis]] at {entry.at}: {exc}") from None
        if contract.runtime.is_empty:
            raise ConfigError(
                f"{plan.source}: [[deploy.genesis]] code = {entry.code!r} has no runtime code (an interface or "
                "abstract contract). Next step: name a deployable contract"
            )
        alloc[entry.at.lower()] = contract.runtime.to_bytes()
    return alloc


def _apply_genesis(operator: Operator, plan: DeployPlan, artifacts: ArtifactSet) -> None:
    """Check the eth-tester genesis holds the code (it was put there when the chain was made), or put it
    there on anvil with ``anvil_setCode``."""
    for address, code in genesis_alloc(plan, artifacts).items():
        if operator.chain.kind != "embedded":
            operator.chain.request("anvil_setCode", to_checksum_address(address), "0x" + code.hex())
        found = bytes(operator.w3.eth.get_code(to_checksum_address(address)))
        if found != code:
            raise ChainError(
                f"{plan.source}: [[deploy.genesis]] at {address}: the rehearsal chain holds {len(found)} bytes there, "
                f"not the {len(code)} bytes of code asked for. Next step: start the chain from signoff's fixture "
                "(it applies the genesis alloc), or remove the entry"
            )


def rehearse(
    chain: Chain,
    target: Target,
    artifacts: ArtifactSet,
    plan: DeployPlan,
    *,
    governance: str | None,
    safe_artifacts: Path | None = None,
) -> DeployedSystem:
    """Run ``plan`` on ``chain`` (fresh eth-tester or anvil) and return what it deployed."""
    system = DeployedSystem(
        origin=REHEARSAL,
        source=str(plan.source),
        network=chain.network,
        chain_id=chain.chain_id,
        addresses={},
        artifacts={},
        expected_args={},
        accounts={name: rehearsal_address(index) for name, index in plan.accounts.items()},
    )
    operator = Operator(chain, system, abis=[c.abi for c in artifacts.contracts])
    operator.prepare_accounts(list(system.accounts.values()))
    if plan.genesis:
        _apply_genesis(operator, plan, artifacts)
    builds: dict[Path, ArtifactSet] = {}
    manifest_plan: Plan | None = None
    for step in plan.steps:
        sender = system.address(step.sender, where=describe(step))
        try:
            if isinstance(step, SafeStep):
                record = _safe_step(operator, step, sender, safe_artifacts)
            elif isinstance(step, DeployStep):
                record = _deploy_step(operator, step, sender, target, artifacts, builds)
            elif isinstance(step, CallStep):
                attach_routes(system, target.diamonds, artifacts)  # a routed function, called at its dispatcher
                record = _call_step(operator, step, sender)
            elif isinstance(step, WaitStep):
                record = _wait_step(operator, step)
            else:
                if manifest_plan is None:
                    manifest_plan = _manifest_plan(target)
                record = _manifest_step(operator, step, sender, target, manifest_plan)
        except (ChainError, ConfigError) as exc:
            kind = ConfigError if isinstance(exc, ConfigError) else ChainError
            raise kind(f"rehearsal step {describe(step)} of {plan.source} failed: {exc}{_hint(step, exc)}") from None
        system.records.append(record)
    for alias, contract in system.artifacts.items():
        settings = target.contract_settings(contract.fqn)
        if settings is not None and settings.constructor_args is not None:
            system.expected_args[alias] = system.resolve_args(settings.constructor_args, where=f"[contracts.{alias}]")
    if governance is not None:
        system.governance = (system.address(governance, where="[postdeploy] governance"),)
    block = chain.w3.eth.get_block("latest")
    from signoff.chain import BlockPin

    system.block = BlockPin(int(block["number"]), "0x" + bytes(block["hash"]).hex(), int(block["timestamp"]))
    return system


def _safe_step(operator: Operator, step: SafeStep, sender: str, safe_artifacts: Path | None) -> StepRecord:
    from signoff.deploy.governance import deploy_safe, find_safe_artifacts

    system = operator.system
    owners = [system.address(owner, where=describe(step)) for owner in step.owners]
    location = safe_artifacts or find_safe_artifacts()
    address = deploy_safe(
        operator.w3, deployer=sender, owners=owners, threshold=step.threshold, artifacts=location, salt_nonce=step.index
    )
    system.safes[step.name] = SafeInfo(to_checksum_address(address), tuple(owners), step.threshold)
    # A funded Safe can be the `from` of an eth_call on every backend (eth-tester charges the
    # caller for gas in a call, and refuses a zero gas price below the base fee).
    funding = operator.send(sender, address, b"", value=SAFE_FUNDING_WEI, what=f"fund {step.name}")
    return StepRecord(describe(step), (funding.tx_hash,), funding.gas_used, to_checksum_address(address))


def _deploy_step(  # noqa: PLR0917
    operator: Operator,
    step: DeployStep,
    sender: str,
    target: Target,
    artifacts: ArtifactSet,
    builds: dict[Path, ArtifactSet],
) -> StepRecord:
    system = operator.system
    source = artifacts
    if step.artifacts is not None:
        source = builds.setdefault(step.artifacts, load_artifacts(step.artifacts))
    contract = _artifact(source, step.contract, step)
    checked = _artifact(artifacts, step.contract, step)  # what the deployment must equal
    args = system.resolve_args(step.args, where=describe(step))
    init_code = contract.creation.to_bytes() + _encode_constructor(operator.w3, contract, args, step)
    if step.via is None:
        sent = operator.send(sender, None, init_code, value=step.value, what=f"deploy {step.alias}")
        if not sent.contract_address:
            raise ChainError(f"deploying {step.alias} created no contract (tx {sent.tx_hash})")
        address = to_checksum_address(sent.contract_address)
    else:
        factory = system.address(step.via, where=describe(step))
        salt = bytes.fromhex(step.salt[2:]) if step.salt else facet_salt(step.contract)
        from signoff.deploy.factory import detect_factory

        factory_abi = _abi_of(system, step.via)
        interface = detect_factory(step.via, factory_abi, deploy=step.via_function)
        values = tuple(interface.deploy_values(salt, init_code))
        data = _encode_call(operator.w3, factory_abi, interface.deploy, values, step)
        sent = operator.send(sender, factory, data, value=step.value, what=f"deploy {step.alias} via {step.via}")
        from signoff.deploy.manifest import create2_address

        address = to_checksum_address(
            create2_address(bytes.fromhex(factory[2:]), salt, keccak256(init_code))  # what CREATE2 must give
        )
    code = bytes(operator.w3.eth.get_code(address))
    if not code:
        raise ChainError(f"{step.alias} has no code at {address} after its deployment (tx {sent.tx_hash})")
    system.addresses[step.alias] = address
    system.artifacts[step.alias] = checked
    return StepRecord(describe(step), (sent.tx_hash,), sent.gas_used, address)


def _call_step(operator: Operator, step: CallStep, sender: str) -> StepRecord:
    system = operator.system
    to = system.address(step.contract, where=describe(step))
    args = system.resolve_args(step.args, where=describe(step))
    data = _encode_call(operator.w3, _abi_of(system, step.contract), step.function, args, step)
    sent = operator.send(sender, to, data, value=step.value, what=f"{step.contract}.{step.function}")
    return StepRecord(describe(step), (sent.tx_hash,), sent.gas_used, "")


def _wait_step(operator: Operator, step: WaitStep) -> StepRecord:
    """Advance the clock (and mine a block) by a duration, or until a view's timestamp has passed."""
    now = int(operator.w3.eth.get_block("latest")["timestamp"])
    if step.seconds is not None:
        seconds = step.seconds
    else:
        assert step.contract is not None and step.function is not None
        system = operator.system
        address = system.address(step.contract, where=describe(step))
        value = _view(operator.w3, address, _abi_of(system, step.contract), step.function)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(
                f"{step.contract}.{step.function} returned {value!r}, not a timestamp. Next step: name a view that "
                "returns the time to wait for, or wait a duration"
            )
        seconds = max(int(value) - now, 0)
    if seconds:
        operator.chain.time_travel(seconds)
    return StepRecord(describe(step), (), 0, f"clock advanced {seconds} s (from {now})")


def _manifest_plan(target: Target) -> Plan:
    assert target.manifest is not None  # checked when the plan was read
    return load_target_plan(target.manifest)


def _manifest_step(operator: Operator, step: ManifestStep, sender: str, target: Target, plan: Plan) -> StepRecord:
    """commit, apply or activate the ``[manifest]`` plan through the dispatcher's lifecycle interface
    (signoff.deploy.lifecycle); activate first waits, on the rehearsal chain, until it is ready."""
    assert target.manifest is not None
    system = operator.system
    name = target.manifest.dispatcher
    dispatcher = system.address(name, where=describe(step))
    abi = _abi_of(system, name)
    lifecycle = detect(name, abi, target.manifest.interface)
    absent = lifecycle.not_applicable()
    if absent is not None:
        raise ConfigError(f"{describe(step)}: the plan cannot {step.phase} the manifest: {absent}")
    function = lifecycle.function(step.phase)
    assert function is not None
    if step.phase == "commit":
        data = _encode_call(operator.w3, abi, function, tuple(commit_values(lifecycle, plan.root, plan.epoch)), step)
    elif step.phase == "apply":
        for route in plan.routes:
            deployed = system.addresses.get(route.facet)
            if deployed is None or deployed.lower() != _hex_address(route.address).lower():
                raise ChainError(
                    f"the manifest plan {target.manifest.plan} routes {route.signature} to {route.facet} at "
                    f"{_hex_address(route.address)}, but the rehearsal deployed {route.facet} at {deployed}. "
                    "Next step: rewrite the plan for this deployment (signoff manifest write) or fix "
                    "the deploy plan's order, sender or salts"
                )
        if any(r.proof is None or r.is_right is None for r in plan.routes):
            raise ConfigError(
                f"the manifest plan {target.manifest.plan} has routes without proofs. Next step: rewrite it "
                "with signoff manifest write"
            )
        args = tuple(apply_values(lifecycle, plan.routes, _hex_address))
        data = _encode_call(operator.w3, abi, function, args, step)
    else:
        ready = _ready_at(operator.w3, dispatcher, abi, lifecycle)
        now = int(operator.w3.eth.get_block("latest")["timestamp"])
        if ready > now:
            operator.chain.time_travel(ready - now)
        data = _encode_call(operator.w3, abi, function, (), step)
    sent = operator.send(sender, dispatcher, data, what=f"{name} manifest {step.phase}")
    return StepRecord(describe(step), (sent.tx_hash,), sent.gas_used, "")


def _ready_at(w3: Web3, dispatcher: str, abi: Sequence[Mapping[str, Any]], lifecycle: Lifecycle) -> int:
    """When the committed root may be activated: ``eta()``, or ``committedAt() + activationDelay()``."""
    eta = lifecycle.function("eta")
    if eta is not None:
        return int(_view(w3, dispatcher, abi, eta))
    committed_at, delay = lifecycle.function("committed_at"), lifecycle.function("activation_delay")
    assert committed_at is not None and delay is not None  # lifecycle.not_applicable() said so
    return int(_view(w3, dispatcher, abi, committed_at)) + int(_view(w3, dispatcher, abi, delay))


# -- small helpers --------------------------------------------------------------------------------


def _hex_address(value: bytes | str) -> str:
    if isinstance(value, bytes):
        return to_checksum_address("0x" + value.hex())
    return to_checksum_address(value)


def _artifact(artifacts: ArtifactSet, name: str, step: Step) -> Contract:
    try:
        return artifacts.resolve(name)
    except Exception as exc:
        raise ConfigError(str(exc)) from None


def _abi_of(system: DeployedSystem, name: str) -> Sequence[Mapping[str, Any]]:
    """Its ABI and, for a [[diamonds]] dispatcher, its facets' functions (called at its address)."""
    if system.artifacts.get(name) is None:
        raise ConfigError(
            f"{name} was not deployed by an earlier step, so its ABI is unknown. Next step: deploy it first"
        )
    return system.abi_of(name)


def _encode_constructor(w3: Web3, contract: Contract, args: Sequence[Any], step: Step) -> bytes:
    from eth_abi.abi import encode

    types = constructor_types(contract.abi)
    if len(types) != len(args):
        raise ConfigError(
            f"the constructor of {contract.name} takes {len(types)} argument(s) ({', '.join(types) or 'none'}), "
            f"the step gives {len(args)}. Next step: list one value per parameter in args"
        )
    try:
        return bytes(encode(types, [abi_value(t, v) for t, v in zip(types, args, strict=True)]))
    except Exception as exc:  # eth_abi raises several unrelated types for bad values
        raise ConfigError(
            f"the arguments do not fit the constructor of {contract.name} ({', '.join(types)}): {exc}"
        ) from None


def _encode_call(w3: Web3, abi: Sequence[Mapping[str, Any]], function: str, args: Sequence[Any], step: Step) -> bytes:
    return encode_call(abi, function, args, describe(step))


def _view(w3: Web3, address: str, abi: Sequence[Mapping[str, Any]], function: str, *args: Any) -> Any:
    contract = w3.eth.contract(address=to_checksum_address(address), abi=list(abi))
    if "(" in function:
        return contract.get_function_by_signature(function)(*args).call()
    return contract.get_function_by_name(function)(*args).call()
