"""Endpoint safety: which addresses tracedrop may connect to on an operator's behalf.

Link-local and cloud-metadata addresses and names are refused always; loopback and private ranges unless
private endpoints are allowed. The decision is on the address a client will connect to, whatever the spelling: a
host is first normalised as the HTTP client normalises it (``client_host``: yarl's IDNA/UTS-46 encoding, which
reads fullwidth, segmented and other compatibility digits and dots as ASCII ones), then read as an IP literal in
every spelling (decimal, hex, octal, short forms, IPv4-mapped, -compatible, NAT64, 6to4 and Teredo IPv6) or
resolved, every address it resolves to checked. A name that does not resolve is refused, never passed unchecked.

The same check runs three times: when a destination is tested or saved (``check_endpoint``), when a worker builds
a client for it, and when that client opens any connection, to a name or an IP literal (``checked_addresses``,
called by the egress fence's connection classes): the connection then goes to the address that was checked, never
to a second answer.
"""

from __future__ import annotations

import ipaddress
import socket
import unicodedata
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from yarl import URL

from worker.errors import EndpointForbidden, EndpointUnresolvable

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
_FULL_STOPS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
"""The full stops UTS-46 reads as ``.``: ideographic, fullwidth and halfwidth ideographic."""


def client_host(host: str) -> str:
    """``host`` as the HTTP client connects to it: encoded by yarl, as aiohttp encodes every URL's host (IDNA 2008
    with UTS-46 mapping: 127.0.0.1 written in segmented digits U+1FBF0-U+1FBF9, or in fullwidth digits and full
    stops, is ``127.0.0.1``; an IP literal in its compressed form; lower case), without brackets or a trailing
    dot. Raise ``socket.gaierror`` for a host the client could not send."""
    try:
        encoded = URL.build(scheme="https", host=host.strip("[]")).raw_host or ""
    except ValueError as exc:  # UnicodeError and IDNAError too
        raise socket.gaierror(socket.EAI_NONAME, f"{host!r} is not a valid host name") from exc
    return encoded.rstrip(".")


def read_as_address(host: str) -> Address | None:
    """The address ``host`` reads as when every digit of any script is read as its value (loopback written in
    Arabic-Indic digits reads as 127.0.0.1), whether or not the HTTP client reads it so; None when it reads as none."""
    folded = unicodedata.normalize("NFKC", host.strip("[]")).translate(_FULL_STOPS)
    return parse_ip_literal("".join(str(d) if (d := unicodedata.digit(c, None)) is not None else c for c in folded))


def parse_ip_literal(host: str) -> Address | None:
    """The address an IP literal means, in any spelling ``inet_aton`` accepts; None for a name."""
    host = host.strip("[]").split("%")[0]
    if not host.isascii() or host != host.strip():
        return None  # inet_aton stops at a space; a literal is read from its normalised, ASCII form only
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
    """The host as the client connects to it (``client_host``); raise EndpointForbidden for a cloud metadata name
    or for a host that reads as an address (``read_as_address``) the client does not read it as."""
    if not host.strip("[]"):
        raise EndpointForbidden("The endpoint has no host.")
    address = read_as_address(host)
    try:
        name = client_host(host)
    except OSError:
        if address is None:
            raise
        name = ""
    if name in METADATA_NAMES or (name.startswith("metadata") and name.endswith(".internal")):
        raise EndpointForbidden(f"The endpoint host {name} is a cloud metadata service: never allowed.")
    if address is not None and parse_ip_literal(name) != address:
        raise EndpointForbidden(f"The endpoint host {host!r} reads as the address {address}, but not to the HTTP "
                                "client: write the address in ASCII digits, or a host name.")
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
    """Every address ``host``, in any spelling, stands for (itself when the client reads it as an IP literal; else
    every address its name resolves to), each checked. Raise EndpointForbidden, or ``socket.gaierror`` for a name
    that does not resolve."""
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
        raise EndpointForbidden("The endpoint must use https (http is allowed only with private endpoints: "
                                "TRACEDROP_ALLOW_PRIVATE_ENDPOINTS=true on the api and workers).")
    if scheme not in ("http", "https"):
        raise EndpointForbidden("The endpoint must be an https URL.")


def check_endpoint(url: str, *, allow_private: bool, resolve: Resolver = system_resolver) -> list[Address]:
    """Check scheme, credentials, the host's name and every address it resolves to; return the addresses.

    A name that does not resolve is refused (EndpointUnresolvable), never passed: nothing is known of where it
    would connect.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        raise EndpointForbidden("The endpoint is not a valid URL.") from None
    check_scheme(parts.scheme, allow_private=allow_private)
    if parts.username is not None or parts.password is not None:
        raise EndpointForbidden("The endpoint must not contain user:password@; use access_key_id/access_secret.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise EndpointForbidden("The endpoint port is not a number in 1-65535.") from None
    try:
        return checked_addresses(parts.hostname or "", port, allow_private=allow_private, resolve=resolve)
    except OSError as exc:
        raise EndpointUnresolvable(f"The endpoint's host name {parts.hostname!r} does not resolve: check the "
                                   "URL.") from exc
