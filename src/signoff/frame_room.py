"""Run a call with room for every frame below it in one block of the interpreter's frame stack.

CPython 3.11 keeps the frames of running functions in chunks of 16 KiB that it maps with ``mmap``.
It unmaps a chunk as soon as the first frame in it returns. Code whose calls go back and forth over
the edge of a chunk therefore maps and unmaps memory, and takes a page fault, on every such call.
Where that edge lies depends only on how deep the caller is, so the same loop can be cheap in one
program and slow under pytest. Measured on this machine: one search of the marketplace made 1.1
million ``mmap``/``munmap`` pairs and spent 5 of its 17 s in the kernel.

``in_roomy_frame(call)`` runs ``call`` below one frame that declares a large value stack. That frame
gets a fresh chunk big enough for it, and the frames of ``call`` fill the unused rest of the chunk.
The edge is then far below anything a check calls (the marketplace search: 5,171 ``mmap`` calls,
0.16 s in the kernel). Only memory layout changes; the call, its result and its exceptions are the
same.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

ROOM_SLOTS = 64 * 1024  # value-stack slots of the roomy frame: 512 KiB on a 64-bit interpreter


def _plain_call(call: Callable[[], T]) -> T:
    return call()


def _with_room(function: Callable[[Callable[[], T]], T]) -> Callable[[Callable[[], T]], T]:
    """``function`` with a value stack of ``ROOM_SLOTS`` more slots; itself where code objects
    cannot be changed that way."""
    try:
        code = function.__code__.replace(co_stacksize=function.__code__.co_stacksize + ROOM_SLOTS)
    except (AttributeError, TypeError, ValueError):
        return function
    roomy = types.FunctionType(code, function.__globals__, "in_roomy_frame")
    roomy.__qualname__ = "in_roomy_frame"
    roomy.__doc__ = "Call ``call()`` below one frame with room for every frame of the call."
    return roomy


in_roomy_frame: Callable[[Callable[[], T]], T] = _with_room(_plain_call)
