"""One overall deadline for a blocking call (a whole HTTP exchange, headers and body included).

Socket timeouts bound each read, not the exchange: a server that trickles one byte every few
seconds never trips them. :func:`run_within` runs the call on a daemon thread and gives up at the
deadline; the abandoned call ends when its socket does (``cancel`` may close it at once) and never
keeps the process alive. The threads are kept and reused: starting one per call cost as much as a
fast call itself (a broker's round trip on loopback), more on a busy machine.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The call did not finish within its deadline."""


class _Job:
    __slots__ = ("done", "succeeded", "value", "work")

    def __init__(self, work: Callable[[], Any]) -> None:
        self.work: Callable[[], Any] | None = work
        self.done = threading.Event()
        self.succeeded = False
        self.value: Any = None

    def run(self) -> None:
        try:
            assert self.work is not None
            self.value, self.succeeded = self.work(), True
        except BaseException as exc:  # handed to the caller's thread
            self.value = exc
        finally:
            self.work = None  # nothing of the call outlives it here


class _Runners:
    """Daemon threads that wait for a job each; a busy or stuck one is simply not idle."""

    def __init__(self) -> None:
        self._idle: list[queue.SimpleQueue[_Job]] = []  # the inboxes of runners waiting for a job
        self._lock = threading.Lock()

    def forget(self) -> None:
        """In a forked child: its parent's runners do not exist there (and the lock may have been held)."""
        self._idle = []
        self._lock = threading.Lock()

    def submit(self, job: _Job) -> None:
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), name="signoff-deadline", daemon=True).start()
        inbox.put(job)

    def _serve(self, inbox: queue.SimpleQueue[_Job]) -> None:
        while True:
            job = inbox.get()
            job.run()
            with self._lock:  # idle again before the caller wakes, so that its next call finds this runner
                self._idle.append(inbox)
            job.done.set()


_RUNNERS = _Runners()
os.register_at_fork(after_in_child=_RUNNERS.forget)


def run_within(seconds: float, work: Callable[[], T], *, cancel: Callable[[], None] | None = None) -> T:
    """``work()``'s result or exception, or :class:`DeadlineExceeded` after ``seconds``."""
    job = _Job(work)
    _RUNNERS.submit(job)
    if not job.done.wait(seconds):
        if cancel is not None:
            try:
                cancel()
            except Exception:  # noqa: S110 - best effort: the caller is told about the deadline either way
                pass
        raise DeadlineExceeded(f"no answer within {seconds:g} s")
    if job.succeeded:
        return job.value  # type: ignore[no-any-return]
    raise job.value
