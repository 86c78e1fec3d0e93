"""PU-MIG beyond column names: declared types, nullability and defaults ([pou.schema.<table>]),
and migration sets whose schema depends on the order the files are read.

Pure checks first (declaration parser, PostgreSQL spelling normalisation, schema comparison,
other read orders), then the target loader, then the real suite (``-m migrations``) on the
reference and on the two defective fixtures, over the throwaway PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from signoff.pou import migrations_check as pou_migrations
from signoff.pou.migrations_check import Column, ColumnSpec, Migration, Schema, parse_column
from tests.conftest import FIXTURES, REFERENCE, SuiteRun

DEFECTIVE = FIXTURES / "defective"

# -- the declaration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("uuid not null default gen_random_uuid()", ColumnSpec("uuid", False, "gen_random_uuid()")),
        ("text not null default 'pending'", ColumnSpec("text", False, "'pending'")),
        ("NUMERIC(78, 0) NOT NULL DEFAULT 0", ColumnSpec("numeric(78,0)", False, "0")),
        ("timestamptz", ColumnSpec("timestamp with time zone", True, None)),
        ("text[] not null default '{}'", ColumnSpec("text[]", False, "'{}'")),
        ("varchar(20) null default 'a  b'", ColumnSpec("character varying(20)", True, "'a  b'")),
        ("double precision default null", ColumnSpec("double precision", True, None)),
        ("int4 default (1 + 2)", ColumnSpec("integer", True, "(1 + 2)")),
    ],
)
def test_declaration_parses(spec: str, expected: ColumnSpec) -> None:
    assert parse_column(spec) == expected


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("", "is empty"),
        ("not null", "not a type"),
        ("uuid primary key", "declares a primary key"),
        ("text references agents(did)", "declares a foreign key"),
        ("serial not null", "not a type but integer with a sequence default"),
        ("text not null not null", "twice"),
        ("integer default", "no expression"),
        ("integer default 3 not null", "after the default, which comes last"),
        ("text not nul", "'not' without 'null'"),
        ("text default 'x", "unterminated quote"),
        ("numeric(78, 0", "'(' without its ')'"),
        ("inte-ger", "where a type name is expected"),
        ("text nullable", "has 'nullable' after the type 'text'"),
        ("uuid pk", "has 'pk' after the type 'uuid'"),
    ],
)
def test_declaration_errors_say_what_is_wrong(spec: str, fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_column(spec)
    assert fragment in str(caught.value), str(caught.value)


@pytest.mark.parametrize(
    ("written", "postgres"),  # right: what format_type answers (PostgreSQL 16)
    [
        ("int", "integer"),
        ("int4", "integer"),
        ("int8", "bigint"),
        ("varchar(20)", "character varying(20)"),
        ("character varying ( 20 )", "character varying(20)"),
        ("varchar", "character varying"),
        ("char", "character(1)"),
        ("timestamptz", "timestamp with time zone"),
        ("timestamp", "timestamp without time zone"),
        ("timestamptz(3)", "timestamp(3) with time zone"),
        ("timetz", "time with time zone"),
        ("decimal(10)", "numeric(10,0)"),
        ("numeric(78, 0)", "numeric(78,0)"),
        ("float", "double precision"),
        ("float(10)", "real"),
        ("float8", "double precision"),
        ("bool", "boolean"),
        ("text[]", "text[]"),
        ("int[][]", "integer[]"),
        ("integer array", "integer[]"),
        ("_text", "text[]"),
        ("mood", "mood"),
    ],
)
def test_types_normalise_to_postgres_spelling(written: str, postgres: str) -> None:
    assert pou_migrations.normalise_type(written) == postgres
    assert pou_migrations.normalise_type(postgres) == postgres  # idempotent on the catalogue's side


@pytest.mark.parametrize(
    ("declared", "actual", "column_type"),  # actual: what pg_get_expr answers
    [
        ("'pending'", "'pending'::text", "text"),
        ("'{}'", "'{}'::text[]", "text[]"),
        ("'{}'::jsonb", "'{}'::jsonb", "jsonb"),
        ("-1", "'-1'::integer", "integer"),
        ("0.5", "'0.5'::double precision", "double precision"),
        ("1e3", "'1000'::numeric", "real"),
        ("1.5", "1.50", "numeric(10,2)"),
        ("'x'", "'x'::character varying", "character varying(20)"),
        ("current_timestamp", "now()", "timestamp with time zone"),
        ("now()", "CURRENT_TIMESTAMP", "timestamp with time zone"),
        ("'a' || 'b'", "('a'::text || 'b'::text)", "text"),
        ("0", "'0'::text", "text"),
        ("'3'", "3", "integer"),
    ],
)
def test_defaults_normalise_alike(declared: str, actual: str, column_type: str) -> None:
    assert pou_migrations.normalise_default(declared, column_type) == pou_migrations.normalise_default(
        actual, column_type
    )


@pytest.mark.parametrize(
    ("declared", "actual", "column_type"),
    [
        ("'pending'", "'Pending'::text", "text"),
        ("'0'", "'00'::text", "text"),
        ("3", "5", "integer"),
        ("'{}'", "'{}'::jsonb", "text"),
    ],
)
def test_different_defaults_stay_different(declared: str, actual: str, column_type: str) -> None:
    assert pou_migrations.normalise_default(declared, column_type) != pou_migrations.normalise_default(
        actual, column_type
    )


# -- the comparison -------------------------------------------------------------------------------


def _schema(*columns: Column, indexes: dict[str, str] | None = None) -> Schema:
    objects = frozenset({f"table {c.table}" for c in columns} | {f"column {c.table}.{c.name}" for c in columns})
    return Schema(tuple(columns), indexes or {}, objects)


def _seed_schema(**override: Column) -> Schema:
    """Every seed column, text and nullable, with ``override`` (by "table.column") replacing some."""
    columns = [
        override.get(f"{table}__{name}", Column(table, name, "text", True, None))
        for table, names in pou_migrations.EXPECTED_TABLES.items()
        for name in names
    ]
    return _schema(*columns)


def test_declared_column_differences_are_findings_naming_table_column() -> None:
    schema = _seed_schema(
        task_receipts__amount_atomic=Column("task_receipts", "amount_atomic", "bigint", False, "0"),
        task_receipts__status=Column("task_receipts", "status", "text", True, "'open'::text"),
        task_receipts__k=Column("task_receipts", "k", "integer", False, "3"),
    )
    declared = {
        "task_receipts": {
            "amount_atomic": parse_column("numeric(78, 0) not null default 0"),
            "status": parse_column("text not null default 'pending'"),
            "k": parse_column("int4 not null default 3"),
        }
    }
    rows, findings = pou_migrations.compare_schema(schema, [], "017-021", declared)
    messages = sorted(f.message for f in findings)
    assert [f.subject for f in sorted(findings, key=lambda f: f.message)] == [
        "task_receipts.amount_atomic",
        "task_receipts.status",
    ]
    assert "type declared numeric(78,0), actual bigint" in messages[0]
    assert "declared not null, actual nullable" in messages[1]
    assert "default declared 'pending', actual 'open'::text" in messages[1]
    by_column = {(r["table"], r["column"]): r for r in rows}
    assert by_column[("task_receipts", "k")]["verdict"] == "pass"
    assert by_column[("task_receipts", "amount_atomic")]["verdict"] == "fail"
    assert by_column[("task_receipts", "intent_id")]["note"] == "type not declared ([pou.schema] names only)"


def test_declared_columns_beyond_the_seed_must_exist() -> None:
    declared = {
        "task_receipts": {"notes": parse_column("text")},
        "agents": {"did": parse_column("text not null")},
    }
    _, findings = pou_migrations.compare_schema(_seed_schema(), [], "017-021", declared)
    messages = [f.message for f in findings]
    assert any("lacks column(s) notes of [pou.schema.task_receipts]" in m for m in messages), messages
    assert any("table agents does not exist" in m for m in messages), messages


def test_without_declaration_only_names_are_checked() -> None:
    rows, findings = pou_migrations.compare_schema(_seed_schema(), [], "017-021")
    assert findings == []
    assert {r["note"] for r in rows} == {"type not declared ([pou.schema] names only)"}


def test_schema_differences_name_what_differs_and_ignore_column_position() -> None:
    first = _schema(
        Column("s", "a", "numeric(78,0)", False, "0"),
        Column("s", "b", "text", True, None),
        indexes={"i": "CREATE INDEX i ON public.s USING btree (a)"},
    )
    same_reordered = _schema(
        Column("s", "b", "text", True, None),
        Column("s", "a", "numeric(78,0)", False, "0"),
        indexes={"i": "CREATE INDEX i ON public.s USING btree (a)"},
    )
    other = _schema(Column("s", "a", "bigint", False, "0"), indexes={"i": "CREATE INDEX i ON public.s USING btree (b)"})
    assert pou_migrations.schema_differences(first, same_reordered) == []
    assert pou_migrations.schema_differences(first, other) == [
        "s.a type: numeric(78,0) vs bigint",
        "column s.b: present vs absent",
        "index i: CREATE INDEX i ON public.s USING btree (a) vs CREATE INDEX i ON public.s USING btree (b)",
    ]


# -- read orders ----------------------------------------------------------------------------------


def _plan(*names: str) -> pou_migrations.Plan:
    files = {Path(n): "CREATE TABLE x (a int);" for n in names}
    rollbacks = {Path(f"rollback/{n}"): "DROP TABLE x;" for n in names}
    return pou_migrations.plan(files, rollbacks, "m")


SEED = ("017_a.sql", "018_b.sql", "019_c.sql", "020_d.sql", "021_e.sql")


def test_distinct_numbers_in_text_order_have_no_other_read_order() -> None:
    assert pou_migrations.other_read_orders(_plan(*SEED).ordered) == []


def test_a_lettered_migration_is_ordered_after_its_number_and_rehearsed_both_ways() -> None:
    plan = _plan(*SEED, "021a_f.sql")
    assert [f for f in plan.findings if f.is_error] == []
    assert [f.severity for f in plan.findings] == ["info"]
    assert "021_e.sql, 021a_f.sql share the number 021" in plan.findings[0].message
    assert [m.label for m in plan.ordered][-2:] == ["021_e.sql", "021a_f.sql"]
    others = pou_migrations.other_read_orders(plan.ordered)
    assert len(others) == 1
    assert [m.label for m in others[0][1]][-2:] == ["021a_f.sql", "021_e.sql"]


def test_duplicate_numbers_and_text_order_give_other_read_orders() -> None:
    duplicate = _plan(*SEED, "020_z.sql")
    assert any("migration number 020 is used by 2 files" in f.message for f in duplicate.findings)
    assert [m.label for m in pou_migrations.other_read_orders(duplicate.ordered)[0][1]][3:5] == [
        "020_z.sql",
        "020_d.sql",
    ]
    unpadded = pou_migrations.other_read_orders(_plan(*SEED, "9_z.sql").ordered)
    assert [description for description, _ in unpadded] == ["a runner that sorts the file names as text"]


def test_order_finding_names_the_files_and_the_differences() -> None:
    first = [Migration(21, Path("021_e.sql"), ""), Migration(21, Path("021a_f.sql"), "", suffix="a")]
    second = list(reversed(first))
    [finding] = pou_migrations.order_findings(
        first, "a reader", second, differences=["s.a type: numeric(78,0) vs bigint"], failure=None, where="017-021"
    )
    assert finding.message.startswith(
        "the schema depends on the order the migration files are read: 017-021 applied in the numbered order "
        "(021_e.sql, 021a_f.sql) and in the order of a reader (021a_f.sql, 021_e.sql) give different schemas: "
        "s.a type: numeric(78,0) vs bigint. Next step:"
    )
    [failed] = pou_migrations.order_findings(
        first, "a reader", second, differences=None, failure="021a_f.sql failed: boom", where="017-021"
    )
    assert "the second order does not apply (021a_f.sql failed: boom)" in failed.message
    assert pou_migrations.order_findings(first, "a reader", second, differences=[], failure=None, where="x") == []


# -- [pou.schema] in the target file --------------------------------------------------------------


def _target(tmp_path: Path, schema: str) -> Path:
    path = tmp_path / "signoff.toml"
    artifacts = FIXTURES / "reference" / "artifacts"
    path.write_text(f'[target]\nname = "t"\nartifacts = "{artifacts}"\n\n[pou]\nk = 3\n\n{schema}\n')
    return path


def test_reference_declares_the_whole_seed_schema() -> None:
    from signoff.target import load_target

    declared = pou_migrations.declared_schema(load_target(REFERENCE).pou().schema)
    assert {t: tuple(c) for t, c in declared.items()} == dict(pou_migrations.EXPECTED_TABLES)  # the file's order
    assert declared["task_receipts"]["amount_atomic"] == ColumnSpec("numeric(78,0)", False, "0")


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        (
            '[pou.schema.task_receipts]\nk = "integr not nul"',
            "[pou.schema.task_receipts] k = 'integr not nul' has 'not' without 'null' after it",
        ),
        ("[pou.schema.task_receipts]\nk = 3", "[pou.schema.task_receipts] k must be a string"),
        ('[pou.schema.task_receipts]\nK = "integer"', "K is not a lower-case SQL identifier"),
        ('[pou.schema.Task_Receipts]\nk = "integer"', "names table 'Task_Receipts', not a lower-case"),
        ("[pou.schema.task_receipts]", "[pou.schema.task_receipts] declares no column"),
        ('[pou.schema.task_receipts]\nid = "uuid primary key"', "declares a primary key"),
        ('[pou]\nschema = "x"', "must be a table"),
    ],
)
def test_bad_declarations_are_config_errors(tmp_path: Path, schema: str, fragment: str) -> None:
    from signoff.errors import ConfigError
    from signoff.target import load_target

    if schema.startswith("[pou]\n"):  # a [pou] key, not a sub-table
        path = tmp_path / "signoff.toml"
        artifacts = FIXTURES / "reference" / "artifacts"
        path.write_text(f'[target]\nname = "t"\nartifacts = "{artifacts}"\n\n{schema}\n')
    else:
        path = _target(tmp_path, schema)
    with pytest.raises(ConfigError) as caught:
        load_target(path)
    message = str(caught.value)
    assert fragment in message, message
    assert str(path) in message
    assert "Next step" in message or "must be a table" in message


# -- the suite --------------------------------------------------------------------------------------


def test_reference_passes_with_types_checked(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "migrations")
    assert run.result.ret == 0, run.output
    evidence = run.evidence()
    rows = evidence["tables"]["PU-MIG"]["rows"]
    amount = next(r for r in rows if (r["table"], r["column"]) == ("task_receipts", "amount_atomic"))
    assert amount["type"] == "numeric(78,0)" and amount["note"] == "declared: numeric(78,0) not null default 0"
    checks = {c["nodeid"].split("::")[1]: c for c in evidence["checks"]}
    assert checks["test_pu_mig_order_independent"]["outcome"] == "passed"
    assert "no other order to rehearse" in checks["test_pu_mig_order_independent"]["data"]["order_rehearsal"]
    assert checks["test_pu_mig_rehearsal"]["data"]["schema_declaration"]["types_not_declared"] == []


def test_wrong_column_type_fails_the_rehearsal_only(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "migrations", target=DEFECTIVE / "pou-migration-wrong-column-type" / "signoff.toml")
    record = run.assert_fails_only(
        "test_pu_mig_rehearsal",
        "task_receipts.amount_atomic after applying 017-021: type declared numeric(78,0), actual bigint",
    )
    assert [f["subject"] for f in record["findings"]] == ["task_receipts.amount_atomic"]


def test_order_dependent_migrations_fail_the_order_check_only(run_suite) -> None:
    run: SuiteRun = run_suite("-m", "migrations", target=DEFECTIVE / "pou-migration-order-dependent" / "signoff.toml")
    record = run.assert_fails_only(
        "test_pu_mig_order_independent",
        "the schema depends on the order the migration files are read: 017-021a applied in the numbered order "
        "(021_add_agent_stakes.sql, 021a_add_agent_stakes_draft.sql)",
    )
    assert len(record["findings"]) == 1
    assert "agent_stakes.amount_locked type: numeric(78,0) vs bigint" in record["message"]
    assert "column agent_stakes.slashed_total: present vs absent" in record["message"]
    [rehearsed] = record["data"]["order_rehearsal"]
    assert rehearsed["files"][-2:] == ["021a_add_agent_stakes_draft.sql", "021_add_agent_stakes.sql"]
    files_rows = run.evidence()["tables"]["PU-MIG-files"]["rows"]
    assert any(r["order"] == "B-006" and r["verdict"] == "fail" for r in files_rows), files_rows
