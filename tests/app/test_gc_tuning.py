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
    "print(before, gc.get_freeze_count(), gc.get_threshold()[0])\n"
)


def test_settle_moves_the_start_up_heap_out_of_collections() -> None:
    before, frozen, young = (int(x) for x in python_output(PROBE).split())
    assert before == 0
    assert frozen > 10_000  # the daemon's modules and libraries
    assert young == 7_000
