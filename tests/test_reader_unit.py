"""The server's reader: interrupt moderation (a busy link's wake waits for a batch, a quiet one's never).

A datagram socket pair stands in for the raw socket; no lab, no root."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from scapy_dhcp_ext.link import reader as reader_module
from scapy_dhcp_ext.link.reader import BUSY, WINDOW, Reader


@pytest.fixture
def link():
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    ours.setblocking(False)
    reads: list[bytes | None] = []
    handled: list[bytes] = []
    done = threading.Event()

    def read(_wait: float) -> tuple[bytes, bool] | None:
        try:
            raw = ours.recv(2048)
        except BlockingIOError:
            reads.append(None)
            return None
        reads.append(raw)
        return raw, False

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
    assert reads[:2] == [b"A", b"B"], "the two frames were not read in one drain (a None between them)"


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
