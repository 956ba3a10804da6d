"""The server role's pool: the addresses it hands out, in one network, and
its own address (pure: no I/O). Addresses are plain integers on the request
path; ``ipaddress`` is slow there."""

from __future__ import annotations

import functools
import ipaddress
import socket
from dataclasses import dataclass

LAB_NETWORK = "10.77.0.0/24"


@dataclass
class Pool:
    """The addresses a server hands out, in one network, and its own address."""

    first: int
    last: int
    network: ipaddress.IPv4Network
    server_ip: str

    @classmethod
    def parse(cls, spec: str | None = None, *, server_ip: str | None = None,
              iface_address: str | None = None) -> Pool:
        """``spec`` is a range ``"10.0.0.100-10.0.0.199"`` or a network
        ``"10.0.0.0/24"``; None takes the interface's network (``iface_address``
        as ``"10.0.0.5/24"``), else the lab's 10.77.0.0/24. The server's address
        is ``server_ip``, else the interface's own, else the network's first
        host; it is never handed out."""
        own = ipaddress.IPv4Interface(iface_address) if iface_address else None
        try:
            if spec is None:
                network = own.network if own is not None else ipaddress.IPv4Network(LAB_NETWORK)
                first, last = int(network.network_address) + 1, int(network.broadcast_address) - 1
            elif "-" in spec:
                a, b = (ipaddress.IPv4Address(x.strip()) for x in spec.split("-", 1))
                if int(b) < int(a):
                    raise ValueError(f"{spec}: the range ends before it starts")
                if own is not None and a in own.network and b in own.network:
                    network = own.network
                else:
                    prefix = 24
                    while prefix > 8 and ipaddress.IPv4Network(f"{a}/{prefix}", strict=False) != \
                            ipaddress.IPv4Network(f"{b}/{prefix}", strict=False):
                        prefix -= 1
                    network = ipaddress.IPv4Network(f"{a}/{prefix}", strict=False)
                first, last = int(a), int(b)
            else:
                network = ipaddress.IPv4Network(spec, strict=False)
                first, last = int(network.network_address) + 1, int(network.broadcast_address) - 1
            if server_ip is None:
                if own is not None and own.ip in network:
                    server_ip = str(own.ip)
                else:
                    server_ip = str(ipaddress.IPv4Address(int(network.network_address) + 1))
            elif ipaddress.IPv4Address(server_ip) not in network:
                raise ValueError(f"server_ip {server_ip} is not in the pool's network {network}")
        except ValueError as exc:
            raise ValueError(f"pool {spec!r}: {exc}; give a range '10.0.0.100-10.0.0.199' "
                             "or a network '10.0.0.0/24'") from None
        server = int(ipaddress.IPv4Address(server_ip))
        first += first == server   # the server's own address is never handed out
        last -= last == server
        if last < first:
            raise ValueError(f"pool {spec!r} has no addresses to hand out")
        return cls(first, last, network, server_ip)

    def __post_init__(self) -> None:
        # Plain integers: the rules run for every request, ipaddress is slow there.
        self._server = _n(self.server_ip)
        self._net = int(self.network.network_address)
        self._mask = int(self.network.netmask)

    @property
    def size(self) -> int:
        return self.last - self.first + 1 - (1 if self.first <= self._server <= self.last else 0)

    def __contains__(self, address: object) -> bool:
        try:
            n = _n(str(address))
        except OSError:
            return False
        return self.first <= n <= self.last and n != self._server

    def on_network(self, address: str) -> bool:
        try:
            return _n(address) & self._mask == self._net
        except OSError:
            return False

    def __str__(self) -> str:
        return f"{ipaddress.IPv4Address(self.first)}-{ipaddress.IPv4Address(self.last)}"


@functools.lru_cache(maxsize=1 << 16)   # remembered: the rules ask it of every request
def _n(address: str) -> int:
    """An address as an integer; OSError when it is not one (socket.inet_aton's way)."""
    if address.count(".") != 3:
        raise OSError(f"not an IPv4 address: {address!r}")
    return int.from_bytes(socket.inet_aton(address), "big")


def _s(n: int) -> str:
    return socket.inet_ntoa(n.to_bytes(4, "big"))
