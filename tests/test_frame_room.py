"""signoff.frame_room: calls that cross an edge of CPython's frame stack stop mapping memory.

The evidence is the page faults the process takes: a frame chunk that is unmapped and mapped
again faults on its first use every time, so a loop that crosses an edge takes one fault per call.
Each probe runs in a fresh thread, whose frame stack starts empty, so that neither pytest's depth
nor signoff's own roomy frame around this test decides where the edges are.
"""

from __future__ import annotations

import resource
import sys
import threading
from collections.abc import Callable

import pytest

from signoff.frame_room import in_roomy_frame

CALLS = 2000

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="page faults are read from getrusage on Linux")


def _leaf() -> int:
    return 1


def _faults_of_calls() -> int:
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(CALLS):
        _leaf()
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before


def _at_depth(depth: int) -> int:
    return _faults_of_calls() if depth == 0 else _at_depth(depth - 1)


def _worst_depth() -> int:
    """The most faults CALLS calls take at any depth from 0 to 400 frames."""
    return max(_at_depth(depth) for depth in range(400))


def _in_fresh_thread(probe: Callable[[], int]) -> int:
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(probe()))
    thread.start()
    thread.join(60)
    return result[0]


def test_a_call_crossing_a_chunk_edge_faults_on_every_call_without_room() -> None:
    # The defect this module exists for, shown on the interpreter itself: if this stops holding (a
    # Python that keeps its chunks), in_roomy_frame is no longer needed.
    assert _in_fresh_thread(_worst_depth) >= CALLS // 2


def test_below_the_roomy_frame_no_depth_faults() -> None:
    assert _in_fresh_thread(lambda: in_roomy_frame(_worst_depth)) < CALLS // 10


def test_the_roomy_frame_returns_and_raises_what_the_call_does() -> None:
    assert in_roomy_frame(lambda: ("result", 42)) == ("result", 42)
    with pytest.raises(KeyError, match="missing"):
        in_roomy_frame(lambda: {}["missing"])


def test_pytest_runs_every_test_below_the_roomy_frame(pytester: pytest.Pytester) -> None:
    """signoff's pytest_runtestloop runs the loop (pytest's, or xdist's on a worker) below the frame:
    a test that probes every depth from where pytest calls it takes no fault per call."""
    pytester.makepyfile(
        test_probe=f"""
        import resource

        def leaf():
            return 1

        def faults():
            before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
            for _ in range({CALLS}):
                leaf()
            return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before

        def at_depth(depth):
            return faults() if depth == 0 else at_depth(depth - 1)

        def test_probe():
            assert max(at_depth(depth) for depth in range(400)) < {CALLS // 10}
        """
    )
    for extra in ([], ["-n", "1"]):
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", *extra)
        result.assert_outcomes(passed=1)
