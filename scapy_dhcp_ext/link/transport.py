"""DHCPv4 on the link's socket: replies matched on xid and chaddr, ARP answered.

The socket (:mod:`.base`) lets through IPv4 UDP from port 67, ARP and ICMP, and
to port 67 too while a server runs. Replies are matched on xid and chaddr, never
on IP addresses: a broadcast reply does not swap them, so Scapy's ``answers``
cannot match it.

While it waits, the transport answers ARP requests for the addresses in
``arp_addresses`` (the leased address, a relay's giaddr), as the kernel of a
configured client would: a server that unicasts to ``ciaddr`` (dnsmasq does on
RENEW and INFORM) asks ARP first.
"""

from __future__ import annotations

from typing import Any, Callable

from ..wire import (
    ARP_LEN,
    ARP_OPER,
    ARP_REPLY,
    ARP_SHA,
    ARP_SPA,
    ARP_TPA,
    ETH_TYPE,
    IP_PROTO,
    IPPROTO_ICMP,
    arp_frame,
    finish_udp_checksum,
    ip_bytes,
)
from ..wire.frames4 import Frame, parse_frame
from .base import LinkSocket
from .exchange import MAX_IGNORED, MAX_REPLIES, Backoff, Exchange
from .rawsocket import DHCP_FILTER, SERVE_FILTER, interface_ipv4, interface_mac, open_raw_socket

__all__ = ["MAX_IGNORED", "MAX_REPLIES", "Backoff", "Exchange", "Transport", "interface_ipv4", "interface_mac",
           "open_raw_socket"]


class Transport(LinkSocket):
    """Sends DHCPv4 frames on one interface and collects the replies that match;
    see :class:`~.base.LinkSocket` for what it shares with the v6 part."""

    FILTER = DHCP_FILTER
    SERVE_FILTER = SERVE_FILTER

    def __init__(self, iface: str, **kwargs: Any) -> None:
        super().__init__(iface, **kwargs)
        self.arp_addresses: dict[bytes, bytes] = {}   # IPv4 -> MAC we answer ARP with
        self._pinned: set[bytes] = set()

    def _finish_checksum(self, raw: bytes) -> bytes:
        return finish_udp_checksum(raw)

    def _parse(self, raw: bytes) -> Any:
        return parse_frame(raw, self.clock())

    def link_ipv4(self) -> str | None:
        return interface_ipv4(self.iface, self.new_socket)

    def answer_arp(self, address: str, mac: bytes, *, pin: bool = False) -> None:
        """Answers ARP for ``address`` with ``mac``; ``pin`` keeps it past a
        ``forget_arp()`` of everything (a server's own address)."""
        self.arp_addresses[ip_bytes(address)] = mac
        if pin:
            self._pinned.add(ip_bytes(address))

    def forget_arp(self, address: str | None = None) -> None:
        if address is None:
            for key in [k for k in self.arp_addresses if k not in self._pinned]:
                del self.arp_addresses[key]
        else:
            self.arp_addresses.pop(ip_bytes(address), None)
            self._pinned.discard(ip_bytes(address))

    def _handle_neighbour(self, raw: bytes, consume_replies: bool = True) -> bool:
        """Answers an ARP request for one of our addresses; True if the frame was
        ARP and is dealt with (ARP replies too, unless ``consume_replies`` is off)."""
        if raw[ETH_TYPE:ETH_TYPE + 2] != b"\x08\x06":
            return False
        if len(raw) >= ARP_OPER + 2 and raw[ARP_OPER:ARP_OPER + 2] == b"\x00\x02":
            return consume_replies
        if len(raw) >= ARP_LEN and raw[ARP_OPER:ARP_OPER + 2] == b"\x00\x01":
            target = raw[ARP_TPA:ARP_TPA + 4]
            mac = self.arp_addresses.get(target)
            if mac is not None:
                reply = arp_frame(ARP_REPLY, sha=mac, spa=target, tha=raw[ARP_SHA:ARP_SHA + 6],
                                  tpa=raw[ARP_SPA:ARP_SPA + 4])
                try:
                    self.sock.send(reply)
                except OSError:
                    pass
        return True

    def exchange(self, frame: bytes | None, *, xid: int, chaddr: bytes, timeout: float,
                 backoff: Backoff | None = None, window: float = 0.0,
                 done: Callable[[Frame], bool] | None = None,
                 on_send: Callable[[float, bytes], None] | None = None,
                 on_receive: Callable[[Frame, bool], None] | None = None) -> Exchange:
        """Sends ``frame`` (if any) and collects replies with this xid and chaddr.

        Stops ``window`` seconds after the first reply for which ``done`` is true
        (default: any reply), or at ``timeout`` after the first send. Retransmits
        the same frame on the ``backoff`` schedule until such a reply comes (a
        reply that is not, a malformed one say, does not stop the retries).
        Ctrl-C goes up as it is: the callers' ``on_send`` and ``on_receive``
        have recorded every frame, from which the partial result is made."""
        result = Exchange()
        done = done or (lambda _f: True)
        deadline = self.clock() + timeout

        def take(raw: bytes) -> float | None:
            if self._handle_neighbour(raw) or raw[IP_PROTO:IP_PROTO + 1] == bytes([IPPROTO_ICMP]):  # ARP, or ICMP
                return None
            reply = parse_frame(raw, self.clock())
            if reply.eth_src == chaddr and reply.op == 1:
                return None  # our own frame, on kernels without PACKET_IGNORE_OUTGOING
            matched = reply.op == 2 and reply.xid == xid and reply.chaddr == chaddr
            return self._keep(result, reply, matched, done, window, on_receive)

        self.run_exchange(result, None if frame is None else (lambda _spent: frame),
                          (backoff or Backoff()).intervals(self.rand), deadline, take, on_send)
        return result
