"""The S3 destination's configuration: bucket, endpoint, credentials, path template, per-trace or batch mode."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import Field, SecretStr, StrictInt, field_validator, model_validator

from worker.batch.files import BatchFormat
from worker.destination import DestinationConfig, Saved, check_url
from worker.errors import TemplateError
from worker.forms import Preview, ShownWhen
from worker.paths import BATCH_VARIABLES, TRACE_VARIABLES, PathTemplate, parse_template, time_values

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z0-9-]{1,64}$")
_ENDPOINT_HINT = r"^https?://[A-Za-z0-9.\[\]:-]+(/[A-Za-z0-9._~-]*)*$"
_BATCH = ShownWhen("mode", ("batch",))
"""The fields of batch mode: the settings page shows them only while ``mode`` is ``batch``."""


class S3Config(DestinationConfig):
    """An S3 destination, as the admin API accepts it (docs/s3.md: Fields)."""

    TITLE: ClassVar[str] = "S3"
    SUMMARY: ClassVar[str] = ("Any S3-compatible bucket: one JSON object per trace, or batch files (CBOR+zstd, "
                              "JSON Lines, Parquet) under Hive partitions.")
    SECRETS: ClassVar[tuple[str, ...]] = ("access_secret", "session_token")
    CONNECTION: ClassVar[frozenset[str]] = frozenset(
        {"bucket_name", "region", "endpoint", "access_key_id", "access_secret", "session_token", "prefix"})
    LOCATION: ClassVar[frozenset[str]] = frozenset({"endpoint"})
    """The endpoint only: another bucket or region of the same endpoint is the same store's operator, who sees the
    signed requests already (AWS when there is no endpoint); the secret itself never leaves, the session token does."""
    PREVIEW: ClassVar[Preview | None] = Preview(
        element="key-preview", path="preview-key", inputs=("prefix", "path_template", "mode", "format"),
        says="A trace sent at 2024-01-15 10:00 UTC with key name 'prod backend' is written to ", shows="key",
        after="path_template")

    type: Literal["s3"] = "s3"
    bucket_name: str = Field(title="Bucket Name",
                             description="Bucket to write into (3-63 characters: a-z, 0-9, '.', '-').",
                             json_schema_extra={"pattern": _BUCKET.pattern})
    region: str | None = Field(default=None, title="Region",
                               description="Required with a custom endpoint; optional for AWS.",
                               json_schema_extra={"pattern": _REGION.pattern})
    endpoint: str | None = Field(default=None, max_length=2048, title="Custom Endpoint",
                                 description="S3-compatible API URL (https); leave out for AWS.",
                                 json_schema_extra={"pattern": _ENDPOINT_HINT})
    access_key_id: Annotated[str, Field(min_length=1, max_length=256, title="Access Key Id")]
    access_secret: SecretStr = Field(min_length=1, max_length=1024, title="Secret Access Key")
    session_token: SecretStr | None = Field(default=None, max_length=4096, title="Session Token")
    prefix: str = Field(default="", max_length=256, title="Prefix", description="Path prefix; must not end with '/'.")
    path_template: str = Field(default="{prefix}/{date}", max_length=512, title="Path Template",
                               description="Literal text and {prefix} {date} {year} {month} {day} {hour} "
                                           "{apiKeyName} placeholders, nothing else.")
    mode: Literal["per_trace", "batch"] = Field(default="per_trace", title="Mode")
    every: Annotated[StrictInt, Field(ge=1, le=86400 * 7, title="Every",
                                      description="Batch only: seconds between files."), _BATCH] = 3600
    limit: Annotated[StrictInt, Field(ge=1, le=10000, title="Limit",
                                      description="Batch only: records per file at most."), _BATCH] = 1000
    format: Annotated[BatchFormat, Field(title="Format"), _BATCH] = "cbor.zstd"

    @field_validator("bucket_name")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not _BUCKET.fullmatch(value):
            raise ValueError("must be 3-63 characters of a-z, 0-9, '.' and '-', starting and ending alphanumeric")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not _REGION.fullmatch(value):
            raise ValueError("must look like us-east-1")
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        return check_url(value, example="https://storage.example.com", query=False,
                         userinfo="use access_key_id and access_secret").rstrip("/")

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        from worker.paths import validate_prefix

        try:
            return validate_prefix(value)
        except TemplateError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _consistent(self) -> S3Config:
        """Checks across fields; each message starts with the field it names (``region: ...``)."""
        if self.endpoint and not self.region:
            raise ValueError("region: is required with a custom endpoint")
        try:
            self.template()
        except TemplateError as exc:
            raise ValueError(f"path_template: {exc}") from None
        return self

    def template(self) -> PathTemplate:
        allowed = BATCH_VARIABLES if self.mode == "batch" else TRACE_VARIABLES
        return parse_template(self.path_template, prefix=self.prefix, allowed=allowed)

    @property
    def delivery_mode(self) -> str:
        return self.mode

    def file_path(self, now_ms: int) -> str:
        """Batch mode: the folder of a file written at ``now_ms`` (the path template rendered at that time)."""
        return self.template().render(time_values(now_ms))

    @property
    def file_location(self) -> str:
        """Batch mode: the endpoint and bucket (files of one second in one place are numbered together)."""
        return f"{self.endpoint or 's3'}|{self.bucket_name}"



class S3Destination(S3Config, Saved):
    """A saved S3 destination."""
