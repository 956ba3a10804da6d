"""The server's reader: interrupt moderation (a busy link's wake waits for a batch, a quiet one's never);
the replies to a batch go out after it.

A datagram socket pair stands in for the raw socket; no lab, no root."""

from __future__ import annotations

import errno
import socket
import threading
import time

import pytest

from scapy_dhcp_ext.link import reader as reader_module
from scapy_dhcp_ext.link.reader import BUSY, WINDOW, Reader
from scapy_dhcp_ext.link.transport import Transport
from scapy_dhcp_ext.wire import DISCOVER
from scapy_dhcp_ext.wire.messages4 import MessageOptions, build_message
from tests.support.fakes import FakeSocket


@pytest.fixture
def link():
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    ours.setblocking(False)
    reads: list[list[bytes]] = []   # what each read took
    handled: list[bytes] = []
    done = threading.Event()

    def read(limit: int) -> list[tuple[bytes, bool]]:
        got: list[bytes] = []
        try:
            while len(got) < limit:
                got.append(ours.recv(2048))
        except BlockingIOError:
            pass
        reads.append(got)
        return [(raw, False) for raw in got]

    def on_request(raw: bytes, _pending: bool) -> None:
        handled.append(raw)
        if len(handled) >= 2:
            done.set()

    reader = Reader(ours.fileno(), read, on_request, finish=lambda r: r, answer_arp=lambda _r: False,
                    local_mac=lambda: b"\0" * 6, is_request=lambda _r: True)
    yield reader, theirs, reads, handled, done
    reader.stop()
    ours.close()
    theirs.close()


def test_a_busy_reader_waits_for_a_batch_and_a_wake_up_ends_the_wait(link, monkeypatch):
    reader, theirs, reads, handled, done = link
    monkeypatch.setattr(reader_module, "GATHER", 30.0)
    monkeypatch.setattr(reader_module, "WINDOW", 1e9)   # busy stays as set
    reader.busy = True
    reader.start()
    theirs.send(b"A")
    time.sleep(0.3)
    assert handled == [], "a busy reader drained at once instead of letting a batch gather"
    theirs.send(b"B")
    reader._wake()   # any wake-up (a timer set, a loopback frame, stop) ends the gathering
    assert done.wait(10.0), f"handled {handled}"
    assert handled == [b"A", b"B"]
    assert reads[0] == [b"A", b"B"], f"the two frames were not read in one drain: {reads}"


def test_a_quiet_reader_never_waits(link, monkeypatch):
    reader, theirs, _reads, handled, done = link
    monkeypatch.setattr(reader_module, "GATHER", 30.0)
    reader.start()
    theirs.send(b"A")
    theirs.send(b"B")
    assert done.wait(10.0), "a quiet reader waited for more frames"
    assert handled == [b"A", b"B"] and not reader.busy


def test_busy_follows_the_rate_of_the_last_window(link):
    reader = link[0]
    start = reader._since
    reader._count(int(BUSY * WINDOW * 1.2), start + WINDOW)
    assert reader.busy
    reader._count(int(BUSY * WINDOW * 0.5), start + 2 * WINDOW)
    assert not reader.busy
    reader._count(int(BUSY * WINDOW), start + 3 * WINDOW)
    assert reader.busy
    reader._count(int(BUSY * WINDOW), start + 30 * WINDOW)   # the same frames after a long quiet spell
    assert not reader.busy


def test_the_gather_is_a_batch_at_the_last_rate_within_bounds(link):
    reader = link[0]
    assert reader.gather() == reader_module.GATHER   # no rate read yet
    start = reader._since
    for k, (rate, wait) in enumerate([(2_000, reader_module.GATHER_MOST),   # a slow busy link waits longest
                                      (24_000, reader_module.GATHER_FRAMES / 24_000),   # a batch's worth
                                      (250_000, reader_module.GATHER)], 1):   # line rate: the ring's bound
        reader._count(int(rate * WINDOW), start + k * WINDOW)
        assert reader.busy and reader.gather() == pytest.approx(wait), (rate, reader.gather())
    assert reader_module.GATHER < reader_module.GATHER_FRAMES / 24_000 < reader_module.GATHER_MOST


def test_a_frame_that_breaks_the_handler_costs_only_that_frame_of_its_batch():
    errors: list[str] = []
    handled: list[bytes] = []

    def on_request(raw: bytes, _pending: bool) -> None:
        if raw == b"A":
            raise ValueError("a bug of ours")
        handled.append(raw)

    reader = Reader(-1, lambda _n: [], on_request, finish=lambda r: r, answer_arp=lambda _r: False,
                    local_mac=lambda: b"\0" * 6, is_request=lambda _r: True, on_error=errors.append)
    reader._hand_on([(b"A", False), (b"B", False), (b"C", False)])
    assert handled == [b"B", b"C"] and errors == ["reader: ValueError: a bug of ours"]


class RefusingSocket(FakeSocket):
    """A link that does not take the frames in ``refuse`` (the interface went, for them)."""

    def __init__(self, refuse: set[bytes]) -> None:
        super().__init__(respond=lambda _frame: [])
        self.refuse = refuse

    def send(self, data: bytes) -> int:
        if data in self.refuse:
            raise OSError(errno.ENODEV, "No such device")
        return super().send(data)


def test_the_replies_to_a_batch_go_after_it_in_order_and_one_the_link_refuses_is_said():
    """A server's replies wait until the batch they answer is handled, then go in order; one the
    link refuses goes to ``on_unsent`` and the others still go. A send from another thread goes at once."""
    requests = [build_message(DISCOVER, mac=f"02:00:00:00:00:0{i}", xid=i, opts=MessageOptions()) for i in (1, 2, 3)]
    replies = [b"reply to " + raw[46:50] for raw in requests]
    sock = RefusingSocket({replies[1]})
    link = Transport("lab0", sock=sock)
    seen_sent: list[int] = []   # how many frames had gone when each request was handled
    unsent: list[tuple[bytes, str]] = []
    handled = threading.Event()

    def on_request(raw: bytes, _pending: bool) -> None:
        seen_sent.append(len(sock.sent))
        link.send(replies[requests.index(raw)], batched=True)
        if len(seen_sent) == 3:
            handled.set()

    for raw in requests:   # queued before the reader starts: its first read takes all three
        sock.inject(raw)
    link.start_reader(on_request, lambda: b"\0" * 6,
                      on_unsent=lambda raw, exc: unsent.append((raw, type(exc).__name__)))
    try:
        assert handled.wait(10.0), f"handled {len(seen_sent)} of 3"
        deadline = time.monotonic() + 10
        while len(sock.sent) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen_sent == [0, 0, 0], "a reply went before the batch was handled"
        assert sock.sent == [replies[0], replies[2]]
        assert unsent == [(replies[1], "NoSuchInterface")]
        link.send(b"from the main thread", batched=True)   # no batch on this thread: at once
        assert sock.sent[-1] == b"from the main thread"
    finally:
        link.close()
