"""The receive ring a server's reader reads (PACKET_MMAP): frames sent by a plain socket in a lab
namespace reach the reader, and the client role after it, each once and in order, whether the
socket's ordinary queue held them or the ring did; a link that goes down is still one line."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from scapy_dhcp_ext.errors import InterfaceDown
from scapy_dhcp_ext.lab import Lab
from scapy_dhcp_ext.link.transport import Transport

pytestmark = pytest.mark.lab

SEND = """
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
for arg in sys.argv[1:]:
    port, n = int(arg[0] == "q") and 67 or 68, int(arg[1:])
    body = (b"\\x01" if port == 67 else b"\\x02") + b"ring%06d" % n + bytes(300)   # BOOTP op: request, reply
    udp = struct.pack("!HHHH", 68 if port == 67 else 67, port, 8 + len(body), 0) + body
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(4), b"\\xff" * 4)
    s.send(b"\\xff" * 6 + bytes.fromhex("025e00000001") + b"\\x08\\x00" + ip + udp)
"""


def send(lab: Lab, *frames: str) -> None:
    """From the lab's namespace: "r5" a frame to port 68 (for the client role) numbered 5, "q5" one to 67."""
    subprocess.run(["ip", "netns", "exec", lab.extra_netns[0], sys.executable, "-c", SEND, *frames], check=True)


def number(raw: bytes) -> int:
    at = raw.find(b"ring")
    return int(raw[at + 4:at + 10])


def take(transport: Transport, n: int) -> list[int]:
    got = []
    while len(got) < n and (raw := transport._recv(5.0)) is not None:
        got.append(number(raw))
    while (raw := transport._recv(0.2)) is not None:   # and nothing more (no frame twice)
        got.append(number(raw))
    return got


def test_frames_from_before_the_ring_and_after_it_arrive_once_and_in_order():
    with Lab([], extra=1) as lab:
        t = Transport(lab.iface)
        assert t.sock.fileno() >= 0   # open: the socket's ordinary queue takes what comes now
        send(lab, *(f"r{k}" for k in range(40)))
        requests: list[int] = []
        t.start_reader(lambda raw, _pending: requests.append(number(raw)), local_mac=lambda: bytes(6))
        try:
            assert t._ring is not None, "no receive ring: the reader reads the queue a recvmsg a frame"
            send(lab, *(f"{'q' if k % 4 == 0 else 'r'}{k}" for k in range(40, 140)))
            assert take(t, 115) == list(range(40)) + [k for k in range(40, 140) if k % 4]
            deadline = time.monotonic() + 5
            while len(requests) < 25 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert requests == list(range(40, 140, 4))   # every request to the server, in order, once
        finally:
            t.stop_reader()
        send(lab, *(f"r{k}" for k in range(140, 160)))   # the ring stays: the client role reads it now
        assert take(t, 20) == list(range(140, 160))
        assert t._ring is not None and t._ring.cut == 0
        t.close()


def test_a_link_that_goes_down_under_a_ring_is_still_one_line_and_comes_back():
    with Lab([], extra=1) as lab:
        t = Transport(lab.iface)
        t.start_reader(lambda _raw, _pending: None, local_mac=lambda: bytes(6))
        t.stop_reader()
        assert t._ring is not None
        subprocess.run(["ip", "link", "set", lab.iface, "down"], check=True)
        try:
            with pytest.raises(InterfaceDown, match=f"ip link set {lab.iface} up"):
                t._recv(2.0)
        finally:
            subprocess.run(["ip", "link", "set", lab.iface, "up"], check=True)
        deadline = time.monotonic() + 10   # the veth's carrier comes back on its own time
        got: list[int] = []
        while not got and time.monotonic() < deadline:
            send(lab, "r7")
            got = take(t, 1)
        assert got[:1] == [7]
        t.close()
