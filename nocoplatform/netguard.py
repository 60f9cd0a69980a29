"""Which network addresses the server may be made to connect to: the one SSRF classification.

Webhooks (webhooks/http.py) and data sources (bases/netpolicy.py) both ask `refusal` about
every address a host name resolves to, and then connect to that very address (pinning), so a
second DNS answer cannot swap it. Classification is by explicit tables rather than Python's
`is_private`/`is_global`, whose lists change between Python versions (3.11 calls
`::127.0.0.1`, `::ffff:0:127.0.0.1` and `64:ff9b:1::/48` global).

IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible, SIIT, NAT64, 6to4, Teredo)
are judged by that IPv4 address: a NAT64 gateway or a dual-stack kernel would deliver the
packets there.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

_net = ipaddress.ip_network

# Cloud metadata and host-agent endpoints: refused even when private addresses are allowed.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure WireServer (a public-range address)
        "fd00:ec2::254",  # AWS over IPv6
    )
)

# (network, reason), first match wins; all of these are allowed when private addresses are.
_V4_PRIVATE = [
    (_net("127.0.0.0/8"), "a loopback address"),
    (_net("169.254.0.0/16"), "a link-local address"),
    (_net("100.64.0.0/10"), "a carrier-grade NAT address"),
    (_net("10.0.0.0/8"), "a private address"),
    (_net("172.16.0.0/12"), "a private address"),
    (_net("192.168.0.0/16"), "a private address"),
    (_net("192.0.0.0/24"), "a reserved address"),  # IETF protocol assignments
    (_net("192.0.2.0/24"), "a reserved address"),  # documentation
    (_net("192.88.99.0/24"), "a reserved address"),  # former 6to4 relays
    (_net("198.18.0.0/15"), "a reserved address"),  # benchmarking
    (_net("198.51.100.0/24"), "a reserved address"),
    (_net("203.0.113.0/24"), "a reserved address"),
    (_net("240.0.0.0/4"), "a reserved address"),  # and the broadcast address
]
_V4_UNSPECIFIED = _net("0.0.0.0/8")  # Linux connects 0.0.0.0 to this very host
_V4_MULTICAST = _net("224.0.0.0/4")

# IPv6 ranges whose last 32 bits are an IPv4 address.
_V6_MAPPED = _net("::ffff:0:0/96")
_V6_SIIT = _net("::ffff:0:0:0/96")
_V6_COMPATIBLE = _net("::/96")
_V6_NAT64 = _net("64:ff9b::/96")
_V6_PRIVATE = [
    (_net("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_net("fe80::/10"), "a link-local address"),
    (_net("fec0::/10"), "a site-local address"),
    (_net("fc00::/7"), "a private address"),
    (_net("2001::/23"), "a reserved address"),  # IETF protocol assignments
    (_net("2001:db8::/32"), "a reserved address"),  # documentation
    (_net("3fff::/20"), "a reserved address"),  # documentation
]
_V6_GLOBAL_UNICAST = _net("2000::/3")
_V6_MULTICAST = _net("ff00::/8")


@dataclass(frozen=True)
class Verdict:
    """Why an address is not public; `always`: refused even when private ones are allowed."""

    reason: str
    always: bool = False


def classify(address: str) -> Verdict | None:
    """None for a public address, else why it is not one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip in METADATA:
        return Verdict("a cloud metadata address", always=True)
    if isinstance(ip, ipaddress.IPv6Address):
        return _classify_v6(ip)
    return _classify_v4(ip)


def _classify_v4(ip: ipaddress.IPv4Address) -> Verdict | None:
    if ip in _V4_UNSPECIFIED:
        return Verdict("an unspecified address", always=True)
    if ip in _V4_MULTICAST:
        return Verdict("a multicast address", always=True)
    for network, reason in _V4_PRIVATE:
        if ip in network:
            return Verdict(reason)
    if not ip.is_global:  # anything Python knows of that the table above misses
        return Verdict("a reserved address")
    return None


def _classify_v6(ip: ipaddress.IPv6Address) -> Verdict | None:
    if int(ip) == 0:
        return Verdict("an unspecified address", always=True)
    if int(ip) == 1:
        return Verdict("a loopback address")
    inner = _embedded_v4(ip)
    if inner is not None:
        return classify(str(inner))
    if ip in _V6_MULTICAST:
        return Verdict("a multicast address", always=True)
    for network, reason in _V6_PRIVATE:
        if ip in network:
            return Verdict(reason)
    if ip not in _V6_GLOBAL_UNICAST or not ip.is_global:
        return Verdict("a reserved address")
    return None


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if any(ip in n for n in (_V6_MAPPED, _V6_SIIT, _V6_COMPATIBLE, _V6_NAT64)):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def refusal(address: str, *, allow_private: bool) -> str | None:
    """Why the server may not connect to `address`, or None when it may."""
    verdict = classify(address)
    if verdict is None or (allow_private and not verdict.always):
        return None
    return verdict.reason


class Unresolvable(Exception):
    """The host name has no address (or is not a valid name)."""


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (one DNS question), in the resolver's order.

    Numeric spellings (`2130706433`, `0177.0.0.1`, `0x7f.1`) go through the same resolver the
    C libraries of the database drivers would use, so they are judged as what they mean.
    """
    try:
        infos = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError, ValueError) as exc:
        raise Unresolvable(str(exc)) from exc
    return list(dict.fromkeys(info[4][0] for info in infos))
