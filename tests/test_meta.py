"""Promises about the suites and fixtures themselves: every check has a defective fixture
that a self-test runs; every fixture says in one line what must fail; phase markers match
the suite folders."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from tests.conftest import FIXTURES, REPO

SUITES = REPO / "suites"
DEFECTIVE = FIXTURES / "defective"


def _check_ids() -> dict[str, Path]:
    """CHECK_ID of every suite module, read from the module itself."""
    ids = {}
    for module in sorted(SUITES.rglob("test_*.py")):
        spec = importlib.util.spec_from_file_location(f"_suite_{module.stem}", module)
        assert spec and spec.loader
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        check = getattr(loaded, "CHECK_ID", None)
        assert isinstance(check, str) and re.fullmatch(r"[A-Z]{2}-[A-Z0-9]+", check), f"{module} declares no CHECK_ID"
        ids[check] = module
    return ids


def test_every_defective_fixture_says_what_must_fail() -> None:
    folders = sorted(p for p in DEFECTIVE.iterdir() if p.is_dir())
    assert folders
    for folder in folders:
        readme = (folder / "README.md").read_text().strip()
        assert "\n" not in readme, f"{folder}/README.md must be one line"
        assert re.match(r"[A-Z]{2}-[A-Z0-9]+ must (fail|abort)", readme), readme
        assert (folder / "signoff.toml").is_file(), folder


def test_every_check_has_a_defective_fixture_that_a_self_test_runs() -> None:
    self_tests = "\n".join(p.read_text() for p in (REPO / "tests").glob("test_*.py"))
    by_check: dict[str, list[str]] = {}
    for folder in DEFECTIVE.iterdir():
        if folder.is_dir():
            check = (folder / "README.md").read_text().split()[0]
            by_check.setdefault(check, []).append(folder.name)
            assert f'"{folder.name}"' in self_tests, f"no self-test runs fixtures/defective/{folder.name}"
    missing = sorted(set(_check_ids()) - set(by_check))
    assert missing == [], f"checks without a defective fixture: {missing}"


def test_suite_modules_carry_their_phase_marker() -> None:
    for module in SUITES.rglob("test_*.py"):
        phase = module.parent.name
        assert re.search(rf"pytestmark = \[pytest\.mark\.{phase}\b", module.read_text()), module
