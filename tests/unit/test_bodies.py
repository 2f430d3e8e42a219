"""Trace bodies as stored in Redis: compressed, and plain ones from before still read."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from worker.bodies import pack, unpack

CHAT = orjson.dumps({"id": "gen-1", "model": "openai/gpt-4o", "request": {"messages": [
    {"role": "system", "content": "You are a helpful assistant for a bookshop. Answer briefly and politely."},
    {"role": "user", "content": "Do you have the second volume of the trilogy in paperback, and when does it ship?"},
]}, "response": {"choices": [{"message": {"role": "assistant", "content": "Yes: the paperback ships in two days."}}]}})


@given(st.binary(max_size=5000))
def test_what_is_packed_unpacks_to_the_same_bytes(data: bytes) -> None:
    assert unpack(pack(data)) == data


def test_a_body_stored_plain_reads_as_it_is() -> None:
    assert unpack(CHAT) == CHAT


def test_a_chat_trace_is_stored_smaller() -> None:
    assert len(pack(CHAT)) < len(CHAT)
