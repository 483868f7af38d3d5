"""What a click keeps of the client (docs/engagement.md, "Privacy"): the **network** its
address is in, never the address (an IPv4 address's /24, an IPv6 address's /48: enough to tell a
mobile carrier from a data centre, or one office from many, and no more), and the **user agent**
cut to its column's length with control characters dropped (it is shown in exports)."""

from __future__ import annotations

import ipaddress

from voiceplatform.models.engagement import MAX_USER_AGENT

IPV4_PREFIX = 24
IPV6_PREFIX = 48


def network_of(address: str | None) -> str | None:
    """``203.0.113.77`` → ``203.0.113.0/24``; ``2001:db8:1:2::5`` → ``2001:db8:1::/48``; an
    IPv4-mapped IPv6 address as its IPv4 network; None when it is not an address."""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address.strip()[:64])
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    prefix = IPV4_PREFIX if parsed.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def clean_user_agent(value: str | None) -> str | None:
    if not value:
        return None
    text = "".join(char for char in value[: MAX_USER_AGENT * 2] if char.isprintable())
    return text[:MAX_USER_AGENT].strip() or None
