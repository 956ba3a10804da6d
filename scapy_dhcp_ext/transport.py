"""One open raw socket per interface: send frames, wait for the replies that match.

Scapy's ``srp1`` opens a socket and compiles a BPF filter (by running tcpdump)
on every call, about 24 ms of kernel work; this module opens one AF_PACKET
socket on first use (:mod:`.rawsocket`, with a filter compiled by hand: IPv4
UDP from port 67, ARP and ICMP; to port 67 too while a server runs), and keeps
it until ``close()``.

Replies are matched on xid and chaddr, never on IP addresses: a broadcast
reply does not swap them, so Scapy's ``answers`` cannot match it.

While it waits, the transport answers ARP requests for the addresses in
``arp_addresses`` (the leased address, a relay's giaddr), as the kernel of a
configured client would: a server that unicasts to ``ciaddr`` (dnsmasq does on
RENEW and INFORM) asks ARP first.
"""

from __future__ import annotations

import collections
import errno
import select
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

from .errors import InterfaceDown, NoSuchInterface, TransportError
from .frames import Frame, parse_frame
from .rawsocket import (  # noqa: F401  (interface_* and open_raw_socket are used from here too)
    AUXDATA_SPACE,
    DHCP_FILTER,
    PACKET_AUXDATA,
    SERVE_FILTER,
    SOL_PACKET,
    TP_STATUS_CSUMNOTREADY,
    NewSocket,
    RawSocket,
    attach_filter,
    interface_ipv4,
    interface_mac,
    interface_mtu,
    interface_up,
    open_raw_socket,
)
from .wire import (
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

if TYPE_CHECKING:
    from .reader import Reader

T = TypeVar("T")
@dataclass
class Backoff:
    """Retransmission schedule: RFC 2131 says 4 s, doubling to 64 s, each
    randomised by +/-1 s. The lab default starts at 1 s (the servers answer in
    a millisecond); raise ``first`` for slow devices, e.g. ``Backoff.rfc2131()``."""

    first: float = 1.0
    factor: float = 2.0
    maximum: float = 64.0
    jitter: float = 0.1   # a fraction of each interval, drawn uniformly from +/- this

    @classmethod
    def rfc2131(cls) -> Backoff:
        return cls(first=4.0, factor=2.0, maximum=64.0, jitter=0.25)

    def intervals(self, rand: Callable[[], float]) -> Iterator[float]:
        interval = self.first
        while True:
            yield max(0.01, interval * (1 + self.jitter * (2 * rand() - 1)))
            interval = min(interval * self.factor, self.maximum)


@dataclass
class Exchange:
    """What one send-and-wait saw: frames sent, replies that matched, and
    DHCP replies that did not (wrong xid or chaddr), all timestamped."""

    sent: list[tuple[float, bytes]] = field(default_factory=list)
    replies: list[Frame] = field(default_factory=list)
    ignored: list[Frame] = field(default_factory=list)
    overflow: int = 0     # matching replies past MAX_REPLIES, counted and dropped


MAX_IGNORED = 1000  # a flood of foreign replies is counted, not kept without bound
MAX_REPLIES = 256   # nor is a flood of copies of our own


class Transport:
    """Sends frames on one interface and collects the replies that match.

    ``sock`` and ``clock`` are injectable so tests run without a network.
    ``new_socket`` makes the sockets that open and ask about the interface: a
    labgrid remote place's makes them in the namespace its link is in.
    ``single_mac`` says the link passes unicast only to the interface's own MAC
    (that place's macvtap): a role that must hear unicast uses that MAC."""

    def __init__(self, iface: str, *, sock: RawSocket | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 rand: Callable[[], float] | None = None,
                 new_socket: NewSocket = socket.socket, single_mac: bool = False) -> None:
        import random

        self.iface = iface
        self.new_socket = new_socket
        self.single_mac = single_mac
        self._sock = sock
        self.clock = clock
        self.rand = rand or random.random
        self.arp_addresses: dict[bytes, bytes] = {}   # IPv4 -> MAC we answer ARP with
        self._pinned: set[bytes] = set()
        self.reader: Reader | None = None   # while a server runs: the one thread that reads
        # Clients on this socket besides the session's own (check_server()'s): our own server's
        # replies to them come back to the client role, as the session's do.
        self.local_macs: set[bytes] = set()
        self._pending: collections.deque[bytes] = collections.deque()   # left by a reader that stopped

    FILTER = DHCP_FILTER   # what the socket lets through (Transport6 has its own)

    @property
    def sock(self) -> RawSocket:
        if self._sock is None:
            self._sock = open_raw_socket(self.iface, self.new_socket, self.FILTER)
        return self._sock

    def _finish_checksum(self, raw: bytes) -> bytes:
        return finish_udp_checksum(raw)

    def _parse(self, raw: bytes) -> Any:
        return parse_frame(raw, self.clock())

    def link_mac(self) -> str:
        return interface_mac(self.iface, self.new_socket)

    def link_ipv4(self) -> str | None:
        return interface_ipv4(self.iface, self.new_socket)

    def link_mtu(self) -> int:
        return interface_mtu(self.iface, self.new_socket)

    def close(self) -> None:
        self.stop_reader()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

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

    def send(self, frame: bytes) -> float:
        try:
            self.sock.send(frame)
        except OSError as exc:
            if not self._stale(exc):
                raise self._error(exc) from None
            try:
                self.sock.send(frame)
            except OSError as again:
                raise self._error(again) from None
        if self.reader is not None:
            self.reader.loopback(frame)   # the other role on this interface sees it too
        return self.clock()

    # -- a server's reader ---------------------------------------------------

    def start_reader(self, on_request: Callable[[bytes, bool], None], local_mac: Callable[[], bytes],
                     on_error: Callable[[str], None] | None = None,
                     on_drained: Callable[[], None] | None = None) -> Reader:
        """Starts the background reader (see :mod:`.reader`): requests to port 67
        go to ``on_request(raw, pending)`` on its thread (``pending``: the UDP
        checksum is still to be finished, see :meth:`_recv_pending`); the client
        role reads the rest, finished."""
        from .reader import Reader

        if self.reader is not None:
            raise TransportError(f"{self.iface}: a server already reads this socket")
        sock = self.sock
        if isinstance(sock, socket.socket):
            attach_filter(sock, SERVE_FILTER)
        self.reader = Reader(sock.fileno(), self._recv_pending, on_request, finish=self._finish_checksum,
                             answer_arp=lambda raw: self._handle_arp(raw, consume_replies=False),
                             local_mac=local_mac, on_error=on_error, also_local=self.local_macs,
                             on_drained=on_drained)
        self.reader.start()
        return self.reader

    def stop_reader(self) -> None:
        reader, self.reader = self.reader, None
        if reader is None:
            return
        reader.stop()
        if isinstance(self._sock, socket.socket):
            try:
                attach_filter(self._sock, DHCP_FILTER)
            except OSError:
                pass  # the interface went: the socket goes with it
        for raw in reader.inbox:   # what came for the client role stays for it
            self._pending.append(raw)

    def _stale(self, exc: OSError) -> bool:
        """An ENETDOWN the socket kept from when the interface was down, now up again."""
        if exc.errno != errno.ENETDOWN:
            return False
        try:
            return interface_up(self.iface, self.new_socket)
        except OSError:
            return False

    def _error(self, exc: OSError) -> TransportError:
        if exc.errno == errno.ENETDOWN:
            return InterfaceDown(self.iface)
        if exc.errno in (errno.ENODEV, errno.ENXIO):
            return NoSuchInterface(self.iface)
        return TransportError(f"{self.iface}: {exc.strerror or exc}")

    def wait_readable(self, wait: float) -> bool:
        """Whether a frame is waiting, within ``wait`` seconds."""
        if self.reader is not None:
            return self.reader.ready(wait)
        return bool(self._pending) or bool(select.select([self.sock], [], [], wait)[0])

    def recv_nowait(self) -> bytes | None:
        """The next queued frame as it came (no checksum finished, no ARP
        answered), or None: the fast path of a load."""
        if self.reader is not None:
            return self.reader.get(0.0)
        if self._pending:
            return self._pending.popleft()
        return self._read(self.sock.recv, 2048, socket.MSG_DONTWAIT)

    def _read(self, call: Callable[..., T], *args: Any) -> T | None:
        """``call(*args)``, or None when nothing is queued (or the socket kept a stale
        ENETDOWN); any other socket error becomes the one-line TransportError."""
        try:
            return call(*args)
        except BlockingIOError:
            return None
        except OSError as exc:
            if self._stale(exc):
                return None
            raise self._error(exc) from None

    def drain(self) -> int:
        """Discards frames already queued (late replies to an earlier exchange)."""
        n = 0
        while self._recv(0.0) is not None:
            n += 1
        return n

    def _recv(self, wait: float) -> bytes | None:
        reader = self.reader
        if reader is not None and not reader.on_thread:
            return reader.get(wait)
        if self._pending:
            return self._pending.popleft()
        return self._recv_socket(wait)

    def _recv_socket(self, wait: float) -> bytes | None:
        got = self._recv_pending(wait)
        if got is None:
            return None
        raw, pending = got
        # A frame from a local sender through veth carries a checksum the NIC
        # would have finished; finish it, so history and dumps show the wire.
        return self._finish_checksum(raw) if pending else raw

    def _recv_pending(self, wait: float) -> tuple[bytes, bool] | None:
        """The next frame off the socket and whether its checksum is still to be
        finished (TP_STATUS_CSUMNOTREADY: a local sender's, never on a wire)."""
        sock = self.sock
        if wait > 0:
            ready, _, _ = select.select([sock], [], [], wait)
            if not ready:
                return None
        got = self._read(sock.recvmsg, 65535, AUXDATA_SPACE, socket.MSG_DONTWAIT)
        if got is None:
            return None
        raw, ancillary, _flags, _addr = got
        for level, kind, data in ancillary:
            if level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= 4 and \
                    struct.unpack("I", data[:4])[0] & TP_STATUS_CSUMNOTREADY:
                return raw, True
        return raw, False

    def receive(self, wait: float) -> Any:
        """The next frame within ``wait`` seconds that is not an ARP request we
        answered ourselves; None when nothing came."""
        deadline = self.clock() + wait
        while True:
            raw = self._recv(max(0.0, deadline - self.clock()))
            if raw is None:
                return None
            if not self._handle_arp(raw, consume_replies=False):
                return self._parse(raw)

    def probe(self, frame: bytes, matches: Callable[[Any], bool], *, wait: float, tries: int = 1,
              on_send: Callable[[bytes], None] | None = None) -> Any:
        """Sends ``frame`` (an ARP request, a ping) up to ``tries`` times, ``wait``
        seconds apart, until a frame that ``matches`` comes: that frame, or None.
        What was queued before the first send is dropped first: a late answer to
        an earlier probe must not speak for this one."""
        while self.recv_nowait() is not None:
            pass
        for _ in range(tries):
            self.send(frame)
            if on_send is not None:
                on_send(frame)
            deadline = self.clock() + wait
            while (left := deadline - self.clock()) > 0:
                got = self.receive(left)
                if got is not None and matches(got):
                    return got
        return None

    def _handle_arp(self, raw: bytes, consume_replies: bool = True) -> bool:
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
            if self._handle_arp(raw) or raw[IP_PROTO:IP_PROTO + 1] == bytes([IPPROTO_ICMP]):  # ARP, or ICMP
                return None
            reply = parse_frame(raw, self.clock())
            if reply.eth_src == chaddr and reply.op == 1:
                return None  # our own frame, on kernels without PACKET_IGNORE_OUTGOING
            matched = reply.op == 2 and reply.xid == xid and reply.chaddr == chaddr
            return self._keep(result, reply, matched, done, window, on_receive)

        self.run_exchange(result, None if frame is None else (lambda _spent: frame),
                          (backoff or Backoff()).intervals(self.rand), deadline, take, on_send)
        return result

    def _keep(self, result: Exchange, reply: Any, matched: bool, done: Callable[[Any], bool], window: float,
              on_receive: Callable[[Any, bool], None] | None) -> float | None:
        """Files a reply under ``result`` (ours, or ignored; a flood counted, not
        kept); returns when to stop, for the first of ours that is ``done``."""
        if matched and len(result.replies) >= MAX_REPLIES:
            result.overflow += 1
            return None
        if on_receive:
            on_receive(reply, matched)
        if not matched:
            if len(result.ignored) < MAX_IGNORED:
                result.ignored.append(reply)
            return None
        result.replies.append(reply)
        return reply.time + window if done(reply) else None

    def run_exchange(self, result: Exchange, make: Callable[[float], bytes] | None, intervals: Iterator[float],
                     deadline: float, take: Callable[[bytes], float | None],
                     on_send: Callable[[float, bytes], None] | None, max_sends: int = 0) -> None:
        """The send-and-wait loop of an exchange, v4 or v6: sends ``make(seconds
        since the first send)`` on the ``intervals`` schedule (at most
        ``max_sends`` times, 0: no limit; after the last it waits that one's
        interval) until ``take(raw)`` returns a time to stop at (a reply that
        is done, plus the window), or the deadline. Retransmission stops at
        the first such reply. What is queued when it ends is taken too: it
        came while we waited (a slow moment of ours is not the sender's silence)."""
        start = self.clock()
        next_send: float | None = start if make is not None else None
        stop_at: float | None = None
        while True:
            now = self.clock()
            if make is not None and next_send is not None and stop_at is None and next_send <= now < deadline:
                frame = make(now - start)
                t = self.send(frame)
                result.sent.append((t, frame))
                if on_send:
                    on_send(t, frame)
                gap = next(intervals)
                next_send = t + gap
                if max_sends and len(result.sent) >= max_sends:   # the last one: wait its interval, no more
                    next_send, deadline = None, min(deadline, t + gap)
            end = deadline if stop_at is None else min(deadline, stop_at)
            if stop_at is None and next_send is not None:  # retransmit until a reply that is done
                end = min(end, next_send)
            wait = end - self.clock()
            if wait <= 0:
                if self.clock() >= deadline or stop_at is not None:
                    break
                continue
            raw = self._recv(wait)
            if raw is not None:
                got = take(raw)
                if got is not None and stop_at is None:
                    stop_at = got
        for _ in range(MAX_REPLIES + MAX_IGNORED):
            raw = self._recv(0.0)
            if raw is None:
                break
            take(raw)

