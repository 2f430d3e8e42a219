"""S3 destinations: one JSON object per trace, or periodic batch files (docs/destinations.md)."""

from typing import Any

from worker.kinds.base import Kind
from worker.kinds.s3 import conntest
from worker.kinds.s3.config import S3Config, S3Destination
from worker.kinds.s3.preview import KeyPreview, render
from worker.kinds.s3.writer import S3Writer


def connection_test(config: Any, *, allow_private: bool) -> dict[str, Any]:
    """The test write; ``{"key": <the test object's key>}``."""
    return {"key": conntest.connection_test(config, allow_private=allow_private)}


KIND = Kind(name="s3", config=S3Config, destination=S3Destination, connection_test=connection_test,
            writer=S3Writer, preview=KeyPreview, render=render)

__all__ = ["KIND", "S3Config", "S3Destination", "S3Writer"]
