"""Where a sample trace would go with an S3 destination's prefix, path template, mode and format: what the settings
page shows while they are typed (``POST .../destinations/preview-key``)."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import Field, model_validator

from worker.batch.files import CONTENT_TYPES, BatchFormat, encode, extension, file_stem
from worker.batch.record import build_record
from worker.errors import TemplateError
from worker.kinds.base import PreviewRequest
from worker.kinds.s3.config import S3Config
from worker.kinds.s3.writer import object_key, render_object
from worker.paths import BATCH_VARIABLES, TRACE_VARIABLES, parse_template, time_values, validate_prefix
from worker.rendered import Rendered

SAMPLE_TRACE: dict[str, Any] = {"id": "gen-1705312800-abc123", "timestamp": 1_705_312_800_000,
                                "api_key_name": "prod backend"}
"""The trace whose key the settings page shows while a path template is typed."""


def sample_key(*, prefix: str, path_template: str, mode: str, fmt: str) -> str:
    """The key SAMPLE_TRACE would get (per trace), or the first file of a cycle at its time (batch); TemplateError
    says why the template or prefix is refused."""
    validate_prefix(prefix)
    if mode == "batch":
        template = parse_template(path_template, prefix=prefix, allowed=BATCH_VARIABLES)
        seconds = SAMPLE_TRACE["timestamp"] // 1000
        return file_stem(template.render(time_values(seconds * 1000)), seconds) + extension(fmt)
    return object_key(parse_template(path_template, prefix=prefix, allowed=TRACE_VARIABLES), SAMPLE_TRACE)


class KeyPreview(PreviewRequest):
    type: Literal["s3"] = "s3"
    prefix: str = Field(default="", max_length=256)
    path_template: str = Field(default="{prefix}/{date}", max_length=512)
    mode: Literal["per_trace", "batch"] = "per_trace"
    format: BatchFormat = "cbor.zstd"

    @model_validator(mode="after")
    def _renders(self) -> KeyPreview:
        """A prefix or template the destination would refuse is refused here, naming its field."""
        try:
            validate_prefix(self.prefix)
        except TemplateError as exc:
            raise ValueError(f"prefix: {exc}") from None
        try:
            self.answer()
        except TemplateError as exc:
            raise ValueError(f"path_template: {exc}") from None
        return self

    def answer(self) -> dict[str, Any]:
        key = sample_key(prefix=self.prefix, path_template=self.path_template, mode=self.mode, fmt=self.format)
        return {"key": key, "trace": SAMPLE_TRACE}


def render(destination: Any, trace: dict[str, Any]) -> Rendered:
    """The object a per-trace destination writes for ``trace`` (key and document), or the batch file of that
    trace alone (its key's stem at the trace's time) in the destination's format."""
    assert isinstance(destination, S3Config)
    if destination.mode == "batch":
        record = build_record(1, trace, privacy_mode=destination.privacy_mode)
        stem = file_stem(destination.file_path(trace["timestamp"]), trace["timestamp"] // 1000)
        return Rendered(CONTENT_TYPES[destination.format], encode([record], destination.format),
                        key=stem + extension(destination.format))
    key, body = render_object(destination, destination.template(), orjson.dumps(trace))
    return Rendered("application/json", body, key=key)
