"""Where a draining worker's time goes: py-spy on a real `tracedrop worker` emptying a backlog.

``python -m bench.profile_worker [--traces N] [--concurrency 1] [--gil] [--worker-variant NAME]`` starts the
stack, ingests a backlog with no worker running, starts one worker and samples it (all threads, pool children
included) with py-spy until the backlog is empty. It prints the CPU seconds each service spent per trace and the
share of the worker's samples by category (SigV4 signing, the rest of botocore, HTTP, Redis, orjson, documents,
key rendering, Celery, ...); collapsed stacks go to ``.bench/profile-worker*.txt`` and a flame graph to
``.bench/profile-worker*.svg``. Needs py-spy in the venv (``.venv/bin/pip install py-spy``); it is a profiler,
not part of `make bench`.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.variants import SHORT
from bench.workload import Stack, cpu_seconds, machine_busy_seconds

OUT = Path(".bench")

CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("orjson of the trace and the document", ("render_object (worker/kinds/s3/writer.py",)),
    ("key: Jinja render + key_safe", ("render (worker/paths.py", "jinja2/")),
    ("key: time_values (strftime)", ("time_values (worker/paths.py",)),
    ("document building", ("worker/document.py",)),
    ("SigV4 signing", ("botocore/auth.py", "botocore/signers.py")),
    ("botocore: user-agent string", ("botocore/useragent.py",)),
    ("botocore: invocation id (uuid4)", ("uuid.py",)),
    ("botocore: endpoint rules", ("botocore/endpoint_provider.py", "botocore/regions.py")),
    ("botocore: validate + serialize", ("botocore/validate.py", "botocore/serialize.py")),
    ("botocore: response parsing", ("botocore/parsers.py",)),
    ("HTTP send/receive (aiohttp, asyncio; urllib3 for boto3)", ("aiohttp/", "asyncio/", "urllib3/",
                                                                 "http/client.py", "botocore/httpsession.py",
                                                                 "botocore/awsrequest.py", "socket.py")),
    ("botocore: hooks, handlers, the rest", ("botocore/", "boto3/")),
    ("Redis round trips (claim, delivered)", ("redis/",)),
    ("thread hand-off (lanes, lease renewal)", ("concurrent/futures/", "threading.py")),
    ("Celery, kombu, billiard", ("celery/", "kombu/", "billiard/", "vine/")),
    ("tracedrop glue", ("worker/",)),
]


def category(frames: list[str]) -> str:
    """The innermost frame that names a category decides (signing inside a PUT counts as signing)."""
    for frame in reversed(frames):
        for name, needles in CATEGORIES:
            if any(needle in frame for needle in needles):
                return name
    return "other"


def summarise(raw: Path) -> list[tuple[str, int]]:
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack_text, _, count = line.rpartition(" ")
        if not stack_text:
            continue
        counts[category(stack_text.split(";"))] += int(count)
    return counts.most_common()


INCLUSIVE: list[tuple[str, str]] = [
    ("PUT (Bucket.put: signing, aiohttp, the answer)", "Bucket.put (worker/kinds/s3/bucket.py"),
    ("render (orjson, document, key)", "render_object (worker/kinds/s3/writer.py"),
    ("  of which the object key", "object_key (worker/kinds/s3/writer.py"),
    ("  of which build_document", "build_document (worker/document.py"),
    ("claim (Lua, bodies returned)", "Outbox.claim (worker/outbox.py"),
    ("record the verdict (Lua)", "Runtime.record (worker/runtime.py"),
    ("destination load + client cache", "Runtime.destination (worker/runtime.py"),
    ("  client cache fingerprint", "ClientCache.get (worker/kinds/s3/cache.py"),
    ("Celery consumer loop", "celery/worker/loops.py"),
]


def inclusive(raw: Path) -> list[tuple[str, int]]:
    """Samples with a given frame anywhere on the stack (a function and everything it calls)."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack_text, _, count = line.rpartition(" ")
        for name, needle in INCLUSIVE:
            if needle in stack_text:
                counts[name] += int(count)
    return [(name, counts[name]) for name, _ in INCLUSIVE]


def hottest(raw: Path, *, limit: int = 25) -> list[tuple[str, int]]:
    """Leaf frames with the most samples (self time)."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack_text, _, count = line.rpartition(" ")
        if stack_text:
            counts[stack_text.split(";")[-1]] += int(count)
    return counts.most_common(limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--traces", type=int, default=8000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--gil", action="store_true", help="only samples holding the GIL")
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--worker-variant", metavar="NAME", choices=sorted(SHORT),
                        help="bench-only: profile a worker with a bench/variants.py patch applied")
    args = parser.parse_args()
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if not spy:
        raise SystemExit("py-spy not found: .venv/bin/pip install py-spy")
    OUT.mkdir(exist_ok=True)
    bench = Stack.start()
    bench.variant = args.worker_variant
    try:
        destination = bench.destination("profile")
        bench.ingest(count=args.traces, per_request=100, clients=4, prefix="p")
        services = {"redis": bench.redis, "seaweedfs": bench.store, "api": bench.api}
        worker = bench.worker("profiled", args.concurrency)
        services["worker"] = worker
        before = {name: cpu_seconds(service) for name, service in services.items()}
        busy = machine_busy_seconds()
        assert worker.proc is not None
        flags = ["--subprocesses", "--nonblocking", "--rate", str(args.rate), *(["--gil"] if args.gil else [])]
        stem = "-".join(["profile-worker", *([args.worker_variant] if args.worker_variant else []),
                         *(["gil"] if args.gil else [])])
        raw, svg = OUT / f"{stem}.txt", OUT / f"{stem}.svg"
        recorders = [subprocess.Popen([spy, "record", "--pid", str(worker.proc.pid), *flags, "--format", fmt,
                                       "-o", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for fmt, path in (("raw", raw), ("flamegraph", svg))]
        started = time.perf_counter()
        seconds = bench.wait_drained(destination, timeout=600)
        after = {name: cpu_seconds(service) for name, service in services.items()}
        busy = machine_busy_seconds() - busy
        for recorder in recorders:
            recorder.send_signal(2)
        for recorder in recorders:
            recorder.wait(timeout=60)
        print(f"drained {args.traces} traces in {seconds:.1f}s = {args.traces / seconds:.0f}/s "
              f"(worker concurrency {args.concurrency}, under py-spy at {args.rate} Hz)")
        print(f"wall {time.perf_counter() - started:.1f}s; CPU per trace by service:")
        for name in services:
            used = after[name] - before[name]
            print(f"  {name:<10} {used:6.1f} CPU s  {used / args.traces * 1e6:7.0f} us/trace  "
                  f"{used / seconds:4.2f} cores")
        print(f"  {'machine':<10} {busy:6.1f} CPU s  (all processes, py-spy and other sessions included)  "
              f"{busy / seconds:4.2f} cores of 2")
    finally:
        bench.stop()
    rows = summarise(raw)
    total = sum(count for _, count in rows)
    print(f"\nworker samples by category ({total} samples{', holding the GIL' if args.gil else ''}):")
    for name, count in rows:
        print(f"  {count / total:6.1%}  {name}")
    print("\ninclusive (a function and all it calls):")
    for name, count in inclusive(raw):
        print(f"  {count / total:6.1%}  {name}")
    print("\nhottest leaf frames:")
    for frame, count in hottest(raw):
        print(f"  {count / total:6.1%}  {frame}")
    print(f"\ncollapsed stacks: {raw}; flame graph: {svg}")


if __name__ == "__main__":
    main()
