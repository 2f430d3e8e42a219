"""Endpoint safety, through the address checks themselves: no test here opens a connection or asks DNS."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from worker.egress import connect_address
from worker.errors import EndpointForbidden, EndpointUnresolvable
from worker.ssrf import check_address, check_endpoint, checked_addresses, parse_ip_literal, system_resolver


def resolver(*addresses: str):  # type: ignore[no-untyped-def]
    return lambda host, port: list(addresses)


def unresolvable(host: str, port: int) -> list[str]:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize("spelling", ["127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1",
                                      "[::ffff:127.0.0.1]", "::ffff:7f00:1", "[::1]"])
def test_loopback_in_every_spelling(spelling: str) -> None:
    address = parse_ip_literal(spelling)
    assert address is not None and address.is_loopback


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.0.1", "fe80::1", "fd00:ec2::254",
                                     "::ffff:169.254.169.254", "100.100.100.200", "0.0.0.0", "224.0.0.1"])
def test_link_local_metadata_and_unspecified_are_refused_even_when_private_is_allowed(address: str) -> None:
    with pytest.raises(EndpointForbidden):
        check_address(ipaddress.ip_address(address), allow_private=True)


@pytest.mark.parametrize("address", ["10.0.0.5", "172.16.3.4", "192.168.1.1", "127.0.0.1", "::1", "fc00::1",
                                     "100.64.0.1"])
def test_private_ranges_only_when_allowed(address: str) -> None:
    with pytest.raises(EndpointForbidden):
        check_address(ipaddress.ip_address(address), allow_private=False)
    check_address(ipaddress.ip_address(address), allow_private=True)


def test_a_public_address_is_allowed() -> None:
    check_address(ipaddress.ip_address("52.216.0.1"), allow_private=False)


@pytest.mark.parametrize("url", ["https://metadata.google.internal", "https://metadata", "https://METADATA.goog."])
def test_metadata_names_are_refused_before_any_lookup(url: str) -> None:
    with pytest.raises(EndpointForbidden):
        check_endpoint(url, allow_private=True, resolve=unresolvable)


def test_every_resolved_address_is_checked() -> None:
    with pytest.raises(EndpointForbidden, match=r"169\.254\.169\.254"):
        check_endpoint("https://store.example.com", allow_private=False,
                       resolve=resolver("52.216.0.1", "169.254.169.254"))
    with pytest.raises(EndpointForbidden, match="private"):
        check_endpoint("https://store.example.com", allow_private=False, resolve=resolver("10.1.2.3"))
    assert check_endpoint("https://store.example.com", allow_private=False, resolve=resolver("52.216.0.1"))


def test_scheme_and_credentials_rules() -> None:
    with pytest.raises(EndpointForbidden, match="https"):
        check_endpoint("http://store.example.com", allow_private=False, resolve=resolver("52.216.0.1"))
    check_endpoint("http://store.example.com", allow_private=True, resolve=resolver("10.0.0.1"))
    with pytest.raises(EndpointForbidden, match="user:password"):
        check_endpoint("https://u:p@store.example.com", allow_private=True, resolve=resolver("52.216.0.1"))


def test_a_name_that_does_not_resolve_is_refused_not_passed() -> None:
    # Given a name DNS does not answer (it might answer loopback later, or the client might read it otherwise)
    # When the endpoint is checked, Then it is refused as unreachable: nothing unchecked gets through
    with pytest.raises(EndpointUnresolvable, match="does not resolve") as refused:
        check_endpoint("https://store.example.com", allow_private=False, resolve=unresolvable)
    assert refused.value.code == "endpoint_unreachable"


@pytest.mark.parametrize("address", ["2002:a9fe:a9fe::1", "::169.254.169.254", "64:ff9b::169.254.169.254",
                                     "64:ff9b:1::a9fe:a9fe", "2001:0:4136:e378:8000:63bf:5601:5601",
                                     "168.63.129.16", "fd20:ce::254"])
def test_metadata_and_link_local_hidden_in_ipv6_forms_are_refused(address: str) -> None:
    with pytest.raises(EndpointForbidden, match="never allowed"):
        check_address(ipaddress.ip_address(address), allow_private=True)


@pytest.mark.parametrize("address", ["2002:7f00:1::1", "::127.0.0.1", "64:ff9b::10.0.0.1", "::ffff:192.168.1.1"])
def test_loopback_and_private_hidden_in_ipv6_forms_are_private(address: str) -> None:
    with pytest.raises(EndpointForbidden, match="TRACEDROP_ALLOW_PRIVATE_ENDPOINTS"):
        check_address(ipaddress.ip_address(address), allow_private=False)


@pytest.mark.parametrize("host", ["metadata.azure.com", "metadata.tencentyun.com", "metadata.internal",
                                  "METADATA.GOOGLE.INTERNAL.", "[169.254.169.254]", "0xa9fea9fe", "2852039166"])
def test_metadata_hosts_are_refused_by_name_or_literal_without_lookup(host: str) -> None:
    with pytest.raises(EndpointForbidden):
        checked_addresses(host, 443, allow_private=True, resolve=unresolvable)


def test_rfc_6761_names_are_answered_without_asking_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> None:
        raise AssertionError("DNS was asked")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    assert system_resolver("localhost", 443) == ["127.0.0.1", "::1"]
    assert system_resolver("minio.localhost", 443) == ["127.0.0.1", "::1"]
    for name in ("store.invalid", "invalid"):
        with pytest.raises(socket.gaierror):
            system_resolver(name, 443)
    with pytest.raises(EndpointForbidden):
        checked_addresses("s3.localhost", 443, allow_private=False)
    with pytest.raises(EndpointUnresolvable):
        check_endpoint("https://store.invalid", allow_private=False)


def test_checked_addresses_checks_every_answer_and_reports_no_answer() -> None:
    assert checked_addresses("store.example.com", 443, allow_private=False,
                             resolve=resolver("52.216.0.1", "2600:1f18::1")) == [
        ipaddress.ip_address("52.216.0.1"), ipaddress.ip_address("2600:1f18::1")]
    with pytest.raises(EndpointForbidden, match="fe80::1"):
        checked_addresses("store.example.com", 443, allow_private=True, resolve=resolver("52.216.0.1", "fe80::1%eth0"))
    with pytest.raises(EndpointForbidden):
        checked_addresses("store.example.com", 443, allow_private=False, resolve=resolver("::ffff:10.0.0.1"))
    with pytest.raises(socket.gaierror):
        checked_addresses("store.example.com", 443, allow_private=False, resolve=resolver())
    with pytest.raises(socket.gaierror):
        checked_addresses("store.example.com", 443, allow_private=False, resolve=unresolvable)


def test_ports_and_empty_hosts_are_refused() -> None:
    with pytest.raises(EndpointForbidden, match="port"):
        check_endpoint("https://store.example.com:99999", allow_private=False, resolve=resolver("52.216.0.1"))
    with pytest.raises(EndpointForbidden, match="no host"):
        check_endpoint("https://:443", allow_private=False, resolve=resolver("52.216.0.1"))
    with pytest.raises(EndpointForbidden, match="https"):
        check_endpoint("ftp://store.example.com", allow_private=True, resolve=resolver("52.216.0.1"))


def test_a_driver_gets_the_checked_address_to_connect_to() -> None:
    # Given a name whose DNS answers a public and then a private address (a rebinding answer)
    answers = {"db.example.com": ["93.184.216.34", "10.0.0.5"]}

    def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    # Then a driver is refused, as every client is, unless private endpoints are allowed
    with pytest.raises(EndpointForbidden, match="loopback or private"):
        connect_address("db.example.com", 5432, allow_private=False, resolve=resolve)
    assert connect_address("db.example.com", 5432, allow_private=True, resolve=resolve) == "93.184.216.34"
    # and a literal in any spelling is the address it means; the metadata service never
    assert connect_address("0x7f000001", 5432, allow_private=True) == "127.0.0.1"
    assert connect_address("localhost", 5432, allow_private=True) == "127.0.0.1"
    with pytest.raises(EndpointForbidden, match="metadata"):
        connect_address("169.254.169.254", 5432, allow_private=True)
