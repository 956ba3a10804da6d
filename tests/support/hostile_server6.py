"""A hostile DHCPv6 server for the reliability tests, run in a lab namespace:

    ip netns exec NS python -m tests.support.hostile_server6 IFACE CONTROL_FILE

Before each reply it reads the case name from CONTROL_FILE (``normal`` for
good replies) and answers as that case of :mod:`tests.support.hostile6` says."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from scapy_dhcp_ext.wire.frames6 import parse_frame6
from tests.support.hostile6 import respond6


def main() -> None:
    iface, control = sys.argv[1], Path(sys.argv[2])
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86DD))
    sock.bind((iface, 0))
    control.with_suffix(".ready").write_text("ready")
    while True:
        request = parse_frame6(sock.recv(65535))
        if request.dport != 547:
            continue
        for frame in respond6(control.read_text().strip(), request):
            try:
                sock.send(frame)
            except OSError:
                pass


if __name__ == "__main__":
    main()
