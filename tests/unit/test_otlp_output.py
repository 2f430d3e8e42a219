"""tracedrop's OTLP output of a trace, read back by tracedrop's own OTLP ingest: the same document, the same key."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from api.formats.detect import decode
from worker.document import build_document
from worker.kinds.s3.writer import object_key
from worker.otlp.common import ids
from worker.otlp.envelope import export_json, export_request
from worker.otlp.genai import attributes
from worker.paths import TRACE_VARIABLES, parse_template
from worker.trace import stored_form, validate_trace

TRACE: dict[str, Any] = {
    "id": "gen-1705312800-abc123", "timestamp": "2024-01-15T10:00:00Z", "model": "openai/gpt-4o",
    "api_key_name": "prod backend", "user": "user-42", "session_id": "sess-9",
    "trace": {"trace_id": "conversation-7", "trace_name": "support-bot", "generation_name": "answer",
              "tags": ["beta"], "env": "prod", "attempt": 2, "ratio": 0.5, "vip": True},
    "provider": "OpenAI", "api_type": "chat", "path": "/v1/chat/completions", "status_code": 200,
    "finish_reason": "stop", "duration_ms": 1834, "time_to_first_token_ms": 312,
    "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52, "cached_tokens": 3,
              "cache_write_tokens": 1, "reasoning_tokens": 5},
    "cost": {"input": 0.00003, "output": 0.0004, "total": 0.00043},
    "request": {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2,
                "max_tokens": 100, "stream": False},
    "response": {"choices": [{"message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}]},
}
FAILED = {"id": "gen-2", "timestamp": 1705312801, "model": "m", "status_code": 503, "duration_ms": 10,
          "status_message": "upstream unavailable"}


def stored(trace: dict[str, Any]) -> dict[str, Any]:
    validated, problems = validate_trace(trace)
    assert problems == [] and validated is not None
    return stored_form(validated)


def read_back(body: bytes, content_type: str) -> list[dict[str, Any]]:
    return [stored(item.trace) for item in decode(body, content_type, max_items=1000).items]


@pytest.mark.parametrize("encoding", ["otlp_proto", "otlp_json"])
@pytest.mark.parametrize("privacy_mode", [False, True])
def test_a_round_trip_through_otlp_keeps_the_document_and_the_key(encoding: str, privacy_mode: bool) -> None:
    originals = [stored(TRACE), stored(FAILED)]
    if encoding == "otlp_proto":
        body, content_type = export_request(originals, privacy_mode=privacy_mode).SerializeToString(), \
            "application/x-protobuf"
    else:
        body, content_type = orjson.dumps(export_json(originals, privacy_mode=privacy_mode)), "application/json"

    again = read_back(body, content_type)

    template = parse_template("{prefix}/{date}/{apiKeyName}", prefix="p", allowed=TRACE_VARIABLES)
    for original, read in zip(originals, again, strict=True):
        assert build_document(read, privacy_mode=False) == build_document(original, privacy_mode=privacy_mode)
        assert object_key(template, read) == object_key(template, original)


def test_ids_are_the_documented_hashes() -> None:
    trace_id, span_id = ids(stored(TRACE))
    assert trace_id == hashlib.sha256(b"conversation-7").digest()[:16]
    assert span_id == hashlib.sha256(b"gen-1705312800-abc123").digest()[:8]
    assert ids(stored(FAILED))[0] == hashlib.sha256(b"gen-2").digest()[:16]


def test_custom_metadata_keeps_scalar_types_and_writes_objects_as_json() -> None:
    trace = stored({**TRACE, "trace": {"env": "prod", "attempt": 2, "ratio": 0.5, "vip": True, "team": {"a": 1},
                                       "big": 2**63 + 5}})
    [span] = export_json([trace], privacy_mode=False)["resourceSpans"][0]["scopeSpans"][0]["spans"]
    values = {a["key"]: a["value"] for a in span["attributes"] if a["key"].startswith("trace.metadata.")}
    assert values == {"trace.metadata.env": {"stringValue": "prod"}, "trace.metadata.attempt": {"intValue": "2"},
                      "trace.metadata.ratio": {"doubleValue": 0.5}, "trace.metadata.vip": {"boolValue": True},
                      "trace.metadata.team": {"stringValue": '{"a":1}'},
                      "trace.metadata.big": {"stringValue": str(2**63 + 5)}}
    assert export_request([trace], privacy_mode=False).ByteSize() > 0


def test_the_same_trace_encodes_to_the_same_bytes() -> None:
    first = export_request([stored(TRACE)], privacy_mode=False).SerializeToString()
    assert export_request([stored(TRACE)], privacy_mode=False).SerializeToString() == first


def test_every_attribute_tracedrop_writes_is_documented() -> None:
    documented = (Path(__file__).parents[2] / "docs" / "webhooks.md").read_text()
    written = {key for trace in (TRACE, FAILED) for key, _ in attributes(stored(trace), privacy_mode=False)}
    dynamic = {key for key in written if key.startswith(("trace.metadata.", "gen_ai.request."))
               and key != "gen_ai.request.model"}
    assert len(written - dynamic) > 20
    missing = sorted(key for key in written - dynamic if f"`{key}`" not in documented)
    assert missing == [], f"docs/webhooks.md does not name {missing}"
