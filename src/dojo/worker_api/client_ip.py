"""The client address a request is counted against: the peer, or X-Forwarded-For behind a trusted proxy."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from dojo.errors import DojoError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """``"10.0.0.1, 192.168.0.0/16"`` → networks; a clear error names the entry that is not an IP or CIDR."""
    out = []
    for part in (p.strip() for p in (spec or "").split(",")):
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise DojoError(
                f"invalid trusted proxy {part!r} in DOJO_WORKER_TRUSTED_PROXIES: expected an IP address "
                "or a CIDR such as 10.0.0.0/8, comma-separated"
            ) from exc
    return tuple(out)


class ClientAddress:
    """``resolve(peer, x_forwarded_for)`` → the address to rate-limit.

    Only when the direct peer is a trusted proxy is X-Forwarded-For believed, and then only as far
    as the chain of trusted proxies goes: walking the list from the right (the entry the nearest
    proxy added), the first address that is not a trusted proxy is the client. Anything a client
    wrote further left is ignored, so it cannot pick its own address; a malformed entry stops the
    walk at the last address known good.
    """

    def __init__(self, trusted: str = "") -> None:
        self._networks = parse_networks(trusted)
        self.enabled = bool(self._networks)

    @lru_cache(maxsize=4096)  # noqa: B019 - one instance per app; addresses repeat
    def is_trusted(self, address: str) -> bool:
        """True when ``address`` lies in one of the trusted networks."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self._networks)

    def resolve(self, peer: str, forwarded_for: str | None) -> str:
        """The client address for a request from ``peer`` carrying ``forwarded_for`` (or None)."""
        if not self.enabled or not forwarded_for or not self.is_trusted(peer):
            return peer
        client = peer
        for hop in reversed(forwarded_for.split(",")):
            hop = hop.strip()
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                break
            client = hop
            if not self.is_trusted(hop):
                break
        return client
