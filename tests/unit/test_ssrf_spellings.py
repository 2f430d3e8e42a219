"""The fence decides on the address the HTTP client will connect to, whatever the spelling of the host.

Each host here is an attack: loopback, private or metadata addresses written in digits of other scripts (segmented,
fullwidth, mathematical, circled, Arabic-Indic ...), with other full stops, in IDNA forms, mixed, IPv4-mapped. The
client's own reading of a host is yarl's (``URL(...).raw_host``), which is what aiohttp connects to. No test here
opens a connection or asks DNS: every resolver given fails, and says so when it is asked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys
import unicodedata
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

from worker.egress import CheckedConnector
from worker.errors import DeliveryError, EndpointForbidden
from worker.ssrf import check_endpoint, checked_addresses, client_host, parse_ip_literal, system_resolver

SEGMENTED = "".join(chr(0x1FBF0 + d) for d in range(10))
FULLWIDTH = "".join(chr(0xFF10 + d) for d in range(10))
MATHEMATICAL = "".join(chr(0x1D7CE + d) for d in range(10))
ARABIC_INDIC = "".join(chr(0x0660 + d) for d in range(10))
DEVANAGARI = "".join(chr(0x0966 + d) for d in range(10))


def written(dotted: str, digits: str, *, dot: str = ".") -> str:
    """``dotted`` with every ASCII digit written in ``digits`` (a string of the ten digits 0-9) and ``dot`` for
    each full stop."""
    return "".join(digits[int(c)] if c.isdigit() else dot if c == "." else c for c in dotted)


class Resolver:
    """The fence's resolver without DNS: it answers RFC 6761 names (``localhost``) as the fence does and no other,
    and remembers who asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host == "localhost" or host.endswith(".localhost"):
            return system_resolver(host, port)
        raise socket.gaierror(socket.EAI_NONAME, "no DNS in unit tests")


def client_reading(host: str) -> str | None:
    """What aiohttp connects to for ``https://<host>/``: yarl's encoding of the host, without the trailing dot of a
    fully-qualified name (None if yarl refuses it)."""
    try:
        raw = URL(f"https://{host}/").raw_host
    except ValueError:
        return None
    return raw.rstrip(".") if raw is not None else None


LOOPBACK_SPELLINGS = {
    "segmented digits": written("127.0.0.1", SEGMENTED),
    "fullwidth digits and full stops": written("127.0.0.1", FULLWIDTH, dot="\uff0e"),
    "ideographic full stops": written("127.0.0.1", "0123456789", dot="\u3002"),
    "halfwidth ideographic full stops": written("127.0.0.1", "0123456789", dot="\uff61"),
    "mathematical bold digits": written("127.0.0.1", MATHEMATICAL),
    "circled digits": "\u2460\u2461\u2466.\u24ea.\u24ea.\u2460",
    "superscript digits": "\u00b9\u00b2\u2077.0.0.1",
    "mixed scripts": f"{SEGMENTED[1]}{FULLWIDTH[2]}{MATHEMATICAL[7]}.0.{ARABIC_INDIC[0]}.1",
    "one segmented digit": f"127.0.0.{SEGMENTED[1]}",
    "segmented short form": written("127.1", SEGMENTED),
    "segmented decimal integer": written("2130706433", SEGMENTED),
    "fullwidth hex integer": "\uff10\uff58\uff17\uff46\uff10\uff10\uff10\uff10\uff10\uff11",
    "fullwidth with a trailing dot": written("127.0.0.1.", FULLWIDTH),
    "Arabic-Indic digits": written("127.0.0.1", ARABIC_INDIC),
    "Devanagari digits": written("127.0.0.1", DEVANAGARI),
    "fullwidth localhost": "\uff2c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54",
    "fullwidth localhost subdomain": "s3.\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54.",
    "IPv4-mapped IPv6": "[::ffff:127.0.0.1]",
    "IPv4-mapped IPv6, hex": "[::FFFF:7F00:1]",
    "IPv4-mapped IPv6 in fullwidth digits": f"[::ffff:{written('127.0.0.1', FULLWIDTH)}]",
}
METADATA_SPELLINGS = {
    "segmented digits": written("169.254.169.254", SEGMENTED),
    "fullwidth digits": written("169.254.169.254", FULLWIDTH, dot="\uff0e"),
    "mathematical digits, ideographic stops": written("169.254.169.254", MATHEMATICAL, dot="\u3002"),
    "segmented decimal integer": written("2852039166", SEGMENTED),
    "Arabic-Indic digits": written("169.254.169.254", ARABIC_INDIC),
    "segmented IPv4-mapped IPv6": f"[::ffff:{written('169.254.169.254', SEGMENTED)}]",
    "fullwidth name": "\uff4d\uff45\uff54\uff41\uff44\uff41\uff54\uff41.google.internal",
    "upper-case name with a trailing dot": "METADATA.GOOGLE.INTERNAL.",
    "segmented Alibaba address": written("100.100.100.200", SEGMENTED),
}


ATTACKS = {**{f"loopback, {name}": (host, False) for name, host in LOOPBACK_SPELLINGS.items()},
           **{f"metadata, {name}": (host, True) for name, host in METADATA_SPELLINGS.items()}}
"""Loopback, refused without private endpoints; metadata, refused even with them."""


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_address_in_any_script_is_refused_for_what_it_is(attack: str) -> None:
    # Given loopback or metadata, spelled to look like a host name to anything but the HTTP client
    host, allow_private = ATTACKS[attack]
    resolve = Resolver()

    # When the fence checks it, at save time (a URL) and at connection time (the host)
    with pytest.raises(EndpointForbidden):
        check_endpoint(f"https://{host}:8443/hook", allow_private=allow_private, resolve=resolve)
    with pytest.raises(EndpointForbidden):
        checked_addresses(host, 8443, allow_private=allow_private, resolve=resolve)

    # Then it is refused for what it is, and no DNS was asked about a spelling of an address
    assert all(name in ("localhost", "s3.localhost") for name in resolve.asked), resolve.asked


@pytest.mark.parametrize("host", [written("127.0.0.1", SEGMENTED), written("10.1.2.3", FULLWIDTH),
                                  "[::ffff:127.0.0.1]", "\u2460\u2461\u2466.\u24ea.\u24ea.\u2460"])
def test_the_fence_reads_a_host_as_the_http_client_does(host: str) -> None:
    # Given a host the client reads as an IP literal
    reading = client_reading(host)
    assert reading is not None and parse_ip_literal(reading) is not None

    # Then the fence, where private endpoints are allowed, returns the very address the client connects to
    assert client_host(host) == reading
    assert checked_addresses(host, 443, allow_private=True, resolve=Resolver()) == [parse_ip_literal(reading)]


def test_the_connector_checks_an_ip_literal_aiohttp_never_hands_to_a_resolver() -> None:
    # Given the host aiohttp would connect to for the segmented-digit spelling of loopback: an IP literal
    host = client_reading(written("127.0.0.1", SEGMENTED))
    assert host == "127.0.0.1"

    async def resolve(allow_private: bool) -> list[str]:
        connector = CheckedConnector(allow_private=allow_private)
        try:
            return [answer["host"] for answer in await connector._resolve_host(host, 8443)]
        finally:
            await connector.close()

    # When the connector turns it into addresses to connect to, Then it is refused without private endpoints,
    # and is that address with them
    with pytest.raises(EndpointForbidden):
        asyncio.run(resolve(False))
    assert asyncio.run(resolve(True)) == ["127.0.0.1"]


# The property: spellings generated from the addresses the fence refuses


@cache
def digit_forms(*, compatible: bool) -> dict[int, str]:
    """Every character Unicode gives a digit value, by that value; with ``compatible``, only those whose
    compatibility form is the ASCII digit (segmented, fullwidth, mathematical, circled ...)."""
    forms: dict[int, list[str]] = {d: [] for d in range(10)}
    for point in range(sys.maxunicode + 1):
        value = unicodedata.digit(chr(point), None)
        if value is not None and (not compatible or unicodedata.normalize("NFKC", chr(point)) == str(value)):
            forms[value].append(chr(point))
    return {d: "".join(chars) for d, chars in forms.items()}


LETTER_FORMS = {c: c + c.upper() + chr(ord(c) - ord("a") + 0xFF41) + chr(ord(c) - ord("a") + 0xFF21)
                for c in "abcdefx"}
DOT_FORMS = ".\u3002\uff0e\uff61"


def octets(first: tuple[int, int], second: tuple[int, int] = (0, 255)) -> st.SearchStrategy[ipaddress.IPv4Address]:
    return st.builds(lambda a, b, c, d: ipaddress.IPv4Address(f"{a}.{b}.{c}.{d}"), st.integers(*first),
                     st.integers(*second), st.integers(0, 255), st.integers(0, 255))


ALWAYS_REFUSED = st.one_of(st.sampled_from([ipaddress.IPv4Address(a) for a in (
    "169.254.169.254", "169.254.170.2", "100.100.100.200", "168.63.129.16", "0.0.0.0")]),
    octets((169, 169), (254, 254)))
PRIVATE = st.one_of(octets((127, 127)), octets((10, 10)), octets((192, 192), (168, 168)),
                    octets((172, 172), (16, 31)))


@st.composite
def ascii_form(draw: st.DrawFn, address: ipaddress.IPv4Address) -> str:
    """One of the spellings inet_aton reads as ``address``: dotted, short, decimal, hex, octal."""
    value, parts = int(address), [int(p) for p in str(address).split(".")]
    return draw(st.sampled_from([
        str(address),
        f"{parts[0]}.{value & 0xFFFFFF}",
        f"{parts[0]}.{parts[1]}.{value & 0xFFFF}",
        str(value),
        hex(value),
        ".".join(f"0{p:o}" for p in parts),
        ".".join(hex(p) for p in parts),
    ]))


@st.composite
def spelling(draw: st.DrawFn, addresses: st.SearchStrategy[ipaddress.IPv4Address]) -> tuple[str, str]:
    """(a host, the address it was made from): each digit, letter and full stop of an ASCII spelling swapped for a
    random character of the same value (from the compatibility forms, or from every script), then maybe a trailing
    dot, or wrapped as IPv4-mapped IPv6."""
    address = draw(addresses)
    form = draw(ascii_form(address))
    digits = digit_forms(compatible=draw(st.sampled_from([True, True, False])))
    chars = [draw(st.sampled_from(digits[int(c)])) if c.isdigit()
             else draw(st.sampled_from(LETTER_FORMS[c])) if c in LETTER_FORMS
             else draw(st.sampled_from(DOT_FORMS)) for c in form]
    host = "".join(chars)
    wrap = draw(st.sampled_from(["", "", "trailing dot", "mapped"]))
    if wrap == "trailing dot":
        host += draw(st.sampled_from(DOT_FORMS))
    elif wrap == "mapped":
        host = f"[::{draw(st.sampled_from(['ffff', 'FFFF']))}:{host}]"
    return host, str(address)


def refused_by_the_fence(host: str, *, allow_private: bool) -> None:
    """Assert the fence refuses ``host``, however the client reads it, and decides a literal without DNS."""
    resolve = Resolver()
    with pytest.raises((EndpointForbidden, socket.gaierror)):
        checked_addresses(host, 443, allow_private=allow_private, resolve=resolve)
    with pytest.raises(DeliveryError):
        check_endpoint(f"https://{host}/", allow_private=allow_private, resolve=resolve)
    reading = client_reading(host)
    literal = parse_ip_literal(reading) if reading is not None else None
    if literal is not None:
        # What the client reads as an address is refused for that address, never passed to DNS
        with pytest.raises(EndpointForbidden):
            checked_addresses(host, 443, allow_private=allow_private, resolve=resolve)
        with pytest.raises(EndpointForbidden):
            checked_addresses(reading, 443, allow_private=allow_private, resolve=resolve)  # type: ignore[arg-type]
        assert resolve.asked == []


@pytest.mark.parametrize("allow_private", [False, True], ids=["loopback, private or metadata, without private "
                                                               "endpoints", "metadata or link-local, with them"])
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_no_spelling_of_a_refused_address_passes(allow_private: bool, data: st.DataObject) -> None:
    # Given an address the fence refuses under this setting, in a random spelling
    host, _ = data.draw(spelling(ALWAYS_REFUSED if allow_private else st.one_of(PRIVATE, ALWAYS_REFUSED)))
    # Then the fence refuses it, and never asks DNS about what the client reads as an address
    refused_by_the_fence(host, allow_private=allow_private)


@settings(max_examples=200, deadline=None)
@given(spelling(PRIVATE))
def test_where_private_endpoints_are_allowed_the_fence_passes_only_the_address_the_client_reads(
    case: tuple[str, str],
) -> None:
    # Given a private address in some spelling, where private endpoints are allowed
    host, _ = case
    reading = client_reading(host)
    literal = parse_ip_literal(reading) if reading is not None else None
    try:
        passed = checked_addresses(host, 443, allow_private=True, resolve=Resolver())
    except (EndpointForbidden, socket.gaierror):
        return  # refused: nothing connects
    # Then what passes is exactly the address the client connects to, never another
    assert literal is not None and passed == [literal]
