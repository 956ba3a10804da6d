"""One socket on a link, for DHCPv4 and DHCPv6 alike.

Scapy's ``srp1`` opens a socket and compiles a BPF filter (by running tcpdump)
on every call, about 24 ms of kernel work; a :class:`LinkSocket` opens one
AF_PACKET socket on first use (:mod:`.rawsocket`, with a filter compiled by hand)
and keeps it until ``close()``. What differs between the families is small and
lives in the parts: the filter, the checksum to finish, the reader of frames,
the neighbour protocol (ARP or NS), and how a reply is matched to a request.
"""

from __future__ import annotations

import collections
import errno
import os
import select
import socket
import struct
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

from ..errors import InterfaceDown, NoSuchInterface, TransportError
from .exchange import MAX_IGNORED, MAX_REPLIES, Exchange
from .rawsocket import (
    AUXDATA_SPACE,
    PACKET_AUXDATA,
    SOL_PACKET,
    TP_STATUS_CSUMNOTREADY,
    NewSocket,
    RawSocket,
    attach_filter,
    interface_mac,
    interface_mtu,
    interface_up,
    open_raw_socket,
)
from .ring import RxRing

if TYPE_CHECKING:
    from .reader import Reader

T = TypeVar("T")
_STATUS = struct.Struct("I")   # tpacket_auxdata.tp_status, in the host's order


class LinkSocket:
    """One raw socket on one interface: sends frames, reads them (finishing the
    checksums a local sender left to the NIC), answers neighbours (ARP or NS) while
    it waits, runs send-and-wait exchanges, and hands a server's reader thread the
    socket while one runs. :class:`~.transport.Transport` (v4) and
    :class:`~.transport6.Transport6` are its two parts.

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
        self.reader: Reader | None = None   # while a server runs: the one thread that reads
        # Clients on this socket besides the session's own (check_server()'s): our own server's
        # replies to them come back to the client role, as the session's do.
        self.local_macs: set[bytes] = set()
        self._pending: collections.deque[bytes] = collections.deque()   # left by a reader that stopped
        self._ring: RxRing | None = None   # from a server's first reader on (see .ring) until close
        self._queued = True   # the socket's ordinary queue may hold frames (no longer, once a ring drained it)

    FILTER: list[tuple[int, int, int, int]] = []   # what the socket lets through (each part its own)
    SERVE_FILTER: list[tuple[int, int, int, int]] = []   # and while a server's reader runs (v4 only, so far)

    @property
    def sock(self) -> RawSocket:
        if self._sock is None:
            self._sock = open_raw_socket(self.iface, self.new_socket, self.FILTER)
        return self._sock

    def _finish_checksum(self, raw: bytes) -> bytes:
        """``raw`` with the UDP checksum a local sender left to the NIC put in (the part's family)."""
        raise NotImplementedError

    def _parse(self, raw: bytes) -> Any:
        """``raw`` read defensively (a Frame or a Frame6)."""
        raise NotImplementedError

    def _handle_neighbour(self, raw: bytes, consume_replies: bool = True) -> bool:
        """Answers ARP (v4) or a neighbour solicitation (v6) for one of our addresses;
        True if the frame was that protocol's and is dealt with."""
        raise NotImplementedError

    def _reader_rules(self) -> dict[str, Any]:
        """What a server's reader takes for a request and for a reply to our own client (v4: the reader's own)."""
        return {}

    def link_mac(self) -> str:
        return interface_mac(self.iface, self.new_socket)

    def link_mtu(self) -> int:
        return interface_mtu(self.iface, self.new_socket)

    def close(self) -> None:
        self.stop_reader()
        if self._ring is not None:
            self._ring.close()
            self._ring, self._queued = None, True
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def send(self, frame: bytes, *, batched: bool = False) -> float:
        """Sends ``frame`` now; ``batched`` (a server's reply): on the reader's thread, while it
        hands on a batch of requests, after that batch, with the batch's other replies."""
        reader = self.reader
        if batched and reader is not None and reader.outbox is not None and reader.on_thread:
            reader.outbox.append(frame)
            reader.loopback(frame, request=False)
            return self.clock()
        self._send_now(frame)
        if reader is not None:
            reader.loopback(frame, request=not batched)   # the other role on this interface sees it too
        return self.clock()

    def _send_now(self, frame: bytes) -> None:
        try:
            self.sock.send(frame)
        except OSError as exc:
            if not self._stale(exc):
                raise self._error(exc) from None
            try:
                self.sock.send(frame)
            except OSError as again:
                raise self._error(again) from None

    # -- a server's reader ---------------------------------------------------

    def start_reader(self, on_request: Callable[[bytes, bool], None], local_mac: Callable[[], bytes],
                     on_error: Callable[[str], None] | None = None,
                     on_unsent: Callable[[bytes, Exception], None] | None = None) -> Reader:
        """Starts the background reader (see :mod:`.reader`): requests to port 67
        go to ``on_request(raw, pending)`` on its thread (``pending``: the UDP
        checksum is still to be finished, see :meth:`_recv_pending`); the client
        role reads the rest, finished. ``on_unsent(frame, error)``: a batched
        reply (see :meth:`send`) the link did not take."""
        from .reader import Reader

        if self.reader is not None:
            raise TransportError(f"{self.iface}: a server already reads this socket")
        sock = self.sock
        if self.SERVE_FILTER and isinstance(sock, socket.socket):
            attach_filter(sock, self.SERVE_FILTER)
        backlog: list[tuple[bytes, bool]] = []
        if self._ring is None and isinstance(sock, socket.socket):
            # Making a ring empties the socket's queue: what it holds goes to the reader first. Only a
            # frame that comes in the microseconds between the last read and the ring is lost.
            while got := self._recv_queue(256):
                backlog += got
            try:
                self._ring, self._queued = RxRing(sock, self.link_mtu()), False
            except OSError:
                pass  # a kernel with no ring for us: the reader reads the queue, a recvmsg a frame
        self.reader = Reader(sock.fileno(), self._recv_batch, on_request, finish=self._finish_checksum,
                             answer_arp=lambda raw: self._handle_neighbour(raw, consume_replies=False),
                             local_mac=local_mac, on_error=on_error, also_local=self.local_macs,
                             send=self._send_now, on_unsent=on_unsent, **self._reader_rules())
        self.reader.start(backlog)
        return self.reader

    def stop_reader(self) -> None:
        reader, self.reader = self.reader, None
        if reader is None:
            return
        reader.stop()
        if isinstance(self._sock, socket.socket):
            try:
                attach_filter(self._sock, self.FILTER)
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
        if self._ring is not None:
            frames = self._recv_batch(1)
            return frames[0][0] if frames else None
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
        if wait > 0 and not select.select([self.sock], [], [], wait)[0]:
            return None
        frames = self._recv_batch(1)
        return frames[0] if frames else None

    def _recv_batch(self, limit: int) -> list[tuple[bytes, bool]]:
        """Up to ``limit`` frames already queued, each as :meth:`_recv_pending` gives it, in one
        call (a server's reader drains with it: no wait). With a receive ring (:mod:`.ring`)
        what the socket's ordinary queue held before the ring came goes first, then the ring's.
        A socket error with nothing read is the one-line TransportError."""
        got = self._recv_queue(limit) if self._queued else []
        ring = self._ring
        if ring is None or len(got) == limit:
            return got
        self._queued = False   # empty for good: since the ring came, every frame goes to it
        got += ring.take(limit - len(got))
        if not got:   # a ring has no recv to raise it: an error the socket holds (ENETDOWN), as recv would
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            exc = OSError(err, os.strerror(err))
            if err and not self._stale(exc):
                raise self._error(exc)
        return got

    def _recv_queue(self, limit: int) -> list[tuple[bytes, bool]]:
        """Up to ``limit`` frames from the socket's ordinary queue, one ``recvmsg`` each."""
        recv, got = self.sock.recvmsg, []
        try:
            for _ in range(limit):
                raw, ancillary, _flags, _addr = recv(65535, AUXDATA_SPACE, socket.MSG_DONTWAIT)
                pending = False
                for level, kind, data in ancillary:
                    if level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= 4:
                        pending = bool(_STATUS.unpack_from(data)[0] & TP_STATUS_CSUMNOTREADY)
                got.append((raw, pending))
        except BlockingIOError:
            pass
        except OSError as exc:
            if not got and not self._stale(exc):
                raise self._error(exc) from None
        return got

    def receive(self, wait: float) -> Any:
        """The next frame within ``wait`` seconds that is not an ARP request we
        answered ourselves; None when nothing came."""
        deadline = self.clock() + wait
        while True:
            raw = self._recv(max(0.0, deadline - self.clock()))
            if raw is None:
                return None
            if not self._handle_neighbour(raw, consume_replies=False):
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
