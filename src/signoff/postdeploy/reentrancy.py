"""PD-REE: a guarded withdrawal rejects re-entry from an attacker contract's callback.

For each ``[[postdeploy.reentrancy]]`` probe, on the drill chain (rehearsal or fork, inside a
snapshot): another outsider first deposits the same amount, so the target holds ether that is
not the attacker's (without it a re-entered withdrawal of an unguarded target would fail for
lack of funds and pass for guarded); then an outsider deploys the attacker contract against
the target and calls ``attack(depositCall, withdrawCall)`` with the value. The attacker
replays the withdrawal once from its ``receive()`` and records whether it was called back,
whether the inner call succeeded, and its revert data. :func:`judge` turns that record into
the verdict; :func:`run_probe` drives the chain through an :class:`~signoff.deploy.rehearsal.Operator`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from signoff.artifacts.abi import encode_call, encode_constructor_args, signature
from signoff.artifacts.hashing import keccak256
from signoff.errors import SignoffError
from signoff.findings import Finding
from signoff.postdeploy.settings import ReentrancyProbe

if TYPE_CHECKING:
    from signoff.artifacts.loader import ArtifactSet
    from signoff.deploy.rehearsal import Operator
    from signoff.deploy.system import DeployedSystem

CHECK_ID = "PD-REE"
ABI = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Observation:
    """What the attacker recorded, and what the target's ether balance did during the attack."""

    reentered: bool
    inner_succeeded: bool
    inner_revert: bytes
    balance_before: int
    balance_after: int

    @property
    def lost(self) -> int:
        """Ether the target paid out beyond what the attacker put in (0 when guarded)."""
        return self.balance_before - self.balance_after


@dataclass
class ProbeResult:
    row: dict[str, Any]
    findings: list[Finding]
    data: dict[str, Any] = field(default_factory=dict)


def entry_label(probe: ReentrancyProbe) -> str:
    return f"{probe.contract}.{probe.withdraw}"


def probe_id(probe: ReentrancyProbe) -> str:
    """``PayRoxProxyRouter.withdraw``: the withdrawal's name without its parameter types."""
    return f"{probe.contract}.{probe.withdraw.split('(')[0]}"


def explain(data: bytes, abis: Sequence[ABI]) -> str:
    """The decoded revert, with a wrapped ``Error(bytes reason)`` decoded inside it too."""
    from eth_abi.abi import decode

    from signoff.deploy.rehearsal import decode_revert

    for abi in abis:
        for entry in abi:
            if entry.get("type") != "error" or [p.get("type") for p in entry.get("inputs", [])] != ["bytes"]:
                continue
            if data[:4] == keccak256(signature(entry).encode())[:4]:
                try:
                    (inner,) = decode(["bytes"], data[4:])
                except Exception:  # malformed: fall through to the plain decoding
                    break
                return f"{entry['name']}({decode_revert(bytes(inner), abis)})"
    return decode_revert(data, abis)


def judge(probe: ReentrancyProbe, seen: Observation, abis: Sequence[ABI]) -> ProbeResult:
    """Re-entered, and the inner call reverted: guarded. Anything else is a finding."""
    label = entry_label(probe)
    row: dict[str, Any] = {
        "contract": probe.contract,
        "entry": probe.withdraw,
        "reentered": seen.reentered,
        "inner": "not made" if not seen.reentered else "succeeded" if seen.inner_succeeded else "reverted",
        "reason": explain(seen.inner_revert, abis) if seen.reentered and not seen.inner_succeeded else "",
    }
    findings: list[Finding] = []
    if not seen.reentered:
        findings.append(
            Finding(
                CHECK_ID,
                label,
                "error",
                f"the attacker was never called back: the probe proves nothing about {label} (the withdrawal of "
                f"{probe.value} wei did not send ether to the attacker's receive()). Next step: point deposit "
                "and withdraw of this [[postdeploy.reentrancy]] entry at functions that pay out ether to the caller",
            )
        )
    elif seen.inner_succeeded:
        findings.append(
            Finding(
                CHECK_ID,
                label,
                "error",
                f"re-entry into {label} succeeded: the entry point is not guarded. The attacker's second "
                f"{probe.withdraw} from inside the payout went through, and {probe.contract} paid out {seen.lost} "
                "wei more than the attacker deposited (another depositor's ether). Next step: guard it "
                "(nonReentrant) and write the balance before sending ether (checks-effects-interactions)",
            )
        )
    row["verdict"] = "fail" if findings else "pass"
    return ProbeResult(row, findings)


def not_run(probe: ReentrancyProbe, message: str) -> ProbeResult:
    row = {"contract": probe.contract, "entry": probe.withdraw, "reentered": "", "inner": "", "reason": ""}
    return ProbeResult({**row, "verdict": "fail"}, [Finding(CHECK_ID, entry_label(probe), "error", message)])


def run_probe(
    operator: Operator, system: DeployedSystem, artifacts: ArtifactSet, probe: ReentrancyProbe
) -> ProbeResult:
    """Deposit as a victim, deploy the attacker, attack, read what it recorded; all on ``operator``'s chain."""
    from eth_abi.abi import decode

    from signoff.deploy.rehearsal import Reverted

    label, where = entry_label(probe), f"[[postdeploy.reentrancy]] {entry_label(probe)}"
    try:
        target = system.address(probe.contract, where=where)
        if probe.contract not in system.artifacts:
            raise SignoffError(f"{where}: {probe.contract} has no artifact, so its ABI is unknown")
        abi = system.artifacts[probe.contract].abi
        deposit_call = encode_call(abi, probe.deposit, [], where)
        withdraw_call = encode_call(abi, probe.withdraw, [probe.value], where)
        attacker_artifact = artifacts.resolve(probe.attacker)
        init_code = attacker_artifact.creation.to_bytes() + encode_constructor_args(
            attacker_artifact.abi, [target], f"{where} attacker {probe.attacker}"
        )
        attack_call = encode_call(attacker_artifact.abi, "attack", [deposit_call, withdraw_call], where)
    except SignoffError as exc:
        return not_run(probe, f"{exc}. Next step: correct the [[postdeploy.reentrancy]] entry")

    abis = [*operator.abis, attacker_artifact.abi]
    victim, attacker_owner = operator.outsider(1), operator.outsider(0)
    w3 = operator.w3
    data: dict[str, Any] = {"victim": victim, "attacker_owner": attacker_owner, "value": probe.value}
    try:
        operator.send(victim, target, deposit_call, value=probe.value, what=f"victim's {probe.deposit} into {label}")
        deployed = operator.send(attacker_owner, None, init_code, what=f"deploy {probe.attacker}")
        attacker = deployed.contract_address
        if not attacker:
            raise SignoffError(f"deploying {probe.attacker} created no contract (tx {deployed.tx_hash})")
        data["attacker"] = attacker
        before = int(w3.eth.get_balance(target))  # type: ignore[arg-type]
        sent = operator.send(attacker_owner, attacker, attack_call, value=probe.value, what=f"attack on {label}")
        data["attack_tx"] = sent.tx_hash
        after = int(w3.eth.get_balance(target))  # type: ignore[arg-type]

        def read(getter: str, kind: str) -> Any:
            raw = operator.simulate(attacker_owner, attacker, encode_call(attacker_artifact.abi, getter, [], where))
            return decode([kind], raw)[0]

        seen = Observation(
            reentered=bool(read("reentered", "bool")),
            inner_succeeded=bool(read("innerSucceeded", "bool")),
            inner_revert=bytes(read("innerRevertData", "bytes")),
            balance_before=before,
            balance_after=after,
        )
    except Reverted as exc:
        text = str(exc)
        nested = explain(exc.data, abis) if exc.data else ""
        if nested and nested not in text:
            text += f" (in full: {nested})"
        return not_run(
            probe,
            f"the attack on {label} could not run: {text}. Next step: check that an outsider can call "
            f"{probe.deposit} with {probe.value} wei and then {probe.withdraw}, or correct the entry",
        )
    except SignoffError as exc:
        return not_run(probe, f"the attack on {label} could not run: {exc}")
    result = judge(probe, seen, abis)
    data.update(
        target_balance_before=seen.balance_before,
        target_balance_after=seen.balance_after,
        inner_revert_data="0x" + seen.inner_revert.hex(),
    )
    result.data = data
    return result
