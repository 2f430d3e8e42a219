"""OTLP output: the envelope every OTLP destination shares (``envelope.py``) and the dialects its spans speak, one
module each, data only: ``genai`` (OpenTelemetry GenAI semantic conventions, tracedrop's own), ``langfuse``
(a Langfuse generation) and ``openinference`` (an OpenInference LLM span: Arize Phoenix, Arize AX). A destination
picks one by name."""

from __future__ import annotations

from worker.otlp import genai, langfuse, openinference
from worker.otlp.common import Dialect

DIALECTS: dict[str, Dialect] = {genai.NAME: genai.attributes, langfuse.NAME: langfuse.attributes,
                                openinference.NAME: openinference.attributes}
