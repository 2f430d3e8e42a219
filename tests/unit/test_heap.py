"""After every task a worker process returns the heap pages its tasks freed (worker/heap.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from celery import signals

from worker import celery_app, heap

FRAGMENTED_HEAP = textwrap.dedent("""
    import os
    from worker import heap

    def rss_mb():
        with open(f"/proc/{os.getpid()}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

    # 8 KB blocks (bodies and documents are this size), nine in ten freed: the survivors pin the heap's top, so
    # glibc keeps the freed pages between them
    blocks = [bytearray(8192) for _ in range(20_000)]
    survivors = blocks[::10]
    del blocks
    before = rss_mb()
    heap.release_free_memory()
    print(before, rss_mb(), len(survivors))
""")


def test_the_pages_a_task_freed_go_back_to_the_operating_system() -> None:
    out = subprocess.run([sys.executable, "-c", FRAGMENTED_HEAP], capture_output=True, text=True, check=True)
    before, after, _ = (float(field) for field in out.stdout.split())
    assert before - after > 100, f"RSS {before:.0f} MB before the trim, {after:.0f} MB after"


def test_every_worker_process_trims_after_each_task() -> None:
    assert "worker.heap" in celery_app.app.conf.include  # imported by every worker before its pool forks
    assert heap._after_task in [receiver() for _, receiver in signals.task_postrun.receivers]
