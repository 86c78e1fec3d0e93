"""PF-ADDR: no hard-coded address in a project contract, except the ones allow-listed.

Two sources of evidence, merged per address:

* **Bytecode.** The runtime code is walked as the EVM walks it (:mod:`signoff.artifacts.evm`: metadata
  trailer split off, PUSH data skipped, unreachable data and truncated PUSHes never read as
  code) and every reachable PUSH20 constant is a candidate.
* **AST**, where the build-info carries it: literals typed ``address`` / ``address payable``,
  number literals converted to an address (``address(uint160(0x…))``), and 40-digit hex
  literals in inline assembly, in the contract, its base contracts and the free functions,
  library functions and constants it references. This catches what the bytecode cannot: an
  address with leading zero bytes, which the optimizer pushes with a shorter PUSH (the deposit
  contract ``0x00000000219ab5…`` becomes a PUSH16).

Not addresses: zero, values below 2**16 (precompiles such as 0x01..0x11 and 0x100, sentinels
such as ``address(1)``), a single run of 1-bits (the address mask 0xff…ff and other masks),
and unlinked library placeholders. 4-byte selectors and other short constants are never
PUSH20s. Pure functions of their arguments: the suite reads the build-info.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from signoff.artifacts.evm import Disassembly, Instruction, disassemble, split_metadata
from signoff.artifacts.hashing import keccak256
from signoff.artifacts.loader import Contract
from signoff.findings import Finding
from signoff.target import AllowEntry

CHECK_ID = "PF-ADDR"
ADDRESS_BITS = 160
SMALL_LIMIT = 1 << 16

Verdict = Literal["pass", "warn", "fail"]


def not_an_address(value: int) -> str | None:
    """Why ``value`` is not treated as an address, or ``None`` when it may be one."""
    if value == 0:
        return "zero"
    if value < SMALL_LIMIT:
        return "small constant (precompile or sentinel range, below 2**16)"
    if value >> ADDRESS_BITS:
        return "wider than 160 bits"
    run = value >> ((value & -value).bit_length() - 1)  # drop trailing zero bits
    if run & (run + 1) == 0:
        return "bit mask (one run of 1-bits)"
    return None


def checksum(value: int) -> str:
    """EIP-55 mixed-case form of a 160-bit value."""
    lower = f"{value:040x}"
    digest = keccak256(lower.encode()).hex()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(lower))


def leading_zero_bytes(value: int) -> int:
    return 20 - (value.bit_length() + 7) // 8


# -- the AST ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceLiteral:
    """An address-like literal in the sources, where it is written and how."""

    value: int
    text: str  # as written in the source
    location: str  # "contracts/A.sol:12"
    kind: str  # "address literal", "number converted to address", "40-digit hex in inline assembly"


@dataclass(frozen=True)
class AstScan:
    """The address-like literals of one contract's code, and how much AST was read."""

    literals: tuple[SourceLiteral, ...]
    declarations: int  # contract, bases, referenced free/library functions and constants
    files: tuple[str, ...]


_REFERABLE = frozenset({"FunctionDefinition", "ModifierDefinition", "VariableDeclaration"})


class AstIndex:
    """Every AST node of one build-info by id, built once and shared by its contracts."""

    def __init__(self, build_info: Mapping[str, Any]) -> None:
        output = build_info.get("output", build_info)
        sources = output.get("sources") if isinstance(output, Mapping) else None
        sources = sources if isinstance(sources, Mapping) else {}
        inputs = build_info.get("input", {}).get("sources", {}) if isinstance(build_info.get("input"), Mapping) else {}
        self.asts: dict[str, Mapping[str, Any]] = {}
        self.files: dict[int, str] = {}
        self._contents: dict[str, bytes] = {}
        self._lines: dict[str, list[int]] = {}
        for name, entry in sources.items():
            if not isinstance(entry, Mapping):
                continue
            if isinstance(entry.get("id"), int):
                self.files[entry["id"]] = name
            if isinstance(entry.get("ast"), Mapping):
                self.asts[name] = entry["ast"]
            content = inputs.get(name, {}).get("content") if isinstance(inputs.get(name), Mapping) else None
            if isinstance(content, str):
                self._contents[name] = content.encode()
        self.nodes: dict[int, Mapping[str, Any]] = {}
        self.container: dict[int, int | None] = {}  # node id -> enclosing ContractDefinition id
        self._summaries: dict[int, tuple[dict[int, SourceLiteral], tuple[int, ...], list[str]]] = {}
        for ast in self.asts.values():
            self._index(ast)

    def _index(self, unit: Mapping[str, Any]) -> None:
        """The declarations a scan can start from or reach: top-level ones and contract members. Nothing in a
        function body is indexed (a local or a parameter is never constant, so never inlined)."""
        for node in unit.get("nodes", []):
            if type(node) is not dict or type(node.get("id")) is not int:
                continue
            self.nodes[node["id"]] = node
            self.container[node["id"]] = None
            if node.get("nodeType") == "ContractDefinition":
                for member in node.get("nodes", []):
                    if type(member) is dict and type(member.get("id")) is int:
                        self.nodes[member["id"]] = member
                        self.container[member["id"]] = node["id"]

    def scan(self, source: str, name: str) -> AstScan | str:
        """The literals ``source:name`` compiles in, or why the AST cannot tell."""
        unit = self.asts.get(source)
        if unit is None:
            return f"the build-info has no AST for {source} (outputSelection without 'ast')"
        definition = next(
            (
                n
                for n in unit.get("nodes", [])
                if isinstance(n, Mapping) and n.get("nodeType") == "ContractDefinition" and n.get("name") == name
            ),
            None,
        )
        if definition is None:
            return f"the AST of {source} defines no contract {name}"
        bases = [b for b in definition.get("linearizedBaseContracts", [definition["id"]]) if b in self.nodes]
        inside = set(bases)
        queue: list[int] = list(bases)
        scanned: set[int] = set()
        found: dict[int, SourceLiteral] = {}
        files: set[str] = set()
        while queue:
            root_id = queue.pop()
            if root_id in scanned:
                continue
            scanned.add(root_id)
            literals_in, refs, root_files = self._summary(root_id)
            files.update(root_files)
            found.update(literals_in)
            queue.extend(ref for ref in refs if ref not in scanned and self._inlined(ref, inside))
        literals = tuple(sorted(found.values(), key=lambda lit: (lit.location, lit.text)))
        return AstScan(literals, len(scanned), tuple(sorted(files)))

    def _summary(self, root_id: int) -> tuple[dict[int, SourceLiteral], tuple[int, ...], list[str]]:
        """The literals under one declaration, the declarations it references and its file: walked once per
        build-info, however many contracts share it (a base, a library function, a constant)."""
        cached = self._summaries.get(root_id)
        if cached is None:
            root = self.nodes[root_id]
            found: dict[int, SourceLiteral] = {}
            refs: list[int] = []
            for node in _walk(root):
                self._literal(node, found)
                ref = node.get("referencedDeclaration")
                if type(ref) is int:
                    refs.append(ref)
            cached = (found, tuple(dict.fromkeys(refs)), self._file_of(root))
            self._summaries[root_id] = cached
        return cached

    def _inlined(self, ref: int, inside: set[int]) -> bool:
        """Whether a referenced declaration's code or value ends up in this contract's bytecode."""
        node = self.nodes.get(ref)
        if node is None or node.get("nodeType") not in _REFERABLE:
            return False
        owner = self.container.get(ref)
        if owner in inside:
            return False  # scanned with its contract
        if node.get("nodeType") == "VariableDeclaration":
            return bool(node.get("constant"))
        if owner is None:
            return True  # a free function
        library = self.nodes[owner].get("contractKind") == "library"
        return library and node.get("visibility") in ("internal", "private")

    def _literal(self, node: Mapping[str, Any], found: dict[int, SourceLiteral]) -> None:
        kind = node.get("nodeType")
        if kind == "Literal" and _type(node).startswith("address"):
            self._add(node, "address literal", found)
        elif kind == "FunctionCall" and node.get("kind") == "typeConversion" and _type(node).startswith("address"):
            argument = _first_argument(node)
            while (
                argument is not None
                and argument.get("nodeType") == "FunctionCall"
                and argument.get("kind") == "typeConversion"
            ):
                argument = _first_argument(argument)
            if (
                argument is not None
                and argument.get("nodeType") == "Literal"
                and not _type(argument).startswith("address")
            ):
                self._add(argument, "number converted to address", found)
        elif kind == "YulLiteral" and node.get("kind") == "number":
            text = str(node.get("value", ""))
            if text.lower().startswith("0x") and len(text) == 42:
                self._add(node, "40-digit hex in inline assembly", found)

    def _add(self, node: Mapping[str, Any], kind: str, found: dict[int, SourceLiteral]) -> None:
        value = _value(node)
        if value is None or id(node) in found:
            return
        text, location = self._where(node)
        found[id(node)] = SourceLiteral(value, text, location, kind)

    def _file_of(self, node: Mapping[str, Any]) -> list[str]:
        parts = str(node.get("src", "")).split(":")
        name = self.files.get(int(parts[2])) if len(parts) == 3 and parts[2].lstrip("-").isdigit() else None
        return [name] if name else []

    def _where(self, node: Mapping[str, Any]) -> tuple[str, str]:
        fallback = str(node.get("value") or node.get("hexValue") or "?")
        try:
            start, length, file_index = (int(p) for p in str(node.get("src", "")).split(":"))
        except ValueError:
            return fallback, "unknown location"
        name = self.files.get(file_index, f"source #{file_index}")
        content = self._contents.get(name)
        if content is None:
            return fallback, f"{name} (byte {start})"
        if name not in self._lines:
            self._lines[name] = [i for i, b in enumerate(content) if b == 0x0A]
        line = bisect.bisect_left(self._lines[name], start) + 1
        text = content[start : start + length].decode(errors="replace") or fallback
        return text, f"{name}:{line}"


def _walk(root: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every object under ``root`` (JSON: dicts and lists only), depth first."""
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if type(node) is list:
            stack.extend(reversed(node))
        elif type(node) is dict:
            yield node
            stack.extend(child for child in node.values() if type(child) is dict or type(child) is list)


def _type(node: Mapping[str, Any]) -> str:
    described = node.get("typeDescriptions")
    return str(described.get("typeString") or "") if isinstance(described, Mapping) else ""


def _first_argument(call: Mapping[str, Any]) -> Mapping[str, Any] | None:
    arguments = call.get("arguments")
    if isinstance(arguments, list) and arguments and isinstance(arguments[0], Mapping):
        return arguments[0]
    return None


def _value(node: Mapping[str, Any]) -> int | None:
    if node.get("kind") == "hexString":
        raw = node.get("hexValue")
        return int(str(raw), 16) if raw else None
    if node.get("kind") != "number" or node.get("subdenomination"):
        return None
    text = str(node.get("value") or "").replace("_", "")
    try:
        if text.lower().startswith("0x"):
            return int(text, 16)
        number = Decimal(text)
    except (ValueError, InvalidOperation):
        return None
    return int(number) if number == number.to_integral_value() and number >= 0 else None


# -- the check ----------------------------------------------------------------------------------


@dataclass
class _Candidate:
    value: int
    pushes: list[int] = field(default_factory=list)  # PUSH20 offsets
    literals: list[SourceLiteral] = field(default_factory=list)
    shorter: list[Instruction] = field(default_factory=list)  # same value, shorter PUSH


@dataclass(frozen=True)
class AddressResult:
    """One contract's address literals, the walk behind them and the verdict."""

    contract: str
    summary: dict[str, object]
    literals: tuple[dict[str, object], ...]
    allowed: tuple[str, ...]  # lowercase addresses an allow entry covered
    ignored: tuple[dict[str, object], ...]  # PUSH20s and literals that are not addresses
    walk: dict[str, object]
    verdict: Verdict
    findings: tuple[Finding, ...]


def allow_entry(address: str, contract: Contract, allow: Sequence[AllowEntry]) -> AllowEntry | None:
    """The ``[[addresses.allow]]`` entry covering ``address`` (lowercase) in ``contract``."""
    for entry in allow:
        if entry.value.lower() == address and (
            not entry.contracts or contract.name in entry.contracts or contract.fqn in entry.contracts
        ):
            return entry
    return None


def check_addresses(
    contract: Contract, allow: Sequence[AllowEntry], ast: AstScan | None, no_ast_reason: str | None = None
) -> AddressResult:
    """Find ``contract``'s hard-coded addresses; each one not allow-listed is an error.

    ``ast`` is the contract's :meth:`AstIndex.scan`; without it (``no_ast_reason`` says why)
    only PUSH20s are seen, which is a warning: a leading-zero address would go unnoticed.
    """
    name = contract.fqn
    section, metadata = split_metadata(contract.runtime.to_bytes())
    walk = disassemble(section)
    links = {offset for link in contract.runtime.links for offset in link.offsets}
    candidates: dict[int, _Candidate] = {}
    ignored: list[dict[str, object]] = []
    push20 = 0
    for instruction in walk.pushes(20):
        push20 += 1
        where = f"PUSH20 @0x{instruction.offset:x}"
        if instruction.offset + 1 in links:
            ignored.append({"where": where, "value": "library placeholder", "why": "unlinked library address"})
            continue
        reason = not_an_address(instruction.value)
        if reason:
            ignored.append({"where": where, "value": f"0x{instruction.value:x}", "why": reason})
            continue
        candidates.setdefault(instruction.value, _Candidate(instruction.value)).pushes.append(instruction.offset)
    for literal in ast.literals if ast else ():
        reason = not_an_address(literal.value)
        if reason:
            ignored.append({"where": literal.location, "value": literal.text, "why": reason})
            continue
        candidates.setdefault(literal.value, _Candidate(literal.value)).literals.append(literal)
    for candidate in candidates.values():
        if not candidate.pushes:
            candidate.shorter = [i for i in walk.pushes() if i.value == candidate.value and len(i.immediate) < 20]

    findings: list[Finding] = []
    rows: list[dict[str, object]] = []
    allowed: list[str] = []
    for value in sorted(candidates):
        candidate = candidates[value]
        address = checksum(value)
        entry = allow_entry(address.lower(), contract, allow)
        rows.append(
            {
                "contract": name,
                "address": address,
                "bytecode": _bytecode_cell(candidate),
                "source": "; ".join(f"{lit.location} ({lit.kind})" for lit in candidate.literals) or "-",
                "status": f"allowed: {entry.reason}" if entry else "not allow-listed",
                "verdict": "pass" if entry else "fail",
            }
        )
        if entry:
            allowed.append(address.lower())
            continue
        findings.append(
            Finding(
                CHECK_ID,
                name,
                "error",
                (
                    f"{name}: hard-coded address {address} {_where(candidate)}; expected no address literal "
                    "outside [[addresses.allow]]. Next step: pass it to the constructor and keep it in an "
                    "immutable (or read it from configuration), or allow-list it: "
                    f'[[addresses.allow]] address = "{address}" with a reason'
                ),
            )
        )
    if ast is None:
        findings.append(
            Finding(
                CHECK_ID,
                name,
                "warning",
                (
                    f"{name}: address literals checked in bytecode only ({no_ast_reason or 'no AST'}): an address "
                    "with leading zero bytes, which the optimizer pushes with a shorter PUSH, cannot be seen. Next "
                    "step: keep the AST in the build output (Hardhat build-info has it; Foundry: ast = true)"
                ),
            )
        )
    errors = sum(f.is_error for f in findings)
    verdict: Verdict = "fail" if errors else ("warn" if findings else "pass")
    summary: dict[str, object] = {
        "contract": name,
        "code_bytes": walk.size,
        "instructions": len(walk.instructions),
        "push20": push20,
        "data_bytes": walk.unreachable_bytes,
        "metadata_bytes": metadata.size if metadata else 0,
        "ast": _ast_cell(ast, no_ast_reason),
        "literals": len(candidates),
        "not_allowed": errors,
        "verdict": verdict,
    }
    return AddressResult(
        contract=name,
        summary=summary,
        literals=tuple(rows),
        allowed=tuple(allowed),
        ignored=tuple(ignored),
        walk=_walk_facts(walk, metadata is not None),
        verdict=verdict,
        findings=tuple(findings),
    )


def _ast_cell(ast: AstScan | None, no_ast_reason: str | None) -> str:
    if ast is None:
        return f"no: {no_ast_reason or 'no AST'}"
    declarations, files = ast.declarations, len(ast.files)
    return f"{declarations} declaration{_s(declarations)} in {files} file{_s(files)}"


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _bytecode_cell(candidate: _Candidate) -> str:
    if candidate.pushes:
        return ", ".join(f"PUSH20 @0x{offset:x}" for offset in candidate.pushes)
    if candidate.shorter:
        return ", ".join(f"{i.name} @0x{i.offset:x}" for i in candidate.shorter)
    return "not pushed as a constant"


def _where(candidate: _Candidate) -> str:
    parts = []
    if candidate.pushes:
        parts.append(f"pushed by PUSH20 at {_offsets(candidate.pushes)}")
    if candidate.literals:
        written = ", ".join(
            lit.location if lit.text.lower() == checksum(candidate.value).lower() else f"{lit.location} as {lit.text}"
            for lit in candidate.literals
        )
        parts.append(f"written at {written}")
    if candidate.shorter:
        zeros = leading_zero_bytes(candidate.value)
        by_name: dict[str, list[int]] = {}
        for instruction in candidate.shorter:
            by_name.setdefault(instruction.name, []).append(instruction.offset)
        pushes = ", ".join(f"{op} at {_offsets(offsets)}" for op, offsets in by_name.items())
        parts.append(
            f"pushed by {pushes}: its {zeros} leading zero byte{'s' if zeros != 1 else ''} hide it from a PUSH20 scan"
        )
    return " and ".join(parts)


def _offsets(offsets: Sequence[int]) -> str:
    listed = ", ".join(f"0x{offset:x}" for offset in offsets)
    return f"runtime offset{'s' if len(offsets) > 1 else ''} {listed}"


def _walk_facts(walk: Disassembly, has_metadata: bool) -> dict[str, object]:
    facts: dict[str, object] = {
        "code_section_bytes": walk.size,
        "metadata_trailer": has_metadata,
        "unreachable_bytes": walk.unreachable_bytes,
    }
    if walk.truncated:
        t = walk.truncated
        facts["truncated_push"] = (
            f"{t.name} at 0x{t.offset:x} wants {t.wanted} bytes, {t.available} left: data, not an instruction"
        )
    return facts


def unused_allow_entries(allow: Sequence[AllowEntry], used: set[str]) -> list[Finding]:
    """Warnings for allow-list entries that covered no literal: stale exceptions hide nothing."""
    return [
        Finding(
            CHECK_ID,
            entry.value,
            "warning",
            (
                f"[[addresses.allow]] {entry.value} ({entry.reason}) matched no address literal in the project "
                "contracts. Next step: remove the stale entry so the allow-list says only what is true"
            ),
        )
        for entry in allow
        if entry.value.lower() not in used
    ]
