"""The daemon process freezes its start-up heap: full collections walk only what calls made."""

from __future__ import annotations

from tests.daemon_process import python_output

PROBE = (
    "import gc\n"
    "from daemon import gc_tuning\n"
    "import daemon.app\n"
    "gc_tuning.tune()\n"
    "before = gc.get_freeze_count()\n"
    "gc_tuning.settle()\n"
    "print(before, gc.get_freeze_count(), *gc.get_threshold())\n"
)


def test_settle_moves_the_start_up_heap_out_of_collections() -> None:
    before, frozen, *thresholds = (int(x) for x in python_output(PROBE).split())
    assert before == 0
    assert frozen > 10_000  # the daemon's modules and libraries
    assert thresholds == [7_000, 5, 200]  # young collections 10 times rarer, full ones 20 times
