"""OTLP output: the envelope every OTLP destination shares (``envelope.py``) and the dialects its spans speak, one
module each, data only: ``genai`` (OpenTelemetry GenAI semantic conventions, tracedrop's own) and ``langfuse``
(a Langfuse generation). A destination picks one by name."""

from __future__ import annotations

from worker.otlp import genai, langfuse
from worker.otlp.common import Dialect

DIALECTS: dict[str, Dialect] = {genai.NAME: genai.attributes, langfuse.NAME: langfuse.attributes}
