"""A fake DHCP device for the sweep tests: it OFFERs every DISCOVER until it
receives one whose BOOTP payload has the given length, then never answers
again (and writes the bytes that killed it to a file).

    ip netns exec NS python fake_device.py IFACE KILL_LENGTH KILLED_FILE
"""

from __future__ import annotations

import socket
import struct
import sys
from pathlib import Path

from scapy_dhcp_ext.wire import BOOTP_AT, OFFER, SERVER_PORT, UDP_HLEN, UDP_LEN, udp_ports
from scapy_dhcp_ext.wire.frames4 import parse_frame
from tests.support.fakes import reply_frame


def main() -> None:
    iface, kill_length, killed_file = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    sock.bind((iface, 0))
    alive = True
    Path(killed_file.with_suffix(".ready")).write_text("ready")
    while True:
        raw = sock.recv(65535)
        if (udp_ports(raw) or (0, 0))[1] != SERVER_PORT:
            continue
        if not alive:
            continue
        payload_length = struct.unpack_from("!H", raw, UDP_LEN)[0] - UDP_HLEN
        frame = parse_frame(raw)
        if payload_length == kill_length and len(raw) == BOOTP_AT + kill_length:
            killed_file.write_text(raw.hex())
            alive = False
            continue
        if frame.message_type == 1:
            sock.send(reply_frame(frame, OFFER, server_ip="10.77.0.250"))


if __name__ == "__main__":
    main()
