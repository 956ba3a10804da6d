"""A fragile DHCP client for the sweep_replies tests: it DISCOVERs every second
and REQUESTs what it is offered; once ACKed it answers ARP for its address
and starts over a second later. When an OFFER carries an option whose length
runs past the end of the option area, it writes the bytes that killed it to a
file and exits, as a board with CVE-2019-11578 would.

    ip netns exec NS python -m tests.support.fragile_client IFACE MAC KILLED_FILE
"""

from __future__ import annotations

import random
import select
import socket
import sys
import time
from pathlib import Path

from scapy_dhcp_ext.wire import ACK, ARP_REPLY, DISCOVER, OFFER, REQUEST, arp_frame, ip_bytes, mac_bytes
from scapy_dhcp_ext.wire.frames4 import parse_frame
from scapy_dhcp_ext.wire.messages4 import build_message


def main() -> None:
    iface, mac, killed_file = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    chaddr = mac_bytes(mac)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sock.bind((iface, 0))
    killed_file.with_suffix(".ready").write_text("ready")
    xid, next_discover, address = random.getrandbits(32), 0.0, b""
    while True:
        now = time.monotonic()
        if now >= next_discover:
            sock.send(build_message(DISCOVER, mac=mac, xid=xid))
            next_discover = now + 1.0
        if not select.select([sock], [], [], max(0.0, next_discover - time.monotonic()))[0]:
            continue
        raw = sock.recv(65535)
        if raw[12:14] == b"\x08\x06":
            if address and raw[20:22] == b"\x00\x01" and raw[38:42] == address:   # who has our address?
                sock.send(arp_frame(ARP_REPLY, sha=chaddr, spa=address, tha=raw[22:28], tpa=raw[28:32]))
            continue
        frame = parse_frame(raw)
        if frame.op != 2 or frame.chaddr != chaddr or frame.xid != xid:
            continue
        if any("but only" in p for p in frame.problems):   # an option longer than what is left: it reads past
            killed_file.write_text(frame.raw.hex())
            return
        if frame.message_type == OFFER:
            sock.send(build_message(REQUEST, mac=mac, xid=xid, requested=frame.yiaddr, server_id=frame.server_id))
        elif frame.message_type == ACK:
            address = ip_bytes(frame.yiaddr)
            xid, next_discover = random.getrandbits(32), time.monotonic() + 1.0   # a new transaction soon


if __name__ == "__main__":
    main()
