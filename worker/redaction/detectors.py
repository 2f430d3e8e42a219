"""The detectors: personal data and secrets found in text, each candidate found by one RE2 pattern (linear time,
all of a string's detectors in one pass) and then checked by a well-kept library where the value has a checksum or
a numbering plan. What each matches and misses, kept in step with docs/rules-and-redaction.md:

- ``email``: ``local@domain.tld`` with an ASCII local part and domain (letters, digits, ``._%+-``). Misses
  non-ASCII addresses (``jörg@exämple.de``) and obfuscated ones (``name at example dot com``).
- ``phone``: a number in international form (``+44 20 7946 0958``, ``0044 20 ...``), valid by Google's numbering
  plans (``phonenumbers``), or in the national form of one of ``REGIONS`` with that country's grouping
  (``(415) 555-2671``, ``020 7946 0958``, ``030 901820``, ``06 12 34 56 78``, ``98765 43210``). Misses national
  forms of other countries, numbers in words, and two numbers written one after another with only spaces between.
  Leaves alone digit runs no plan allows or grouped as no country groups a number (``2024-118822``).
- ``credit_card``: 13 to 19 digits, optionally grouped by spaces or hyphens, passing Luhn (``python-stdnum``).
  Misses numbers split by other characters (``4111.1111...``); leaves alone any that fail Luhn.
- ``iban``: a country code, two check digits and the account, upper case, optionally grouped by spaces, valid by
  the country's length and ISO 7064 mod 97 (``python-stdnum``). Misses lower-case IBANs.
- ``ip_address``: IPv4 dotted quads and IPv6 addresses of three groups or more (checked by ``ipaddress``; so
  ``std::vector`` is no address, nor is ``::1``). Misses IPv4 inside IPv6
  (``::ffff:192.0.2.1`` is left as ``::ffff:`` plus a redacted quad only when the quad stands alone); flags a
  four-part version number (``1.2.3.4``) as an address.
- ``secret``: OpenAI/Anthropic style keys (``sk-...``), AWS access key ids (``AKIA...``, ``ASIA...``), JWTs
  (``eyJ...``), ``Bearer`` tokens, PEM private key blocks (to the end of the text when the END line is missing),
  GitHub (``ghp_...``, ``github_pat_...``), Slack (``xox?-...``) and Google API keys (``AIza...``). Misses secrets of
  other shapes (a password in prose, a hex token with no prefix).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from functools import lru_cache

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher
from stdnum import iban, luhn

from worker import re2

REGIONS = ("US", "GB", "DE", "FR", "IN", "BR")
"""Countries whose national phone formats (no ``+``) are recognized."""
LABELS = {"email": "EMAIL", "phone": "PHONE", "credit_card": "CREDIT_CARD", "iban": "IBAN",
          "ip_address": "IP_ADDRESS", "secret": "SECRET"}

_SECRET = "|".join([
    r"-----BEGIN[A-Z ]*PRIVATE KEY-----(?s:.*?)(?:-----END[A-Z ]*PRIVATE KEY-----|\z)",
    r"\bsk-[A-Za-z0-9_\-]{16,}",
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    r"\beyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*",
    r"\b(?i:bearer)\s+[A-Za-z0-9._~+/\-]{8,}=*",
    r"\bgh[pousr]_[A-Za-z0-9]{36}\b",
    r"\bgithub_pat_[A-Za-z0-9_]{22,}",
    r"\bxox[abprs]-[A-Za-z0-9\-]{10,}",
    r"\bAIza[0-9A-Za-z_\-]{35}",
])
PATTERNS = {
    "secret": _SECRET,
    "email": r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
    "iban": r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b",
    "credit_card": r"\b[0-9](?:[ \-]?[0-9]){12,18}\b",
    "ip_address": r"\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b|(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}",
    "phone": r"(?:\+|\(|\b)[0-9][0-9 ().\-]{5,22}[0-9]\b",
}
"""Each detector's candidates, in the order they are tried at one position (RE2, leftmost first)."""

Span = tuple[int, int]


def _prefixes(text: str, separators: str) -> Iterator[str]:
    """``text``, then each shorter prefix ending before a separator (a candidate may take in a next word)."""
    yield text
    for end in range(len(text) - 1, 0, -1):
        if text[end] in separators:
            yield text[:end].rstrip(separators)


def _iban(text: str) -> list[Span]:
    return next(([(0, len(p))] for p in _prefixes(text, " ") if iban.is_valid(p)), [])


def _card(text: str) -> list[Span]:
    for prefix in _prefixes(text, " -"):
        digits = prefix.replace(" ", "").replace("-", "")
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
            return [(0, len(prefix))]
    return []


def _ip(text: str) -> list[Span]:
    if ":" in text and sum(1 for group in text.split(":") if group) < 3:
        return []  # ``std::vector``, ``a::b``: no address anybody writes
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return []
    return [(0, len(text))]


@lru_cache(maxsize=4096)
def _phone(text: str) -> list[Span]:
    digits = sum(c.isdigit() for c in text)
    if not 7 <= digits <= 15:
        return []
    if text.startswith("+") or text.startswith("00"):
        number = "+" + text[2:] if text.startswith("00") else text
        try:
            valid = phonenumbers.is_valid_number(phonenumbers.parse(number, None))
        except phonenumbers.NumberParseException:
            return []
        return [(0, len(text))] if valid else []
    for region in REGIONS:
        try:
            if not phonenumbers.is_valid_number(phonenumbers.parse(text, region)):
                continue
        except phonenumbers.NumberParseException:
            continue
        spans = [(m.start, m.end) for m in PhoneNumberMatcher(text, region, leniency=Leniency.STRICT_GROUPING)]
        if spans:
            return spans
    return []


CHECKS: dict[str, Callable[[str], list[Span]]] = {
    "iban": _iban, "credit_card": _card, "ip_address": _ip, "phone": _phone,
}
"""What a candidate must also pass: the spans of it that are the value (none: a look-alike, left alone)."""


@lru_cache(maxsize=64)
def scanner(detectors: tuple[str, ...]) -> tuple[re2.Pattern, tuple[str, ...]]:
    """One pattern finding every candidate of ``detectors``, a group per detector (the only capturing groups), and
    the detectors by group number."""
    ordered = [name for name in PATTERNS if name in detectors]
    pattern = re2.compiled("|".join(f"({PATTERNS[name]})" for name in ordered), max_mem=64 << 20)
    return pattern, ("", *ordered)


_MARKS = (*"0123456789@:", "sk-", "AKIA", "ASIA", "eyJ", "PRIVATE KEY", "_", "xox", "AIza", "earer", "EARER")
"""What every value of every detector holds (a digit, ``@``, ``:`` or a secret's prefix)."""


def maybe(text: str) -> bool:
    """Whether ``text`` may hold a detector's value: one without any mark is not scanned (a look for each mark
    costs less than a round trip through RE2's bindings)."""
    return any(mark in text for mark in _MARKS)


def find(detectors: tuple[str, ...], text: bytes) -> Iterator[tuple[str, int, int]]:
    """``(detector, start, end)`` of each value of ``detectors`` in ``text`` (UTF-8: RE2's own form, which spares
    a conversion of offsets per match), in order, not overlapping; offsets in bytes."""
    pattern, names = scanner(detectors)
    for match in pattern.finditer(text):
        name = names[match.lastindex or 0]
        start, end = match.span()
        check = CHECKS.get(name)
        if check is None:
            yield name, start, end
            continue
        candidate = text[start:end].decode()  # every candidate pattern is ASCII: so are the offsets within
        spans = check(candidate)
        if not spans:  # a look-alike of this detector's: the others may still find theirs in it
            others = tuple(d for d in detectors if d != name)
            spans_of_others = list(find(others, text[start:end])) if others else []
            yield from ((other, start + at, start + until) for other, at, until in spans_of_others)
            continue
        for at, until in spans:
            yield name, start + at, start + until
