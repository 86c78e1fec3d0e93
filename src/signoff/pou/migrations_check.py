"""PU-MIG: the broker's migrations, as files and as the schema they produce.

Pure functions: the suite reads the directory and the database; this module decides. The
apply set is ``<dir>/NNN_name.sql`` (or ``NNNa_name.sql``, a migration slotted in after
``NNN``); each file's rollback is ``<dir>/rollback/`` + the same file name. The seed's
checklist applies 017-021 in numeric order and rolls back in reverse. A target may declare
each column as ``"<type>[ not null][ default <expr>]"`` (``[pou.schema.<table>]``); types and
defaults are normalised to PostgreSQL's own spelling before they are compared.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path

from signoff.findings import Finding

CHECK_ID = "PU-MIG"
REQUIRED_NUMBERS = tuple(range(17, 22))

# The seed's expected schemas (001, "Expected schemas"): table -> columns.
EXPECTED_TABLES: Mapping[str, tuple[str, ...]] = {
    "task_receipts": (
        "id", "intent_id", "negotiation_id", "agent_did", "client_did", "intent_type", "inputs_ref",
        "outputs_ref", "metrics", "payment_request_id", "amount_atomic", "status", "committee", "k", "m",
        "finalized_at", "created_at",
    ),
    "task_attestations": (
        "id", "task_id", "by_did", "type", "score", "confidence", "evidence_ref", "signature", "created_at",
    ),
    "agent_reputation": ("agent_id", "q", "t", "r", "s", "v", "i", "e", "updated_at"),
    "agent_stakes": ("agent_id", "amount_locked", "slashed_total", "locked_until", "created_at", "updated_at"),
}  # fmt: skip

_NAME = re.compile(r"(?P<number>\d+)(?P<suffix>[a-z]?)_(?P<name>[A-Za-z0-9_.-]+)\.sql")
_ROLLBACK_WORDS = re.compile(r"(^|[_.-])(down|rollback|revert|undo)([_.-]|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Migration:
    number: int
    path: Path
    sql: str
    rollback: Path | None = None
    rollback_sql: str | None = None
    suffix: str = ""  # "a" for 021a_name.sql: after 021, before 022
    name: str = ""  # its name in a layout where the file name is not (Prisma: the folder's)

    @property
    def label(self) -> str:
        return self.name or self.path.name

    @property
    def version(self) -> str:
        return f"{self.number:03d}{self.suffix}"


@dataclass
class Plan:
    """The apply order and everything wrong with the files themselves."""

    ordered: list[Migration] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # Files of the folder the set depends on ([pou] migrations_prerequisites), applied first, not judged.
    prerequisites: list[Migration] = field(default_factory=list)


def looks_like_rollback(name: str, sql: str) -> bool:
    """A rollback by its name (down/rollback/revert/undo) or its content (it only drops)."""
    if _ROLLBACK_WORDS.search(name.removesuffix(".sql")):
        return True
    statements = [s for s in _strip_comments(sql).split(";") if s.strip()]
    return bool(statements) and all(re.match(r"\s*(DROP\b|ALTER\s+TABLE\s+\S+\s+DROP\b)", s, re.I) for s in statements)


@dataclass(frozen=True)
class Rules:
    """What a migrations folder must satisfy beyond its naming and order: PU-MIG's seed demands
    017-021 without gaps, each with a rollback file; an application's folder (FL-MIG) is named
    ``NNN_name.sql`` or Prisma's ``<timestamp>_<name>/migration.sql`` and may roll back by a dump."""

    required: tuple[int, ...] = REQUIRED_NUMBERS
    gaps: bool = True  # numbers must follow each other (not for timestamps)
    rollback_required: bool = True
    check_id: str = CHECK_ID
    name_of: Callable[[Path], str] = lambda path: path.name  # the NNN_name.sql a path stands for


SEED_RULES = Rules()


def applied_range(ordered: Sequence[Migration]) -> str:
    """The versions a rehearsal applies, for messages: ``017-021`` (or the one version, or "no migration")."""
    if not ordered:
        return "no migration"
    first, last = ordered[0].version, ordered[-1].version
    return first if first == last else f"{first}-{last}"


def plan(files: Mapping[Path, str], rollbacks: Mapping[Path, str], where: str, rules: Rules = SEED_RULES) -> Plan:
    """Order ``files`` (path -> SQL) by number, then suffix; report duplicate versions, duplicate
    names under different numbers, rollbacks in the apply set, gaps, names whose text order differs
    from their numeric order, missing rollbacks (as ``rules`` asks)."""
    result = _plan(files, rollbacks, where, rules)
    if rules.check_id != CHECK_ID:
        result.findings = [replace(f, check=rules.check_id) for f in result.findings]
    return result


def _plan(files: Mapping[Path, str], rollbacks: Mapping[Path, str], where: str, rules: Rules) -> Plan:
    result = Plan()
    by_version: dict[tuple[int, str], list[Path]] = {}
    by_name: dict[str, list[str]] = {}
    for path in sorted(files):
        label = rules.name_of(path)
        match = _NAME.fullmatch(label)
        if match is None:
            result.findings.append(
                _error(
                    where,
                    f"{label} in {where} is not named NNN_description.sql, so its place in the apply order "
                    "is undefined. Next step: rename it, or move it out of the migrations directory",
                )
            )
            continue
        if looks_like_rollback(label, files[path]):
            result.findings.append(
                _error(
                    where,
                    f"{label} in {where} is a rollback (its name or its statements only drop), mixed into the "
                    "apply set: applying in order would undo the schema. Next step: move it to rollback/"
                    f"{label}",
                )
            )
            continue
        by_version.setdefault((int(match["number"]), match["suffix"]), []).append(path)
        by_name.setdefault(match["name"], []).append(label.removesuffix(".sql"))
    for name, labels in sorted(by_name.items()):
        if len(labels) > 1:
            result.findings.append(
                _error(
                    where,
                    f"the migration name {name!r} is used by {len(labels)} migrations in {where} "
                    f"({', '.join(labels)}): "
                    "whoever names a migration to resolve, roll back or review it (prisma migrate resolve, the "
                    "runbook's rollback plan) cannot tell them apart, and the second is often the first generated "
                    "again. Next step: fold them into one, or give the later one a name that says what it changes",
                )
            )
    for (number, suffix), paths in sorted(by_version.items()):
        if len(paths) > 1:
            names = ", ".join(p.name for p in paths)
            result.findings.append(
                _error(
                    where,
                    f"migration number {number:03d}{suffix} is used by {len(paths)} files ({names}) in {where}: "
                    "their order depends on how the files happen to be read. Next step: give each its own number",
                )
            )
    numbers = sorted({number for number, _ in by_version})
    for number in numbers:
        sharing = [p.name for (n, _), ps in sorted(by_version.items()) if n == number for p in ps]
        if len({suffix for n, suffix in by_version if n == number}) > 1:
            # Not wrong by itself: the order rehearsal finds out whether the order matters.
            result.findings.append(
                Finding(
                    CHECK_ID,
                    where,
                    "info",
                    f"{', '.join(sharing)} share the number {number:03d} for a runner that reads numbers as "
                    "integers; PU-MIG rehearses them in both orders",
                )
            )
    rollback_by_name = {rules.name_of(path): path for path in rollbacks}
    for previous, current in pairwise(numbers if rules.gaps else ()):
        if current != previous + 1:
            missing = ", ".join(f"{n:03d}" for n in range(previous + 1, current))
            result.findings.append(
                _error(
                    where,
                    f"gap in {where}: no migration {missing} between {previous:03d} and {current:03d}. Next step: "
                    "add it, or renumber the later migrations so the numbers follow each other",
                )
            )
    for number in rules.required:
        if number not in numbers:
            result.findings.append(
                _error(
                    where,
                    f"migration {number:03d} of the seed's 017-021 is missing from {where}. Next step: add it (the "
                    "deployment checklist applies all five)",
                )
            )
    versions = sorted(by_version)
    names_in_text_order = sorted(rules.name_of(p) for ps in by_version.values() for p in ps)
    names_in_number_order = [rules.name_of(p) for v in versions for p in sorted(by_version[v], key=rules.name_of)]
    if names_in_text_order != names_in_number_order:
        result.findings.append(
            _error(
                where,
                f"file names in {where} sort differently as text ({', '.join(names_in_text_order)}) than by number: "
                "a runner that sorts names applies them out of order. Next step: zero-pad every number to 3 digits",
            )
        )
    for number, suffix in versions:
        for path in sorted(by_version[(number, suffix)], key=rules.name_of):
            label = rules.name_of(path)
            rollback = rollback_by_name.pop(label, None)
            if rollback is None and rules.rollback_required:
                result.findings.append(
                    _error(
                        where,
                        f"{label} has no rollback file rollback/{label} in {where}. Next step: write one that undoes "
                        "it (the rollback plan runs them newest first)",
                    )
                )
            result.ordered.append(
                Migration(
                    number,
                    path,
                    files[path],
                    rollback,
                    rollbacks[rollback] if rollback else None,
                    suffix,
                    "" if label == path.name else label.removesuffix(".sql"),
                )
            )
    for name in sorted(rollback_by_name):
        if not any(name == rules.name_of(p) for p in files):
            result.findings.append(
                _error(
                    where,
                    f"rollback/{name} in {where} rolls back no migration. Next step: name it after the migration it "
                    "undoes, or remove it",
                )
            )
    return result


# -- declared columns ---------------------------------------------------------------------------

DECLARATION_FORM = "<type>[ not null][ default <expr>]"
_NOT_TYPES = {
    "primary": "a primary key",
    "key": "a primary key",
    "unique": "a unique constraint",
    "references": "a foreign key",
    "check": "a check constraint",
    "constraint": "a constraint",
    "generated": "a generated column",
    "collate": "a collation",
}
_SERIALS = {"serial": "integer", "serial4": "integer", "bigserial": "bigint", "serial8": "bigint"}
_SERIALS |= {"smallserial": "smallint", "serial2": "smallint"}
_TYPE_WORD = re.compile(r"(?=.)([a-z_][a-z0-9_]*)?(\([0-9, ]*\))?(\[[0-9]*\])*")
_TYPE = re.compile(r"(?P<name>[a-z_][a-z0-9_ ]*?)(?:\((?P<mod>[0-9]+(?:,[0-9]+)?)\))?(?P<tz> with(?:out)? time zone)?")
_ALIASES = {
    "int": "integer",
    "int4": "integer",
    "int2": "smallint",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "bool": "boolean",
    "varchar": "character varying",
    "char": "character",
    "bpchar": "character",
    "decimal": "numeric",
}
_MULTIWORD_TYPES = {"double precision", "character varying", "bit varying"}
# Functions PostgreSQL keeps as written but that mean the same thing.
_SAME_DEFAULTS = {"current_timestamp": "now()", "transaction_timestamp()": "now()"}


@dataclass(frozen=True)
class ColumnSpec:
    """One declared column: its type in PostgreSQL's spelling, nullability and default as written."""

    type: str
    nullable: bool
    default: str | None

    def describe(self) -> str:
        text = self.type + ("" if self.nullable else " not null")
        return text + (f" default {self.default}" if self.default is not None else "")


def parse_column(spec: str) -> ColumnSpec:
    """``"numeric(78, 0) not null default 0"`` -> :class:`ColumnSpec`; ``ValueError`` says what is wrong."""
    words = _words(spec)
    if not words:
        raise ValueError(f"is empty; write it as {DECLARATION_FORM}")
    lowered = [word.lower() for word, _ in words]
    end = next((i for i, word in enumerate(lowered) if word in ("not", "null", "default")), len(words))
    type_words = lowered[:end]
    if not type_words:
        raise ValueError(f"starts with {words[0][0]!r}, not a type; write it as {DECLARATION_FORM}")
    for word in type_words:
        bare = word.split("(")[0].split("[")[0]
        if bare in _NOT_TYPES:
            raise ValueError(
                f"declares {_NOT_TYPES[bare]} ({word!r}): only the type, not null and the default are compared; "
                f"write it as {DECLARATION_FORM}"
            )
        if bare in _SERIALS:
            raise ValueError(
                f"uses {bare}, which is not a type but {_SERIALS[bare]} with a sequence default; declare "
                f"\"{_SERIALS[bare]} not null default nextval('<table>_<column>_seq'::regclass)\""
            )
        if not _TYPE_WORD.fullmatch(word):
            raise ValueError(f"has {word!r} where a type name is expected; write it as {DECLARATION_FORM}")
    column_type = normalise_type(" ".join(type_words))
    name = re.sub(r"\(.*?\)|\[\]| with(out)? time zone", "", column_type)
    if " " in name and name not in _MULTIWORD_TYPES and not name.startswith("interval "):
        raise ValueError(
            f"has {' '.join(type_words[1:])!r} after the type {type_words[0]!r}; write it as {DECLARATION_FORM}"
        )
    nullable, said_null, default = True, False, None
    index = end
    while index < len(words):
        word = lowered[index]
        if (word == "not" and lowered[index + 1 : index + 2] == ["null"]) or word == "null":
            if said_null:
                raise ValueError("says null or not null twice")
            nullable, said_null = word == "null", True
            index += 1 if word == "null" else 2
        elif word == "default":
            if index + 1 >= len(words):
                raise ValueError("ends with default but no expression")
            default = spec[words[index + 1][1] :].strip()
            tail = [w.lower() for w, _ in _words(default)]
            if len(tail) > 1 and tail[-1] == "null":
                raise ValueError(f"has null or not null after the default, which comes last: {DECLARATION_FORM}")
            if default.lower() == "null":
                default = None  # PostgreSQL stores no default for DEFAULT NULL
            break
        elif word == "not":
            raise ValueError(f"has 'not' without 'null' after it; write it as {DECLARATION_FORM}")
        else:
            raise ValueError(f"has {words[index][0]!r} after the type; write it as {DECLARATION_FORM}")
    return ColumnSpec(column_type, nullable, default)


def declared_schema(raw: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, ColumnSpec]]:
    """``[pou.schema]`` as validated by the target loader: table -> column -> parsed declaration."""
    return {table: {name: parse_column(spec) for name, spec in columns.items()} for table, columns in raw.items()}


def normalise_type(text: str) -> str:
    """A type as PostgreSQL's ``format_type`` spells it: ``varchar(20)`` -> ``character varying(20)``,
    ``timestamptz`` -> ``timestamp with time zone``, ``int4`` -> ``integer``, ``numeric(78, 0)`` ->
    ``numeric(78,0)``. Unknown names (enums, domains) are only lower-cased."""
    spelled = re.sub(r"\s+", " ", text.strip().lower())
    spelled = re.sub(r"\s*([(),\[\]])\s*", r"\1", spelled)
    spelled = re.sub(r"\)(with)", r") \1", spelled)
    array = ""
    while spelled.endswith("]") and "[" in spelled:
        spelled, array = spelled[: spelled.rindex("[")].rstrip(), "[]"  # PostgreSQL ignores dimensions
    if spelled.endswith(" array"):
        spelled, array = spelled.removesuffix(" array"), "[]"
    if re.fullmatch(r"_[a-z][a-z0-9_]*", spelled):
        spelled, array = spelled[1:], "[]"  # the catalogue's name of an array type: _text is text[]
    match = _TYPE.fullmatch(spelled)
    if match is None:
        return spelled + array
    name, mod, tz = match["name"].strip(), match["mod"], (match["tz"] or "").strip()
    name = _ALIASES.get(name, name)
    if name in ("timestamptz", "timetz"):
        name, tz = name[:-2], "with time zone"
    if name == "float":
        name, mod = ("real" if mod is not None and int(mod) <= 24 else "double precision"), None
    if name == "character" and mod is None:
        mod = "1"
    if name == "numeric" and mod is not None and "," not in mod:
        mod += ",0"
    if name in ("timestamp", "time"):
        tz = tz or "without time zone"
    spelled = name + (f"({mod})" if mod is not None else "") + (f" {tz}" if tz else "")
    return spelled + array


def normalise_default(expr: str | None, column_type: str) -> str | None:
    """A default as a comparable string: ``'pending'::text`` and ``'pending'`` on a text column
    are the same, ``'0.5'::double precision`` is ``0.5``, ``CURRENT_TIMESTAMP`` is ``now()``."""
    if expr is None:
        return None
    text = _outside_quotes(expr.strip(), lambda s: re.sub(r"\s+", " ", s.lower()))
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    base = _base_type(normalise_type(column_type))
    own_types = {base, base.removesuffix("[]")}

    def drop_cast(match: re.Match[str]) -> str:
        # A cast to the column's own type is what PostgreSQL adds to a literal; keep any other.
        literal, cast = match["literal"], _base_type(normalise_type(match["cast"]))
        numeric_cast = cast in _NUMERIC_TYPES and _number(literal[1:-1]) is not None
        return literal if cast in own_types or numeric_cast else match[0]

    text = _CAST.sub(drop_cast, text)
    if base in _NUMERIC_TYPES:
        number = _number(text[1:-1] if text.startswith("'") and text.endswith("'") else text)
        return number if number is not None else text
    if _number(text) is not None:
        return f"'{text}'"  # a bare number on a text column is stored as the string it spells
    return _SAME_DEFAULTS.get(text, text)


_NUMERIC_TYPES = {"smallint", "integer", "bigint", "numeric", "real", "double precision"}
_CAST = re.compile(
    r"(?P<literal>'(?:[^']|'')*')::(?P<cast>(?:double precision|character varying|"
    r"(?:timestamp|time)(?:\(\d+\))? with(?:out)? time zone|[a-z_][a-z0-9_]*)(?:\(\d+(?:,\d+)?\))?(?:\[\])*)"
)


@dataclass(frozen=True)
class Column:
    table: str
    name: str
    type: str
    nullable: bool
    default: str | None


@dataclass(frozen=True)
class Schema:
    """What a database holds in its ``public`` schema."""

    columns: tuple[Column, ...]
    indexes: Mapping[str, str]  # index name -> definition
    objects: frozenset[str]  # every relation, type, function and constraint, as "kind name"
    constraints: Mapping[str, str] = field(default_factory=dict)  # "table.name" -> definition

    def tables(self) -> dict[str, dict[str, Column]]:
        tables: dict[str, dict[str, Column]] = {}
        for column in self.columns:
            tables.setdefault(column.table, {})[column.name] = column
        return tables


def column_differences(declared: ColumnSpec, actual: Column) -> list[str]:
    """How ``actual`` differs from its declaration: type, nullability, default (empty: it matches)."""
    differences = []
    actual_type = normalise_type(actual.type)
    if declared.type != actual_type:
        differences.append(f"type declared {declared.type}, actual {actual.type}")
    if declared.nullable != actual.nullable:
        differences.append(
            f"declared {'nullable' if declared.nullable else 'not null'}, "
            f"actual {'nullable' if actual.nullable else 'not null'}"
        )
    if normalise_default(declared.default, declared.type) != normalise_default(actual.default, actual_type):
        differences.append(
            f"default declared {declared.default if declared.default is not None else '(none)'}, "
            f"actual {actual.default if actual.default is not None else '(none)'}"
        )
    return differences


def compare_schema(
    schema: Schema,
    expected_indexes: Sequence[str],
    where: str,
    declared: Mapping[str, Mapping[str, ColumnSpec]] | None = None,
    *,
    seed: bool = True,
) -> tuple[list[dict[str, object]], list[Finding]]:
    """Rows of the schema table and the findings: every expected table (the seed's, unless ``seed`` is
    false, and the declared ones), column and index exists, and every declared column has its declared
    type, nullability and default."""
    declared = declared or {}
    rows: list[dict[str, object]] = []
    findings: list[Finding] = []
    tables = schema.tables()
    expected = EXPECTED_TABLES if seed else {}
    for table in [*expected, *(t for t in declared if t not in expected)]:
        actual = tables.get(table)
        if actual is None:
            findings.append(_error(table, f"table {table} does not exist after applying {where}"))
            rows.append({"table": table, "column": "(table)", "verdict": "fail", "note": "missing table"})
            continue
        table_rows, table_findings = _compare_table(table, actual, declared.get(table), where, seed=seed)
        rows.extend(table_rows)
        findings.extend(table_findings)
    for index in expected_indexes:
        present = index in schema.indexes
        rows.append(
            {
                "table": "(index)",
                "column": index,
                "type": schema.indexes.get(index, ""),
                "verdict": "pass" if present else "fail",
            }
        )
        if not present:
            findings.append(_error(index, f"index {index} does not exist after applying {where}"))
    return rows, findings


def _compare_table(
    table: str, actual: Mapping[str, Column], declared: Mapping[str, ColumnSpec] | None, where: str, *, seed: bool
) -> tuple[list[dict[str, object]], list[Finding]]:
    """One existing table: the seed's columns and the declared ones, then the undeclared rest."""
    seed_columns = EXPECTED_TABLES.get(table, ()) if seed else ()
    extra = [c for c in declared or {} if c not in seed_columns]
    rows: list[dict[str, object]] = []
    findings: list[Finding] = []
    for name in [*seed_columns, *extra]:
        column = actual.get(name)
        if column is None:
            rows.append({"table": table, "column": name, "verdict": "fail", "note": "missing"})
            continue
        row = _column_row(column, "type not declared ([pou.schema] names only)")
        spec = (declared or {}).get(name)
        if spec is not None:
            differences = column_differences(spec, column)
            row["note"] = f"declared: {spec.describe()}"
            if differences:
                row["verdict"] = "fail"
                findings.append(
                    _error(
                        f"{table}.{name}",
                        f"{table}.{name} after applying {where}: {'; '.join(differences)} "
                        f"([pou.schema.{table}] {name} = {spec.describe()!r}). Next step: correct the "
                        "migration, or the declaration if the migration is right",
                    )
                )
        rows.append(row)
    if declared is not None:
        rows.extend(
            _column_row(actual[name], f"not declared in [pou.schema.{table}]")
            for name in sorted(set(actual) - {*seed_columns, *extra})
        )
    for source, names in (("the seed's expected schema", seed_columns), (f"[pou.schema.{table}]", extra)):
        missing = [c for c in names if c not in actual]
        if missing:
            findings.append(
                _error(
                    table,
                    f"table {table} lacks column(s) {', '.join(missing)} of {source} "
                    f"after applying {where}; it has {', '.join(sorted(actual))}",
                )
            )
    return rows, findings


def _column_row(column: Column, note: str) -> dict[str, object]:
    return {
        "table": column.table,
        "column": column.name,
        "type": column.type,
        "nullable": column.nullable,
        "default": column.default or "",
        "verdict": "pass",
        "note": note,
    }


def leftovers(before: Schema, after: Schema, where: str) -> list[Finding]:
    """Anything the rollback left behind (or removed) compared with the schema before 017."""
    left = sorted(after.objects - before.objects)
    lost = sorted(before.objects - after.objects)
    findings = []
    if left:
        findings.append(
            _error(
                where,
                f"after the rollback files of {where} ran in reverse order, {len(left)} object(s) are left: "
                f"{', '.join(left[:20])}. Next step: make the rollback drop what its migration created",
            )
        )
    if lost:
        findings.append(
            _error(where, f"the rollback of {where} removed object(s) that existed before them: {', '.join(lost[:20])}")
        )
    return findings


# -- order dependence ---------------------------------------------------------------------------


def other_read_orders(ordered: Sequence[Migration]) -> list[tuple[str, list[Migration]]]:
    """Orders in which a runner could plausibly read the same files, other than ``ordered``:
    numbers read as integers with files of one number in the opposite order (a directory
    listing decides ties), and names sorted as text. Empty when the names fix one order."""
    candidates = [
        (
            "a runner that reads the numbers as integers and lists files of one number the other way round",
            sorted(reversed(ordered), key=lambda m: m.number),
        ),
        ("a runner that sorts the file names as text", sorted(ordered, key=lambda m: m.path.name)),
    ]
    seen = [[m.label for m in ordered]]
    alternatives = []
    for description, order in candidates:
        labels = [m.label for m in order]
        if labels not in seen:
            seen.append(labels)
            alternatives.append((description, order))
    return alternatives


def schema_differences(first: Schema, second: Schema) -> list[str]:
    """What differs between two schemas (tables, columns with type/nullability/default, indexes,
    constraints, other objects), each as ``"<what>: <first> vs <second>"``; column position is ignored."""
    differences: list[str] = []
    a_columns = {(c.table, c.name): c for c in first.columns}
    b_columns = {(c.table, c.name): c for c in second.columns}
    a_tables, b_tables = {t for t, _ in a_columns}, {t for t, _ in b_columns}
    for table in sorted(a_tables ^ b_tables):
        differences.append(f"table {table}: {_presence(table in a_tables)} vs {_presence(table in b_tables)}")
    for key in sorted(set(a_columns) | set(b_columns)):
        table, name = key
        a, b = a_columns.get(key), b_columns.get(key)
        if table not in a_tables & b_tables:
            continue  # the whole table differs, said above
        if a is None or b is None:
            differences.append(f"column {table}.{name}: {_presence(a is not None)} vs {_presence(b is not None)}")
            continue
        if normalise_type(a.type) != normalise_type(b.type):
            differences.append(f"{table}.{name} type: {a.type} vs {b.type}")
        if a.nullable != b.nullable:
            differences.append(f"{table}.{name} nullable: {a.nullable} vs {b.nullable}")
        if normalise_default(a.default, a.type) != normalise_default(b.default, b.type):
            differences.append(f"{table}.{name} default: {a.default or '(none)'} vs {b.default or '(none)'}")
    for kind, a_map, b_map in (
        ("index", first.indexes, second.indexes),
        ("constraint", first.constraints, second.constraints),
    ):
        for name in sorted(set(a_map) | set(b_map)):
            if a_map.get(name) != b_map.get(name):
                differences.append(f"{kind} {name}: {a_map.get(name, '(absent)')} vs {b_map.get(name, '(absent)')}")
    covered = ("column ", "index ", "constraint ", "table ")
    for thing in sorted(first.objects ^ second.objects):
        if not thing.startswith(covered):
            differences.append(f"{thing}: {_presence(thing in first.objects)} vs {_presence(thing in second.objects)}")
    return differences


def order_findings(
    ordered: Sequence[Migration],
    description: str,
    other: Sequence[Migration],
    *,
    differences: Sequence[str] | None,
    failure: str | None,
    where: str,
) -> list[Finding]:
    """The verdict on one other read order: its schema equals the numbered order's, or not
    (``differences``), or it does not apply at all (``failure``)."""
    moved = _moved(ordered, other)
    heading = (
        f"the schema depends on the order the migration files are read: {where} applied in the numbered "
        f"order ({', '.join(moved[0])}) and in the order of {description} ({', '.join(moved[1])})"
    )
    advice = (
        "Next step: give each of these migrations its own integer number, in the order they must run, "
        "so every runner applies them in one order"
    )
    if failure is not None:
        return [_error(where, f"{heading}: the second order does not apply ({failure}). {advice}")]
    if differences:
        shown = "; ".join(differences[:12]) + (f"; and {len(differences) - 12} more" if len(differences) > 12 else "")
        return [_error(where, f"{heading} give different schemas: {shown}. {advice}")]
    return []


def _moved(first: Sequence[Migration], second: Sequence[Migration]) -> tuple[list[str], list[str]]:
    """The stretch of both orders between the first and the last position where they differ."""
    positions = [i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a.label != b.label]
    if not positions:
        return [], []
    start, stop = positions[0], positions[-1] + 1
    return [m.label for m in first[start:stop]], [m.label for m in second[start:stop]]


# -- text helpers -------------------------------------------------------------------------------


def _words(text: str) -> list[tuple[str, int]]:
    """Top-level words of ``text`` with their offsets; quotes and parentheses stay inside a word."""
    words: list[tuple[str, int]] = []
    depth, quoted, start = 0, False, -1
    for index, char in enumerate(text):
        if quoted:
            quoted = char != "'"  # a doubled '' closes and reopens: still one word
            continue
        if char.isspace() and depth == 0:
            if start >= 0:
                words.append((text[start:index], start))
                start = -1
            continue
        if start < 0:
            start = index
        if char == "'":
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("has a ')' without its '('")
    if quoted:
        raise ValueError("has an unterminated quote")
    if depth:
        raise ValueError("has a '(' without its ')'")
    if start >= 0:
        words.append((text[start:], start))
    return words


def _outside_quotes(text: str, change: Callable[[str], str]) -> str:
    """Apply ``change`` to the parts of ``text`` outside single-quoted literals."""
    parts = re.split(r"('(?:[^']|'')*')", text)
    return "".join(part if i % 2 else change(part) for i, part in enumerate(parts))


def _presence(present: bool) -> str:
    return "present" if present else "absent"


def _balanced(text: str) -> bool:
    depth = 0
    for char in _outside_quotes(text, lambda s: s):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _base_type(spelled: str) -> str:
    """A normalised type without its modifier: ``character varying(20)`` -> ``character varying``."""
    return re.sub(r"\(\d+(?:,\d+)?\)", "", spelled)


def _number(text: str) -> str | None:
    """``text`` as a canonical number (``1.50`` and ``1.5`` alike), or None if it is not one."""
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?", text.strip(), re.IGNORECASE):
        return None
    try:
        value = Decimal(text.strip()).normalize()
    except InvalidOperation:
        return None
    return format(value, "f")


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def _error(subject: str, message: str) -> Finding:
    return Finding(CHECK_ID, subject, "error", message)
