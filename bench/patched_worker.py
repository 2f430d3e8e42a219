"""`tracedrop worker` with a bench variant applied first: ``python -m bench.patched_worker VARIANT [celery args]``.

Bench-only (see bench/variants.py); the patches reach Celery's pool children through fork."""

from __future__ import annotations

import sys

from bench.variants import apply


def main() -> None:
    apply(sys.argv[1])
    from worker.cli import main as tracedrop

    tracedrop(["worker", *sys.argv[2:]])


if __name__ == "__main__":
    main()
