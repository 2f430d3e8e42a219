"""Redaction of a stored trace: what each detector finds (and leaves alone), the three ways of replacing a value,
drop_fields, and that the original is never touched."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from worker.redaction.config import Redaction
from worker.redaction.redact import Redactor

ALL = ["email", "phone", "credit_card", "iban", "ip_address", "secret"]

FOUND = [
    ("email", "write to ada.lovelace@example.com today", "ada.lovelace@example.com"),
    ("email", "cc bob+billing@mail.example.co.uk", "bob+billing@mail.example.co.uk"),
    ("phone", "call +1 415-555-2671", "+1 415-555-2671"),
    ("phone", "US (415) 555-2671.", "(415) 555-2671"),
    ("phone", "UK 020 7946 0958", "020 7946 0958"),
    ("phone", "intl 0044 20 7946 0958", "0044 20 7946 0958"),
    ("phone", "DE 030 901820", "030 901820"),
    ("phone", "FR 06 12 34 56 78", "06 12 34 56 78"),
    ("phone", "IN 98765 43210", "98765 43210"),
    ("credit_card", "card 4111 1111 1111 1111 exp", "4111 1111 1111 1111"),
    ("credit_card", "card 5555555555554444", "5555555555554444"),
    ("credit_card", "amex 3782-822463-10005", "3782-822463-10005"),
    ("iban", "IBAN DE89 3704 0044 0532 0130 00 OK", "DE89 3704 0044 0532 0130 00"),
    ("iban", "to GB82WEST12345698765432", "GB82WEST12345698765432"),
    ("ip_address", "from 203.0.113.77:443", "203.0.113.77"),
    ("ip_address", "v6 2001:db8::8a2e:370:7334 here", "2001:db8::8a2e:370:7334"),
    ("secret", "key sk-proj-Abc123def456GHI789jkl0", "sk-proj-Abc123def456GHI789jkl0"),
    ("secret", "aws AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("secret", "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    ("secret", "Authorization: Bearer abcDEF123456ghiJKL", "Bearer abcDEF123456ghiJKL"),
    ("secret", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x\n-----END RSA PRIVATE KEY-----",
     "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x\n-----END RSA PRIVATE KEY-----"),
]

LOOK_ALIKES = [
    "a 16-digit number failing Luhn: 4111 1111 1111 1112",
    "order ORD-2024-118822 shipped on 2024-01-15 at 10:00:00",
    "an IBAN with a wrong check: DE88 3704 0044 0532 0130 00",
    "an address that is not one: 999.1.1.1, and a clock 12:30:45",
    "sk-short and AKIA-lowercase akiaiosfodnn7example",
    "the price is 1299.99 for 3 seats",
]


def redactor(**fields: Any) -> Redactor:
    return Redactor(Redaction.model_validate({"detectors": ALL, **fields}), key=b"k" * 32)


@pytest.mark.parametrize(("detector", "text", "value"), FOUND)
def test_each_detector_finds_its_values(detector: str, text: str, value: str) -> None:
    redacted = redactor().text(text)
    assert value not in redacted
    assert redacted == text.replace(value, f"[{detector.upper()}]")


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_left_alone(text: str) -> None:
    assert redactor().text(text) == text


def test_hash_tokens_are_stable_per_key_and_differ_across_keys() -> None:
    redaction = Redaction.model_validate({"detectors": ["email"], "replace_with": "hash"})
    one, other = Redactor(redaction, key=b"1" * 32), Redactor(redaction, key=b"2" * 32)
    text = "ada@example.com and bob@example.com"
    first = one.text(text)
    assert first == one.text(text) and first.startswith("[EMAIL:") and len(first.split("[EMAIL:")[1]) > 8
    assert first.split(" and ")[0] != first.split(" and ")[1]
    assert other.text(text) != first
    with pytest.raises(ValueError, match="key"):
        Redactor(redaction, key=b"")


def test_remove_and_custom_patterns() -> None:
    found = redactor(replace_with="remove", patterns=[{"name": "employee_id", "regex": "EMP-[0-9]{6}"}])
    assert found.text("EMP-123456 mailed ada@example.com") == " mailed "
    assert redactor(patterns=[{"name": "employee_id", "regex": "EMP-[0-9]{6}"}]).text("id EMP-123456") == \
        "id [EMPLOYEE_ID]"


def test_every_position_is_redacted_the_original_kept_and_fields_dropped() -> None:
    trace = {
        "id": "gen-4155552671", "timestamp": 1, "model": "m", "user": "ada@example.com",
        "status_message": "refused for 203.0.113.77",
        "trace": {"customer_email": "ada@example.com", "card": 4111111111111111, "note": "keep", "count": 3},
        "headers": {"request": {"x-forwarded-for": "203.0.113.77"}},
        "request": {"messages": [{"role": "user", "content": [{"type": "text", "text": "I am ada@example.com"}]}],
                    "tools": [{"name": "lookup"}]},
        "response": {"choices": [{"message": {"tool_calls": [{"function": {
            "arguments": "{\"email\": \"ada@example.com\"}"}}]}}]},
    }
    original = copy.deepcopy(trace)
    out = redactor(drop_fields=["metadata.note", "request.tools", "headers.response"]).apply(trace)
    assert trace == original
    assert "ada@example.com" not in str(out) and "203.0.113.77" not in str(out) and "4111" not in str(out)
    assert out["id"] == "gen-4155552671", "the id names the object: never redacted"
    assert out["trace"] == {"customer_email": "[EMAIL]", "card": "[CREDIT_CARD]", "count": 3}
    assert "tools" not in out["request"] and out["user"] == "[EMAIL]"


@pytest.mark.parametrize(("body", "field", "reason"), [
    ({"detectors": ["email", "email"]}, "redaction.detectors", "at most once"),
    ({"drop_fields": ["id"]}, "redaction.drop_fields", "cannot be dropped"),
    ({"drop_fields": ["a..b"]}, "redaction.drop_fields", "empty key"),
    ({"patterns": [{"name": "x", "regex": "(a+)\\1"}]}, "redaction.patterns[0].regex", "RE2"),
    ({"patterns": [{"name": "x", "regex": "(?<=a)b"}]}, "redaction.patterns[0].regex", "RE2"),
    ({"replace_with": "mask"}, "redaction.replace_with", "label"),
])
def test_malformed_redaction_is_refused_naming_its_path(body: dict[str, Any], field: str, reason: str) -> None:
    from pydantic import ValidationError

    from worker import kinds
    from worker.errors import field_problems
    with pytest.raises(ValidationError) as caught:
        kinds.config({"type": "webhook", "name": "x", "url": "https://example.com/h", "redaction": body})
    [problem] = field_problems(caught.value.errors())
    assert problem["field"].startswith(field) and reason in problem["reason"]
