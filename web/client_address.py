"""The client's address: the peer's, or the one a trusted proxy forwarded.

`X-Forwarded-For` is believed only when the peer is a configured trusted proxy,
and then read from the right: the first address that is not itself a trusted
proxy is the client. A client cannot choose its address by sending the header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddresses:
    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self.trusted: tuple[Network, ...] = tuple(
            ipaddress.ip_network(entry, strict=False) for entry in trusted_proxies
        )

    def _is_trusted(self, address: str) -> bool:
        if not self.trusted:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def of(self, peer: str | None, headers: Mapping[str, str]) -> str:
        address = peer or "unknown"
        if not self._is_trusted(address):
            return address
        forwarded = headers.get("x-forwarded-for", "")
        for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return address  # a malformed chain: trust nothing beyond the proxy
            if not self._is_trusted(hop):
                return hop
            address = hop
        return address
