"""The DHCPv6 socket: a second AF_PACKET socket on the interface, with a filter
of its own (IPv6: ICMPv6, and UDP to ports 546 and 547 or from 547), and
RFC 8415's retransmission (section 15).

Like the v4 transport it is a user-space stack on a link where the kernel
has no say: it answers neighbour solicitations for the addresses in
``nd_addresses`` (the client's link-local address, its leased address), as a
configured host's kernel would. A server's REPLY to our link-local address
comes only after it has resolved it.

Replies are matched on the transaction id and our DUID in the client-id
option (RFC 8415 16: a reply without it, or with another, is discarded),
inside however many RELAY-REPL layers.
"""

from __future__ import annotations

from typing import Any, Callable

from ..wire import ETH_SRC
from ..wire.dhcp6 import (
    DHCP6_FILTER,
    ICMP6_AT,
    IP6_NH,
    IP6_SRC,
    IPPROTO_ICMPV6,
    ND_ADVERT,
    finish_udp6_checksum,
    ip6_bytes,
    is_neighbour_advert_for,
    neighbour_advert,
    neighbour_solicit,
    neighbour_solicited,
)
from ..wire.fragments6 import Reassembly6, is_fragment6
from ..wire.frames6 import Frame6, is_reply6_to, is_request6, parse_frame6
from .base import LinkSocket
from .exchange import Exchange, Retransmit6

__all__ = ["Retransmit6", "Transport6"]


class Transport6(LinkSocket):
    """Sends DHCPv6 frames on one interface and collects the replies that match;
    see :class:`~.base.LinkSocket` for what it shares with the v4 part (stale
    ENETDOWN, one-line errors, finished checksums, injectable socket and clock)."""

    FILTER = DHCP6_FILTER

    def __init__(self, iface: str, **kwargs: Any) -> None:
        super().__init__(iface, **kwargs)
        self.nd_addresses: dict[bytes, bytes] = {}   # IPv6 address -> the MAC we answer with

    def answer_nd(self, address: str, mac: bytes) -> None:
        self.nd_addresses[ip6_bytes(address)] = mac

    def forget_nd(self, address: str | None = None) -> None:
        if address is None:
            self.nd_addresses.clear()
        else:
            self.nd_addresses.pop(ip6_bytes(address), None)

    def neighbour_answers(self, target: str, *, mac: bytes, src: str, wait: float = 1.0, tries: int = 1) -> bool:
        """Whether a neighbour solicitation for ``target`` (from ``src``, our ``mac``) gets a neighbour
        advertisement for it: a host that still uses an address answers for it (RFC 4861 7.2)."""
        frame = neighbour_solicit(mac=mac, src=src, target=target)
        want = ip6_bytes(target)
        return self.probe(frame, lambda f: is_neighbour_advert_for(f.raw, want), wait=wait, tries=tries) is not None

    def _reader_rules(self) -> dict[str, Any]:
        # a message past the MTU (a client writing 100 addresses back) comes in fragments: put back together
        fragments = Reassembly6()
        return {"is_request": is_request6, "reply_to_local": is_reply6_to,
                "reassemble": lambda raw: fragments.add(raw) if is_fragment6(raw) else raw}

    def _finish_checksum(self, raw: bytes) -> bytes:
        return finish_udp6_checksum(raw)

    def _parse(self, raw: bytes) -> Frame6:
        return parse_frame6(raw, self.clock())

    def _handle_neighbour(self, raw: bytes, consume_replies: bool = True) -> bool:
        """Answers a neighbour solicitation for one of our addresses; True when
        ``raw`` was ICMPv6 (dealt with: never a DHCPv6 reply)."""
        if len(raw) <= IP6_NH or raw[IP6_NH] != IPPROTO_ICMPV6:
            return False
        if len(raw) > ICMP6_AT and raw[ICMP6_AT] == ND_ADVERT:   # a neighbour advertisement: a probe's answer
            return consume_replies
        target = neighbour_solicited(raw)
        mac = self.nd_addresses.get(target) if target is not None else None
        if target is not None and mac is not None:
            src = raw[IP6_SRC:IP6_SRC + 16]
            if src == bytes(16):   # duplicate address detection: answer to all nodes
                to, to_mac = ip6_bytes("ff02::1"), b"\x33\x33\x00\x00\x00\x01"
            else:
                to, to_mac = src, raw[ETH_SRC:ETH_SRC + 6]
            try:
                self.sock.send(neighbour_advert(mac=mac, target=target, to_mac=to_mac, to=to))
            except OSError:
                pass
        return True

    def exchange(self, make: Callable[[float], bytes] | None, *, matches: Callable[[Frame6], bool],
                  timeout: float, schedule: Retransmit6 | None = None, window: float = 0.0,
                  done: Callable[[Frame6], bool] | None = None,
                  on_send: Callable[[float, bytes], None] | None = None,
                  on_receive: Callable[[Frame6, bool], None] | None = None) -> Exchange:
        """Sends ``make(elapsed)`` (elapsed: seconds since the first send, for
        the elapsed-time option) and retransmits it on ``schedule`` until a
        reply for which ``done`` is true; stops ``window`` seconds after that
        reply, at ``timeout``, or when the schedule's count or duration ends."""
        result = Exchange()
        start = self.clock()
        deadline = start + timeout
        schedule = schedule or Retransmit6()
        if schedule.mrd:
            deadline = min(deadline, start + schedule.mrd)

        def take(raw: bytes) -> float | None:
            if self._handle_neighbour(raw):
                return None
            reply = parse_frame6(raw, self.clock())
            return self._keep(result, reply, matches(reply), done or (lambda _f: True), window, on_receive)

        self.run_exchange(result, make, schedule.intervals(self.rand), deadline, take, on_send, schedule.mrc)
        return result

    exchange6 = exchange   # its name before the two parts shared one base
