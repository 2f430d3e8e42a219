"""What a process does about its heap: it keeps its start-up objects out of the garbage collector's way, and (a
worker) hands the memory its tasks freed back to the operating system after every task.

A worker has loaded a few hundred thousand objects before its first task (Celery, kombu, botocore, aiohttp,
pydantic, the modules' constants), none of them garbage. Python's collector walks all of them in every full
collection: 40-70 ms each, during which no thread of the process runs, so the PUTs in flight go unanswered and new
ones wait. ``gc.freeze()`` once the process is loaded moves those objects to the permanent generation, which
collections skip: over a drain of 10,000 traces a pool process spent 181 ms collecting instead of 446, its longest
pause 3 ms instead of 69 (docs/performance.md). The parent freezes before the pool forks, each pool process again
once it has initialised; objects made later are collected as usual. An api process freezes once its app is
started (api/main.py): a request of one trace makes enough objects to set off collections that walked FastAPI's
and the formats' start-up objects too (docs/performance.md has what it saves).

glibc's allocator keeps the pages a task's peak freed (a claim's bodies and rendered documents, a batch file's
buffers) whenever a live allocation sits above them in the heap, so without this a pool process at rest creeps up
to its most fragmented state: about 10 MB more per process over the first tens of thousands of traces.
``malloc_trim(0)`` returns those free pages; measured in a worker draining at full speed, a trim takes 0.03 ms
(median) and costs about 1.3 µs per delivered trace (docs/performance.md). With a C library that has no
``malloc_trim`` (musl, macOS) nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from typing import Any

from celery import signals

_malloc_trim = getattr(ctypes.CDLL(ctypes.util.find_library("c")), "malloc_trim", None)


def release_free_memory() -> None:
    """Return the heap's free pages to the operating system (glibc), now."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def freeze_loaded_objects() -> None:
    """Move every object alive now to the collector's permanent generation, once what is garbage already was
    collected (frozen, it never would be): full collections skip them."""
    gc.collect()
    gc.freeze()


@signals.worker_init.connect
def _loaded(**_: Any) -> None:
    freeze_loaded_objects()


@signals.worker_process_init.connect
def _pool_process_loaded(**_: Any) -> None:
    freeze_loaded_objects()


@signals.task_postrun.connect
def _after_task(**_: Any) -> None:
    release_free_memory()
