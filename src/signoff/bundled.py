"""Where the suites and the reference target that ship with signoff are, installed or checked out.

A wheel carries them inside the package (``signoff/suites``, ``signoff/reference``); a checkout
(an editable install) has them at its top level (``suites/``, ``fixtures/reference/``).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_IN_CHECKOUT = {"suites": Path("suites"), "reference": Path("fixtures", "reference")}


def bundled(name: str) -> Path | None:
    """``suites`` or ``reference``: the folder shipped with this signoff, or None."""
    for candidate in (_PACKAGE / name, _PACKAGE.parents[1] / _IN_CHECKOUT[name]):
        if candidate.is_dir():
            return candidate
    return None
