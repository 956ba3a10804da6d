"""A hostile DHCP server for the reliability tests, run in a lab namespace:

    ip netns exec NS python hostile_server.py IFACE CONTROL_FILE

Before each reply it reads the case name from CONTROL_FILE (``normal`` for
good replies) and answers DISCOVER and REQUEST as that case says."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from scapy_dhcp_ext.wire import SERVER_PORT, udp_ports
from scapy_dhcp_ext.wire.frames4 import parse_frame
from tests.support.hostile import respond


def main() -> None:
    iface, control = sys.argv[1], Path(sys.argv[2])
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    sock.bind((iface, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    control.with_suffix(".ready").write_text("ready")
    while True:
        raw = sock.recv(65535)
        if (udp_ports(raw) or (0, 0))[1] != SERVER_PORT:
            continue
        request = parse_frame(raw)
        if request.op != 1:
            continue
        for frame in respond(control.read_text().strip(), request):
            try:
                sock.send(frame)
            except OSError:
                pass  # a full queue in a flood: some copies are lost, as on a wire


if __name__ == "__main__":
    main()
