"""How many bytes a target's constructor arguments encode to, remembered between runs.

Every run sizes the constructor arguments of ``[contracts.*] constructor_args`` at start-up (PF-SIZE's
initcode limit; a value that does not fit its type is a usage error then), which takes eth_abi, whose
import is about 0.13 s, paid again by each xdist worker and by the controller before it starts them.
The size is a pure function of the constructor's types and the values, so it is kept under a digest of
exactly those (``repr``: a string never stands for a date or a number), in the user's cache folder
(``$XDG_CACHE_HOME/signoff`` or ``~/.cache/signoff``). Only sizes of values that encoded are kept:
a value that does not fit is encoded, and refused, on every run. A cache that cannot be read or
written is no cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

_FILE = "constructor-args-sizes.json"
_KEEP = 2000  # entries; the oldest go first


def _folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "signoff"


def key_of(types: Sequence[str], args: Sequence[Any]) -> str:
    return hashlib.sha256(repr((list(types), list(args))).encode()).hexdigest()


def _read(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)}


def _write(path: Path, sizes: dict[str, int]) -> None:
    from signoff.whole_files import write_whole

    try:
        write_whole(path, json.dumps(dict(list(sizes.items())[-_KEEP:])))
    except OSError:
        return


def remembered_size(types: Sequence[str], args: Sequence[Any], encode: Callable[[], bytes]) -> int:
    """``len(encode())``, or its size from an earlier run with the same types and values."""
    path = _folder() / _FILE
    key = key_of(types, args)
    sizes = _read(path)
    if key in sizes:
        return sizes[key]
    size = len(encode())  # raises for values that do not fit: nothing is kept
    sizes[key] = size
    _write(path, sizes)
    return size
