"""Endpoint safety: which addresses tracedrop may connect to on an operator's behalf.

Link-local and cloud-metadata addresses and names are refused always; loopback and private ranges unless
private endpoints are allowed. IP literals are normalised in every spelling (decimal, hex, octal, short forms,
IPv4-mapped, -compatible, NAT64, 6to4 and Teredo IPv6) and every address a name resolves to is checked.

The same check runs three times: when a destination is tested or saved (``check_endpoint``), when a worker builds
a client for it, and when that client opens any connection (``checked_addresses``, called by the connection class
that the S3 client installs): the connection then goes to the address that was checked, never to a second answer.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from worker.errors import EndpointForbidden

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Iterable[str]]

METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal",
     "metadata.azure.com", "metadata.tencentyun.com", "metadata.platformequinix.com"}
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "169.254.170.23", "fd00:ec2::254", "fd00:ec2::23",
              "fd20:ce::254", "100.100.100.200", "168.63.129.16")
)
_ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(n)
    for n in ("169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128", "224.0.0.0/4", "ff00::/8", "240.0.0.0/4")
)
_EMBEDDING_V4 = tuple(ipaddress.ip_network(n) for n in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48"))
_SPECIAL_LOOPBACK = ("127.0.0.1", "::1")


def parse_ip_literal(host: str) -> Address | None:
    """The address an IP literal means, in any spelling ``inet_aton`` accepts; None for a name."""
    host = host.strip("[]").split("%")[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, ValueError):
            return None
    return unmapped(address)


def unmapped(address: Address) -> Address:
    """An IPv4-mapped or -translated IPv6 address as the IPv4 address it reaches."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if int(address) > 1 and any(address in net for net in _EMBEDDING_V4):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _embedded(address: Address) -> list[Address]:
    """The address and every IPv4 address it carries (6to4, Teredo client)."""
    found: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.append(address.teredo[1])
    return found


def check_address(address: Address, *, allow_private: bool) -> None:
    """Raise EndpointForbidden unless tracedrop may connect to this address."""
    for candidate in _embedded(unmapped(address)):
        if candidate in METADATA_ADDRESSES or any(candidate in net for net in _ALWAYS_REFUSED):
            raise EndpointForbidden(
                f"The endpoint address {address} is link-local or a cloud metadata service: never allowed. "
                "Use the store's public or private address instead."
            )
        if not allow_private and (candidate.is_private or candidate.is_reserved or not candidate.is_global):
            raise EndpointForbidden(
                f"The endpoint address {address} is loopback or private. Use a public endpoint, or set "
                "TRACEDROP_ALLOW_PRIVATE_ENDPOINTS=true on the api and workers to allow self-hosted stores."
            )


def check_name(host: str) -> str:
    """The host name, normalised; raise EndpointForbidden for a cloud metadata name."""
    name = host.strip("[]").rstrip(".").lower()
    if not name:
        raise EndpointForbidden("The endpoint has no host.")
    if name in METADATA_NAMES or (name.startswith("metadata") and name.endswith(".internal")):
        raise EndpointForbidden(f"The endpoint host {name} is a cloud metadata service: never allowed.")
    return name


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve a name; RFC 6761 names are answered here, without asking DNS."""
    if host == "localhost" or host.endswith(".localhost"):
        return list(_SPECIAL_LOOPBACK)
    if host == "invalid" or host.endswith(".invalid"):
        raise socket.gaierror(socket.EAI_NONAME, f"{host} does not exist (RFC 6761)")
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def checked_addresses(host: str, port: int, *, allow_private: bool,
                      resolve: Resolver = system_resolver) -> list[Address]:
    """Every address ``host`` resolves to, each checked; raise EndpointForbidden or ``socket.gaierror``."""
    name = check_name(host)
    literal = parse_ip_literal(name)
    if literal is not None:
        check_address(literal, allow_private=allow_private)
        return [literal]
    try:
        resolved = [unmapped(ipaddress.ip_address(a.split("%")[0])) for a in resolve(name, port)]
    except UnicodeError as exc:
        raise socket.gaierror(socket.EAI_NONAME, f"{name} is not a valid host name") from exc
    if not resolved:
        raise socket.gaierror(socket.EAI_NONAME, f"{name} has no address")
    for address in resolved:
        check_address(address, allow_private=allow_private)
    return resolved


def check_scheme(scheme: str, *, allow_private: bool) -> None:
    """https always; http only where private endpoints are allowed."""
    if scheme == "http" and not allow_private:
        raise EndpointForbidden("The endpoint must use https (http is allowed only with private endpoints).")
    if scheme not in ("http", "https"):
        raise EndpointForbidden("The endpoint must be an https URL.")


def check_endpoint(url: str, *, allow_private: bool, resolve: Resolver = system_resolver) -> list[Address]:
    """Check scheme, credentials, the host's name and every address it resolves to; return the addresses.

    A name that does not resolve has nothing to refuse: it returns ``[]`` and connecting reports it.
    """
    parts = urlsplit(url)
    check_scheme(parts.scheme, allow_private=allow_private)
    if parts.username is not None or parts.password is not None:
        raise EndpointForbidden("The endpoint must not contain user:password@; use access_key_id/access_secret.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise EndpointForbidden("The endpoint port is not a number in 1-65535.") from None
    try:
        return checked_addresses(parts.hostname or "", port, allow_private=allow_private, resolve=resolve)
    except OSError:
        return []
