"""One reader for an interface's socket while a server runs on it.

With only the client role, whoever waits for a reply reads the socket itself
(the fast path of ``dora()`` and ``load()``). A server must read all the time,
in the background, and the client role may run at the same time on the same
socket. So while a server runs, one thread reads every frame and hands it on:

- a BOOTREQUEST (UDP to port 67, op 1) goes to the server's ``on_request``;
- an ARP request for one of the transport's addresses is answered here;
- everything else (replies, ARP replies, ICMP) goes to an inbox that the
  client role reads instead of the socket (``Transport._recv``).

A veth link never hands a sender its own frames back, so frames one role sends
are also handed to the other role here (``loopback``): our own client's
DISCOVER reaches our own server, and that server's OFFER reaches our client.
Everything the server does runs on this thread, timed sends included. It reads
frames in batches, from the socket's receive ring (:mod:`.ring`) where the kernel
gives one, and the replies to a batch go out together after it (its
``outbox``): handling requests back to back, then sending back to back, keeps
each warm (at 5,000 requests a second, 6% less CPU than a send after each).
A quiet link's batch is one request: its reply goes as soon as it is handled.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import os
import select
import threading
import time
from typing import Any, Callable

from ..wire import ETH_TYPE, ETH_TYPE_IPV4, FRAME_CHADDR, IP_FRAG, IP_PROTO, IPPROTO_UDP

INBOX_LIMIT = 8192   # frames kept for the client role; past that the oldest go, as a full socket would
# Interrupt moderation, as a NIC's driver does it: while frames come faster than BUSY a second, a
# wake waits for more before it drains the socket, so that one wake and one warm pass of the code
# serve several frames (at 5,000 a second a fifth less CPU per frame with 2 ms, and 3% less again
# with 4 ms, the replies to the batch sent together). Adaptive, as drivers' coalescing is: the wait
# is the time GATHER_FRAMES take at the last window's rate, between GATHER and GATHER_MOST. A wake
# costs more than its system calls (the first frames after a sleep take two to three times the CPU
# of the rest: caches gone cold), so the slower a busy link the longer it waits (at 2,400 exchanges a
# second, 8 ms against 4: about 5% less CPU an exchange), and a fast one's ring never holds more
# than GATHER's worth (4 ms at line rate: 1,000 frames of its 4,096). A quiet link (a bench of
# boards, any test's exchange) never waits; a busy one's reply waits GATHER_MOST at most (16 ms
# saved 3% more, but perfdhcp counts what is in flight when it stops as lost: 1% at 2,000/s).
BUSY = 1000
GATHER, GATHER_MOST, GATHER_FRAMES = 0.004, 0.008, 128
WINDOW = 0.5   # seconds over which the rate is read
BATCH = 64     # frames a drain takes from the socket in one call


def is_bootrequest(raw: bytes) -> bool:
    """A frame a DHCP server answers: IPv4 UDP to port 67 with BOOTP op 1 (not a later fragment)."""
    if len(raw) < FRAME_CHADDR or raw[ETH_TYPE:ETH_TYPE + 2] != ETH_TYPE_IPV4 or raw[IP_PROTO] != IPPROTO_UDP \
            or raw[IP_FRAG] & 0x1F or raw[IP_FRAG + 1]:
        return False
    at = 14 + (raw[14] & 0x0F) * 4
    return raw[at + 2:at + 4] == b"\x00\x43" and len(raw) > at + 8 and raw[at + 8] == 1


def is_reply_to_local(raw: bytes, mac: bytes, also: set[bytes]) -> bool:
    """A v4 reply our own server sent to one of our own clients (its chaddr)."""
    return raw[ETH_TYPE:ETH_TYPE + 2] == ETH_TYPE_IPV4 and len(raw) >= FRAME_CHADDR + 6 and (
        raw[FRAME_CHADDR:FRAME_CHADDR + 6] == mac or raw[FRAME_CHADDR:FRAME_CHADDR + 6] in also)


class Reader:
    """The background reader of the socket ``fileno``: ``read(limit)`` takes up
    to ``limit`` queued frames from it, each with whether its checksum is
    pending (an empty list: none);
    ``on_request(raw, pending)`` gets each BOOTREQUEST; ``finish`` finishes a
    pending checksum of any other frame; ``answer_arp``
    answers an ARP request and says whether the frame was an ARP request;
    ``local_mac`` is the client role's MAC (replies for it are looped back), and
    ``also_local`` more of them (the clients of ``check_server()``)."""

    def __init__(self, fileno: int, read: Callable[[int], list[tuple[bytes, bool]]],
                 on_request: Callable[[bytes, bool], None], *, finish: Callable[[bytes], bytes],
                 answer_arp: Callable[[bytes], bool], local_mac: Callable[[], bytes],
                 on_error: Callable[[str], None] | None = None, also_local: set[bytes] | None = None,
                 is_request: Callable[[bytes], bool] = is_bootrequest,
                 reply_to_local: Callable[[bytes, bytes, set[bytes]], bool] | None = None,
                 reassemble: Callable[[bytes], bytes | None] | None = None,
                 send: Callable[[bytes], Any] | None = None,
                 on_unsent: Callable[[bytes, Exception], None] | None = None) -> None:
        self._fileno = fileno
        self.reassemble = reassemble   # v6: a fragment in, None until its datagram is whole; any other frame as it is
        self.is_request = is_request          # what the server answers (v6: a message to port 547)
        self.reply_to_local = reply_to_local or is_reply_to_local
        self._read = read
        self._finish = finish
        self.on_request = on_request
        self.answer_arp = answer_arp
        self.local_mac = local_mac
        self.also_local = also_local if also_local is not None else set()   # more client MACs of ours
        self.on_error = on_error or (lambda _m: None)
        self._send = send   # sends a frame now (raises when the link did not take it)
        self.on_unsent = on_unsent or (lambda _raw, exc: self.on_error(f"a reply not sent: {exc}"))
        # While a batch is handed on (on this thread): the replies to it, sent after it. None otherwise.
        self.outbox: list[bytes] | None = None
        self.tap: Callable[[bytes], Any] | None = None   # sees every frame read (a workload's liveness model)
        self.inbox: collections.deque[bytes] = collections.deque(maxlen=INBOX_LIMIT)
        self._cond = threading.Condition()
        self._local: collections.deque[bytes] = collections.deque()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._stop = False
        self._thread: threading.Thread | None = None
        self.busy = False   # frames came faster than BUSY a second over the last WINDOW
        self.rate = 0.0     # frames a second over the last WINDOW
        self._since, self._frames = time.monotonic(), 0

    # -- the thread -------------------------------------------------------

    def start(self, backlog: list[tuple[bytes, bool]] | None = None) -> None:
        """Starts the thread; it hands on ``backlog`` (frames read before it, oldest first) first."""
        self._thread = threading.Thread(target=self._run, args=(backlog or [],), name="scapy-dhcp-reader",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop = True
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5.0)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        with self._cond:
            self._cond.notify_all()

    @property
    def on_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass  # the pipe is full (a wake-up is pending anyway) or closed

    def later(self, delay: float, call: Callable[[], None]) -> None:
        """Runs ``call`` on the reader's thread ``delay`` seconds from now."""
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), call))
        self._wake()

    def _run(self, backlog: list[tuple[bytes, bool]]) -> None:
        self._hand_on(backlog)
        while not self._stop:
            try:
                self._step()
            except Exception as exc:  # a bug of ours must not stop the serving
                self.on_error(f"reader: {type(exc).__name__}: {exc}")
                time.sleep(0.01)

    def _step(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _due, _n, call = heapq.heappop(self._timers)
            call()
        while self._local:
            self.on_request(self._local.popleft(), False)
        wait = min(0.5, self._timers[0][0] - now) if self._timers else 0.5
        ready = select.select([self._fileno, self._wake_r], [], [], max(0.0, wait))[0]
        if self._wake_r in ready:
            try:
                os.read(self._wake_r, 4096)
            except OSError:
                pass
        if self._fileno not in ready:
            return
        if self.busy:   # let a batch gather; a wake-up (stop, a loopback frame, a timer) ends the wait
            select.select([self._wake_r], [], [], self.gather())
        n = 0
        try:
            while not self._stop:
                batch = self._read(BATCH)
                self._hand_on(batch)
                n += len(batch)
                if len(batch) < BATCH or self._local or (self._timers and self._timers[0][0] <= time.monotonic()):
                    return   # drained (what came meanwhile wakes the next select), or a loopback frame or timer is due
        finally:
            self._count(n, time.monotonic())

    def _hand_on(self, batch: list[tuple[bytes, bool]]) -> None:
        """Each frame to whom it is for (see :meth:`_dispatch`); a request on the short path."""
        tap, is_request, on_request = self.tap, self.is_request, self.on_request
        other = self._other if self.reassemble is None else self._dispatch   # v6: a fragment is put together first
        self.outbox = [] if self._send is not None else None
        try:
            for raw, pending in batch:
                try:
                    if tap is not None:
                        self._dispatch(raw, pending)
                    elif is_request(raw):   # the request path: one test and one call
                        on_request(raw, pending)
                    else:
                        other(raw, pending)
                except Exception as exc:  # a bug of ours costs that frame, not the rest of the batch
                    self.on_error(f"reader: {type(exc).__name__}: {exc}")
        finally:
            out, self.outbox = self.outbox, None
            if out:
                self._send_all(out)

    def _send_all(self, frames: list[bytes]) -> None:
        """The replies to a batch, in the order they were made; one the link does not take is
        ``on_unsent``'s (the server logs it), the rest still go."""
        assert self._send is not None
        for raw in frames:
            try:
                self._send(raw)
            except Exception as exc:
                self.on_unsent(raw, exc)

    def _count(self, n: int, now: float) -> None:
        """``n`` more frames read; past each WINDOW, whether they came faster than BUSY a second."""
        self._frames += n
        if now - self._since >= WINDOW:
            self.rate = self._frames / (now - self._since)
            self.busy = self.rate >= BUSY
            self._since, self._frames = now, 0

    def gather(self) -> float:
        """Seconds a busy link's wake waits for more frames: GATHER_FRAMES' worth at the last rate,
        between GATHER and GATHER_MOST (GATHER before a rate is known)."""
        return min(GATHER_MOST, max(GATHER, GATHER_FRAMES / self.rate)) if self.rate else GATHER

    def _dispatch(self, raw: bytes, pending: bool = False) -> None:
        """A request goes to the server as it came (it finishes a pending
        checksum as it reads); anything else is finished here first. The
        ``tap``, when set, sees each frame first, as it came; fragments are put
        back together here, and the whole frame goes on (to the tap too)."""
        if self.tap is not None:
            self.tap(raw)
        if self.is_request(raw):   # never a v6 fragment (its next header is not UDP): no reassembly to ask
            self.on_request(raw, pending)
            return
        if self.reassemble is not None:
            whole = self.reassemble(raw)
            if whole is None:
                return
            if whole is not raw:
                raw, pending = whole, False
                if self.tap is not None:
                    self.tap(raw)
                if self.is_request(raw):
                    self.on_request(raw, pending)
                    return
        self._other(raw, pending)

    def _other(self, raw: bytes, pending: bool) -> None:
        """A frame that is not a request: an ARP request for us answered, anything else to the inbox."""
        if pending:
            raw = self._finish(raw)
        if not self.answer_arp(raw):
            self._deliver(raw)

    def _deliver(self, raw: bytes) -> None:
        with self._cond:
            self.inbox.append(raw)
            self._cond.notify_all()

    # -- the other side ---------------------------------------------------

    def loopback(self, raw: bytes, request: bool = True) -> None:
        """A frame one role sent, for the other role: a request to the server (a BOOTREQUEST, or a
        DHCPv6 client's or relay's message; handled on the reader's thread), a reply to our own
        client's MAC to the inbox. ``request`` False: the server's reply, never a request."""
        if request and self.is_request(raw):
            self._local.append(raw)
            self._wake()
        elif self.reply_to_local(raw, self.local_mac(), self.also_local):
            self._deliver(raw)

    def _wait(self, wait: float) -> bool:
        """Whether the inbox has a frame within ``wait`` seconds (the lock held)."""
        deadline = time.monotonic() + wait
        while not self.inbox:
            left = deadline - time.monotonic()
            if left <= 0 or self._stop:
                return False
            self._cond.wait(left)
        return True

    def get(self, wait: float) -> bytes | None:
        """The next frame for the client role, waiting up to ``wait`` seconds."""
        with self._cond:
            return self.inbox.popleft() if self._wait(wait) else None

    def ready(self, wait: float) -> bool:
        """Whether a frame for the client role is waiting, within ``wait`` seconds."""
        with self._cond:
            return self._wait(wait)
