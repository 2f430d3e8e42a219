"""Trace bodies as stored in Redis: compressed, with a dictionary or without, and plain ones from before still read."""

from __future__ import annotations

import orjson
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from worker.bodies import dictionary_id, pack, unpack

TOPICS = ("a paperback", "the second volume", "a gift card", "next week's delivery", "the return policy",
          "a signed copy", "the audiobook", "a large-print edition")


def chat(i: int) -> bytes:
    return orjson.dumps({"id": f"gen-{i}", "model": "openai/gpt-4o", "request": {"messages": [
        {"role": "system", "content": "You are a helpful assistant for a bookshop. Answer briefly and politely."},
        {"role": "user", "content": f"Do you have {TOPICS[i % 8]} of book {i}, and when would it ship?"},
    ]}, "response": {"choices": [{"message": {"role": "assistant", "content": f"Yes: {TOPICS[i * 3 % 8]} ships "
                                                                              f"in {i % 5 + 1} days."}}]}})


DICTIONARY = zstandard.train_dictionary(4096, [chat(i) for i in range(1000)])
CHAT = chat(1234)


@given(st.binary(max_size=5000))
def test_what_is_packed_unpacks_to_the_same_bytes(data: bytes) -> None:
    assert unpack(pack(data)) == data


@given(st.binary(max_size=5000))
def test_what_is_packed_with_a_dictionary_unpacks_with_it(data: bytes) -> None:
    assert unpack(pack(data, DICTIONARY), DICTIONARY) == data


def test_a_body_names_the_dictionary_it_needs() -> None:
    assert dictionary_id(pack(CHAT, DICTIONARY)) == DICTIONARY.dict_id() != 0
    assert dictionary_id(pack(CHAT)) == 0
    assert dictionary_id(CHAT) is None


def test_a_body_stored_plain_reads_as_it_is() -> None:
    assert unpack(CHAT) == CHAT
    assert unpack(CHAT, DICTIONARY) == CHAT


def test_a_chat_trace_is_stored_smaller_and_smaller_still_with_a_dictionary() -> None:
    assert len(pack(CHAT, DICTIONARY)) < len(pack(CHAT)) < len(CHAT)
