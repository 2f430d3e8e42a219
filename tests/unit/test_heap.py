"""A worker process keeps its start-up objects out of full collections and, after every task, returns the heap
pages its tasks freed; an api process keeps its start-up objects out too (worker/heap.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from celery import signals

from tests import stack
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


LOADED_WORKER = textwrap.dedent("""
    import gc
    from worker import celery_app, heap, runtime  # everything a worker loads before its first task

    walked_before = len(gc.get_objects())
    heap.freeze_loaded_objects()
    print(walked_before, len(gc.get_objects()), gc.get_freeze_count())
""")


def test_a_loaded_worker_leaves_its_start_up_objects_out_of_full_collections() -> None:
    out = subprocess.run([sys.executable, "-c", LOADED_WORKER], capture_output=True, text=True, check=True)
    walked_before, walked_after, frozen = (int(field) for field in out.stdout.split())
    assert walked_before > 50_000, f"only {walked_before} objects loaded: the test no longer loads a worker"
    assert walked_after < walked_before / 100, f"a full collection still walks {walked_after} of {walked_before}"
    assert frozen >= walked_before * 0.99


def test_the_parent_freezes_before_forking_and_each_pool_process_once_loaded() -> None:
    assert heap._loaded in [receiver() for _, receiver in signals.worker_init.receivers]
    assert heap._pool_process_loaded in [receiver() for _, receiver in signals.worker_process_init.receivers]


STARTED_API = textwrap.dedent("""
    import asyncio, gc
    from api.main import create_app

    app = create_app(announce=lambda destination, ids: None)
    walked_before = len(gc.get_objects())

    async def start():
        async with app.router.lifespan_context(app):  # as uvicorn starts it; Redis is connected to lazily
            print(walked_before, len(gc.get_objects()), gc.get_freeze_count())

    asyncio.run(start())
""")


def test_a_started_api_leaves_its_start_up_objects_out_of_full_collections() -> None:
    env = stack.tracedrop_env("redis://127.0.0.1:9/0")  # never reached: starting connects to nothing
    out = subprocess.run([sys.executable, "-c", STARTED_API], capture_output=True, text=True, check=True, env=env)
    walked_before, walked_after, frozen = (int(field) for field in out.stdout.split())
    assert walked_before > 50_000, f"only {walked_before} objects loaded: the test no longer loads the api"
    assert walked_after < walked_before / 100, f"a full collection still walks {walked_after} of {walked_before}"
    assert frozen >= walked_before * 0.9
