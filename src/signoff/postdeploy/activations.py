"""PD-MON: the dispatcher's manifest history over a block range, as its operations playbook monitors it.

The playbook (runbook 003) alerts when ``block.timestamp > eta + grace + 300`` while a committed root
waits for activation, and treats a codehash-mismatch event as critical. PD-MON reads the
``[manifest]`` dispatcher's commit and activation events from ``[manifest.monitoring] from_block``
(on a named network, by default, the block of the dispatcher's deployment receipt) to the pinned
block and judges each committed epoch:

- *late*: activated after eta + ``eta_grace_seconds`` + ``late_after_seconds`` (defaults 60 and 300);
- *overdue*: the last commit, still not activated at the pinned block, and past that time;
- any event the ABI names a codehash mismatch (``CodehashMismatch``, ``CodeRejected``...) in the
  range is a finding of its own. Pause events are listed, not judged.

The interface facts come from the lifecycle interface (signoff.deploy.lifecycle: the ``committed``
and ``activated`` events, detected or mapped in ``[manifest.interface]``). A commit's eta is its
event's eta-like field (``eta``, ``readyAt``...); else its commit-time field (``committedAt``,
``scheduledAt``...) or its block's timestamp, plus the ``activation_delay`` view. Commits and
activations pair by epoch when both events carry one, else by root.

Judging is pure; :func:`block_times` is the only function here that touches a chain (the logs are read
by signoff.postdeploy.event_logs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from signoff.findings import Finding

if TYPE_CHECKING:
    from web3 import Web3

    from signoff.postdeploy.event_logs import EventSpec, Seen

CHECK_ID = "PD-MON"

_ETA_FIELDS = ("eta", "readyat", "readytime", "activationtime", "activatesat", "executableat", "notbefore")
_COMMIT_TIME_FIELDS = ("committedat", "scheduledat", "proposedat", "queuedat", "committime", "timestamp")
_MISMATCH_EVENTS = ("codehashmismatch", "codemismatch", "codehashrejected", "coderejected", "integrityviolation")
_PAUSE_WORDS = ("pause", "halt", "freeze", "frozen")


def _plain(name: str) -> str:
    return name.lower().lstrip("_").replace("_", "")


@dataclass(frozen=True)
class EtaSource:
    """Where a commit's eta comes from: ``("eta", field)``, ``("committed_at", field)`` or ``("block", None)``."""

    kind: str
    field: str | None

    def describe(self, event: str, delay_view: str | None) -> str:
        if self.kind == "eta":
            return f"{event}'s {self.field}"
        start = f"{event}'s {self.field}" if self.kind == "committed_at" else f"the block time of {event}"
        return f"{start} + {delay_view or 'the activation delay'}"


def eta_source(spec: EventSpec) -> EtaSource:
    """How the commit event ``spec`` tells the eta, from its field names."""
    plain_fields = [(name, _plain(name)) for name, abi_type, _ in spec.inputs if abi_type.startswith("uint")]
    for name, plain in plain_fields:
        if plain in _ETA_FIELDS:
            return EtaSource("eta", name)
    for name, plain in plain_fields:
        if plain in _COMMIT_TIME_FIELDS:
            return EtaSource("committed_at", name)
    return EtaSource("block", None)


def is_mismatch_event(name: str) -> bool:
    return _plain(name) in _MISMATCH_EVENTS


def is_pause_event(name: str) -> bool:
    return any(word in name.lower() for word in _PAUSE_WORDS)


def _epoch(values: Mapping[str, Any]) -> int | None:
    for key, value in values.items():
        if "epoch" in key.lower() and isinstance(value, int):
            return int(value)
    return None


def _root(values: Mapping[str, Any]) -> str:
    for key, value in values.items():
        if "root" in key.lower() or isinstance(value, bytes | bytearray):
            return "0x" + bytes(value).hex() if isinstance(value, bytes | bytearray) else str(value)
    return ""


@dataclass(frozen=True)
class Commit:
    epoch: int | None
    root: str
    block: int
    timestamp: int
    eta: int


@dataclass(frozen=True)
class Activation:
    epoch: int | None
    root: str
    block: int
    timestamp: int


def commits_from(
    seen: Sequence[Seen], source: EtaSource, timestamps: Mapping[int, int], delay: int | None
) -> list[Commit]:
    """The decoded commit events as commits with their eta (``delay``: the activation delay, when needed)."""
    commits = []
    for event in seen:
        at = timestamps[event.block]
        if source.kind == "eta":
            eta = int(event.values[source.field or ""])
        else:
            start = int(event.values[source.field or ""]) if source.kind == "committed_at" else at
            eta = start + (delay or 0)
        commits.append(Commit(_epoch(event.values), _root(event.values), event.block, at, eta))
    return commits


def activations_from(seen: Sequence[Seen], timestamps: Mapping[int, int]) -> list[Activation]:
    return [Activation(_epoch(e.values), _root(e.values), e.block, timestamps[e.block]) for e in seen]


def when(timestamp: int) -> str:
    """A block time as the evidence shows it: UTC, then the raw seconds."""
    from datetime import UTC, datetime

    return f"{datetime.fromtimestamp(timestamp, UTC):%Y-%m-%d %H:%M:%S} UTC ({timestamp})"


def _key(epoch: int | None, root: str, by_epoch: bool) -> str:
    return f"epoch {epoch}" if by_epoch else f"root {root}"


def judge(  # noqa: PLR0917 - the history, the dispatcher, the pinned block and the playbook's two margins
    dispatcher: str,
    commits: Sequence[Commit],
    activations: Sequence[Activation],
    pinned: tuple[int, int],
    grace: int,
    late_after: int,
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Rows for the evidence and the findings: each commit paired with its activation (the first one after
    it, by epoch when both events carry it, else by root); ``pinned``: (block, timestamp) read up to."""
    by_epoch = all(c.epoch is not None for c in commits) and all(a.epoch is not None for a in activations)
    margin = grace + late_after
    rows: list[dict[str, Any]] = []
    findings: list[Finding] = []
    ordered = sorted(commits, key=lambda c: c.block)
    for index, commit in enumerate(ordered):
        key = _key(commit.epoch, commit.root, by_epoch)
        following = [a for a in activations if a.block >= commit.block]
        activation = next((a for a in following if _key(a.epoch, a.root, by_epoch) == key), None)
        later_commit = next((c for c in ordered[index + 1 :] if _key(c.epoch, c.root, by_epoch) == key), None)
        if activation is not None and later_commit is not None and later_commit.block <= activation.block:
            activation = None  # committed again before it was activated: the later commit is the one activated
        row: dict[str, Any] = {
            "order": f"{commit.block:012d}",
            "commit": key,
            "committed_block": commit.block,
            "eta": when(commit.eta),
            "activated_block": activation.block if activation else "-",
            "after_eta": (activation.timestamp - commit.eta) if activation else "-",
        }
        if activation is not None:
            late = activation.timestamp - commit.eta
            row["verdict"] = "late" if late > margin else "on time"
            if late > margin:
                findings.append(
                    Finding(
                        CHECK_ID,
                        key,
                        "error",
                        f"{dispatcher}: {key} was activated at block {activation.block} "
                        f"({when(activation.timestamp)}), {late} s after its eta {when(commit.eta)}: later than the "
                        f"playbook's alert, eta + {grace} s grace + {late_after} s. Next step: find what held the "
                        "activation (the bot, the relay, governance) and record the incident; to judge only later "
                        "history, set [manifest.monitoring] from_block",
                    )
                )
        elif later_commit is not None:
            row["verdict"] = "superseded"
        else:
            waited = pinned[1] - commit.eta
            row["verdict"] = "overdue" if waited > margin else "pending"
            if waited > margin:
                findings.append(
                    Finding(
                        CHECK_ID,
                        key,
                        "error",
                        f"{dispatcher}: {key} was committed at block {commit.block} (eta {when(commit.eta)}) and is "
                        f"still not activated at block {pinned[0]} ({when(pinned[1])}), {waited} s after its eta: the "
                        f"playbook alerts after eta + {grace} s grace + {late_after} s. Next step: activate it, or "
                        "commit the root that replaces it",
                    )
                )
        rows.append(row)
    return rows, findings


def mismatch_findings(dispatcher: str, seen: Sequence[Seen]) -> list[Finding]:
    return [
        Finding(
            CHECK_ID,
            f"{event.event}@{event.block}",
            "error",
            f"{dispatcher} emitted {event.event} at block {event.block} "
            f"({', '.join(f'{k}={shown(v)}' for k, v in event.values.items())}): the playbook treats a codehash "
            "mismatch as critical. Next step: pause the system and find which facet's code is not the committed code",
        )
        for event in seen
    ]


def shown(value: Any) -> str:
    return "0x" + bytes(value).hex() if isinstance(value, bytes | bytearray) else str(value)


# -- reading the chain -------------------------------------------------------------------------------


def block_times(w3: Web3, blocks: Sequence[int]) -> dict[int, int]:
    return {block: int(w3.eth.get_block(block)["timestamp"]) for block in sorted(set(blocks))}
