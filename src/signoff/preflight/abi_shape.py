"""PF-ABI: each contract's interface equals its committed snapshot, and declared interfaces
are implemented with the same signatures.

A snapshot is the canonical JSON of a contract's functions, events and errors: canonical
types (tuples expanded), parameter names, indexed flags, anonymous events and
stateMutability, each kind sorted by signature, written with sorted keys and a final newline
so that the same ABI always gives the same bytes whatever the compiler's entry order. A
difference is reported as a diff of entries: added (``+``), removed (``-``) and changed
(``~``, with the fields that changed). Constructors, fallback and receive are not part of
the interface callers code against, so they are left out.

``implements`` checks an interface against an implementation: every function (by selector),
event (by topic) and error (by selector) of the interface must exist with the same
signature; a function that exists under the same name with its arguments in another order,
or with the same types but its named arguments swapped, is called out as such; return types,
indexed flags and a mutability a caller of the interface could not rely on are findings too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from signoff.artifacts.abi import canonical_type, selector, signature, topic
from signoff.findings import Finding, Severity

CHECK_ID = "PF-ABI"
SCHEMA = "signoff-abi/1"
UPDATE_OPTION = "--signoff-update-snapshots"

Entry = dict[str, Any]
Kind = Literal["function", "event", "error"]
ENTRY_POINTS = "entry_points"  # {"fallback": mutability, "receive": "payable"}, where the contract has them
_KINDS: tuple[tuple[Kind, str], ...] = (("function", "functions"), ("event", "events"), ("error", "errors"))
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class SnapshotError(ValueError):
    """A snapshot file that is not a signoff ABI snapshot."""


# -- the canonical snapshot -------------------------------------------------------------------


_TEST_FOLDERS = ("test", "tests", "mock", "mocks", "script", "scripts")
_MOCK_NAME = re.compile(r"(^|[a-z0-9_])Mock([A-Z0-9_]|$)")
_LIBRARY_GUARD = re.compile(r"^73[0-9a-fA-F]{40}3014")  # PUSH20 <own address> ADDRESS EQ: a library's call guard
# REVERT at entry (after the free-memory pointer, if set): a library of internal functions only
_REVERTS_AT_ENTRY = re.compile(r"^(6080604052)?(5f80|600080|60006000)fd")


def left_out_by_default(source: str, name: str, runtime_hex: str, abi: Sequence[Mapping[str, Any]]) -> str | None:
    """Why a deployable contract is not snapshotted unless ``[abi] contracts`` names it: tests, mocks and
    scripts are not the product, and a library (or a contract with no external interface) has no ABI
    that a caller depends on. ``None``: it is in the default scope."""
    folders = source.split("/")[:-1]
    for folder in folders:
        if folder.lower() in _TEST_FOLDERS:
            return f"a test or mock contract: under {folder}/"
    for suffix in (".t.sol", ".s.sol"):
        if source.endswith(suffix):
            return f"a test or mock contract: a {suffix} file"
    if _MOCK_NAME.search(name):
        return "a test or mock contract: named *Mock*"
    if _LIBRARY_GUARD.match(runtime_hex) or _REVERTS_AT_ENTRY.match(runtime_hex):
        return "a library (its code refuses to be called, or has only internal functions)"
    if not any(entry.get("type", "function") in ("function", "event", "error", "fallback", "receive") for entry in abi):
        return "no external interface (an empty ABI)"
    return None


def duplicate_names(contracts: Iterable[tuple[str, str, bool]]) -> list[Finding]:
    """Two contracts of one name in a build, from ``(fully qualified name, name, deployable)``: a deploy
    script that names one by its bare name may get the other (an error when one is deployable; for
    interfaces and abstract contracts a warning)."""
    by_name: dict[str, list[tuple[str, bool]]] = {}
    for fqn, name, deployable in contracts:
        by_name.setdefault(name, []).append((fqn, deployable))
    findings = []
    for name, members in sorted(by_name.items()):
        if len(members) < 2:
            continue
        fqns = sorted(fqn for fqn, _ in members)
        folder = fqns[-1].rsplit(":", 1)[0].rsplit("/", 1)[0]
        severity: Severity = "error" if any(deployable for _, deployable in members) else "warning"
        findings.append(
            Finding(
                CHECK_ID,
                name,
                severity,
                f"{len(fqns)} contracts are named {name}: {', '.join(fqns)}; expected one contract per name, so that a "
                f"deploy script that names {name} deploys the one you reviewed. Next step: rename or remove one of "
                "them, or name them by path/File.sol:Name everywhere (signoff.toml keys included) and add "
                f'[compiler] exclude = ["{folder}/**"] if one is not part of the product',
            )
        )
    return findings


def snapshot_of(contract: str, abi: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The canonical snapshot of ``abi`` (raises :class:`SnapshotError` on a malformed entry)."""
    groups: dict[str, dict[str, Entry]] = {plural: {} for _, plural in _KINDS}
    entry_points: dict[str, str] = {}
    for position, item in enumerate(abi):
        kind = item.get("type", "function")
        plural = dict(_KINDS).get(kind)
        if kind in ("fallback", "receive"):  # how a call no function matches is answered
            legacy = "payable" if item.get("payable") else "nonpayable"
            entry_points[kind] = str(item.get("stateMutability") or legacy)
            continue
        if plural is None:  # the constructor
            continue
        try:
            entry = _entry(kind, item)
        except (KeyError, TypeError, AttributeError) as exc:
            raise SnapshotError(
                f"ABI entry #{position} ({kind}) has no usable name or parameter types ({type(exc).__name__}: {exc})"
            ) from None
        groups[plural][entry["signature"]] = entry
    snapshot: dict[str, Any] = {
        "schema": SCHEMA,
        "contract": contract,
        **{plural: [groups[plural][key] for key in sorted(groups[plural])] for plural in groups},
    }
    if entry_points:  # recorded only where there is one: older snapshots stay valid as they are
        snapshot[ENTRY_POINTS] = entry_points
    return snapshot


def _params(params: Any, *, indexed: bool = False) -> list[Entry]:
    result = []
    for param in params or []:
        item: Entry = {"name": str(param.get("name", "")), "type": canonical_type(param)}
        if indexed:
            item["indexed"] = bool(param.get("indexed", False))
        result.append(item)
    return result


def _entry(kind: str, item: Mapping[str, Any]) -> Entry:
    text = signature(item)
    if kind == "function":
        return {
            "signature": text,
            "selector": selector(text),
            "inputs": _params(item.get("inputs")),
            "outputs": _params(item.get("outputs")),
            "stateMutability": str(item.get("stateMutability") or _legacy_mutability(item)),
        }
    if kind == "event":
        return {
            "signature": text,
            "topic": topic(text),
            "anonymous": bool(item.get("anonymous", False)),
            "inputs": _params(item.get("inputs"), indexed=True),
        }
    return {"signature": text, "selector": selector(text), "inputs": _params(item.get("inputs"))}


def _legacy_mutability(item: Mapping[str, Any]) -> str:
    """ABIs older than solc 0.5 say ``constant``/``payable`` instead of ``stateMutability``."""
    if item.get("constant"):
        return "view"
    return "payable" if item.get("payable") else "nonpayable"


def render_snapshot(snapshot: Mapping[str, Any]) -> str:
    """The bytes that are committed: stable key order, two-space indent, one final newline."""
    return json.dumps(snapshot, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def parse_snapshot(text: str) -> dict[str, Any]:
    """A committed snapshot back into its dictionary (raises :class:`SnapshotError`)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise SnapshotError(f"not a {SCHEMA} snapshot (schema: {found!r})")
    for _, plural in _KINDS:
        entries = data.get(plural, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) and "signature" in e for e in entries):
            raise SnapshotError(f"{plural!r} must be a list of entries with a 'signature'")
    return data


def snapshot_name(contract_name: str, fqn: str, unique: bool) -> str:
    """``<Name>.json`` when the bare name is unique among the artifacts, else a file-safe fqn."""
    if unique:
        return f"{contract_name}.json"
    return _SAFE.sub("_", fqn.replace("/", "__").replace(":", "--")) + ".json"


# -- the comparison ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotDiff:
    """Entries of the artifact's ABI against the committed snapshot."""

    added: tuple[str, ...]  # rendered lines, without the leading marker
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self) -> str:
        return f"{len(self.added)} added, {len(self.removed)} removed, {len(self.changed)} changed"

    def lines(self) -> list[str]:
        return (
            [f"  + {line}" for line in self.added]
            + [f"  - {line}" for line in self.removed]
            + [f"  ~ {line}" for line in self.changed]
        )


def diff_snapshots(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> SnapshotDiff:
    """What changed from ``expected`` (the snapshot) to ``actual`` (the artifact). The fallback and
    receive functions are compared where the snapshot records them (see :func:`unrecorded_entry_points`)."""
    added: list[str] = []
    removed: list[str] = []
    changed: list[str] = []
    if ENTRY_POINTS in expected:
        old_points, new_points = expected[ENTRY_POINTS], actual.get(ENTRY_POINTS, {})
        for kind in ("fallback", "receive"):
            before, after = old_points.get(kind), new_points.get(kind)
            if before is None and after is not None:
                added.append(f"{kind}() {after}")
            elif before is not None and after is None:
                removed.append(f"{kind}() {before}")
            elif before != after:
                changed.append(f"{kind}(): {before} -> {after}")
    if expected.get("contract") != actual.get("contract"):
        changed.append(f"contract: {expected.get('contract')} -> {actual.get('contract')}")
    for kind, plural in _KINDS:
        old = {e["signature"]: e for e in expected.get(plural, [])}
        new = {e["signature"]: e for e in actual.get(plural, [])}
        added.extend(describe(kind, new[key]) for key in sorted(new.keys() - old.keys()))
        removed.extend(describe(kind, old[key]) for key in sorted(old.keys() - new.keys()))
        for key in sorted(old.keys() & new.keys()):
            fields = _changed_fields(kind, old[key], new[key])
            if fields:
                changed.append(f"{kind} {key}: {'; '.join(fields)}")
    return SnapshotDiff(tuple(added), tuple(removed), tuple(changed))


def _changed_fields(kind: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    fields = []
    for name in sorted(old.keys() | new.keys()):
        if name in ("signature", "selector", "topic") or old.get(name) == new.get(name):
            continue
        before, after = old.get(name), new.get(name)
        if name in ("inputs", "outputs"):
            before = _param_list(before, kind)
            after = _param_list(after, kind)
        fields.append(f"{name} {before} -> {after}")
    return fields


def describe(kind: str, entry: Mapping[str, Any]) -> str:
    """One entry as a reader would write it: ``function echo(bytes data) pure returns (bytes)``."""
    name = str(entry.get("signature", "?")).split("(", 1)[0]
    text = f"{kind} {name}{_param_list(entry.get('inputs'), kind)}"
    if kind == "function":
        text += f" {entry.get('stateMutability', '?')}"
        if entry.get("outputs"):
            text += f" returns {_param_list(entry.get('outputs'), kind)}"
    if kind == "event" and entry.get("anonymous"):
        text += " anonymous"
    return text


def _param_list(params: Any, kind: str) -> str:
    if not isinstance(params, list):
        return repr(params)
    shown = []
    for param in params:
        words = [str(param.get("type", "?"))]
        if kind == "event" and param.get("indexed"):
            words.append("indexed")
        if param.get("name"):
            words.append(str(param["name"]))
        shown.append(" ".join(words))
    return f"({', '.join(shown)})"


SnapshotStatus = Literal["match", "differs", "missing", "unreadable", "created", "updated", "unchanged"]


@dataclass(frozen=True)
class SnapshotResult:
    """The verdict on one contract's snapshot."""

    contract: str
    snapshot: str  # the path as shown to the user
    status: SnapshotStatus
    counts: Mapping[str, int]
    diff: SnapshotDiff | None
    findings: tuple[Finding, ...]

    def row(self) -> dict[str, object]:
        return {
            "contract": self.contract,
            "snapshot": self.snapshot,
            **self.counts,
            "status": self.status if self.diff is None or self.diff.empty else f"{self.status}: {self.diff.summary()}",
            "verdict": "fail" if any(f.is_error for f in self.findings) else "pass",
        }


def unrecorded_entry_points(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> str | None:
    """The artifact's fallback/receive when the snapshot does not record them at all (written before
    signoff recorded them, or added since): said as a warning, never compared."""
    points = actual.get(ENTRY_POINTS)
    if not points or ENTRY_POINTS in expected:
        return None
    return ", ".join(f"{kind}() {mutability}" for kind, mutability in sorted(points.items()))


def counts(snapshot: Mapping[str, Any]) -> dict[str, int]:
    return {plural: len(snapshot.get(plural, [])) for _, plural in _KINDS}


def check_snapshot(contract: str, actual: Mapping[str, Any], stored: str | None, shown_path: str) -> SnapshotResult:
    """Compare the artifact's canonical snapshot ``actual`` with the committed text ``stored``
    (``None``: there is no snapshot file at ``shown_path``)."""
    numbers = counts(actual)
    update = f"run `pytest -m abi {UPDATE_OPTION}`, review and commit {shown_path}"
    if stored is None:
        message = (
            f"{contract}: no expected-interface snapshot at {shown_path} (expected one per contract), so there "
            f"is nothing to compare its ABI ({_numbers(numbers)}) with. Next step: {update}"
        )
        return SnapshotResult(contract, shown_path, "missing", numbers, None, (_error(contract, message),))
    try:
        expected = parse_snapshot(stored)
    except SnapshotError as exc:
        message = (
            f"{contract}: the snapshot {shown_path} cannot be read: {exc}. Next step: restore it from version "
            f"control, or {update}"
        )
        return SnapshotResult(contract, shown_path, "unreadable", numbers, None, (_error(contract, message),))
    diff = diff_snapshots(expected, actual)
    unrecorded = unrecorded_entry_points(expected, actual)
    notes = (
        ()
        if unrecorded is None
        else (
            _warning(
                contract,
                f"{contract}: its {unrecorded} are not in the snapshot {shown_path}, so a change to them would go "
                f"unnoticed. Next step: {update} (the fallback and receive functions are then compared too)",
            ),
        )
    )
    if diff.empty:
        return SnapshotResult(contract, shown_path, "match", numbers, diff, notes)
    message = "\n".join(
        [
            f"{contract}: the ABI differs from its snapshot {shown_path} ({diff.summary()}); "
            "expected the committed interface, found:",
            *diff.lines(),
            f"Next step: if the change is intended, {update}; otherwise restore the interface in the contract",
        ]
    )
    return SnapshotResult(contract, shown_path, "differs", numbers, diff, (_error(contract, message), *notes))


def update_snapshot(contract: str, actual: Mapping[str, Any], stored: str | None, shown_path: str) -> SnapshotResult:
    """What ``--signoff-update-snapshots`` does to one snapshot: ``created``, ``updated`` (with the
    diff, as a warning that names what changed) or ``unchanged``. The caller writes
    :func:`render_snapshot` of ``actual`` unless unchanged."""
    numbers = counts(actual)
    if stored == render_snapshot(actual):
        return SnapshotResult(contract, shown_path, "unchanged", numbers, None, ())
    if stored is None:
        message = f"{contract}: snapshot {shown_path} created ({_numbers(numbers)}); review and commit it"
        return SnapshotResult(contract, shown_path, "created", numbers, None, (_warning(contract, message),))
    try:
        diff: SnapshotDiff | None = diff_snapshots(parse_snapshot(stored), actual)
    except SnapshotError as exc:
        diff, detail = None, [f"  (the old file was unreadable: {exc})"]
    else:
        detail = diff.lines() if diff is not None and not diff.empty else ["  (formatting only)"]
    summary = f" ({diff.summary()})" if diff is not None and not diff.empty else ""
    message = "\n".join([f"{contract}: snapshot {shown_path} updated{summary}; review and commit it:", *detail])
    return SnapshotResult(contract, shown_path, "updated", numbers, diff, (_warning(contract, message),))


def _numbers(numbers: Mapping[str, int]) -> str:
    return f"{numbers['functions']} functions, {numbers['events']} events, {numbers['errors']} errors"


def orphan_snapshots(present: Iterable[str], expected: Iterable[str], directory: str) -> list[Finding]:
    """Snapshot files no checked contract owns (a renamed or deleted contract): warnings."""
    return [
        _warning(
            f"{directory}/{name}",
            f"{directory}/{name}: snapshot of no checked contract (a contract renamed, moved or removed, or "
            "scoped out by [abi] contracts). Next step: delete the file if the contract is gone",
        )
        for name in sorted(set(present) - set(expected))
    ]


def _warning(subject: str, message: str) -> Finding:
    return Finding(CHECK_ID, subject, "warning", message)


def _error(subject: str, message: str) -> Finding:
    return Finding(CHECK_ID, subject, "error", message)


# -- implements ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberCheck:
    """One interface member, found on the implementation or not (a row of the evidence)."""

    kind: Kind
    signature: str
    id: str  # selector or topic
    status: str  # "present" or what is wrong

    @property
    def ok(self) -> bool:
        return self.status == "present"


@dataclass(frozen=True)
class ImplementsResult:
    contract: str
    interface: str
    members: tuple[MemberCheck, ...]
    findings: tuple[Finding, ...]

    def rows(self) -> list[dict[str, object]]:
        return [
            {
                "order": f"{self.contract}|{self.interface}|{m.kind}|{m.signature}",
                "contract": self.contract,
                "interface": self.interface,
                "kind": m.kind,
                "member": m.signature,
                "id": m.id,
                "status": m.status,
                "verdict": "pass" if m.ok else "fail",
            }
            for m in self.members
        ]


# Solidity's override rule: what an implementation may declare for each interface mutability.
_COMPATIBLE = {
    "payable": {"payable"},
    "nonpayable": {"nonpayable", "view", "pure"},
    "view": {"view", "pure"},
    "pure": {"pure"},
}


def check_implements(
    contract: str, contract_abi: Sequence[Mapping[str, Any]], interface: str, interface_abi: Sequence[Mapping[str, Any]]
) -> ImplementsResult:
    """Every function, event and error of ``interface`` exists on ``contract`` with the same signature."""
    want = snapshot_of(interface, interface_abi)
    have = snapshot_of(contract, contract_abi)
    members: list[MemberCheck] = []
    problems: list[str] = []
    for kind, plural in _KINDS:
        present = {e["signature"]: e for e in have[plural]}
        by_name: dict[str, list[Entry]] = {}
        for entry in have[plural]:
            by_name.setdefault(entry["signature"].split("(", 1)[0], []).append(entry)
        for entry in want[plural]:
            key = entry["signature"]
            ident = entry.get("topic") or entry["selector"]
            found = present.get(key)
            if found is None:
                status, text = _absent(kind, entry, by_name.get(key.split("(", 1)[0], []))
            else:
                status, text = _compare(kind, entry, found)
            members.append(MemberCheck(kind, key, ident, status))
            if text:
                problems.append(text)
    if not members:
        problems.append(
            f"{interface} declares no function, event or error (expected at least one), so {contract} would "
            "implement it vacuously. Next step: name the interface itself in implements, not an empty contract"
        )
    findings: tuple[Finding, ...] = ()
    if problems:
        missing = sum(not m.ok for m in members)
        head = (
            f"{contract} does not implement {interface} as declared in implements: {missing} of {len(members)} "
            f"members differ (expected every function, event and error of {interface} with the same signature):"
        )
        tail = (
            f"Next step: make {contract} declare each member exactly as {interface} does (same argument order "
            f"and types; inheriting {interface.rsplit(':', 1)[-1]} lets the compiler enforce it), or correct "
            "implements"
        )
        findings = (_error(contract, "\n".join([head, *(f"  - {p}" for p in problems), tail])),)
    return ImplementsResult(contract, interface, tuple(members), findings)


def _types(entry: Mapping[str, Any]) -> list[str]:
    return [p["type"] for p in entry.get("inputs", [])]


def _names(entry: Mapping[str, Any]) -> list[str]:
    return [p["name"] for p in entry.get("inputs", [])]


def _absent(kind: Kind, entry: Mapping[str, Any], same_name: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    key = entry["signature"]
    ident = entry.get("topic") or entry["selector"]
    wanted = sorted(_types(entry))
    reordered = [c for c in same_name if sorted(_types(c)) == wanted]
    if reordered:
        other = reordered[0]
        what = "topic" if kind == "event" else "selector"
        return (
            "argument order differs",
            f"{kind} {key} ({ident}): the contract has {other['signature']} instead, the same arguments in another "
            f"order, so code built from the interface uses another {what} than the contract's "
            f"({other.get('topic') or other['selector']})",
        )
    if same_name:
        others = ", ".join(c["signature"] for c in same_name)
        return "signature differs", f"{kind} {key} ({ident}): missing; the contract has {others} instead"
    return "missing", f"{kind} {key} ({ident}): missing from the contract"


def _compare(kind: Kind, want: Mapping[str, Any], have: Mapping[str, Any]) -> tuple[str, str]:
    key = want["signature"]
    issues = []
    names_want, names_have = _names(want), _names(have)
    if all(names_want) and all(names_have) and names_want != names_have and sorted(names_want) == sorted(names_have):
        issues.append(
            (
                "argument order differs",
                f"named arguments in another order: interface ({', '.join(names_want)}), contract "
                f"({', '.join(names_have)}); the types match, so callers compile and pass the values swapped",
            )
        )
    if kind == "function":
        mine, theirs = str(have.get("stateMutability")), str(want.get("stateMutability"))
        if mine not in _COMPATIBLE.get(theirs, {theirs}):
            issues.append(
                ("mutability differs", f"stateMutability is {mine} on the contract, the interface promises {theirs}")
            )
        outs_want = [p["type"] for p in want.get("outputs", [])]
        outs_have = [p["type"] for p in have.get("outputs", [])]
        if outs_want != outs_have:
            issues.append(
                (
                    "returns differ",
                    f"returns ({','.join(outs_have)}) on the contract, the interface declares ({','.join(outs_want)})",
                )
            )
    if kind == "event":
        flags_want = [bool(p.get("indexed")) for p in want.get("inputs", [])]
        flags_have = [bool(p.get("indexed")) for p in have.get("inputs", [])]
        if flags_want != flags_have or bool(want.get("anonymous")) != bool(have.get("anonymous")):
            issues.append(
                (
                    "indexed flags differ",
                    f"declared {describe(kind, have)} on the contract, the interface declares {describe(kind, want)}; "
                    "log filters and decoders built from the interface miss or misread it",
                )
            )
    if not issues:
        return "present", ""
    return " + ".join(i[0] for i in issues), f"{kind} {key}: " + "; ".join(i[1] for i in issues)
