"""PD-C2: CREATE2 deployments are where the factory says, repeatable, and the same on every chain.

For each ``[[postdeploy.create2]]`` entry the expected address is computed from first principles,
keccak256(0xff ‖ factory ‖ salt ‖ keccak256(initCode))[12:], with the salt of the entry (default
keccak256(contract name)) and the init code of the artifact plus its configured constructor
arguments; the factory's own prediction view (read-only; detected or named, see
signoff.deploy.factory) and the deployed address must both equal it. A repeated deployment
through the factory (a drill) must answer the same address without creating anything. Every
configured network's deployments file (read from disk, never over RPC) must record the CREATE2
contracts at this system's addresses. web3 is imported only where a chain is touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signoff.artifacts.abi import abi_value, constructor_types, encode_call, signature
from signoff.artifacts.hashing import keccak256
from signoff.deploy.factory import FactoryInterface, detect_factory
from signoff.deploy.manifest import checksum, create2_address, facet_salt
from signoff.errors import ConfigError, SignoffError
from signoff.findings import Finding
from signoff.postdeploy.deployments import load_deployments
from signoff.postdeploy.settings import Create2Expectation
from signoff.target import Target

if TYPE_CHECKING:
    from web3 import Web3

    from signoff.deploy.rehearsal import Operator
    from signoff.deploy.system import DeployedSystem

CHECK_ID = "PD-C2"
TABLE = "PD-C2"
NETWORKS_TABLE = "PD-C2-networks"
DEPLOYED_EVENT = "Deployed"

ABI = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Create2Subject:
    """One CREATE2 deployment as this system must have made it."""

    contract: str
    factory_name: str
    factory: str  # checksummed
    salt: bytes
    init_code: bytes
    computed: str  # checksummed CREATE2 address of (factory, salt, init code)
    deployed: str  # checksummed, from the deployed system
    deploy_function: str | None = None  # [[postdeploy.create2]] deploy / predict, over detection
    predict_function: str | None = None

    @property
    def init_code_hash(self) -> bytes:
        return keccak256(self.init_code)

    def row(self, **values: Any) -> dict[str, Any]:
        base = {
            "contract": self.contract,
            "factory": f"{self.factory_name} ({self.factory})",
            "salt": "0x" + self.salt.hex(),
            "deployed": self.deployed,
        }
        base.update(values)
        return base


def entry_salt(entry: Create2Expectation) -> bytes:
    """The entry's salt, or keccak256(contract name) as the deploy plan and the plan writer use."""
    return bytes.fromhex(entry.salt[2:]) if entry.salt else facet_salt(entry.contract)


def computed_address(factory: str, salt: bytes, init_code: bytes) -> str:
    """The CREATE2 address, computed twice (signoff's own and web3's) and required to agree."""
    from web3.utils.address import get_create2_address

    ours = checksum(create2_address(bytes.fromhex(factory[2:]), salt, keccak256(init_code)))
    theirs = str(get_create2_address(factory, "0x" + salt.hex(), "0x" + init_code.hex()))  # type: ignore[arg-type]
    if ours != theirs:
        raise SignoffError(
            f"internal error: CREATE2 address of factory {factory}, salt 0x{salt.hex()} is {ours} by "
            f"signoff.deploy.manifest but {theirs} by web3. Next step: report this to the signoff maintainers"
        )
    return ours


def init_code_of(system: DeployedSystem, contract: str, where: str) -> bytes:
    """The artifact's creation code followed by its configured constructor arguments."""
    from eth_abi.abi import encode

    artifact = system.artifacts.get(contract)
    if artifact is None:
        raise ConfigError(
            f"{where}: {contract} has no artifact in this system ({system.source}); known: "
            f"{', '.join(sorted(system.artifacts)) or '(none)'}. Next step: correct contract"
        )
    types = constructor_types(artifact.abi)
    args = system.expected_args.get(contract, ())
    if len(types) != len(args):
        raise ConfigError(
            f"{where}: the constructor of {artifact.name} takes {len(types)} argument(s) "
            f"({', '.join(types) or 'none'}), [contracts.{contract}] constructor_args gives {len(args)}. "
            "Next step: list the constructor arguments the contract was deployed with"
        )
    try:
        encoded = bytes(encode(types, [abi_value(t, v) for t, v in zip(types, args, strict=True)]))
    except Exception as exc:  # eth_abi raises several unrelated types for bad values
        raise ConfigError(f"{where}: the constructor arguments do not fit {artifact.name}: {exc}") from None
    return artifact.creation.to_bytes() + encoded


def subject_for(system: DeployedSystem, entry: Create2Expectation) -> Create2Subject:
    where = f"[[postdeploy.create2]] {entry.contract}"
    factory = system.address(entry.factory, where=f"{where} factory")
    if entry.contract not in system.addresses:
        raise ConfigError(
            f"{where}: {entry.contract} is not deployed in this system ({system.source}). Next step: correct "
            "contract, or add it to the deploy plan / deployments file"
        )
    salt = entry_salt(entry)
    init_code = init_code_of(system, entry.contract, where)
    return Create2Subject(
        contract=entry.contract,
        factory_name=entry.factory,
        factory=checksum(bytes.fromhex(factory[2:])),
        salt=salt,
        init_code=init_code,
        computed=computed_address(factory, salt, init_code),
        deployed=checksum(bytes.fromhex(system.addresses[entry.contract][2:])),
        deploy_function=entry.deploy,
        predict_function=entry.predict,
    )


def interface(subject: Create2Subject, abi: ABI) -> FactoryInterface:
    """The factory's deploy and predict functions (signoff.deploy.factory)."""
    return detect_factory(subject.factory_name, abi, deploy=subject.deploy_function, predict=subject.predict_function)


def predict_findings(subject: Create2Subject, predicted: str | None) -> list[Finding]:
    """The factory's prediction and the deployed address against the computed CREATE2 address."""
    three = (
        f"factory.predict() = {predicted or '(no predict function)'}, computed "
        f"keccak256(0xff ‖ {subject.factory} ‖ salt 0x{subject.salt.hex()} ‖ initCodeHash "
        f"0x{subject.init_code_hash.hex()}) = {subject.computed}, deployed = {subject.deployed}"
    )
    findings = []
    if predicted is not None and predicted != subject.computed:
        findings.append(
            Finding(
                CHECK_ID,
                subject.contract,
                "error",
                f"{subject.contract}: {subject.factory_name}.predict() names an address no CREATE2 deployment "
                f"lands at: {three}. Next step: fix predict() (0xff ‖ the factory's own address ‖ salt ‖ "
                "keccak256(initCode)); anything that trusts it points at the wrong contract",
            )
        )
    if subject.deployed != subject.computed:
        findings.append(
            Finding(
                CHECK_ID,
                subject.contract,
                "error",
                f"{subject.contract} is not at the CREATE2 address of its artifact, salt and factory: {three}. "
                "Next step: it was deployed with another salt, init code (build or constructor arguments) or "
                "factory; redeploy it deterministically or correct the salt / artifact",
            )
        )
    if predicted is None:
        findings.append(
            Finding(
                CHECK_ID,
                subject.contract,
                "warning",
                f"{subject.factory_name} has no prediction view (a view taking the salt and the init code or "
                f"its hash, returning an address): only the deployed address was compared with the computed one "
                f'({three}). Name one with predict = "..." in [[postdeploy.create2]] if it has another shape',
            )
        )
    return findings


def read_prediction(w3: Web3, subject: Create2Subject, factory_abi: ABI) -> str | None:
    """``factory.predict(salt, initCodeHash)`` by eth_call (at the pinned block on a live network)."""
    found = interface(subject, factory_abi)
    if found.predict is None:
        return None
    values = found.predict_values(subject.salt, subject.init_code, subject.init_code_hash)
    data = encode_call(factory_abi, found.predict, values, "predict")
    answer = bytes(w3.eth.call({"to": subject.factory, "data": data}))
    if len(answer) < 32:
        raise ConfigError(
            f"{subject.factory_name}.predict() at {subject.factory} answered {len(answer)} bytes, not an "
            "address. Next step: check that the factory address runs the factory's code"
        )
    return checksum(answer[12:32])


# -- idempotency (a drill) --------------------------------------------------------------------------


@dataclass(frozen=True)
class RepeatResult:
    """What a repeated deployDeterministic did."""

    returned: str  # the address the simulated call returned
    gas_used: int
    fresh: bool | None  # the Deployed event's flag; None when the factory emits no such event
    event_at: str | None
    code_unchanged: bool

    def observed(self) -> str:
        fresh = "no Deployed event" if self.fresh is None else f"Deployed(fresh={str(self.fresh).lower()})"
        code = "code unchanged" if self.code_unchanged else "CODE CHANGED"
        return f"returned {self.returned}, {fresh}, {code}, gas {self.gas_used}"


def repeat_deploy(op: Operator, subject: Create2Subject, factory_abi: ABI) -> RepeatResult:
    """Call ``deployDeterministic(salt, initCode)`` again from an outsider: simulate, then send."""
    where = f"[[postdeploy.create2]] {subject.contract}"
    found = interface(subject, factory_abi)
    data = encode_call(factory_abi, found.deploy, found.deploy_values(subject.salt, subject.init_code), where)
    outsider = op.outsider(0)
    code_before = bytes(op.w3.eth.get_code(subject.deployed))  # type: ignore[arg-type]
    answer = op.simulate(outsider, subject.factory, data)
    returned = checksum(answer[12:32]) if len(answer) >= 32 else "(no address returned)"
    sent = op.send(outsider, subject.factory, data, what=f"repeat {subject.factory_name}.{found.deploy}")
    code_after = bytes(op.w3.eth.get_code(subject.deployed))  # type: ignore[arg-type]
    fresh, at = deployed_event(factory_abi, subject.factory, sent.logs)
    return RepeatResult(returned, sent.gas_used, fresh, at, bool(code_before) and code_after == code_before)


def deployed_event(factory_abi: ABI, factory: str, logs: Sequence[Any]) -> tuple[bool | None, str | None]:
    """``(fresh, at)`` of the factory's Deployed event among ``logs``; (None, None) without one."""
    from eth_abi.abi import decode

    entry = next((e for e in factory_abi if e.get("type") == "event" and e.get("name") == DEPLOYED_EVENT), None)
    if entry is None:
        return None, None
    topic = keccak256(signature(entry).encode())
    inputs = list(entry.get("inputs", []))
    for log in logs:
        topics = [bytes(t) for t in log["topics"]]
        if str(log["address"]).lower() != factory.lower() or not topics or topics[0] != topic:
            continue
        plain = [p for p in inputs if not p.get("indexed")]
        decoded = decode([p["type"] for p in plain], bytes(log["data"]))
        values = dict(zip([p["name"] for p in plain], decoded, strict=True))
        indexed = [p for p in inputs if p.get("indexed")]
        for param, word in zip(indexed, topics[1:], strict=False):
            if param["type"] == "address":
                values[param["name"]] = checksum(word[12:32])
        fresh = values.get("fresh")
        at = values.get("at")
        return (bool(fresh) if fresh is not None else None), (str(at) if at is not None else None)
    return None, None


def repeat_findings(subject: Create2Subject, result: RepeatResult) -> list[Finding]:
    problems = []
    if result.returned != subject.deployed:
        problems.append(f"it returned {result.returned}, not the deployed {subject.deployed}")
    if result.fresh:
        problems.append("its Deployed event says fresh=true (a new deployment)")
    if result.event_at is not None and result.event_at != subject.deployed:
        problems.append(f"its Deployed event names {result.event_at}")
    if not result.code_unchanged:
        problems.append(f"the code at {subject.deployed} changed")
    if not problems:
        return []
    return [
        Finding(
            CHECK_ID,
            subject.contract,
            "error",
            f"{subject.contract}: repeating the CREATE2 deployment through {subject.factory_name} (salt "
            f"0x{subject.salt.hex()}, the same init code) is not idempotent: {'; '.join(problems)}. Next step: "
            "make the factory return the existing contract when CREATE2's address already has code",
        )
    ]


# -- the same addresses on every configured network -------------------------------------------------


@dataclass(frozen=True)
class NetworkBook:
    """A configured network and its deployments file (None when it has none on disk)."""

    network: str
    path: Path | None
    shown: str  # the path as written in the target file
    chain_id: int | None


def network_books(target: Target) -> list[NetworkBook]:
    """Every ``[networks.*]`` with its deployments path, read without expanding or contacting anything.

    Only ``deployments`` and ``chain_id`` are read: a network's ``rpc_url`` is usually ``${VAR}`` and
    must stay unexpanded (and its secret untouched) unless that network is selected."""
    books = []
    for name in target.network_names:
        text, path, chain_id = target.network_deployments(name)
        books.append(NetworkBook(name, path, text or "", chain_id))
    return books


@dataclass(frozen=True)
class NetworkComparison:
    rows: list[dict[str, Any]]
    findings: list[Finding]
    compared: list[str]  # the networks whose addresses were compared, this system first
    without_file: list[str]  # "name (path)" of networks with no deployments file on disk

    def summary(self) -> str:
        count = len(self.compared)
        text = f"{count} network{'s' if count != 1 else ''} compared: {', '.join(self.compared)}"
        if self.without_file:
            text += f"; without a deployments file: {', '.join(self.without_file)}"
        return text


def compare_networks(
    this: str, addresses: Mapping[str, str], contracts: Sequence[str], books: Sequence[NetworkBook], *, skip: str = ""
) -> NetworkComparison:
    """This system's CREATE2 addresses against every other network's deployments file.

    ``this`` is the network the system is on (e.g. "eth-tester"); ``skip`` is the network the
    system was itself read from (a live network), which is not compared with itself."""
    label = f"{this} (this system)"
    rows = [{"contract": c, "network": label, "address": addresses[c], "verdict": "reference"} for c in contracts]
    findings: list[Finding] = []
    compared = [label]
    without = []
    for book in books:
        if book.network == skip:
            continue
        if book.path is None or not book.path.exists():
            without.append(f"{book.network} ({book.shown or 'no deployments key'})")
            continue
        loaded = load_deployments(book.path, expected_chain_id=book.chain_id)
        compared.append(f"{book.network} ({book.shown})")
        for contract in contracts:
            expected = addresses[contract]
            found = loaded.addresses.get(contract)
            if found is None:
                verdict = "not recorded"
                findings.append(
                    Finding(
                        CHECK_ID,
                        contract,
                        "warning",
                        f"{contract} is not recorded on network {book.network} ({book.shown}); it is expected at "
                        f"{expected} there too once deployed",
                    )
                )
            elif found.lower() != expected.lower():
                verdict = "DIFFERS"
                findings.append(
                    Finding(
                        CHECK_ID,
                        contract,
                        "error",
                        f"{contract} on network {book.network} ({book.shown}) is at {found}, expected {expected} "
                        f"(this system on {this}): a CREATE2 deployment of the same factory, salt and init code "
                        "lands at the same address on every chain. Next step: find what differs there (factory "
                        "address, salt, build or constructor arguments) and redeploy, or correct the file",
                    )
                )
            else:
                verdict = "same"
            rows.append({"contract": contract, "network": book.network, "address": found or "", "verdict": verdict})
    return NetworkComparison(rows, findings, compared, without)


def factory_abi(system: DeployedSystem, subject: Create2Subject) -> ABI:
    artifact = system.artifacts.get(subject.factory_name.lstrip("@"))
    if artifact is None:
        raise ConfigError(
            f"[[postdeploy.create2]] {subject.contract}: factory {subject.factory_name} has no artifact, so its "
            "functions are unknown. Next step: name the factory contract deployed in this system"
        )
    return artifact.abi
