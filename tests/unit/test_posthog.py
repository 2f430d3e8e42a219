"""The PostHog dialect and the PostHog destination's form, held to PostHog's documented contract.

- PH_GENERATION: https://posthog.com/docs/llm-analytics/manual-capture ("Generation": event ``$ai_generation``, the
  core, cost, cache and model parameter properties; ``$ai_trace_id``'s allowed characters; ``$ai_latency`` in
  seconds).
- PH_SESSIONS: https://posthog.com/docs/llm-analytics/sessions (``$ai_session_id``).
- PH_CAPTURE: https://posthog.com/docs/api/capture ("Batch events": ``api_key``, ``batch``, ``distinct_id`` in
  ``properties``, ``timestamp`` in ISO 8601; "Events without person profiles": ``$process_person_profile``).
- OPENROUTER: OpenRouterTeam/docs guides/features/broadcast/posthog.mdx (``trace_name`` as is, other ``trace`` keys
  as ``metadata_<key>``).
"""

from __future__ import annotations

import uuid

import orjson
import pytest
from pydantic import ValidationError

from tests.unit.test_otlp_output import FAILED, TRACE, stored
from worker.destination import MASK
from worker.kinds import KINDS
from worker.kinds.posthog.config import PostHogConfig, PostHogDestination
from worker.kinds.posthog.events import batch, event

FORM = {"name": "ph", "type": "posthog", "api_key": "phc_project1"}
SECRET_CONTENT = {**TRACE, "request": {"messages": [{"role": "user", "content": "the secret question"}]},
                  "response": {"choices": [{"message": {"role": "assistant", "content": "the private answer"}}]}}


def test_a_trace_becomes_an_ai_generation_event_with_tokens_costs_and_its_trace() -> None:
    found = event(stored(TRACE), privacy_mode=False)

    assert found["event"] == "$ai_generation"  # PH_GENERATION
    assert found["timestamp"] == "2024-01-15T10:00:00.000Z"  # PH_CAPTURE: ISO 8601
    assert str(uuid.UUID(found["uuid"])) == found["uuid"]
    properties = found["properties"]
    assert properties["distinct_id"] == "user-42" and "$process_person_profile" not in properties  # PH_CAPTURE
    assert properties["$ai_session_id"] == "sess-9"  # PH_SESSIONS
    assert {k: v for k, v in properties.items() if k.startswith("$ai_") and k not in ("$ai_input",
                                                                                      "$ai_output_choices")} == {
        "$ai_trace_id": "conversation-7", "$ai_span_id": "gen-1705312800-abc123", "$ai_span_name": "answer",
        "$ai_model": "openai/gpt-4o", "$ai_provider": "OpenAI", "$ai_session_id": "sess-9",
        "$ai_http_status": 200, "$ai_input_tokens": 12, "$ai_output_tokens": 40,
        "$ai_cache_read_input_tokens": 3, "$ai_cache_creation_input_tokens": 1,
        "$ai_input_cost_usd": 0.00003, "$ai_output_cost_usd": 0.0004, "$ai_total_cost_usd": 0.00043,
        "$ai_temperature": 0.2, "$ai_max_tokens": 100, "$ai_stream": False, "$ai_latency": 1.834,
        "$ai_is_error": False}  # PH_GENERATION
    assert properties["$ai_input"] == [{"role": "user", "content": "hi"}]  # PH_GENERATION: a list of messages
    assert properties["$ai_output_choices"] == [{"role": "assistant", "content": "hello"}]
    # OPENROUTER: trace_name as is, the other custom keys as metadata_<key>
    assert properties["trace_name"] == "support-bot" and properties["metadata_env"] == "prod"
    assert properties["metadata_attempt"] == 2 and properties["metadata_tags"] == ["beta"]


def test_an_anonymous_failed_trace_is_an_error_without_a_person_and_privacy_mode_sends_no_content() -> None:
    failed = event(stored(FAILED), privacy_mode=False)["properties"]
    private = orjson.dumps(event(stored(SECRET_CONTENT), privacy_mode=True))

    assert failed["distinct_id"] == failed["$ai_trace_id"] == "gen-2"
    assert failed["$process_person_profile"] is False  # PH_CAPTURE "Events without person profiles"
    assert failed["$ai_is_error"] is True and failed["$ai_error"] == "upstream unavailable"  # PH_GENERATION
    assert failed["$ai_http_status"] == 503 and failed["$ai_latency"] == 0.01
    assert b"$ai_input\"" not in private and b"$ai_output_choices" not in private
    assert b"the secret question" not in private and b"the private answer" not in private
    assert orjson.loads(private)["properties"]["$ai_input_tokens"] == 12  # counts are not content


def test_a_trace_id_keeps_to_the_characters_posthog_allows_and_a_redelivery_is_the_same_event() -> None:
    odd = stored({**TRACE, "trace": {"trace_id": "conv/7 #a"}})

    assert event(odd, privacy_mode=False)["properties"]["$ai_trace_id"] == "conv_7__a"  # PH_GENERATION
    assert event(odd, privacy_mode=False)["uuid"] == event(odd, privacy_mode=True)["uuid"] != \
        event(stored(FAILED), privacy_mode=False)["uuid"]


@pytest.mark.parametrize(("request_body", "response", "expected_input", "expected_output"), [
    ({"prompt": "say hi"}, {"choices": [{"text": "hi"}]},
     [{"role": "user", "content": "say hi"}], [{"role": "assistant", "content": "hi"}]),
    ({"messages": [{"role": "user", "content": "q"}], "system": "be brief"},
     {"choices": [{"message": {"role": "assistant", "content": "a"}}, {"message": {"role": "assistant",
                                                                                   "content": "b"}}]},
     [{"role": "system", "content": "be brief"}, {"role": "user", "content": "q"}],
     [{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]),
])
def test_input_and_output_are_lists_of_messages_whatever_the_api(
    request_body: dict[str, object], response: dict[str, object], expected_input: list[object],
    expected_output: list[object],
) -> None:
    properties = event(stored({**TRACE, "request": request_body, "response": response}),
                       privacy_mode=False)["properties"]

    assert (properties["$ai_input"], properties["$ai_output_choices"]) == (expected_input, expected_output)


def test_the_posthog_destination_posts_a_batch_with_the_project_key_to_the_capture_api() -> None:
    config = PostHogConfig.model_validate({**FORM, "host": "https://eu.i.posthog.com/"})

    target = config.target()
    sent = orjson.loads(target.encode([stored(TRACE), stored(FAILED)]))

    assert target.method == "POST" and target.url == "https://eu.i.posthog.com/batch/"  # PH_CAPTURE
    assert target.headers(b"", False) == {"Content-Type": "application/json"}
    assert sent["api_key"] == "phc_project1" and [e["properties"]["$ai_span_id"] for e in sent["batch"]] == [
        "gen-1705312800-abc123", "gen-2"]
    assert orjson.loads(target.empty) == {"api_key": "phc_project1", "batch": []}
    assert PostHogConfig.model_validate(FORM).host == "https://us.i.posthog.com"
    assert batch([], api_key="k", privacy_mode=False) == {"api_key": "k", "batch": []}


def test_the_api_key_is_masked_and_moving_the_host_needs_it_again() -> None:
    saved = PostHogDestination.model_validate({**FORM, "id": "d", "workspace": "w", "created_at": "now"})
    assert saved.public()["api_key"] == MASK
    assert "phc_project1" not in str(saved.stored(secret_key="k" * 44))

    moved = PostHogConfig.model_validate(saved.merged({"host": "https://eu.i.posthog.com"}))
    assert saved.withheld(moved, {"host": "https://eu.i.posthog.com"}) == ["api_key"]
    assert KINDS["posthog"].config is PostHogConfig


@pytest.mark.parametrize(("field", "value"), [
    ("api_key", "phc project"), ("api_key", ""), ("host", "ftp://us.i.posthog.com"),
    ("host", "https://u:p@us.i.posthog.com"), ("host", "https://us.i.posthog.com/?x=1"),
])
def test_fields_posthog_would_refuse_are_refused_when_saved(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        PostHogConfig.model_validate({**FORM, field: value})
    assert refused.value.errors()[0]["loc"] == (field,)
