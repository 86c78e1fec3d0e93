"""PD-OWN: every deployed contract is owned and administered by the governance, never by a key.

What a contract's authority is comes from its ABI: ``owner()`` / ``governance()`` / ``governor()`` getters
(Ownable), ``pendingOwner()`` (Ownable2Step: a transfer not yet accepted is reported), and
AccessControl (``hasRole`` + ``DEFAULT_ADMIN_ROLE``, every other ``*_ROLE()`` constant read and
reported). Role holders are enumerated when the contract is AccessControlEnumerable, and
otherwise probed for the addresses signoff knows (the governance, the rehearsal accounts, the
network's deployer). :func:`read_ownership` does the reads through a :class:`ChainReader`
(``eth_call`` / ``eth_getCode`` at one block, the pinned one on a live network, never a
transaction); :func:`judge_ownership` is pure and turns those facts into evidence rows and
findings. :func:`planned_contracts` names the contracts before any chain is touched, so a
suite can parametrize from it at collection time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from signoff.artifacts.abi import canonical_type
from signoff.artifacts.hashing import keccak256
from signoff.deploy.plan import DeployStep
from signoff.errors import ChainError, SignoffError
from signoff.findings import Finding, Severity

if TYPE_CHECKING:
    from web3 import Web3
    from web3.types import BlockIdentifier

    from signoff.deploy.governance import GovernanceFacts
    from signoff.session import SessionSettings

CHECK_ID = "PD-OWN"
ZERO_ADDRESS = "0x" + "00" * 20
ADMIN_ROLE = "DEFAULT_ADMIN_ROLE"
OWNER_GETTERS = ("owner", "governance", "governor")  # single-address controllers (Ownable and look-alikes)
PENDING_GETTER = "pendingOwner"
OWNERLESS = "no owner/admin (ownerless)"
_MAX_ENUMERATED = 50  # an admin role with more members than this is itself worth a look

Abi = Sequence[Mapping[str, Any]]
Label = Callable[[str], str]  # address -> "Name (0x…)" for messages (DeployedSystem.name_of)


# ---------------------------------------------------------------- reading


class CallReverted(ChainError):
    """A view call reverted; ``data`` is the revert data (may be empty)."""

    def __init__(self, message: str, data: bytes) -> None:
        super().__init__(message)
        self.data = data


class ChainReader:
    """``eth_call`` and ``eth_getCode`` at one block: the pinned block on a live network.

    Only reads: nothing here can send a transaction. Reverts become :class:`CallReverted` with
    the reason decoded against ``abis``; any other failure a :class:`ChainError`."""

    def __init__(self, w3: Web3, block: BlockIdentifier, abis: Sequence[Abi] = ()) -> None:
        self.w3 = w3
        self.block = block
        self.abis = list(abis)

    def call(self, to: str, data: bytes, what: str) -> bytes:
        from eth_utils.address import to_checksum_address

        from signoff.chain.backends import is_revert, revert_data
        from signoff.deploy.rehearsal import decode_revert
        from signoff.redaction import redact

        try:
            return bytes(self.w3.eth.call({"to": to_checksum_address(to), "data": data}, self.block))
        except Exception as exc:
            if is_revert(exc):
                payload = revert_data(exc)
                raise CallReverted(f"{what} reverted: {decode_revert(payload, self.abis)}", payload) from None
            raise ChainError(
                redact(
                    f"{what} could not be read at block {_block_text(self.block)}: {exc}. "
                    "Next step: check the RPC endpoint"
                )
            ) from None

    def code_size(self, address: str) -> int:
        from eth_utils.address import to_checksum_address

        return len(self.w3.eth.get_code(to_checksum_address(address), self.block))


def _block_text(block: BlockIdentifier) -> str:
    return "0x" + block.hex() if isinstance(block, bytes) else str(block)


def call_data(signature: str, types: Sequence[str] = (), args: Sequence[Any] = ()) -> bytes:
    """``selector(signature) ‖ abi.encode(args)``."""
    from eth_abi.abi import encode

    return keccak256(signature.encode())[:4] + bytes(encode(list(types), list(args)))


def decode_single(abi_type: str, raw: bytes, what: str) -> Any:
    """One ABI-encoded return value, or a ChainError naming what returned something else."""
    from eth_abi.abi import decode
    from eth_abi.exceptions import DecodingError

    try:
        (value,) = decode([abi_type], raw)
    except (DecodingError, ValueError, OverflowError):
        shown = "nothing" if not raw else f"0x{raw.hex()[:136]}"
        raise ChainError(
            f"{what} returned {shown}, which is not one ABI-encoded {abi_type}. Next step: check the "
            "deployed contract is the one the artifact describes (PD-CODE)"
        ) from None
    return value


def read_address(reader: ChainReader, contract: str, address: str, getter: str) -> str:
    """``contract.getter()`` as a checksummed address."""
    from eth_utils.address import to_checksum_address

    what = f"{contract}.{getter}()"
    raw = reader.call(address, call_data(f"{getter}()"), what)
    return str(to_checksum_address(decode_single("address", raw, what)))


# ---------------------------------------------------------------- what the ABI declares


def functions(abi: Abi, name: str) -> list[Mapping[str, Any]]:
    return [e for e in abi if e.get("type") == "function" and e.get("name") == name]


def outputs_of(entry: Mapping[str, Any]) -> list[str]:
    return [canonical_type(p) for p in entry.get("outputs", [])]


def inputs_of(entry: Mapping[str, Any]) -> list[str]:
    return [canonical_type(p) for p in entry.get("inputs", [])]


def has_getter(abi: Abi, name: str, returns: str) -> bool:
    """``name()`` exists without arguments and returns exactly one ``returns``."""
    return any(not inputs_of(e) and outputs_of(e) == [returns] for e in functions(abi, name))


def has_function(abi: Abi, name: str, inputs: Sequence[str], returns: Sequence[str]) -> bool:
    return any(inputs_of(e) == list(inputs) and outputs_of(e) == list(returns) for e in functions(abi, name))


@dataclass(frozen=True)
class Authority:
    """Which authority mechanisms a contract's ABI declares."""

    owner_getters: tuple[str, ...]  # of OWNER_GETTERS, in that order
    pending_owner: bool
    access_control: bool  # hasRole(bytes32,address) and DEFAULT_ADMIN_ROLE()
    enumerable: bool  # getRoleMemberCount / getRoleMember: holders can be listed
    roles: tuple[str, ...]  # other *_ROLE() constants, sorted

    @property
    def ownerless(self) -> bool:
        return not self.owner_getters and not self.access_control


def is_timelock(abi: Abi) -> bool:
    """An OpenZeppelin-style TimelockController: ``getMinDelay()``, ``schedule`` and ``execute``."""
    names = {str(e.get("name")) for e in abi if e.get("type") == "function"}
    return has_getter(abi, "getMinDelay", "uint256") and {"schedule", "execute"} <= names


def is_safe(abi: Abi) -> bool:
    return has_getter(abi, "getThreshold", "uint256") and any(
        e.get("type") == "function" and e.get("name") == "getOwners" for e in abi
    )


def detect_authority(abi: Abi) -> Authority:
    """The authority of a contract, read from its ABI alone."""
    access_control = has_function(abi, "hasRole", ["bytes32", "address"], ["bool"]) and has_getter(
        abi, ADMIN_ROLE, "bytes32"
    )
    roles: set[str] = set()
    if access_control:
        roles = {
            str(e["name"])
            for e in abi
            if e.get("type") == "function"
            and str(e.get("name", "")).endswith("_ROLE")
            and e.get("name") != ADMIN_ROLE
            and has_getter(abi, str(e["name"]), "bytes32")
        }
    return Authority(
        owner_getters=tuple(g for g in OWNER_GETTERS if has_getter(abi, g, "address")),
        pending_owner=has_getter(abi, PENDING_GETTER, "address"),
        access_control=access_control,
        enumerable=access_control
        and has_function(abi, "getRoleMemberCount", ["bytes32"], ["uint256"])
        and has_function(abi, "getRoleMember", ["bytes32", "uint256"], ["address"]),
        roles=tuple(sorted(roles)),
    )


# ---------------------------------------------------------------- facts


@dataclass(frozen=True)
class Holder:
    """An address a getter returned, and whether code lives there."""

    getter: str  # "owner()", "pendingOwner()"
    address: str
    code_size: int


@dataclass(frozen=True)
class RoleHolders:
    """Who holds one role: every member (enumerable) or the known addresses that do."""

    role: str  # "DEFAULT_ADMIN_ROLE", "COMMIT_ROLE"
    role_id: str  # 0x + 64 hex
    holders: tuple[str, ...]
    enumerated: bool  # False: only the probed addresses were asked


@dataclass(frozen=True)
class OwnershipFacts:
    """What a contract's authority is on chain, read at one block."""

    contract: str
    address: str
    authority: Authority
    owners: tuple[Holder, ...] = ()
    pending: Holder | None = None
    roles: tuple[RoleHolders, ...] = ()  # DEFAULT_ADMIN_ROLE first when AccessControl
    probed: tuple[str, ...] = ()  # addresses asked hasRole for
    unreadable: tuple[str, ...] = field(default_factory=tuple)  # getters that failed, with why


def read_ownership(reader: ChainReader, contract: str, address: str, abi: Abi, probe: Sequence[str]) -> OwnershipFacts:
    """Read ``contract``'s owners, pending owner and role holders; ``probe`` are the addresses
    asked ``hasRole`` when the roles cannot be enumerated (the governance and known accounts)."""
    authority = detect_authority(abi)
    owners: list[Holder] = []
    unreadable: list[str] = []
    for getter in authority.owner_getters:
        try:
            holder = read_address(reader, contract, address, getter)
            owners.append(Holder(f"{getter}()", holder, reader.code_size(holder)))
        except ChainError as exc:
            unreadable.append(str(exc))
    pending = None
    if authority.pending_owner:
        try:
            holder = read_address(reader, contract, address, PENDING_GETTER)
            pending = Holder(f"{PENDING_GETTER}()", holder, reader.code_size(holder))
        except ChainError as exc:
            unreadable.append(str(exc))
    roles: list[RoleHolders] = []
    probed = tuple(dict.fromkeys(probe))
    if authority.access_control:
        for role in (ADMIN_ROLE, *authority.roles):
            try:
                roles.append(
                    _role_holders(reader, contract, address, role, enumerable=authority.enumerable, probe=probed)
                )
            except ChainError as exc:
                unreadable.append(str(exc))
    return OwnershipFacts(
        contract=contract,
        address=address,
        authority=authority,
        owners=tuple(owners),
        pending=pending,
        roles=tuple(roles),
        probed=probed,
        unreadable=tuple(unreadable),
    )


def role_id(reader: ChainReader, contract: str, address: str, role: str) -> bytes:
    """The id of ``role``, read from its constant getter (``DEFAULT_ADMIN_ROLE`` is zero)."""
    if role == ADMIN_ROLE:
        return bytes(32)
    what = f"{contract}.{role}()"
    return bytes(decode_single("bytes32", reader.call(address, call_data(f"{role}()"), what), what))


def has_role(reader: ChainReader, address: str, who: str, role_hash: bytes, *, label: str) -> bool:
    """``hasRole(role, who)`` at ``address``; ``role_hash`` from :func:`role_id`, ``label`` for messages."""
    what = f"{label} for {who}"
    raw = reader.call(address, call_data("hasRole(bytes32,address)", ["bytes32", "address"], [role_hash, who]), what)
    return bool(decode_single("bool", raw, what))


def _role_holders(
    reader: ChainReader, contract: str, address: str, role: str, *, enumerable: bool, probe: Sequence[str]
) -> RoleHolders:
    from eth_utils.address import to_checksum_address

    role_hash = role_id(reader, contract, address, role)
    if enumerable:
        what = f"{contract}.getRoleMemberCount({role})"
        raw = reader.call(address, call_data("getRoleMemberCount(bytes32)", ["bytes32"], [role_hash]), what)
        count = int(decode_single("uint256", raw, what))
        members = []
        for index in range(min(count, _MAX_ENUMERATED)):
            what = f"{contract}.getRoleMember({role}, {index})"
            raw = reader.call(
                address, call_data("getRoleMember(bytes32,uint256)", ["bytes32", "uint256"], [role_hash, index]), what
            )
            members.append(str(to_checksum_address(decode_single("address", raw, what))))
        return RoleHolders(role, "0x" + role_hash.hex(), tuple(members), enumerated=True)
    holders = []
    for account in probe:
        if has_role(reader, address, account, role_hash, label=f"{contract}.hasRole({role})"):
            holders.append(str(to_checksum_address(account)))
    return RoleHolders(role, "0x" + role_hash.hex(), tuple(holders), enumerated=False)


# ---------------------------------------------------------------- judging


@dataclass(frozen=True)
class OwnershipResult:
    rows: tuple[dict[str, Any], ...]
    findings: tuple[Finding, ...]
    summary: str  # one line for the evidence: "owner() Governance (0x…)", "no owner/admin (ownerless)"


def _kind(holder: Holder) -> str:
    return "an EOA" if holder.code_size == 0 else f"a contract ({holder.code_size} bytes)"


def _is(address: str, among: Sequence[str]) -> bool:
    return address.lower() in {a.lower() for a in among}


def judge_ownership(
    facts: OwnershipFacts, governance: Sequence[str], label: Label, *, accounts: Mapping[str, str] | None = None
) -> OwnershipResult:
    """Rows and findings for one contract. ``governance`` empty: holders are reported, not
    judged (the governance test says what to configure). ``accounts`` (name -> address) are
    the keys that must not keep an admin role (the deployer, rehearsal accounts)."""
    name = facts.contract
    expected = ", ".join(label(g) for g in governance) or "(no governance configured)"
    rows: list[dict[str, Any]] = []
    findings: list[Finding] = []

    def finding(severity: Severity, message: str) -> None:
        findings.append(Finding(CHECK_ID, name, severity, message))

    for problem in facts.unreadable:
        finding("error", f"{name}: {problem}")
    if facts.authority.ownerless:
        rows.append(_row(name, "none", holder=OWNERLESS, expected="", pending="", verdict="pass"))
        return OwnershipResult(tuple(rows), tuple(findings), OWNERLESS)

    pending_text = "none"
    if facts.pending is not None and facts.pending.address.lower() != ZERO_ADDRESS:
        to_governance = _is(facts.pending.address, governance)
        pending_text = f"{label(facts.pending.address)} ({'the governance' if to_governance else 'NOT the governance'})"
        # A warning either way: the transfer is not effective until acceptOwnership(), and the
        # owner() judgement below is what fails a wrong owner.
        finding(
            "warning",
            f"{name}: pending two-step transfer to {label(facts.pending.address)}, "
            f"{'the governance' if to_governance else 'which is NOT the governance'}; the owner stays "
            f"{', '.join(label(o.address) for o in facts.owners) or 'unchanged'} until it calls acceptOwnership()",
        )
    for owner in facts.owners:
        verdict = "pass"
        if not governance:
            verdict = "info"
        elif owner.address.lower() == ZERO_ADDRESS:
            verdict = "fail"
            finding(
                "error",
                f"{name}: {owner.getter} is the zero address: ownership was renounced, so nobody can "
                f"administer {name} (expected {expected}). Next step: redeploy it owned by the governance",
            )
        elif not _is(owner.address, governance):
            verdict = "fail"
            finding(
                "error",
                f"{name}: {owner.getter} is {label(owner.address)}, {_kind(owner)}, not the governance "
                f"{expected}. Next step: "
                + (
                    "transfer ownership to the governance (transferOwnership, then acceptOwnership from the "
                    "governance when it is Ownable2Step)"
                    if owner.getter == "owner()"
                    else f"hand {owner.getter} to the governance with {name}'s own transfer function, or redeploy "
                    "it with the governance as that address"
                ),
            )
        if verdict == "pass" and pending_text != "none":
            verdict = "warn"  # right owner, but a transfer away from it is under way
        rows.append(
            _row(
                name,
                owner.getter,
                holder=label(owner.address),
                expected=expected,
                pending=pending_text,
                verdict=verdict,
            )
        )
    if facts.pending is not None and not facts.owners:
        rows.append(
            _row(name, facts.pending.getter, holder="", expected=expected, pending=pending_text, verdict="warn")
        )

    for role in facts.roles:
        rows.append(
            _role_row(
                name,
                role,
                governance=governance,
                expected=expected,
                label=label,
                findings=findings,
                accounts=accounts or {},
            )
        )
    summary = "; ".join(f"{r['authority']} {r['holder']}" for r in rows)
    return OwnershipResult(tuple(rows), tuple(findings), summary)


def _role_row(
    name: str,
    role: RoleHolders,
    *,
    governance: Sequence[str],
    expected: str,
    label: Label,
    findings: list[Finding],
    accounts: Mapping[str, str],
) -> dict[str, Any]:
    held_by_governance = [h for h in role.holders if _is(h, governance)]
    others = [h for h in role.holders if not _is(h, governance)]
    how = "all members" if role.enumerated else "known addresses asked"
    holder = ", ".join(label(h) for h in role.holders) or f"none of the {how}"
    if role.role != ADMIN_ROLE:
        # Other roles are reported: which of them the governance should hold is the contract's design.
        known_keys = [h for h in others if _is(h, list(accounts.values()))]
        for key in known_keys:
            findings.append(
                Finding(CHECK_ID, name, "warning", f"{name}: {label(key)} holds {role.role} ({role.role_id})")
            )
        governance_holds = "yes" if held_by_governance else "no"
        return _row(
            name,
            role.role,
            holder=f"{holder} [{how}]",
            expected=f"reported (governance holds it: {governance_holds})",
            pending="",
            verdict="warn" if known_keys else "info",
        )
    verdict = "pass"
    if not governance:
        verdict = "info"
    elif not held_by_governance:
        verdict = "fail"
        findings.append(
            Finding(
                CHECK_ID,
                name,
                "error",
                f"{name}: the governance {expected} does not hold {ADMIN_ROLE}, so it cannot grant or revoke "
                f"roles. Next step: grantRole({ADMIN_ROLE}, governance) from the current admin",
            )
        )
    for other in others:
        verdict = "fail"
        findings.append(
            Finding(
                CHECK_ID,
                name,
                "error",
                f"{name}: {label(other)} still holds {ADMIN_ROLE} besides the governance. Next step: "
                f"revokeRole({ADMIN_ROLE}, {other}) from the governance, or renounceRole from that key",
            )
        )
    return _row(name, ADMIN_ROLE, holder=f"{holder} [{how}]", expected=expected, pending="", verdict=verdict)


def _row(contract: str, authority: str, *, holder: str, expected: str, pending: str, verdict: str) -> dict[str, Any]:
    return {
        "contract": contract,
        "authority": authority,
        "holder": holder,
        "expected": expected,
        "pending": pending,
        "verdict": verdict,
    }


# ---------------------------------------------------------------- what to check


def planned_contracts(settings: SessionSettings) -> tuple[str, ...]:
    """The contracts PD-OWN checks, known without a chain: ``[postdeploy] contracts``, else the
    deploy plan's deployments (rehearsal) or the network's deployments file (live) that have an
    artifact. Empty when none is known; an unreadable deployments file is left to the
    ``deployed_system`` fixture to report."""
    if settings.postdeploy is not None and settings.postdeploy.contracts:
        return settings.postdeploy.contracts
    network = settings.network_settings
    if network is not None:
        if network.deployments is None:
            return ()
        from signoff.postdeploy.deployments import load_deployments

        try:
            book = load_deployments(network.deployments, expected_chain_id=network.chain_id)
        except SignoffError:
            return ()
        return tuple(name for name in book.addresses if _has_artifact(settings, name))
    plan = settings.deploy_plan
    if plan is None:
        return ()
    return tuple(step.alias for step in plan.steps if isinstance(step, DeployStep))


def _has_artifact(settings: SessionSettings, name: str) -> bool:
    try:
        settings.artifacts.resolve(name)
    except LookupError:
        return False
    return True


def probe_accounts(accounts: Mapping[str, str], deployer: str | None) -> dict[str, str]:
    """Keys that must not keep an admin role: the rehearsal accounts, and a live network's deployer."""
    known = dict(accounts)
    if deployer and not any(a.lower() == deployer.lower() for a in known.values()):
        known["Deployer"] = deployer
    return known


def with_names(label: Label, names: Mapping[str, str]) -> Label:
    """``label`` that also knows ``names`` (name -> address) it would otherwise show bare."""
    by_address = {address.lower(): name for name, address in names.items()}

    def named(address: str) -> str:
        shown = label(address)
        if shown == address and address.lower() in by_address:
            return f"{by_address[address.lower()]} ({address})"
        return shown

    return named


# ---------------------------------------------------------------- the governance itself


@dataclass(frozen=True)
class GovernancePolicy:
    """What a governance must be: ``[postdeploy] min_safe_threshold`` and friends."""

    min_threshold: int
    min_owners: int
    min_delay_seconds: int | None

    def describe(self) -> str:
        text = f"Safe >= {self.min_threshold} of >= {self.min_owners}"
        if self.min_delay_seconds is not None:
            text += f", or timelock >= {self.min_delay_seconds} s"
        else:
            text += ", or a timelock"
        return text + "; never an EOA"


def judge_governance(
    facts: GovernanceFacts, problems: Sequence[str], policy: GovernancePolicy, label: Label
) -> tuple[dict[str, Any], tuple[Finding, ...]]:
    """The PD-OWN-governance row of one governance address and its findings
    (``problems`` from :func:`signoff.deploy.governance.check_governance`)."""
    findings = tuple(
        Finding(
            CHECK_ID,
            facts.address,
            "error",
            f"{p.replace(facts.address, label(facts.address))}. Next step: {_governance_next_step(facts.kind)}",
        )
        for p in problems
    )
    row = {
        "governance": label(facts.address),
        "kind": facts.kind if facts.kind != "safe" or not facts.version else f"safe {facts.version}",
        "owners": ", ".join(label(o) for o in facts.owners),
        "threshold": "" if facts.threshold is None else f"{facts.threshold} of {len(facts.owners)}",
        "min_delay": "" if facts.min_delay is None else facts.min_delay,
        "required": policy.describe(),
        "verdict": "fail" if findings else "pass",
    }
    return row, findings


def _governance_next_step(kind: str) -> str:
    if kind == "safe":
        return (
            "through the Safe itself, raise its threshold (changeThreshold) or add owners "
            "(addOwnerWithThreshold), and disable any module it should not have (disableModule)"
        )
    if kind == "timelock":
        return "raise the timelock's minimum delay (updateDelay, through the timelock itself)"
    return "hand ownership and admin roles to a Safe or a timelock, and name it as the governance"


def no_governance(target_file: str, network: str, live: bool) -> Finding:
    """The finding when nobody is configured as the governance."""
    where = (
        f'[networks.{network}] governance = ["0x…"] (the Safe or timelock that controls the system)'
        if live
        else '[postdeploy] governance = "@Governance" (a Safe or timelock of the deploy plan)'
    )
    return Finding(
        CHECK_ID,
        "governance",
        "error",
        f"{target_file}: no governance is configured, so PD-OWN cannot tell whether the right party owns "
        f"and administers the system. Next step: set {where}",
    )
