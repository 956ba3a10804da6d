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

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..transport import Exchange, Transport
from ..wire.dhcp6 import (
    DHCP6_FILTER,
    IP6_SRC,
    TRANSMISSION6,
    finish_udp6_checksum,
    ip6_bytes,
    neighbour_advert,
    neighbour_solicited,
)
from .frames import Frame6, parse_frame6


@dataclass
class Retransmit6:
    """RFC 8415 15: RT starts at IRT (plus up to 10% of it, never less for a
    SOLICIT), doubles (each +/- 10%) up to MRT; MRC sends at most, MRD seconds
    at most (0: no limit). ``Retransmit6.rfc8415("REQUEST")`` gives the
    protocol's own values (7.6)."""

    irt: float = 1.0
    mrt: float = 30.0
    mrc: int = 0
    mrd: float = 0.0
    first_positive: bool = False   # SOLICIT: the first RAND is strictly greater than 0

    @classmethod
    def rfc8415(cls, message: str) -> Retransmit6:
        irt, mrt, mrc, mrd = TRANSMISSION6[message]
        return cls(irt, mrt, mrc, mrd, first_positive=message == "SOLICIT")

    def intervals(self, rand: Callable[[], float]) -> Iterator[float]:
        """The time to wait after each transmission (for its reply, or to send again)."""
        rt = self.irt * (1 + (0.1 * rand() if self.first_positive else 0.2 * rand() - 0.1))
        while True:
            yield rt
            rt = 2 * rt + (0.2 * rand() - 0.1) * rt
            if self.mrt and rt > self.mrt:
                rt = self.mrt * (1 + 0.2 * rand() - 0.1)


class Transport6(Transport):
    """Sends DHCPv6 frames on one interface and collects the replies that match.
    Shares the v4 transport's socket handling (stale ENETDOWN, one-line errors,
    finished checksums); ``sock`` and ``clock`` are injectable the same way."""

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

    def _finish_checksum(self, raw: bytes) -> bytes:
        return finish_udp6_checksum(raw)

    def _parse(self, raw: bytes) -> Frame6:
        return parse_frame6(raw, self.clock())

    def _handle_arp(self, raw: bytes, consume_replies: bool = True) -> bool:
        """Answers a neighbour solicitation for one of our addresses; True when
        ``raw`` was ICMPv6 (dealt with: never a DHCPv6 reply)."""
        if len(raw) <= 20 or raw[20] != 58:
            return False
        if len(raw) > 54 and raw[54] == 136:   # a neighbour advertisement: a probe's answer
            return consume_replies
        target = neighbour_solicited(raw)
        mac = self.nd_addresses.get(target) if target is not None else None
        if target is not None and mac is not None:
            src = raw[IP6_SRC:IP6_SRC + 16]
            if src == bytes(16):   # duplicate address detection: answer to all nodes
                to, to_mac = ip6_bytes("ff02::1"), b"\x33\x33\x00\x00\x00\x01"
            else:
                to, to_mac = src, raw[6:12]
            try:
                self.sock.send(neighbour_advert(mac=mac, target=target, to_mac=to_mac, to=to))
            except OSError:
                pass
        return True

    def exchange(self, frame: Any, **kwargs: Any) -> Exchange:  # type: ignore[override]
        raise TypeError("Transport6 exchanges are exchange6(); exchange() is DHCPv4's")

    def exchange6(self, make: Callable[[float], bytes] | None, *, matches: Callable[[Frame6], bool],
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
            if self._handle_arp(raw):
                return None
            reply = parse_frame6(raw, self.clock())
            return self._keep(result, reply, matches(reply), done or (lambda _f: True), window, on_receive)

        self.run_exchange(result, make, schedule.intervals(self.rand), deadline, take, on_send, schedule.mrc)
        return result
