"""How an evidence table is titled and laid out (kept apart so check modules can declare tables)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableSpec:
    """How an evidence table is titled and which row keys become which columns."""

    title: str
    columns: tuple[tuple[str, str], ...]  # (row key, header)
    sort_key: str
