"""Who is asking: the client's address, believing X-Forwarded-For only from trusted proxies.

Behind the documented reverse proxy every request reaches the portal from the
proxy's own address. The proxy writes the address it saw into X-Forwarded-For; the
portal believes that header only when the request came from an address in
``portal.trusted_proxies``, and then walks it from the right, past each trusted
proxy, to the first address it does not trust: that is the client. Anything that
is no address ends the walk, so a made-up header never picks the address counted.
The walk is pure (:func:`client_address`); :func:`address_of` applies it to a request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from aiohttp import hdrs, web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

UNKNOWN = "unknown"


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """The trusted proxies as networks (a single address is a network of one)."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def parse_address(text: str | None) -> Address | None:
    """An IP address from a header or a socket, or None when it is none."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1] or [2001:db8::1]:443
        text = text[1 : text.index("]")]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str:
    """The address of the client behind any trusted proxies, as text.

    ``peer`` is the socket's address; ``forwarded_for`` every X-Forwarded-For header
    in order. A peer that is not a trusted proxy is the client, whatever it sends.
    """
    address = parse_address(peer)
    if address is None:
        return UNKNOWN
    if not _trusted(address, trusted):
        return str(address)
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        forwarded = parse_address(hop)
        if forwarded is None:
            break  # not an address: believe nothing further left
        address = forwarded
        if not _trusted(address, trusted):
            break
    return str(address)


def limit_key(address: str) -> str:
    """What failed tries are counted against: the address, or its /64 for IPv6.

    One IPv6 home connection holds a whole /64, so counting single addresses
    would give a guesser billions of fresh ones.
    """
    parsed = parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


TRUSTED = web.AppKey("trusted_proxies", tuple)
"""The portal's trusted proxies as networks, worked out once at start."""


def address_of(request: web.Request) -> str:
    """The address of whoever sent ``request`` (see the module's docstring)."""
    trusted = request.app.get(TRUSTED, ())
    return client_address(request.remote, request.headers.getall(hdrs.X_FORWARDED_FOR, []), trusted)


def forwarded(request: web.Request) -> bool:
    """Whether the request came through a proxy at all (it names someone else)."""
    return hdrs.X_FORWARDED_FOR in request.headers
