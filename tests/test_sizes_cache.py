"""The encoded size of constructor arguments is remembered between runs, exactly by types and values, and
a value that does not fit is refused on every run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from signoff.artifacts import sizes_cache
from signoff.errors import ConfigError
from signoff.session import constructor_args_size

ABI = [{"type": "constructor", "inputs": [{"name": "owner", "type": "address"}, {"name": "delay", "type": "uint64"}]}]
WHERE = 'signoff.toml: [contracts."C"] constructor_args'


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "signoff" / "constructor-args-sizes.json"


def test_a_size_is_encoded_once_then_remembered(cache_home: Path) -> None:
    calls: list[int] = []

    def encode() -> bytes:
        calls.append(1)
        return b"\0" * 64

    assert sizes_cache.remembered_size(["address", "uint64"], ["@Gov", 3600], encode) == 64
    assert sizes_cache.remembered_size(["address", "uint64"], ["@Gov", 3600], encode) == 64
    assert calls == [1] and cache_home.is_file()
    assert sizes_cache.remembered_size(["address", "uint64"], ["@Gov", 3601], encode) == 64
    assert calls == [1, 1]  # other values, another key


def test_the_key_tells_a_string_from_a_number_and_types_apart() -> None:
    assert sizes_cache.key_of(["uint256"], ["1"]) != sizes_cache.key_of(["uint256"], [1])
    assert sizes_cache.key_of(["uint256"], [1]) != sizes_cache.key_of(["uint128"], [1])
    assert sizes_cache.key_of(["bool"], [True]) != sizes_cache.key_of(["bool"], [1])


def test_a_value_that_does_not_fit_is_refused_on_every_run(cache_home: Path) -> None:
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"constructor_args do not fit the constructor \(address, uint64\)"):
            constructor_args_size(ABI, ["@Gov", -1], WHERE)
    assert not cache_home.exists()
    assert constructor_args_size(ABI, ["@Gov", 3600], WHERE) == 64
    with pytest.raises(ConfigError, match="the constructor takes 2 argument"):
        constructor_args_size(ABI, ["@Gov"], WHERE)  # the count, before any cache


def test_a_damaged_cache_is_no_cache(cache_home: Path) -> None:
    cache_home.parent.mkdir(parents=True)
    for damaged in ("{not json", '["a list"]', '{"k": "64"}'):
        cache_home.write_text(damaged)
        assert constructor_args_size(ABI, ["@Gov", 7], WHERE) == 64


def test_a_start_up_with_a_remembered_size_does_not_import_eth_abi(cache_home: Path) -> None:
    code = (
        "import sys\nfrom pathlib import Path\nfrom signoff.session import resolve_session\n"
        "s = resolve_session(Path(sys.argv[1]), 'eth-tester', fork=False, strict=False)\n"
        "print(sorted(s.constructor_args_size.values()), 'eth_abi' in sys.modules)\n"
    )
    target = Path(__file__).resolve().parents[1] / "fixtures" / "reference" / "signoff.toml"
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, str(target)], capture_output=True, text=True, check=True, timeout=120
        )
        for _ in range(2)
    ]
    assert runs[0].stdout.split() == ["[32,", "64,", "64]", "True"], runs[0].stderr
    assert runs[1].stdout.split() == ["[32,", "64,", "64]", "False"], runs[1].stderr
