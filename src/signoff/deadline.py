"""One overall deadline for a blocking call (a whole HTTP exchange, headers and body included).

Socket timeouts bound each read, not the exchange: a server that trickles one byte every few
seconds never trips them. :func:`run_within` runs the call in a daemon thread and gives up at the
deadline; the abandoned thread ends when its socket does (``cancel`` may close it at once) and
never keeps the process alive.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The call did not finish within its deadline."""


def run_within(seconds: float, work: Callable[[], T], *, cancel: Callable[[], None] | None = None) -> T:
    """``work()``'s result or exception, or :class:`DeadlineExceeded` after ``seconds``."""
    outcome: list[tuple[bool, object]] = []
    done = threading.Event()

    def runner() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append((False, exc))
        finally:
            done.set()

    thread = threading.Thread(target=runner, name="signoff-deadline", daemon=True)
    thread.start()
    if not done.wait(seconds):
        if cancel is not None:
            try:
                cancel()
            except Exception:  # noqa: S110 - best effort: the caller is told about the deadline either way
                pass
        raise DeadlineExceeded(f"no answer within {seconds:g} s")
    succeeded, value = outcome[0]
    if succeeded:
        return value  # type: ignore[return-value]
    assert isinstance(value, BaseException)
    raise value
