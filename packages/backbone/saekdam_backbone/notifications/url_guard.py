"""Where a webhook may point: http(s) URLs whose host resolves only to public addresses.

The API checks at registration and the deliverer again before every attempt, then connects
to the very address it checked, so a name that resolved to a public address once and to
127.0.0.1 later (DNS rebinding) is refused at delivery. `allow_loopback` is for `make run`'s
embedded mode, where a developer points a webhook at a receiver on their own machine.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_CHARS = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> every address the name resolves to. Tests swap in their own.
Resolver = Callable[[str, int], Awaitable[list[str]]]

CGNAT = ipaddress.ip_network("100.64.0.0/10")
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class UrlNotAllowed(ValueError):
    """The URL is not one a webhook may call; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked URL and the address to connect to (the one that was checked)."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


async def system_resolver(host: str, port: int) -> list[str]:
    # The event loop's getaddrinfo runs in its thread pool, never on the loop.
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_shape(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL with a host, or UrlNotAllowed."""
    if len(url) > MAX_URL_CHARS:
        raise UrlNotAllowed(f"the URL has to be at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlNotAllowed(f"the URL is not valid: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise UrlNotAllowed(f"the URL has to be http or https but is {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise UrlNotAllowed("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UrlNotAllowed("the URL may not carry credentials")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def refusal(address: IPAddress, allow_loopback: bool) -> str | None:
    """Why a webhook may not call this address, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return refusal(address.ipv4_mapped, allow_loopback)
    if address in METADATA:
        return "a cloud metadata address"
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    checks = (
        ("is_unspecified", "an unspecified address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, reason in checks:
        if getattr(address, attribute):
            return reason
    if address in CGNAT:
        return "a carrier-grade NAT address"
    return None


async def checked_target(
    url: str, *, allow_loopback: bool, resolver: Resolver | None = None
) -> Target:
    """Resolve the URL's host and refuse it if any address it resolves to is not public."""
    scheme, host, port = check_shape(url)
    try:
        addresses = await (resolver or system_resolver)(host, port)
    except OSError as exc:
        raise UrlNotAllowed(f"the host {host!r} does not resolve: {exc}") from exc
    if not addresses:
        raise UrlNotAllowed(f"the host {host!r} does not resolve")
    for text in addresses:
        reason = refusal(ipaddress.ip_address(text.split("%", 1)[0]), allow_loopback)
        if reason is not None:
            raise UrlNotAllowed(f"the host {host!r} resolves to {text}, {reason}")
    return Target(url=url, scheme=scheme, host=host, port=port, address=addresses[0])
