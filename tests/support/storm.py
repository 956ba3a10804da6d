"""A storm on a lab link, run in a namespace of its own: malformed requests of a
dozen kinds sent as fast as the socket takes them, then DISCOVERs from new
clients, and the OFFERs that come back counted. A plain AF_PACKET socket and
Scapy (not the project's builder or parser) do all of it.

    ip netns exec NS python -m tests.support.storm IFACE MALFORMED DISCOVERS WAIT [RATE]

prints one JSON line: how many of each were sent and how many DISCOVERs got an OFFER.
With RATE (frames a second) the malformed requests are paced instead (the soak's
background garbage), cycling through at most 5,000 distinct ones, and a first line
``{"ready": N}`` says when they begin to flow (building them takes seconds).
"""

from __future__ import annotations

import itertools
import json
import random
import select
import socket
import sys
import time

from tests.support.plain import dhcp_reply, scapy_discover


def _request(mac: bytes, xid: int, options: list, **bootp) -> bytes:
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    return bytes(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255")
                 / UDP(sport=68, dport=67) / BOOTP(chaddr=mac, xid=xid, **bootp) / DHCP(options=options))


def malformed(rng: random.Random, mac: bytes, xid: int) -> bytes:
    """One malformed request, of a kind chosen at random."""
    good = _request(mac, xid, [("message-type", "discover"), "end"])
    kind = rng.randrange(13)
    if kind == 0:
        return good[:rng.randrange(14, 282)]                           # cut short anywhere
    if kind == 1:
        return good[:16] + (1000).to_bytes(2, "big") + good[18:]      # an IP total length that lies
    if kind == 2:
        return good[:38] + (9000).to_bytes(2, "big") + good[40:]      # a UDP length that lies
    if kind == 3:
        return _request(mac, xid, ["end"])                             # no option 53
    if kind == 4:
        return _request(mac, xid, [("message-type", "discover"), ("message-type", "request"), "end"])
    if kind == 5:
        return good[:282] + b"\x35\x02\x01\x01\xff" + good[287:]      # option 53 of 2 bytes
    if kind == 6:
        return good[:42] + b"\x02" + good[43:]                         # op BOOTREPLY
    if kind == 7:
        return good[:44] + b"\x11" + good[45:]                         # hlen 17
    if kind == 8:
        return good[:43] + b"\x00\x00" + good[45:]                     # htype 0, hlen 0
    if kind == 9:   # overload: sname and file said to hold options, holding garbage, no 53 in the main field
        return _request(mac, xid, [(52, b"\x03"), "end"], sname=bytes(rng.randrange(256) for _ in range(64)),
                        file=bytes(rng.randrange(256) for _ in range(128)))
    if kind == 10:
        return _request(mac, xid, [("message-type", "discover"), "end"], giaddr="255.255.255.255")
    if kind == 11:
        return good[:42] + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 400)))   # random bytes
    return _request(mac, xid, [("message-type", "request"), "end"], ciaddr="127.0.0.1")     # loopback ciaddr


def reaches_a_server(frame: bytes) -> bool:
    """Whether a DHCP server takes ``frame`` for a request at all: IPv4, UDP to port 67, not a later
    fragment, long enough to hold a client's hardware address, BOOTP op 1 (anything else on port 67
    is not a request, whatever it says)."""
    if len(frame) < 70 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return False
    at = 14 + (frame[14] & 0x0F) * 4
    if int.from_bytes(frame[20:22], "big") & 0x1FFF or len(frame) <= at + 8:
        return False
    return int.from_bytes(frame[at + 2:at + 4], "big") == 67 and frame[at + 8] == 1


def main() -> int:
    iface, n_bad, n_good, wait = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    rate = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    rng = random.Random(2131)
    stormers = [bytes([0x02, 0x5e, 0x00, 0x00, 0x00, k]) for k in range(50)]
    try:   # Scapy builds them all first: seconds of one CPU on a slow machine
        distinct = [malformed(rng, rng.choice(stormers), rng.getrandbits(32)) for _ in range(min(n_bad, 5000))]
        clients = [bytes([0x02, 0x5f, 0x00, 0x00, k >> 8, k & 0xFF]) for k in range(n_good)]
        xids = {rng.getrandbits(32): mac for mac in clients}
        good = [scapy_discover(mac, xid) for xid, mac in xids.items()]
    except KeyboardInterrupt:   # stopped before it began: it says it sent nothing
        print(json.dumps({"malformed": 0, "discovers": 0, "offers": 0, "reaching": 0, "sent_in": 0.0}))
        return 0
    if rate:   # paced (a background): whoever waits for the garbage to flow reads this line first
        print(json.dumps({"ready": len(distinct)}), flush=True)
    offered: set[int] = set()
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE: our side keeps every reply
        sock.bind((iface, 0))
        start = time.monotonic()
        frames = itertools.chain((distinct[k % len(distinct)] for k in range(n_bad)), good)
        sent = 0
        try:
            for k, frame in enumerate(frames):
                if rate and k < n_bad and k % 10 == 0:   # paced: ten at a time, on schedule
                    ahead = start + k / rate - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
                while True:
                    try:
                        sock.send(frame)
                        break
                    except OSError:   # ENOBUFS: the queue is full for a moment; line rate is what it takes
                        time.sleep(0.0001)
                sent += 1
        except KeyboardInterrupt:   # the soak stops it so: it says what it sent
            n_bad, good = min(n_bad, sent), []
            xids.clear()
        sent_in = time.monotonic() - start
        deadline = time.monotonic() + wait
        while len(offered) < len(xids) and (left := deadline - time.monotonic()) > 0:
            if not select.select([sock], [], [], left)[0]:
                break
            reply = dhcp_reply(sock.recv(65535))
            if reply is not None and reply[2] == "OFFER" and xids.get(reply[0]) == reply[1]:
                offered.add(reply[0])
    print(json.dumps({"malformed": n_bad, "discovers": n_good, "offers": len(offered),
                      "reaching": sum(reaches_a_server(f) for f in distinct) * (n_bad // max(1, len(distinct)))
                      + sum(reaches_a_server(f) for f in distinct[:n_bad % max(1, len(distinct))]),
                      "sent_in": round(sent_in, 3)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
