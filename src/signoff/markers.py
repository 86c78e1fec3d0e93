"""Every marker signoff's suites use, in one table: the plugin registers them in any repository.

A phase marker matches a suite folder (``suites/<phase>/``); a check marker selects one check
family across phases. ``pytest --markers`` lists them with this help text.
"""

from __future__ import annotations

import ast
import difflib
import itertools
import re
from pathlib import Path

import pytest

PHASES: tuple[tuple[str, str], ...] = (
    ("preflight", "suite phase - artifacts, configuration and network readiness, before deploying (nothing is sent)"),
    ("postdeploy", "suite phase - what is on chain, after deploying (read-only on live networks)"),
    ("e2e_pou", "suite phase - the Proof-of-Usefulness broker flow end to end"),
    (
        "e2e_flows",
        "suite phase - a deployed system as its users meet it: flows, invariants, search, migrations, service",
    ),
)

CHECKS: tuple[tuple[str, str], ...] = (
    ("eip170", "PF-SIZE - runtime <= 24,576 bytes (EIP-170) and initcode <= 49,152 bytes (EIP-3860)"),
    ("network", "PF-NET - RPC reachable, chain id, fresh block, deployer funded, governance has code"),
    ("selectors", "PF-SEL - selector collisions, duplicates and shadowing across a diamond"),
    ("abi", "PF-ABI - ABI snapshots and declared interfaces"),
    ("compiler", "PF-COMP - compiler version, viaIR, optimizer and evmVersion pins"),
    ("addresses", "PF-ADDR - hard-coded address literals"),
    ("manifest", "PF-MRK - dispatcher plan Merkle root, proofs and codehashes"),
    ("rehearsal", "PF-REH - the deploy plan runs end to end on a rehearsal chain"),
    ("reentrancy", "PD-REE - guarded entry points reject re-entry from an attacker contract's callback"),
    ("bytecode", "PD-CODE - on-chain runtime code equals the artifact (immutables, CBOR metadata)"),
    ("ownership", "PD-OWN - owners and admins are the governance; governance is a Safe/timelock meeting its minimum"),
    ("wiring", "PD-WIRE - module address getters point at the deployed modules"),
    ("create2", "PD-C2 - CREATE2 predictions, idempotent redeploys, the same addresses on every network"),
    ("dispatcher", "PD-DSP - dispatcher lifecycle: epochs, proofs, codehashes, activation delay, live routes"),
    ("gas", "PD-GAS - gas from receipts within budgets and the committed baseline"),
    ("emergency", "PD-EMG - pause/unpause and governance-rotation drills"),
    ("control", "the owner control plane - PD-CFG, PD-PLAN, PD-CTL, PD-PSE, PD-RULE, PD-EVT, PD-WIRE, the surface"),
    ("config_drift", "PD-CFG - on-chain parameters equal the team's reviewed config files; no key unmapped"),
    ("change_plan", "PD-PLAN - the setter calls that would align the chain with the config: empty, guarded"),
    ("pause_authority", "PD-PSE - the pause authority owns every module, holds pauser rights, pauses all"),
    ("events", "PD-EVT - ownership, governance and roster events since deployment"),
    ("monitoring", "PD-MON - the dispatcher's history: late activations, overdue commits, codehash mismatches"),
    ("drill", "sends transactions - runs on the rehearsal chain or a fork (--signoff-fork), never on a live network"),
    ("access_control", "PD-ACL / PU-ATT - privileged functions reject outsiders"),
    ("quorum", "PU-QRM - the k-of-m attestation quorum"),
    ("migrations", "PU-MIG - broker migrations 017-021 apply in order, match the seed schema and roll back to nothing"),
    ("pou_api", "PU-API / PU-ATT - the broker's HTTP API: health, settle, receipts, committee, attestations"),
    ("finalizer", "PU-FIN - the automatic finalizer finalizes receipts at quorum within its interval"),
    ("reputation", "PU-REP - reputation updated on settlement by EWMA (a = 0.2) on seven dimensions"),
    ("websocket", "PU-WS - client and agent notified over WebSocket on settlement"),
    ("broker_logs", "PU-LOG - the broker's own output: no database error, its cron jobs scheduled"),
    ("flows", "FL-FLOW - declared end-to-end flows: each step succeeds with its events, or reverts as it must"),
    ("invariants", "FL-INV - the team's invariants hold after every step of every declared flow"),
    (
        "search",
        "FL-SEARCH - a state machine interleaving the flows' steps across instances and actors breaks no invariant",
    ),
    (
        "app_migrations",
        "FL-MIG - the application's SQL migrations: one order, no duplicate names, a rollback that restores the schema",
    ),
    ("service_health", "FL-HLT - the service's health endpoint, judged by its body (db.ok), not its status"),
    ("latency", "FL-LAT - p95 latency and error rate of named endpoints within their budgets (bounded probe)"),
    ("slow", "takes more than a few seconds"),
)

MARKERS = PHASES + CHECKS
NAMES = frozenset(name for name, _ in MARKERS)
_KEYWORDS = frozenset({"and", "or", "not"})


def register(config: pytest.Config) -> None:
    """Declare every signoff marker (works under ``strict = true`` in any repository)."""
    for name, text in MARKERS:
        config.addinivalue_line("markers", f"{name}: {text}")


def names_in(markexpr: str) -> list[str]:
    """The marker names a ``-m`` expression mentions (keyword arguments in parentheses dropped)."""
    without_arguments = re.sub(r"\([^)]*\)", " ", markexpr)
    return [word for word in re.findall(r"[A-Za-z_][\w.-]*", without_arguments) if word not in _KEYWORDS]


def registered(config: pytest.Config) -> set[str]:
    """Every marker name this run knows: signoff's, pytest's, other plugins' and the ini's."""
    return {str(line).split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}


def unknown_in(markexpr: str, known: set[str]) -> list[str]:
    """``-m`` names no plugin or ini declares, each with the closest known one."""
    problems = []
    for name in dict.fromkeys(names_in(markexpr)):
        if name in known:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1)
        problems.append(f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    return problems


def marks_in_source(path: Path) -> tuple[frozenset[str], frozenset[str]] | None:
    """``(always, maybe)``: the marks a suite module puts on every item (``pytestmark = [...]``) and
    those only some items may carry (decorators, ``pytest.param(marks=...)``), read from its source
    without importing it; ``None`` when it is not a signoff suite module (no module-level
    ``CHECK_ID``, whose marks all come from its own source) or cannot be read this way."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    declares_check = any(
        isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "CHECK_ID" for t in node.targets)
        for node in tree.body
    )
    if not declares_check:
        return None
    always: set[str] = set()
    module_level: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            for inner in ast.walk(node.value):
                name = _mark_name(inner)
                if name:
                    always.add(name)
                    module_level.add(id(inner))
    maybe = {name for node in ast.walk(tree) if id(node) not in module_level and (name := _mark_name(node)) is not None}
    return frozenset(always), frozenset(maybe - always)


def _mark_name(node: ast.AST) -> str | None:
    """``X`` of an expression ``pytest.mark.X`` (or ``mark.X``)."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "mark":
        return node.attr
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "mark":
        return node.attr
    return None


MAX_OPTIONAL_MARKS = 6  # 2**6 combinations at most; beyond that a module is simply collected


def can_match(markexpr: str, always: frozenset[str], maybe: frozenset[str]) -> bool:
    """Whether any item of a module with these marks could satisfy ``-m markexpr``: true for some
    subset of the optional marks on top of the module's own. Conservative: an expression with
    keyword arguments, or one pytest cannot parse, counts as a possible match."""
    from _pytest.mark.expression import Expression

    if re.search(r"\w\s*\(", markexpr) or len(maybe) > MAX_OPTIONAL_MARKS:
        return True
    try:
        expression = Expression.compile(markexpr)
    except Exception:  # pytest reports a malformed -m itself
        return True
    optional = sorted(maybe)
    for size in range(len(optional) + 1):
        for chosen in itertools.combinations(optional, size):
            present = always | set(chosen)
            if expression.evaluate(lambda name, /, present=present, **kwargs: name in present):
                return True
    return False
